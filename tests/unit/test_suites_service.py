"""The suite service against fakes: resolving tests, fan-out bounded by max_parallel, sequential scenarios with
extracted variables, fail_fast skipping, cancelling, completion published once; aggregation under duplicate and
reordered events (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.models.messages import RunMessage
from shared.models.runs import Run, RunStatus
from shared.models.suites import SuiteCreate, SuiteRunCreate, SuiteUpdate
from shared.models.tests import TestCreate
from shared.services.suites import child_run_id
from tests.conftest import FakeServices

PROJECT = "prj_a"


def make_test(fakes: FakeServices, name: str, tags: tuple[str, ...] = ("smoke",)) -> str:
    body = TestCreate.model_validate(
        {"name": name, "tags": list(tags), "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    )
    test, _ = fakes.services.catalog.create_test(PROJECT, body)
    return test.id


def suite_of(fakes: FakeServices, **fields: Any) -> str:
    assert fakes.services.suites is not None
    body = SuiteCreate.model_validate({"name": "Checkout", **fields})
    return fakes.services.suites.create(PROJECT, body).id


def finish(fakes: FakeServices, run_id: str, status: RunStatus, **changes: Any) -> Run:
    """What a runner does with a run: take it, end its attempt; then the event reaches the suite service."""
    run = fakes.store.get_run(run_id)
    taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id=run.project_id, attempt=run.attempt))
    assert taken is not None
    ended = fakes.services.runs.end_attempt(taken, status, **changes)
    deliver(fakes, ended)
    return ended


def deliver(fakes: FakeServices, run: Run) -> None:
    assert fakes.services.suites is not None
    fakes.services.suites.on_run_changed(RunStatusChanged.of(run, previous=None))


def completions(fakes: FakeServices) -> list[SuiteRunCompleted]:
    return [e for e in fakes.events.events if isinstance(e, SuiteRunCompleted)]


def test_parallel_fans_out_up_to_max_parallel_and_aggregates(fakes: FakeServices) -> None:
    tests = [make_test(fakes, f"t{i}") for i in range(5)]
    suite_id = suite_of(fakes, tests=tests, max_parallel=2, labels={"environment": "staging"})
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_id, SuiteRunCreate(labels={"app_version": "1.4.2"}))
    assert [c.status for c in run.children] == ["queued", "queued", "pending", "pending", "pending"]
    assert run.status == "running" and run.counts.queued == 2 and run.counts.pending == 3
    first = fakes.store.get_run(run.children[0].run_id or "")
    assert first.trigger == "suite" and first.suite_run_id == run.id
    assert first.labels == {"environment": "staging", "app_version": "1.4.2"}
    for index in range(5):
        child = suites.get_run(PROJECT, run.id).children[index]
        assert child.run_id is not None, f"child {index} not started"
        finish(fakes, child.run_id, RunStatus.failed if index == 3 else RunStatus.passed)
        current = suites.get_run(PROJECT, run.id)
        active = sum(1 for c in current.children if c.status in ("queued", "running"))
        assert active <= 2
    done = suites.get_run(PROJECT, run.id)
    assert done.status == "failed" and done.counts.passed == 4 and done.counts.failed == 1
    assert done.error is not None and done.error.startswith("t3")
    assert len(completions(fakes)) == 1 and completions(fakes)[0].status == "failed"


def test_sequential_hands_extracted_variables_on_and_fail_fast_skips(fakes: FakeServices) -> None:
    a, b, c = (make_test(fakes, n) for n in ("login", "order", "pay"))
    suite_id = suite_of(fakes, tests=[a, b, c], mode="sequential", fail_fast=True, variables={"user": "ann"})
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_id, SuiteRunCreate())
    assert [ch.status for ch in run.children] == ["queued", "pending", "pending"]
    first = run.children[0].run_id or ""
    ended = {"user": "ann", "token": "abc", "pw": "***"}
    finish(fakes, first, RunStatus.passed, variables=ended, extracted=["token", "pw"])
    run = suites.get_run(PROJECT, run.id)
    assert run.extracted == {"token": "abc"}  # new variables only, masked secrets never
    second = fakes.store.get_run(run.children[1].run_id or "")
    assert second.variables["token"] == "abc" and second.variables["user"] == "ann"
    finish(fakes, second.id, RunStatus.failed, error="step 2 failed")
    run = suites.get_run(PROJECT, run.id)
    assert [ch.status for ch in run.children] == ["passed", "failed", "skipped"]
    assert run.children[2].run_id is None and "fail_fast" in (run.children[2].error or "")
    assert run.status == "failed" and len(completions(fakes)) == 1


def test_sequential_without_fail_fast_goes_on(fakes: FakeServices) -> None:
    a, b = make_test(fakes, "a"), make_test(fakes, "b")
    suite_id = suite_of(fakes, tests=[a, b], mode="sequential")
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_id, SuiteRunCreate())
    finish(fakes, run.children[0].run_id or "", RunStatus.error, error="boom")
    run = suites.get_run(PROJECT, run.id)
    assert run.children[1].status == "queued"
    finish(fakes, run.children[1].run_id or "", RunStatus.passed)
    assert suites.get_run(PROJECT, run.id).status == "error"


def test_selector_takes_tests_by_every_tag_and_explicit_first(fakes: FakeServices) -> None:
    x = make_test(fakes, "x", ("smoke", "checkout"))
    make_test(fakes, "b-other", ("smoke",))
    y = make_test(fakes, "a-first", ("smoke", "checkout"))
    suite_id = suite_of(fakes, tests=[x], selector={"tags": ["smoke", "checkout"]})
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_id, SuiteRunCreate())
    assert [c.test_id for c in run.children] == [x, y]


def test_saving_checks_tests_and_names(fakes: FakeServices) -> None:
    suites = fakes.services.suites
    assert suites is not None
    with pytest.raises(InvalidInput, match=r"tests\[0\]: the project has no test tst_nope"):
        suite_of(fakes, tests=["tst_nope"])
    t = make_test(fakes, "t")
    suite_of(fakes, tests=[t])
    with pytest.raises(Conflict, match="already"):
        suite_of(fakes, tests=[t])
    with pytest.raises(ValueError, match="a suite needs tests"):
        SuiteCreate.model_validate({"name": "empty"})
    with pytest.raises(InvalidInput, match="selector matches no active test"):
        suites.start(PROJECT, suite_of(fakes, name="none", selector={"tags": ["nothing"]}), SuiteRunCreate())


def test_update_rename_and_delete(fakes: FakeServices) -> None:
    suites = fakes.services.suites
    assert suites is not None
    t = make_test(fakes, "t")
    sid = suite_of(fakes, tests=[t])
    other = suite_of(fakes, name="Other", tests=[t])
    with pytest.raises(Conflict):
        suites.update(PROJECT, other, SuiteUpdate(name="checkout"))
    renamed = suites.update(PROJECT, sid, SuiteUpdate(name="Renamed", max_parallel=3))
    assert renamed.name == "Renamed" and renamed.max_parallel == 3
    assert suites.resolve(PROJECT, "renamed").id == sid
    suites.delete(PROJECT, sid)
    with pytest.raises(NotFound):
        suites.get(PROJECT, sid)
    with pytest.raises(NotFound):
        suites.get("prj_other", other)  # another project's suite is not there


def test_cancel_cancels_children_and_skips_the_rest(fakes: FakeServices) -> None:
    tests = [make_test(fakes, f"t{i}") for i in range(3)]
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_of(fakes, tests=tests, max_parallel=1), SuiteRunCreate())
    run = suites.cancel(PROJECT, run.id)
    assert run.status == "cancelled"
    assert [c.status for c in run.children] == ["cancelled", "skipped", "skipped"]
    assert fakes.store.get_run(run.children[0].run_id or "").status == "cancelled"
    with pytest.raises(Conflict, match="already ended"):
        suites.cancel(PROJECT, run.id)
    assert len(completions(fakes)) == 1


def test_a_child_whose_start_was_interrupted_is_started_again_with_the_same_id(fakes: FakeServices) -> None:
    t = make_test(fakes, "t")
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_of(fakes, tests=[t]), SuiteRunCreate())
    run_id = run.children[0].run_id
    assert run_id == child_run_id(run.id, 0)
    del fakes.store.runs[run_id]  # as if the writer stopped between the suite run's write and the run's
    again = suites.advance(PROJECT, run.id)
    assert again.children[0].run_id == run_id and fakes.store.get_run(run_id).status == "queued"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    outcomes=st.lists(st.sampled_from(["passed", "failed", "error"]), min_size=1, max_size=5),
    order=st.randoms(use_true_random=False),
    duplicates=st.integers(min_value=0, max_value=3),
)
def test_aggregation_is_the_same_under_duplicate_and_reordered_events(
    outcomes: list[str], order: Any, duplicates: int
) -> None:
    fakes = FakeServices()
    tests = [make_test(fakes, f"t{i}") for i in range(len(outcomes))]
    suites = fakes.services.suites
    assert suites is not None
    run = suites.start(PROJECT, suite_of(fakes, tests=tests, max_parallel=len(tests)), SuiteRunCreate())
    events: list[RunStatusChanged] = []
    for child, outcome in zip(run.children, outcomes, strict=True):
        stored = fakes.store.get_run(child.run_id or "")
        taken = fakes.services.runs.take(RunMessage(run_id=stored.id, project_id=PROJECT, attempt=1))
        assert taken is not None
        events.append(RunStatusChanged.of(taken, previous=RunStatus.queued))
        ended = fakes.services.runs.end_attempt(taken, RunStatus(outcome))
        events.append(RunStatusChanged.of(ended, previous=RunStatus.running))
    events = events + [order.choice(events) for _ in range(duplicates)]
    order.shuffle(events)
    for event in events:
        suites.on_run_changed(event)
    final = suites.get_run(PROJECT, run.id)
    expected = "passed" if set(outcomes) == {"passed"} else "failed" if "failed" in outcomes else "error"
    assert final.status == expected
    assert final.counts.passed == outcomes.count("passed") and final.counts.total == len(outcomes)
    assert len(completions(fakes)) == 1


def test_merged_labels_or_variables_over_a_runs_limits_are_a_422_before_anything_starts(fakes: FakeServices) -> None:
    suites = fakes.services.suites
    assert suites is not None
    t = make_test(fakes, "t")
    sid = suite_of(fakes, tests=[t], labels={f"s{i}": "x" for i in range(15)})
    with pytest.raises(InvalidInput, match="labels: the suite's and the run's together are 25"):
        suites.start(PROJECT, sid, SuiteRunCreate(labels={f"r{i}": "y" for i in range(10)}))
    sid2 = suite_of(fakes, name="vars", tests=[t], variables={f"s{i}": 1 for i in range(150)})
    with pytest.raises(InvalidInput, match="variables: the suite's and the run's together are 250"):
        suites.start(PROJECT, sid2, SuiteRunCreate(variables={f"r{i}": 2 for i in range(100)}))
    assert not fakes.store.runs and not fakes.suite_store.suite_runs  # nothing was started


def test_a_suite_run_too_large_to_keep_its_results_is_refused_when_it_starts(fakes: FakeServices) -> None:
    from shared.errors import PayloadTooLarge

    suites = fakes.services.suites
    assert suites is not None
    sid = suite_of(fakes, tests=[make_test(fakes, "t")], variables={f"v{i}": "x" * 1000 for i in range(200)})
    with pytest.raises(PayloadTooLarge, match="too large to start"):
        suites.start(PROJECT, sid, SuiteRunCreate())
    assert not fakes.store.runs


def test_a_scenario_whose_handed_on_variables_outgrow_a_run_ends_that_child_as_error(fakes: FakeServices) -> None:
    suites = fakes.services.suites
    assert suites is not None
    a, b = make_test(fakes, "a"), make_test(fakes, "b")
    sid = suite_of(fakes, tests=[a, b], mode="sequential", variables={f"s{i}": 1 for i in range(150)})
    run = suites.start(PROJECT, sid, SuiteRunCreate())
    made = {f"x{i}": i for i in range(60)}
    finish(fakes, run.children[0].run_id or "", RunStatus.passed, variables=made, extracted=sorted(made))
    ended = suites.get_run(PROJECT, run.id)
    assert [c.status for c in ended.children] == ["passed", "error"]
    assert "could not start" in (ended.children[1].error or "") and ended.status == "error"


def test_a_value_a_secret_was_masked_in_is_not_handed_on(fakes: FakeServices) -> None:
    suites = fakes.services.suites
    assert suites is not None
    a, b = make_test(fakes, "a"), make_test(fakes, "b")
    run = suites.start(PROJECT, suite_of(fakes, tests=[a, b], mode="sequential"), SuiteRunCreate())
    made = {"whole": "***", "part": "pin=***;", "plain": "ok"}
    finish(fakes, run.children[0].run_id or "", RunStatus.passed, variables=made, extracted=sorted(made))
    assert suites.get_run(PROJECT, run.id).extracted == {"plain": "ok"}


def test_the_children_of_a_scheduled_suite_run_carry_its_due_time(fakes: FakeServices) -> None:
    from datetime import UTC, datetime

    suites = fakes.services.suites
    assert suites is not None
    due = datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    run = suites.start(
        PROJECT, suite_of(fakes, tests=[make_test(fakes, "t")]), SuiteRunCreate(), trigger="schedule", scheduled_for=due
    )
    child = fakes.store.get_run(run.children[0].run_id or "")
    assert run.scheduled_for == child.scheduled_for == due
