"""A Fargate worker protects its task from scale-in while it holds runs and lifts the protection when it holds
none, through the ECS agent's endpoint (here a fake agent on loopback)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runner_container.runner.protection import TaskProtection
from runner_container.runner.worker import Worker
from shared.models.runs import RunCreate
from tests.conftest import FakeServices
from tests.unit.test_worker_batches import PROJECT, SPEC, ScriptedExecutor


class FakeAgent:
    """The ECS agent's task-protection endpoint: records each PUT, in order with what the worker executes."""

    def __init__(self, log: list[Any], status: int = 200, answer: dict[str, Any] | None = None) -> None:
        self.log = log
        self.status = status
        self.answer = answer
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                agent.log.append(("agent", self.path, body))
                answer = agent.answer or {"protection": {"ProtectionEnabled": body["ProtectionEnabled"]}}
                self.send_response(agent.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}/api/task-1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def log() -> list[Any]:
    return []


@pytest.fixture
def agent(log: list[Any]) -> Iterator[FakeAgent]:
    fake = FakeAgent(log)
    yield fake
    fake.close()


class LoggingExecutor(ScriptedExecutor):
    def __init__(self, fakes: FakeServices, log: list[Any]) -> None:
        super().__init__(fakes)
        self.log = log

    async def _execute_held(self, held: Any) -> Any:
        self.log.append(("run", held.run.id))
        return await super()._execute_held(held)


async def _work_until_idle(worker: Worker, executor: LoggingExecutor, runs: int) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    for _ in range(400):
        await asyncio.sleep(0.02)
        if len(executor.executed) == runs and not worker._in_flight:
            break
    await asyncio.sleep(0.2)  # a turn of the loop with nothing held
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_the_task_is_protected_while_it_holds_a_run_and_released_after(
    fakes: FakeServices, agent: FakeAgent, log: list[Any]
) -> None:
    # Given a queued run and a worker whose ECS agent is reachable
    run = fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"spec": SPEC}))
    executor = LoggingExecutor(fakes, log)
    worker = Worker(
        executor=executor,
        queue=fakes.queue,
        concurrency=1,
        visibility_timeout_s=30,
        wait_s=0,
        protection=TaskProtection(agent.uri, expires_minutes=90),
    )
    # When it works until the run ended and it is idle again
    await _work_until_idle(worker, executor, 1)
    # Then protection came before the run, and was lifted once it held nothing
    assert log == [
        ("agent", "/api/task-1/task-protection/v1/state", {"ProtectionEnabled": True, "ExpiresInMinutes": 90}),
        ("run", run.id),
        ("agent", "/api/task-1/task-protection/v1/state", {"ProtectionEnabled": False}),
    ]
    executor.close()


async def test_an_agent_that_refuses_does_not_stop_the_run(fakes: FakeServices, log: list[Any]) -> None:
    refusing = FakeAgent(log, status=500)
    try:
        run = fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"spec": SPEC}))
        executor = LoggingExecutor(fakes, log)
        protection = TaskProtection(refusing.uri, expires_minutes=5)
        worker = Worker(
            executor=executor,
            queue=fakes.queue,
            concurrency=1,
            visibility_timeout_s=30,
            wait_s=0,
            protection=protection,
        )
        await _work_until_idle(worker, executor, 1)
        assert ("run", run.id) in log
        assert fakes.store.get_run(run.id).status.value == "passed"
        assert protection.held is False
    finally:
        refusing.close()
    executor.close()


async def test_outside_ecs_nothing_is_called(fakes: FakeServices, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECS_AGENT_URI", raising=False)
    protection = TaskProtection.from_environment(expires_minutes=5)
    await protection.hold()
    assert protection.held is True  # remembered, and nothing to call
    await protection.release()
    assert protection.held is False


async def test_an_agent_that_answers_200_with_a_failure_is_not_protection(log: list[Any]) -> None:
    """The ECS agent answers 200 {"failure": ...} when ECS refused (the task not found, throttled)."""
    failing = FakeAgent(log, answer={"failure": {"Arn": "task-1", "Reason": "TASK_NOT_VALID"}})
    try:
        protection = TaskProtection(failing.uri, expires_minutes=5)
        await protection.hold()
        assert protection.held is False
    finally:
        failing.close()


@pytest.mark.parametrize("uri", ["http://[::1", "http://127.0.0.1:99999/x", "not a url"])
async def test_a_malformed_agent_uri_is_logged_not_raised(uri: str) -> None:
    protection = TaskProtection(uri, expires_minutes=5)
    await protection.hold()  # no exception: the worker's loop goes on
    assert protection.held is False


async def test_protection_held_past_half_its_expiry_is_renewed(agent: FakeAgent, log: list[Any]) -> None:
    protection = TaskProtection(agent.uri, expires_minutes=10)
    await protection.hold()
    await protection.renew_if_due()  # just set: nothing to do
    assert len(log) == 1
    protection._held_at -= 6 * 60  # six of its ten minutes later
    await protection.renew_if_due()
    assert [entry[2] for entry in log] == [{"ProtectionEnabled": True, "ExpiresInMinutes": 10}] * 2
