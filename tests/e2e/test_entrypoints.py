"""The worker loop and the Lambda handler, end to end over the in-memory queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from examples.webapp import WebApp
from runner_container.runner import lambda_handler
from runner_container.runner.browser import BrowserPool
from runner_container.runner.worker import Worker
from shared.models.messages import ReceivedMessage, RunMessage
from shared.models.runs import Run, RunCreate, RunStatus
from shared.services.catalog import Catalog
from shared.services.container import Services
from shared.services.projects import Projects
from shared.settings import get_settings
from tests.e2e.conftest import PROJECT, Harness, make_harness
from tests.lambda_events import sqs_event

pytestmark = pytest.mark.e2e

STEPS: list[dict[str, Any]] = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "expect_visible", "target": {"role": "button", "name": "Log in"}},
]


@pytest.mark.asyncio(loop_scope="session")
async def test_worker_executes_deletes_and_stops_cleanly(pool: BrowserPool, webapp: WebApp) -> None:
    # Given two runs queued, the first delivered twice
    h = make_harness(pool, webapp.url)
    spec = {"steps": STEPS, "variables": {"base_url": webapp.url}}
    first = h.runs.start_run(PROJECT, RunCreate.model_validate({"spec": spec}))
    second = h.runs.start_run(PROJECT, RunCreate.model_validate({"spec": spec}))
    h.queue.sent.append(h.queue.sent[0])
    # (one at a time, so the duplicate arrives after the original finished and is dropped, then deleted;
    # a duplicate arriving *during* the run is left for redelivery, see test_duplicate_message_runs_once)
    worker = Worker(executor=h.executor, queue=h.queue, concurrency=1, visibility_timeout_s=30, idle_s=0.05)
    stop = asyncio.Event()

    # When the worker runs until both are done
    task = asyncio.create_task(worker.run_forever(stop))
    for _ in range(200):
        if all(h.store.get_run(r.id).status.terminal for r in (first, second)) and len(h.queue.deleted) == 3:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=10)

    # Then both passed, each ran once, and every delivery was deleted
    assert [h.store.get_run(r.id).status for r in (first, second)] == [RunStatus.passed] * 2
    assert h.statuses(first.id) == ["queued", "running", "passed"]
    assert sorted(h.queue.deleted) == sorted([first.id, first.id, second.id])


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # powertools keeps one event loop in Lambda
    monkeypatch.setenv("AUTOTEST_NETWORK_ALLOWLIST", "127.0.0.0/8")
    monkeypatch.setenv("AUTOTEST_RECORD_VIDEO", "false")
    get_settings.cache_clear()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    lambda_handler.shutdown()
    lambda_handler._State.services = None
    asyncio.set_event_loop(None)
    loop.close()
    get_settings.cache_clear()


def services_of(h: Harness) -> Services:
    """The harness's fakes as the ``Services`` an entry point is configured with."""
    return Services(
        projects=Projects(h.store),
        catalog=Catalog(h.store),
        runs=h.runs,
        queue=h.queue,
        artifacts=h.artifacts,
        events=h.events,
        secrets=h.secrets,
    )


def test_lambda_handler_reports_partial_batch_failures(lambda_env: None, webapp: WebApp) -> None:
    # Given the handler wired to in-memory services, and a batch with one good and one broken record
    h = make_harness(BrowserPool(), webapp.url)
    lambda_handler.configure(services_of(h))
    run, message = h.start(STEPS)
    event = sqs_event([message.model_dump_json(), json.dumps({"nope": True})])

    # When the batch is handled (twice: the second is a redelivery)
    response = lambda_handler.handler(event, None)  # type: ignore[arg-type]
    again = lambda_handler.handler(sqs_event([message.model_dump_json()]), None)  # type: ignore[arg-type]

    # Then the run passed once and only the broken record is reported as failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert again == {"batchItemFailures": []}
    assert h.store.get_run(run.id).status == RunStatus.passed
    assert h.statuses(run.id) == ["queued", "running", "passed"]


def test_lambda_handler_keeps_one_browser_whatever_loop_a_batch_runs_on(
    lambda_env: None, webapp: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the handler outside Lambda, where powertools runs every batch on a fresh event loop
    monkeypatch.delenv("LAMBDA_TASK_ROOT")
    h = make_harness(BrowserPool(), webapp.url)
    lambda_handler.configure(services_of(h))

    # When two batches are handled
    first, first_message = h.start(STEPS)
    assert lambda_handler.handler(sqs_event([first_message.model_dump_json()]), None) == {"batchItemFailures": []}  # type: ignore[arg-type]
    runtime = lambda_handler._State.runtime
    second, second_message = h.start(STEPS)
    assert lambda_handler.handler(sqs_event([second_message.model_dump_json()]), None) == {"batchItemFailures": []}  # type: ignore[arg-type]

    # Then both passed with the one runtime (one pool: no browser left behind on a closed loop; a
    # single-process Chromium is relaunched for every context), which shutdown closes
    assert [h.store.get_run(r.id).status for r in (first, second)] == [RunStatus.passed] * 2
    assert runtime is not None and lambda_handler._State.runtime is runtime
    lambda_handler.shutdown()
    assert not runtime.pool.running and runtime.pool.traces_dir is None
    assert lambda_handler._State.runtime is None and lambda_handler._State.loop is None


def batch_message(h: Harness, count: int) -> tuple[list[Run], RunMessage]:
    """``count`` runs stored and sent as one batch message, as a suite run's browser children are."""
    spec = {"steps": STEPS, "variables": {"base_url": h.base_url}}
    runs = [h.runs.start_run(PROJECT, RunCreate.model_validate({"spec": spec}), enqueue=False) for _ in range(count)]
    h.runs.send_batch(runs)
    message, _ = h.queue.sent.pop()
    return runs, message


@pytest.mark.asyncio(loop_scope="session")
async def test_worker_runs_a_batch_on_one_browser_a_context_each(webapp: WebApp) -> None:
    # Given a fresh runner and three runs in one message
    pool = BrowserPool(concurrency=1)
    h = make_harness(pool, webapp.url)
    runs, message = batch_message(h, 3)
    worker = Worker(executor=h.executor, queue=h.queue, concurrency=1, visibility_timeout_s=30)

    # When the worker handles it
    await worker.handle(ReceivedMessage(body=message.model_dump_json(), receipt="r-1", message_id="m-1"))

    # Then each passed, with its own artifacts, on the one browser launched (it served the three contexts)
    try:
        assert [h.store.get_run(r.id).status for r in runs] == [RunStatus.passed] * 3
        assert all(h.statuses(r.id) == ["queued", "running", "passed"] for r in runs)
        reports = [a.key for r in runs for a in h.store.get_run(r.id).artifacts if a.key.endswith("report.html")]
        assert len(set(reports)) == 3
        assert pool.running and pool._served == 3
        assert h.queue.deleted == ["r-1"]
    finally:
        await pool.close()


def test_lambda_handler_runs_a_batch_record_in_one_invocation(lambda_env: None, webapp: WebApp) -> None:
    # Given the handler (a single-process Chromium: a launch per context) and one record naming two runs
    h = make_harness(BrowserPool(), webapp.url)
    lambda_handler.configure(services_of(h))
    runs, message = batch_message(h, 2)

    # When it is handled, then both passed in that one invocation and the record is not reported as failed
    assert lambda_handler.handler(sqs_event([message.model_dump_json()]), None) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert [h.store.get_run(r.id).status for r in runs] == [RunStatus.passed] * 2


def test_lambda_handler_hands_back_a_run_another_worker_holds_soon(lambda_env: None, webapp: WebApp) -> None:
    """A record whose run is running elsewhere goes back to the queue in BUSY_RETRY_S, not after the queue's
    visibility timeout (six times the function's: 90 minutes in the CDK stack)."""
    # Given a run another worker has taken (running, fresh heartbeat)
    h = make_harness(BrowserPool(), webapp.url)
    lambda_handler.configure(services_of(h))
    run, message = h.start(STEPS)
    assert h.runs.take(message) is not None
    extended: list[tuple[str, int]] = []

    def extend(receipt: str, visibility_timeout_s: int, *, priority: str = "normal") -> None:
        extended.append((receipt, visibility_timeout_s))

    h.queue.extend = extend  # type: ignore[method-assign]

    # When the Lambda gets the record
    response = lambda_handler.handler(sqs_event([message.model_dump_json()]), None)  # type: ignore[arg-type]

    # Then it is reported failed and made visible again in BUSY_RETRY_S
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert extended == [("r-0", lambda_handler.BUSY_RETRY_S)]
    assert h.store.get_run(run.id).status == RunStatus.running
