"""Services against in-memory fakes: the catalog and the run state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from shared.ids import utcnow
from shared.models.messages import RunMessage
from shared.models.queries import RunQuery, TestQuery
from shared.models.runs import ArtifactRef, Run, RunCreate, RunStatus, StepResult
from shared.models.tests import RevisionCreate, TestCreate, TestStatus, TestUpdate
from shared.ports import StoredArtifact
from shared.services.runs import RunLimits, RunService
from tests.conftest import FakeServices

PROJECT = "prj_a"


def a_test(**overrides: object) -> TestCreate:
    body = {
        "name": "Admin can log in",
        "tags": ["smoke"],
        "variables": {"base_url": "http://127.0.0.1:5000"},
        "steps": [{"action": "goto", "url": "{{base_url}}/login"}],
    }
    return TestCreate.model_validate(body | overrides)


def started(fakes: FakeServices, **body: object) -> Run:
    test, _ = fakes.services.catalog.create_test(PROJECT, a_test())
    return fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"test_id": test.id} | body))


# ------------------------------------------------------------------------------------ catalog


def test_create_test_writes_revision_1(fakes: FakeServices) -> None:
    test, revision = fakes.services.catalog.create_test(PROJECT, a_test(tags=["b", "a", "b"]))
    assert test.id.startswith("tst_") and test.latest_revision == 1
    assert test.tags == ["a", "b"]
    assert revision.revision == 1 and revision.steps is not None


def test_revisions_are_numbered_and_immutable(fakes: FakeServices) -> None:
    catalog = fakes.services.catalog
    test, first = catalog.create_test(PROJECT, a_test())
    second = catalog.new_revision(
        PROJECT, test.id, RevisionCreate.model_validate({"steps": [{"action": "goto", "url": "http://new"}]})
    )
    assert second.revision == 2
    assert catalog.get_test(PROJECT, test.id).latest_revision == 2
    # revision 1 is unchanged
    assert catalog.get_revision(PROJECT, test.id, 1).steps == first.steps
    with pytest.raises(NotFound, match="no revision 3"):
        catalog.get_revision(PROJECT, test.id, 3)


def test_archive_keeps_the_test_and_blocks_runs_and_revisions(fakes: FakeServices) -> None:
    catalog = fakes.services.catalog
    test, _ = catalog.create_test(PROJECT, a_test())
    archived = catalog.archive_test(PROJECT, test.id)
    assert archived.status == TestStatus.archived
    with pytest.raises(Conflict, match="archived"):
        fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test.id))
    with pytest.raises(Conflict, match="archived"):
        catalog.new_revision(PROJECT, test.id, RevisionCreate.model_validate({"goal": "Go to http://x"}))
    restored = catalog.update_test(PROJECT, test.id, TestUpdate(status=TestStatus.active))
    assert restored.status == TestStatus.active


def test_list_tests_filters(fakes: FakeServices) -> None:
    catalog = fakes.services.catalog
    catalog.create_test(PROJECT, a_test(name="Login", tags=["smoke"]))
    catalog.create_test(PROJECT, a_test(name="Checkout", tags=["cart"]))
    catalog.create_test("prj_other", a_test(name="Foreign", tags=["smoke"]))
    names = [t.name for t in catalog.list_tests(TestQuery(project_id=PROJECT, tag="smoke")).items]
    assert names == ["Login"]
    assert [t.name for t in catalog.list_tests(TestQuery(project_id=PROJECT, q="check")).items] == ["Checkout"]


def test_tests_of_another_project_are_not_found(fakes: FakeServices) -> None:
    test, _ = fakes.services.catalog.create_test(PROJECT, a_test())
    with pytest.raises(NotFound):
        fakes.services.catalog.get_test("prj_b", test.id)
    with pytest.raises(NotFound):
        fakes.services.runs.start_run("prj_b", RunCreate(test_id=test.id))


# ---------------------------------------------------------------------------------------- runs


def test_start_run_enqueues_and_publishes(fakes: FakeServices) -> None:
    run = started(fakes, variables={"base_url": "http://other"})
    assert run.status == RunStatus.queued and run.attempt == 1
    assert run.variables == {"base_url": "http://other"}  # request overrides the revision's
    [(message, _)] = fakes.queue.sent
    assert (message.run_id, message.attempt, message.project_id) == (run.id, 1, PROJECT)
    [event] = fakes.events.events
    assert event.detail_type == "Run Status Changed"
    assert (event.status, event.previous_status) == (RunStatus.queued, None)  # type: ignore[attr-defined]


def test_inline_spec_run(fakes: FakeServices) -> None:
    run = fakes.services.runs.start_run(
        PROJECT,
        RunCreate.model_validate({"spec": {"steps": [{"action": "request", "url": "http://x"}]}, "trigger": "cli"}),
    )
    assert run.test_id is None and run.kind == "api" and run.trigger == "cli"


def test_a_goal_without_a_plan_cannot_run_where_there_is_no_planner(fakes: FakeServices) -> None:
    runs = RunService(
        tests=fakes.store, runs=fakes.store, queue=fakes.queue, events=fakes.events, artifacts=fakes.artifacts
    )
    with pytest.raises(Conflict, match="no step plan, and this deployment has no planner"):
        runs.start_run(PROJECT, RunCreate.model_validate({"spec": {"goal": "Go to http://x"}}))


def test_timeout_above_the_deployments_limit_is_refused(fakes: FakeServices) -> None:
    runs = RunService(
        tests=fakes.store,
        runs=fakes.store,
        queue=fakes.queue,
        events=fakes.events,
        artifacts=fakes.artifacts,
        limits=RunLimits(max_timeout_s=600, max_retries=1),
    )
    test, _ = fakes.services.catalog.create_test(PROJECT, a_test())
    with pytest.raises(InvalidInput, match="timeout_s: 601 is above this deployment's limit of 600"):
        runs.start_run(PROJECT, RunCreate(test_id=test.id, timeout_s=601))
    assert runs.start_run(PROJECT, RunCreate(test_id=test.id, timeout_s=600)).timeout_s == 600
    with pytest.raises(InvalidInput, match="retries: 2 is above this deployment's limit of 1"):
        runs.start_run(PROJECT, RunCreate(test_id=test.id, retries=2))


def test_queue_failure_ends_the_run_as_error(fakes: FakeServices) -> None:
    fakes.queue.fail = True
    with pytest.raises(Unavailable):
        started(fakes)
    [run] = fakes.store.runs.values()
    assert run.status == RunStatus.error and "enqueue" in (run.error or "")


def test_take_is_once_per_attempt(fakes: FakeServices) -> None:
    run = started(fakes)
    message = RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)
    taken = fakes.services.runs.take(message)
    assert taken is not None and taken.status == RunStatus.running and taken.started_at
    assert fakes.services.runs.take(message) is None  # a duplicate delivery is dropped
    stale = RunMessage(run_id=run.id, project_id=PROJECT, attempt=0)
    assert fakes.services.runs.take(stale) is None


def went_silent(fakes: FakeServices, run_id: str) -> None:
    """The worker holding ``run_id`` stops heartbeating (its last beat is ten minutes old)."""
    fakes.store.update_run(run_id, {"heartbeat_at": (utcnow() - timedelta(minutes=10)).isoformat()})


def test_a_silent_workers_run_is_run_again_as_the_next_attempt(fakes: FakeServices) -> None:
    # Given a run whose worker took attempt 1, wrote a step, then went silent
    runs = fakes.services.runs
    run = started(fakes)
    message = RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)
    taken = runs.take(message)
    assert taken is not None
    runs.update_progress(taken, steps=[StepResult(index=0, action="goto", status="passed")])
    runs.take(message)  # (a redelivery while the heartbeat is fresh: nothing happens)
    assert fakes.store.get_run(run.id).attempt == 1
    went_silent(fakes, run.id)

    # When its message is delivered again
    assert runs.take(message) is None  # not executed in place

    # Then the run is queued as attempt 2 with a message of its own, the interruption recorded
    queued = fakes.store.get_run(run.id)
    assert (queued.status, queued.attempt, queued.steps) == (RunStatus.queued, 2, [])
    [interruption] = queued.interruptions
    assert interruption.attempt == 1 and "stopped responding" in interruption.reason
    assert fakes.queue.sent[-1][0].attempt == 2
    assert runs.take(message) is None  # the old message is stale now
    again = runs.take(fakes.queue.sent[-1][0])
    assert again is not None and (again.status, again.attempt) == (RunStatus.running, 2)
    assert [(e.status, e.attempt) for e in fakes.events.events][-2:] == [  # type: ignore[attr-defined]
        (RunStatus.queued, 2),
        (RunStatus.running, 2),
    ]


def test_a_takeover_whose_message_was_not_sent_is_sent_again(fakes: FakeServices) -> None:
    # Given a takeover that stored attempt 2 but could not enqueue its message
    runs = fakes.services.runs
    run = started(fakes)
    message = RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)
    assert runs.take(message) is not None
    went_silent(fakes, run.id)
    fakes.queue.fail = True
    with pytest.raises(Unavailable):
        runs.take(message)  # the worker leaves its message for redelivery
    assert fakes.store.get_run(run.id).attempt == 2
    fakes.queue.fail = False

    # When the old message comes back, Then attempt 2's message is sent after all
    assert runs.take(message) is None
    assert fakes.queue.sent[-1][0].attempt == 2
    # (and so it is when the old message's last copy lands in the dead-letter queue)
    assert runs.dead_letter(message) == "dropped"
    assert [m.attempt for m, _ in fakes.queue.sent[-2:]] == [2, 2]
    assert runs.take(fakes.queue.sent[-1][0]) is not None


def test_interruptions_use_none_of_the_retries(fakes: FakeServices) -> None:
    # Given a run with one retry whose first attempt was interrupted
    runs = fakes.services.runs
    run = started(fakes, retries=1)
    first = runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1))
    assert first is not None
    runs.resume(first)
    second = runs.take(fakes.queue.sent[-1][0])
    assert second is not None and second.attempt == 2

    # When attempt 2 fails, Then it is retried (the interruption cost no retry)
    retried = runs.end_attempt(second, RunStatus.failed, error="boom")
    assert (retried.status, retried.attempt) == (RunStatus.queued, 3)
    third = runs.take(fakes.queue.sent[-1][0])
    assert third is not None

    # and when attempt 3 fails too, the run ends failed: its one retry is used
    ended = runs.end_attempt(third, RunStatus.failed, error="boom")
    assert (ended.status, ended.attempt, ended.flaky) == (RunStatus.failed, 3, False)


def test_flaky_means_passed_after_an_attempt_that_failed(fakes: FakeServices) -> None:
    runs = fakes.services.runs

    def attempt(run_id: str) -> Run:
        taken = runs.take(fakes.queue.sent[-1][0])
        assert taken is not None and taken.id == run_id
        return taken

    # passed after an interruption: not flaky
    interrupted = started(fakes, retries=1)
    runs.resume(attempt(interrupted.id))
    passed = runs.end_attempt(attempt(interrupted.id), RunStatus.passed)
    assert (passed.status, passed.attempt, passed.flaky) == (RunStatus.passed, 2, False)

    # passed after a failed attempt (and an interruption): flaky
    failing = started(fakes, retries=2)
    runs.end_attempt(attempt(failing.id), RunStatus.failed)
    runs.resume(attempt(failing.id))
    passed = runs.end_attempt(attempt(failing.id), RunStatus.passed)
    assert (passed.status, passed.attempt, passed.flaky) == (RunStatus.passed, 3, True)
    assert [i.attempt for i in passed.interruptions] == [2]


def test_a_run_that_keeps_stopping_its_worker_ends_as_error(fakes: FakeServices) -> None:
    # Given a run whose every attempt crashes its worker
    runs = RunService(
        tests=fakes.store,
        runs=fakes.store,
        queue=fakes.queue,
        events=fakes.events,
        artifacts=fakes.artifacts,
        limits=RunLimits(max_interruptions=2),
    )
    run = started(fakes)
    for number in (1, 2, 3):
        message = fakes.queue.sent[-1][0]
        assert message.attempt == number
        assert runs.take(message) is not None
        went_silent(fakes, run.id)
        assert runs.take(message) is None

    # Then after two interruptions the third ends it as error, every interruption recorded
    ended = fakes.store.get_run(run.id)
    assert (ended.status, ended.attempt) == (RunStatus.error, 3)
    assert [i.attempt for i in ended.interruptions] == [1, 2, 3]
    assert ended.error and "attempt 3 never finished" in ended.error and "not run again" in ended.error
    assert len(fakes.queue.sent) == 3  # no fourth attempt
    assert runs.dead_letter(RunMessage(run_id=run.id, project_id=PROJECT, attempt=3)) == "dropped"


def test_transitions_are_guarded(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = started(fakes)
    with pytest.raises(Conflict, match="cannot become passed"):
        runs.transition(run, RunStatus.passed)
    running = runs.transition(run, RunStatus.running, started_at=utcnow())
    with pytest.raises(Conflict):  # stale copy: the stored run is no longer queued
        runs.transition(run, RunStatus.cancelled)
    done = runs.transition(running, RunStatus.passed)
    assert done.ended_at is not None and done.duration_ms is not None and done.duration_ms >= 0
    statuses = [(e.previous_status, e.status) for e in fakes.events.events]  # type: ignore[attr-defined]
    assert statuses == [
        (None, RunStatus.queued),
        (RunStatus.queued, RunStatus.running),
        (RunStatus.running, RunStatus.passed),
    ]


def test_cancel(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    queued = started(fakes)
    assert runs.cancel(PROJECT, queued.id).status == RunStatus.cancelled
    with pytest.raises(Conflict, match="already ended as cancelled"):
        runs.cancel(PROJECT, queued.id)
    other = started(fakes)
    running = runs.take(RunMessage(run_id=other.id, project_id=PROJECT, attempt=1))
    assert running is not None
    asked = runs.cancel(PROJECT, other.id)
    assert asked.status == RunStatus.running and asked.cancel_requested
    with pytest.raises(NotFound):
        runs.cancel("prj_b", other.id)


def test_requeue_starts_the_next_attempt(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = started(fakes, retries=1)
    assert run.max_attempts == 2
    running = runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1))
    assert running is not None
    again = runs.requeue(running, error="attempt 1 failed")
    assert (again.status, again.attempt) == (RunStatus.queued, 2)
    assert fakes.queue.sent[-1][0].attempt == 2
    assert runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)) is None
    assert runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=2)) is not None


def test_artifacts_are_presigned(fakes: FakeServices) -> None:
    run = started(fakes)
    ref = ArtifactRef(name="trace.zip", kind="trace", key=f"runs/{PROJECT}/{run.id}/trace.zip", size=3)
    fakes.store.update_run(run.id, {"artifacts": [ref.model_dump()]})
    [artifact] = fakes.services.runs.artifacts(PROJECT, run.id)
    assert artifact.name == "trace.zip" and ref.key in artifact.url


def test_list_runs_filters_and_pages(fakes: FakeServices) -> None:
    runs = [started(fakes) for _ in range(5)]
    fakes.services.runs.cancel(PROJECT, runs[0].id)
    page = fakes.services.runs.list_runs(RunQuery(project_id=PROJECT, limit=2))
    assert len(page.items) == 2 and page.next_cursor
    assert page.items[0].created_at >= page.items[1].created_at  # newest first
    rest = fakes.services.runs.list_runs(RunQuery(project_id=PROJECT, limit=10, cursor=page.next_cursor))
    assert len(rest.items) == 3 and rest.next_cursor is None
    cancelled = fakes.services.runs.list_runs(RunQuery(project_id=PROJECT, status=RunStatus.cancelled))
    assert [r.id for r in cancelled.items] == [runs[0].id]


def test_resume_gives_an_interrupted_run_back_to_the_queue(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = started(fakes)
    running = runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1))
    assert running is not None
    partial = runs.update_progress(running, steps=[StepResult(index=0, action="goto", status="passed")])
    resumed = runs.resume(partial, "local mode restarted while it ran")
    assert (resumed.status, resumed.attempt, resumed.steps) == (RunStatus.queued, 2, [])  # a new attempt
    assert [(i.attempt, i.reason) for i in resumed.interruptions] == [(1, "local mode restarted while it ran")]
    assert resumed.max_attempts == 1  # not a retry: the retries are the same
    assert fakes.queue.sent[-1][0].attempt == 2
    again = runs.resume(resumed)  # a queued run just gets its message again
    assert again.status == RunStatus.queued and len(fakes.queue.sent) == 3
    assert runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)) is None  # stale
    retaken = runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=2))
    assert retaken is not None and retaken.status == RunStatus.running
    with pytest.raises(Conflict, match="nothing to resume"):
        runs.resume(runs.transition(retaken, RunStatus.passed))


def test_resume_honours_a_pending_cancel(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = started(fakes)
    assert runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)) is not None
    asked = runs.cancel(PROJECT, run.id)
    cancelled = runs.resume(asked)
    assert cancelled.status == RunStatus.cancelled and cancelled.interruptions[0].attempt == 1


def test_an_inline_run_takes_the_whole_test_file(fakes: FakeServices) -> None:
    body = a_test(tags=["smoke", "login"], description="from a file").model_dump(mode="json")
    run = fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"spec": body}))
    assert run.name == "Admin can log in" and run.tags == ["login", "smoke"]


def test_a_dead_letter_ends_its_run_as_error(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = started(fakes)
    message = RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)
    assert runs.dead_letter(message) == "ended"
    ended = fakes.store.get_run(run.id)
    assert ended.status == RunStatus.error and "dead-letter queue" in (ended.error or "")
    assert runs.dead_letter(message) == "dropped"  # already ended: nothing to do
    assert runs.dead_letter(RunMessage(run_id="run_gone", project_id=PROJECT, attempt=1)) == "dropped"


def test_a_dead_letter_leaves_a_live_run_alone(fakes: FakeServices) -> None:
    runs = fakes.services.runs
    run = started(fakes, retries=1)
    message = RunMessage(run_id=run.id, project_id=PROJECT, attempt=1)
    held = runs.take(message)
    assert held is not None
    assert runs.dead_letter(message) == "pending"  # a worker heartbeats it: a leftover copy
    fakes.store.update_run(run.id, {"heartbeat_at": (utcnow() - timedelta(minutes=10)).isoformat()})
    assert runs.dead_letter(message) == "ended"  # its worker went silent
    other = started(fakes, retries=1)
    took = runs.take(RunMessage(run_id=other.id, project_id=PROJECT, attempt=1))
    assert took is not None
    runs.requeue(took)
    assert runs.dead_letter(RunMessage(run_id=other.id, project_id=PROJECT, attempt=1)) == "dropped"  # attempt 2 now


# ------------------------------------------------------------------------ artifact links


def _linked_run(fakes: FakeServices, clock: list[float]) -> tuple[RunService, str, str]:
    from shared.models.runs import ArtifactRef, artifact_prefix
    from shared.services.artifact_links import ArtifactLinkSigner, SignedLinkArtifacts

    signer = ArtifactLinkSigner(b"k" * 32, "http://api.test", clock=lambda: clock[0])
    store = SignedLinkArtifacts(fakes.artifacts, signer)
    runs = RunService(
        tests=fakes.store, runs=fakes.store, queue=fakes.queue, events=fakes.events, artifacts=store, links=signer
    )
    run = runs.start_run(
        "prj_a", RunCreate.model_validate({"spec": {"steps": [{"action": "goto", "url": "https://x.example/"}]}})
    )
    key = f"{artifact_prefix('prj_a', run.id, 1)}/report.html"
    fakes.artifacts.put(key, b"<h1>r</h1>", content_type="text/html")
    fakes.store.update_run(
        run.id, {"artifacts": [ArtifactRef(name="report.html", kind="report", key=key).model_dump()]}
    )
    url = runs.artifacts("prj_a", run.id)[0].url
    return runs, url.split("/v1/artifacts/")[1].split("/")[0], run.id


def test_an_artifact_link_opens_its_artifact_until_it_expires(fakes: FakeServices) -> None:
    clock = [1_000_000.0]
    runs, token, _ = _linked_run(fakes, clock)

    assert runs.open_artifact(token, "report.html") == StoredArtifact(b"<h1>r</h1>", "text/html")
    with pytest.raises(NotFound):
        runs.open_artifact(token, "other.png")
    clock[0] += 3600 + 1  # presign_ttl_s later
    with pytest.raises(Forbidden, match="expired"):
        runs.open_artifact(token, "report.html")


def test_without_a_link_signer_the_api_serves_no_artifacts(fakes: FakeServices) -> None:
    with pytest.raises(NotFound):
        fakes.services.runs.open_artifact("anything", "report.html")
