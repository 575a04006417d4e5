"""Batching child runs of a suite run onto one runner, against fakes: which children share a message, max_parallel
counted in messages, batch_size 1 as before, a failed send, a retry going alone, dead letters of a batch; and, as a
property, that whatever the outcomes and the order runners get to the messages, no run is executed twice in an
attempt, no more than max_parallel messages are out at once, and the suite run ends."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import Unavailable
from shared.models.events import RunStatusChanged
from shared.models.messages import RunMessage
from shared.models.runs import Run, RunStatus
from shared.models.suites import SuiteCreate, SuiteRun, SuiteRunCreate
from shared.models.tests import TestCreate
from shared.services.suites import SuiteService, child_run_id
from tests.conftest import FakeServices

PROJECT = "prj_a"
BROWSER = [{"action": "goto", "url": "http://127.0.0.1:9/"}]
API = [{"action": "request", "url": "http://127.0.0.1:9/"}]


def make_test(fakes: FakeServices, name: str, steps: list[dict[str, Any]] = BROWSER, **fields: Any) -> str:
    test, _ = fakes.services.catalog.create_test(
        PROJECT, TestCreate.model_validate({"name": name, "steps": steps, **fields})
    )
    return test.id


def suites_of(fakes: FakeServices, batch_size: int) -> SuiteService:
    return SuiteService(
        suites=fakes.suite_store,
        tests=fakes.store,
        runs=fakes.services.runs,
        events=fakes.events,
        batch_size=batch_size,
    )


def start(suites: SuiteService, tests: list[str], **fields: Any) -> SuiteRun:
    suite = suites.create(PROJECT, SuiteCreate.model_validate({"name": "Checkout", "tests": tests, **fields}))
    return suites.start(PROJECT, suite.id, SuiteRunCreate(labels={"app_version": "1.4.2"}))


def sent(fakes: FakeServices) -> list[list[str]]:
    """The run ids of each message sent so far, in order."""
    return [[m.run_id for m in message.members()] for message, _ in fakes.queue.sent]


def execute(fakes: FakeServices, suites: SuiteService, message: RunMessage, outcome: RunStatus) -> list[Run]:
    """What a runner does with a message: take each of its runs in turn, end it, and the events reach the suite."""
    ended = []
    for member in message.members():
        taken = fakes.services.runs.take(member)
        if taken is None:
            continue
        run = fakes.services.runs.end_attempt(taken, outcome)
        suites.on_run_changed(RunStatusChanged.of(run, previous=RunStatus.running))
        ended.append(run)
    return ended


def test_browser_children_beyond_the_free_slots_share_messages(fakes: FakeServices) -> None:
    # Given six browser tests, two at once, batches of up to three
    suites = suites_of(fakes, batch_size=3)
    tests = [make_test(fakes, f"t{i}") for i in range(6)]

    # When the suite run starts
    run = start(suites, tests, max_parallel=2)

    # Then two messages go, the six children spread over them, every child queued in one
    ids = [child_run_id(run.id, i) for i in range(6)]
    assert sent(fakes) == [[ids[0], ids[2], ids[4]], [ids[1], ids[3], ids[5]]]
    assert [c.status for c in run.children] == ["queued"] * 6
    assert [c.batch for c in run.children] == [ids[0], ids[1]] * 3
    assert all(c.kind == "browser" for c in run.children)
    first, _ = fakes.queue.sent[0]
    assert first.run_id == ids[0] and first.attempt == 1 and first.correlation_id == run.correlation_id
    assert all(fakes.store.get_run(i).labels == {"app_version": "1.4.2"} for i in ids)


def test_children_that_have_a_slot_each_go_alone(fakes: FakeServices) -> None:
    suites = suites_of(fakes, batch_size=4)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(3)], max_parallel=5)
    assert sent(fakes) == [[c.run_id] for c in run.children]  # batching never costs parallelism
    assert all(c.batch is None for c in run.children)


def test_api_tests_are_not_batched(fakes: FakeServices) -> None:
    # Given API and browser tests mixed, two at once
    suites = suites_of(fakes, batch_size=4)
    kinds = [API, BROWSER, API, BROWSER, BROWSER]
    run = start(suites, [make_test(fakes, f"t{i}", steps) for i, steps in enumerate(kinds)], max_parallel=2)
    ids = [child_run_id(run.id, i) for i in range(5)]
    # Then the first two go alone, the later browser tests join the browser one, the API test waits for a slot
    assert sent(fakes) == [[ids[0]], [ids[1], ids[3], ids[4]]]
    assert [c.status for c in run.children] == ["queued", "queued", "pending", "queued", "queued"]


def test_sequential_suites_are_not_batched(fakes: FakeServices) -> None:
    suites = suites_of(fakes, batch_size=4)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(3)], mode="sequential")
    assert sent(fakes) == [[run.children[0].run_id]]


def test_max_parallel_counts_a_batch_as_one_until_all_of_it_ended(fakes: FakeServices) -> None:
    # Given six browser tests one at a time, batches of three: the first batch goes
    suites = suites_of(fakes, batch_size=3)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(6)], max_parallel=1)
    ids = [child_run_id(run.id, i) for i in range(6)]
    assert sent(fakes) == [ids[0:3]]
    message, _ = fakes.queue.sent[0]

    # When its first two runs ended, the third still queued behind them
    for member in message.members()[:2]:
        taken = fakes.services.runs.take(member)
        assert taken is not None
        ended = fakes.services.runs.end_attempt(taken, RunStatus.passed)
        suites.on_run_changed(RunStatusChanged.of(ended, previous=RunStatus.running))

    # Then nothing else starts; once the third ended, the next batch goes
    assert len(fakes.queue.sent) == 1
    execute(fakes, suites, message.members()[2], RunStatus.passed)
    assert sent(fakes) == [ids[0:3], ids[3:6]]
    execute(fakes, suites, fakes.queue.sent[1][0], RunStatus.passed)
    assert suites.get_run(PROJECT, run.id).status == "passed"


def test_batch_size_one_is_a_message_per_child_as_before(fakes: FakeServices) -> None:
    suites = suites_of(fakes, batch_size=1)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(5)], max_parallel=2)
    assert sent(fakes) == [[run.children[0].run_id], [run.children[1].run_id]]
    assert all(not message.batch for message, _ in fakes.queue.sent)
    assert [c.status for c in run.children] == ["queued", "queued", "pending", "pending", "pending"]


def test_a_retried_run_of_a_batch_goes_alone_and_counts_on_its_own(fakes: FakeServices) -> None:
    # Given a batch of two whose first run fails with a retry left
    suites = suites_of(fakes, batch_size=2)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(4)], max_parallel=1, retries=1)
    ids = [child_run_id(run.id, i) for i in range(4)]
    message, _ = fakes.queue.sent[0]
    first = message.members()[0]
    taken = fakes.services.runs.take(first)
    assert taken is not None
    retried = fakes.services.runs.end_attempt(taken, RunStatus.failed)
    suites.on_run_changed(RunStatusChanged.of(retried, previous=RunStatus.running))

    # Then its next attempt is a message of its own, and counts on its own: with it and the batch-mate out, two
    # messages (a retry goes at once; max_parallel bounds what the suite starts), nothing more starts
    retry, _ = fakes.queue.sent[-1]
    assert (retry.run_id, retry.attempt, retry.batch) == (ids[0], 2, [])
    assert suites.get_run(PROJECT, run.id).children[0].attempt == 2 and len(fakes.queue.sent) == 2

    # When the batch is delivered again, the second run executes, the first is not executed in its old attempt
    assert [r.id for r in execute(fakes, suites, message, RunStatus.passed)] == [ids[1]]
    assert execute(fakes, suites, message, RunStatus.passed) == []
    # (a message of the attempt before sends the queued attempt's again, in case it was lost: a duplicate)
    assert {(m.run_id, m.attempt) for m, _ in fakes.queue.sent[1:]} == {(ids[0], 2)}

    # Then the retry is the one message out; once it passed, the next batch goes
    execute(fakes, suites, retry, RunStatus.passed)
    assert sent(fakes)[-1] == ids[2:4]


def test_a_batch_that_cannot_be_sent_ends_its_runs_as_error(fakes: FakeServices) -> None:
    suites = suites_of(fakes, batch_size=3)
    tests = [make_test(fakes, f"t{i}") for i in range(3)]
    fakes.queue.fail = True
    run = start(suites, tests, max_parallel=1)
    assert [c.status for c in run.children] == ["error"] * 3
    assert all("could not start" in (c.error or "") for c in run.children)
    assert all(fakes.store.get_run(c.run_id or "").status == "error" for c in run.children)
    assert run.status == "error"


def test_cancelling_a_suite_run_cancels_the_queued_runs_of_its_batches(fakes: FakeServices) -> None:
    suites = suites_of(fakes, batch_size=3)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(4)], max_parallel=1)
    message, _ = fakes.queue.sent[0]
    first = fakes.services.runs.take(message.members()[0])
    assert first is not None  # a runner is on the first run of the batch
    cancelled = suites.cancel(PROJECT, run.id)
    assert [c.status for c in cancelled.children] == ["running", "cancelled", "cancelled", "skipped"]
    # the runner skips the cancelled ones when it gets to them
    assert [fakes.services.runs.take(m) for m in message.members()[1:]] == [None, None]


def test_a_dead_batch_letter_ends_each_of_its_runs(fakes: FakeServices) -> None:
    suites = suites_of(fakes, batch_size=2)
    run = start(suites, [make_test(fakes, f"t{i}") for i in range(2)], max_parallel=1)
    message, _ = fakes.queue.sent[0]
    holder = fakes.services.runs.take(message.members()[0])
    assert holder is not None
    # one run still held by a live worker: keep the letter
    assert fakes.services.runs.dead_letter(message) == "pending"
    fakes.services.runs.end_attempt(holder, RunStatus.passed)
    assert fakes.services.runs.dead_letter(message) == "dropped"  # the other ended at the look before
    assert [fakes.store.get_run(c.run_id or "").status for c in run.children] == ["passed", "error"]


def test_a_batch_message_must_name_its_first_member() -> None:
    import pytest

    body = {"run_id": "run_a", "project_id": "p", "attempt": 1}
    with pytest.raises(ValueError, match="first member"):
        RunMessage.model_validate({**body, "batch": [{"run_id": "run_b", "attempt": 1}]})
    with pytest.raises(ValueError, match="each run once"):
        RunMessage.model_validate({**body, "batch": [{"run_id": "run_a", "attempt": 1}] * 2})
    assert RunMessage.model_validate(body).members() == [RunMessage.model_validate(body)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from(["browser", "api"]), min_size=1, max_size=9),
    max_parallel=st.integers(min_value=1, max_value=3),
    batch_size=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_runners_in_any_order_execute_each_attempt_once_within_max_parallel(
    kinds: list[str], max_parallel: int, batch_size: int, seed: int
) -> None:
    fakes = FakeServices()
    suites = suites_of(fakes, batch_size)
    tests = [make_test(fakes, f"t{i}", BROWSER if kind == "browser" else API) for i, kind in enumerate(kinds)]
    run = start(suites, tests, max_parallel=max_parallel, retries=1)
    ids = [child_run_id(run.id, i) for i in range(len(kinds))]
    order = random.Random(seed)
    executed: list[tuple[str, int]] = []

    def waiting(message: RunMessage) -> bool:
        """Whether a run of the message still waits for it (queued or running in the attempt it names)."""
        for member in message.members():
            stored = fakes.store.get_run(member.run_id)
            if not stored.status.terminal and stored.attempt == member.attempt:
                return True
        return False

    for _ in range(300):
        out = list({tuple((m.run_id, m.attempt) for m in msg.members()): msg for msg, _ in fakes.queue.sent}.values())
        live = [m for m in out if waiting(m)]
        first_attempts = [m for m in live if m.attempt == 1]
        assert len(first_attempts) <= max_parallel  # what the suite started; retries go at once, alone
        if not live:
            break
        message = order.choice(live) if order.random() < 0.8 else order.choice(out)  # duplicates too
        assert len(message.members()) <= batch_size
        for member in message.members():
            if message.batch:
                assert kinds[ids.index(member.run_id)] == "browser" and member.attempt == 1
            taken = fakes.services.runs.take(member)
            if taken is None:
                continue
            executed.append((taken.id, taken.attempt))
            ended = fakes.services.runs.end_attempt(taken, order.choice([RunStatus.passed, RunStatus.failed]))
            suites.on_run_changed(RunStatusChanged.of(ended, previous=RunStatus.running))
    final = suites.get_run(PROJECT, run.id)
    assert final.status.terminal and final.counts.total == len(kinds)
    assert len(executed) == len(set(executed))  # no attempt of a run executed twice


class _SecondSendFails:
    """A run queue whose second send is refused (the queue went away half-way through a split batch)."""

    def __init__(self, queue: Any) -> None:
        self.queue, self.sends = queue, 0

    def send(self, message: RunMessage, *, delay_s: int = 0) -> None:
        self.sends += 1
        if self.sends == 2:
            raise Unavailable("queue down")
        self.queue.send(message, delay_s=delay_s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)


def test_a_batch_split_to_fit_whose_second_message_fails_keeps_the_sent_runs_children(fakes: FakeServices) -> None:
    # Given runs of 300 s where one message may take 600 s, and a queue that refuses the second send
    runs = fakes.services.runs
    runs._limits = dataclasses.replace(runs._limits, message_limit_s=600)
    runs._queue = _SecondSendFails(fakes.queue)
    suites = suites_of(fakes, batch_size=4)
    tests = [make_test(fakes, f"t{i}", timeout_s=300) for i in range(5)]
    # When the suite run starts (one child alone, then a batch of four split into two messages of two)
    run = start(suites, tests, max_parallel=1)
    # Then the children of the message that was sent are still theirs to run; only the unsent ones are error
    sent_ids = {run_id for message in sent(fakes) for run_id in message}
    for child in run.children:
        if child.run_id in sent_ids:
            assert child.status != "error", child
    unsent = [c for c in run.children if c.status == "error"]
    assert len(unsent) == 2
    assert all(fakes.store.get_run(str(c.run_id)).status == RunStatus.error for c in unsent)
    # and when the sent runs pass (the last child starts once a slot is free), the suite says so
    done = 0
    while done < len(fakes.queue.sent):
        message, _ = fakes.queue.sent[done]
        done += 1
        execute(fakes, suites, message, RunStatus.passed)
    final = suites.get_run(PROJECT, run.id)
    assert sorted(c.status for c in final.children) == ["error", "error", "passed", "passed", "passed"]
