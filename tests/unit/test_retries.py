"""Retries: the backoff rule, the per-attempt records, a flaky pass, over in-memory fakes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shared.models.messages import RunMessage
from shared.models.runs import (
    ArtifactRef,
    Attempt,
    Iteration,
    Run,
    RunCreate,
    RunPublic,
    RunStatus,
    StepResult,
    StepStatus,
    artifact_prefix,
)
from shared.services import attempts
from shared.services.runs import MAX_DELAY_S, RunService, retry_delay_s
from tests.conftest import FakeServices
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeStore

PROJECT = "prj_a"
SPEC = {"spec": {"name": "Checkout", "steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}}


# ------------------------------------------------------------------------------------ backoff


def test_backoff_is_exponential_with_equal_jitter_and_capped() -> None:
    rng = random.Random(7)
    for failed, delay in ((1, 2), (2, 4), (3, 8), (4, 16), (5, 32)):
        waits = [retry_delay_s(failed, base_s=2, cap_s=300, rng=rng) for _ in range(200)]
        # bounded: at least half the exponential delay, at most all of it
        assert delay // 2 <= min(waits) and max(waits) <= delay
        # jittered: not one value
        assert len(set(waits)) > 1
    # capped, and never past SQS's 900 s whatever the cap
    assert {retry_delay_s(9, base_s=2, cap_s=300, rng=rng) for _ in range(50)} <= set(range(150, 301))
    assert retry_delay_s(30, base_s=60, cap_s=10_000, rng=rng) <= MAX_DELAY_S
    # no base, or no failure yet: no wait
    assert retry_delay_s(3, base_s=0, cap_s=300, rng=rng) == 0
    assert retry_delay_s(0, base_s=2, cap_s=300, rng=rng) == 0


def test_backoff_grows_and_is_deterministic_under_a_seeded_source() -> None:
    first = [retry_delay_s(n, base_s=2, cap_s=300, rng=random.Random(1)) for n in range(1, 6)]
    again = [retry_delay_s(n, base_s=2, cap_s=300, rng=random.Random(1)) for n in range(1, 6)]
    assert first == again
    assert first == sorted(first) and first[-1] > first[0]


def test_end_attempt_waits_by_the_backoff_rule() -> None:
    # Given a run with three retries and a service whose jitter is seeded
    queue = FakeQueue()
    store = FakeStore()
    runs = RunService(
        tests=store, runs=store, queue=queue, events=FakeEvents(), artifacts=FakeArtifacts(), rng=random.Random(3)
    )
    run = runs.start_run(PROJECT, RunCreate.model_validate(SPEC | {"retries": 3}))
    expected_rng = random.Random(3)

    # When three attempts fail in a row, Then each retry's message waits as retry_delay_s says
    for failed in (1, 2, 3):
        taken = runs.take(queue.sent[-1][0])
        assert taken is not None
        runs.end_attempt(taken, RunStatus.failed, backoff_base_s=2, backoff_cap_s=300, error="boom")
        message, delay = queue.sent[-1]
        assert message.attempt == failed + 1
        assert delay == retry_delay_s(failed, base_s=2, cap_s=300, rng=expected_rng)
    assert store.get_run(run.id).status == RunStatus.queued


# ------------------------------------------------------------------------------- attempts


def _attempt_results(run: Run, *, status: StepStatus, error: str | None = None) -> dict[str, Any]:
    prefix = artifact_prefix(run.project_id, run.id, run.attempt)
    own = [
        ArtifactRef(name="report.html", kind="report", key=f"{prefix}/report.html"),
        ArtifactRef(name="screenshots/step-000.png", kind="screenshot", key=f"{prefix}/screenshots/step-000.png"),
    ]
    step = StepResult(
        index=0,
        action="goto",
        detail="http://127.0.0.1:1/",
        locator="-",
        status=status,
        error=error,
    )
    return {"steps": [step], "artifacts": [*run.artifacts, *own], "error": error}


def test_a_run_that_fails_then_passes_is_a_flaky_pass_with_both_attempts_recorded(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = runs.start_run(PROJECT, RunCreate.model_validate(SPEC | {"retries": 2}))

    # Given attempt 1 fails
    first = runs.take(fakes.queue.sent[-1][0])
    assert first is not None
    retried = runs.end_attempt(first, RunStatus.failed, **_attempt_results(first, status="failed", error="no button"))
    assert (retried.status, retried.attempt) == (RunStatus.queued, 2)
    assert [(a.attempt, a.status) for a in retried.attempts] == [(1, "failed")]

    # When attempt 2 passes
    second = runs.take(fakes.queue.sent[-1][0])
    assert second is not None and second.attempt == 2
    done = runs.end_attempt(second, RunStatus.passed, **_attempt_results(second, status="passed"))

    # Then the run passed, flaky, and each attempt is recorded with its own steps and artifacts
    assert (done.status, done.flaky, done.error) == (RunStatus.passed, True, None)
    one, two = done.attempts
    assert (one.attempt, one.status, one.error) == (1, "failed", "no button")
    assert (two.attempt, two.status, two.error) == (2, "passed", None)
    assert [s.status for s in one.steps] == ["failed"] and one.steps[0].error == "no button"
    assert [s.status for s in two.steps] == ["passed"]
    assert one.artifacts == two.artifacts == ["report.html", "screenshots/step-000.png"]
    assert one.ended_at is not None and two.duration_ms is not None and two.duration_ms >= 0
    # the steps are kept in short form
    assert one.steps[0].detail is None and one.steps[0].locator is None
    # shown in the public run; the artifact list says which attempt each came from
    public = RunPublic.of(fakes.store.get_run(run.id)).model_dump(mode="json")
    assert [(a["attempt"], a["status"]) for a in public["attempts"]] == [(1, "failed"), (2, "passed")]
    listed = runs.artifacts(PROJECT, run.id)
    assert [(a.attempt, a.name) for a in listed] == [
        (1, "report.html"),
        (1, "screenshots/step-000.png"),
        (2, "report.html"),
        (2, "screenshots/step-000.png"),
    ]


def test_an_interrupted_attempt_is_recorded_as_interrupted(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = runs.start_run(PROJECT, RunCreate.model_validate(SPEC))
    first = runs.take(fakes.queue.sent[-1][0])
    assert first is not None
    first = runs.update_progress(first, steps=[StepResult(index=0, action="goto", status="passed")])

    runs.resume(first, "local mode restarted while it ran")
    second = runs.take(fakes.queue.sent[-1][0])
    assert second is not None
    done = runs.end_attempt(second, RunStatus.failed, error="boom")

    assert [(a.attempt, a.status) for a in done.attempts] == [(1, "interrupted"), (2, "failed")]
    interrupted = done.attempts[0]
    assert interrupted.error == "local mode restarted while it ran"
    assert [s.status for s in interrupted.steps] == ["passed"]  # its partial results
    assert done.flaky is False and fakes.store.get_run(run.id).attempts == done.attempts


def test_a_dead_lettered_attempt_is_recorded(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = runs.start_run(PROJECT, RunCreate.model_validate(SPEC))
    taken = runs.take(fakes.queue.sent[-1][0])
    assert taken is not None
    runs.update_progress(taken, heartbeat_at=taken.created_at.replace(year=2000))
    assert runs.dead_letter(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)) == "ended"
    [record] = fakes.store.get_run(run.id).attempts
    assert record.status == "interrupted" and "dead-letter" in (record.error or "")


def test_attempt_records_are_bounded() -> None:
    # Given attempts with many long failing steps, and a data-driven one with many failing rows
    store = FakeStore()
    runs = RunService(tests=store, runs=store, queue=FakeQueue(), events=FakeEvents(), artifacts=FakeArtifacts())
    run = runs.start_run(PROJECT, RunCreate.model_validate(SPEC | {"retries": 5}))
    big = [StepResult(index=i, action="click", status="failed", error="x" * 2000) for i in range(20)]
    records: list[Attempt] = []
    for n in range(1, 7):
        held = run.model_copy(update={"attempt": n, "status": RunStatus.running, "started_at": run.created_at})
        new = attempts.record(held, "failed", ended_at=run.created_at, results={"steps": big, "error": "boom"})
        records = attempts.appended(records, new)

    # Then all records together stay within the budget, the newest keeps its steps, the oldest lost theirs
    size = len(str([r.model_dump_json() for r in records]))
    assert size <= attempts.BUDGET_BYTES * 1.05
    assert [r.attempt for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[-1].steps and not records[-1].trimmed
    assert records[0].trimmed and records[0].steps == [] and records[0].error == "boom"

    rows = [Iteration(index=i, status=RunStatus.failed, variables={"user": "u"}) for i in range(30)]
    rows.append(Iteration(index=30, status=RunStatus.passed))
    held = run.model_copy(update={"status": RunStatus.running})
    record = attempts.record(held, "failed", ended_at=run.created_at, results={"iterations": rows})
    assert [it.index for it in record.iterations] == list(range(attempts.MAX_ROWS))
    assert record.trimmed and all(it.variables == {} for it in record.iterations)


@pytest.mark.parametrize("retries", [0, 1])
def test_the_last_attempt_is_recorded_when_the_run_ends(fakes: FakeServices, retries: int) -> None:
    runs = fakes.services.runs
    runs.start_run(PROJECT, RunCreate.model_validate(SPEC | {"retries": retries}))
    taken = runs.take(fakes.queue.sent[-1][0])
    assert taken is not None
    done = runs.end_attempt(taken, RunStatus.passed)
    assert [(a.attempt, a.status) for a in done.attempts] == [(1, "passed")]
    assert done.attempts[0].ended_at == done.ended_at
