"""Live run events: the RunEvents sources, the SSE route, and the CLI's SSE parser."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.client import parse_sse
from functions.api.app import create_app
from functions.api.routes.events import sse_stream
from shared.events_source import BusRunEvents, EventHub, PollingRunEvents, RunEvent, StepProgress, status_event
from shared.models.messages import RunMessage
from shared.models.runs import Run, RunCreate, RunStatus, StepResult
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
SPEC = {"name": "t", "steps": [{"action": "goto", "url": "http://example.test/"}]}


def start(fakes: FakeServices, project: str = "default") -> Run:
    return fakes.services.runs.start_run(project, RunCreate.model_validate({"spec": SPEC}))


def finish(fakes: FakeServices, run: Run, status: RunStatus = RunStatus.passed) -> Run:
    taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id=run.project_id, attempt=run.attempt))
    assert taken is not None
    done = StepResult(index=0, action="goto", status="passed", duration_ms=5)
    return fakes.services.runs.transition(taken, status, steps=[done])


def kinds(events: list[RunEvent]) -> list[str]:
    return [f"status:{e.status.value}" if not isinstance(e, StepProgress) else f"step:{e.step.index}" for e in events]


async def collect(source: AsyncIterator[RunEvent], timeout_s: float = 5) -> list[RunEvent]:
    async def go() -> list[RunEvent]:
        return [e async for e in source]

    return await asyncio.wait_for(go(), timeout_s)


# ------------------------------------------------------------------------------------ sources


async def test_polling_source_reports_steps_then_status_until_the_end(fakes: FakeServices) -> None:
    # Given a queued run whose reads go queued -> running with one step -> passed with two
    run = start(fakes)
    step0 = StepResult(index=0, action="goto", status="passed")
    step1 = StepResult(index=1, action="click", status="failed", error="boom")
    reads = iter(
        [
            run.model_copy(update={"status": RunStatus.running, "steps": [step0]}),
            run.model_copy(update={"status": RunStatus.running, "steps": [step0]}),
            run.model_copy(update={"status": RunStatus.failed, "steps": [step0, step1]}),
        ]
    )

    # When it is followed
    events = await collect(PollingRunEvents(lambda _: next(reads), interval_s=0.001).events(run))

    # Then every step and status arrives once, "running" before its steps, and the stream ends at the end
    assert kinds(events) == ["status:queued", "status:running", "step:0", "step:1", "status:failed"]
    assert events[-1].previous_status == RunStatus.running  # type: ignore[union-attr]


async def test_a_subscriber_joining_late_gets_the_steps_already_done(fakes: FakeServices) -> None:
    run = finish(fakes, start(fakes))

    events = await collect(PollingRunEvents(lambda _: run).events(run))

    assert kinds(events) == ["status:passed", "step:0"]


async def test_bus_source_ends_on_a_pushed_terminal_event(fakes: FakeServices) -> None:
    # Given a bus source that would only read the store every minute
    hub = EventHub()
    run = start(fakes)
    source = BusRunEvents(hub, lambda run_id: fakes.store.get_run(run_id), step_poll_s=60)
    events: list[RunEvent] = []

    async def follow() -> None:
        async for event in source.events(run):
            events.append(event)

    task = asyncio.create_task(follow())
    for _ in range(5000):
        if hub.subscriber_count:
            break
        await asyncio.sleep(0.001)

    # When the run finishes and its events are pushed through the hub
    done = finish(fakes, run)
    for event in fakes.events.events:
        if event.run_id == run.id:  # type: ignore[attr-defined]
            hub.publish(event)  # type: ignore[arg-type]
    await asyncio.wait_for(task, 5)

    # Then the stream carries the step written before the status and ends with it
    assert kinds(events) == ["status:queued", "step:0", "status:running", "status:passed"]
    assert hub.subscriber_count == 0
    assert done.status == RunStatus.passed


async def test_bus_source_catches_up_from_the_store_when_an_event_is_lost(fakes: FakeServices) -> None:
    hub = EventHub()
    run = start(fakes)
    finish(fakes, run)  # nothing is pushed at all

    events = await collect(BusRunEvents(hub, lambda rid: fakes.store.get_run(rid), step_poll_s=0.01).events(run))

    assert kinds(events)[-1] == "status:passed"


async def test_closing_the_hub_ends_streams() -> None:
    hub = EventHub()
    queue = hub.subscribe("run_x")
    hub.close()
    assert await queue.get() is None
    assert await hub.subscribe("run_y").get() is None  # subscribing after close ends at once too


async def test_sse_stream_frames_events_and_keeps_the_connection_alive(fakes: FakeServices) -> None:
    run = start(fakes)

    async def slow() -> AsyncIterator[RunEvent]:
        yield status_event(run)
        await asyncio.sleep(0.05)
        yield status_event(run.model_copy(update={"status": RunStatus.cancelled}), run)

    frames = [f async for f in sse_stream(slow(), keepalive_s=0.01)]

    assert frames[0].startswith("retry:")
    assert ": keepalive\n\n" in frames
    events = list(parse_sse(iter("".join(frames).split("\n"))))
    assert [(e.event, json.loads(e.data)["status"]) for e in events] == [("status", "queued"), ("status", "cancelled")]
    assert [e.id for e in events] == ["1", "2"]


# -------------------------------------------------------------------------------------- route


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


def test_route_streams_an_ended_run_and_closes(client: TestClient, fakes: FakeServices) -> None:
    run = finish(fakes, start(fakes), RunStatus.failed)

    response = client.get(f"/v1/runs/{run.id}/events", headers=ADMIN)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = list(parse_sse(iter(response.text.split("\n"))))
    assert [e.event for e in events] == ["status", "step"]
    first: dict[str, Any] = json.loads(events[0].data)
    assert (first["run_id"], first["status"], first["summary"]["total_steps"]) == (run.id, "failed", 1)


def test_route_is_project_scoped(client: TestClient, fakes: FakeServices) -> None:
    other = finish(fakes, start(fakes, project="prj_other"))

    foreign = client.get(f"/v1/runs/{other.id}/events", headers=ADMIN)
    missing = client.get("/v1/runs/run_missing/events", headers=ADMIN)
    anonymous = client.get(f"/v1/runs/{other.id}/events")

    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    assert missing.status_code == 404
    assert anonymous.status_code == 401


# --------------------------------------------------------------------------------- CLI parser


def test_parse_sse_handles_comments_multiline_data_and_a_missing_final_blank_line() -> None:
    lines = [": hello", "retry: 100", "event: step", "id: 7", 'data: {"a":', "data: 1}", "", "data: tail"]

    events = list(parse_sse(iter(lines)))

    assert [(e.event, e.data, e.id) for e in events] == [("step", '{"a":\n1}', "7"), ("message", "tail", "7")]
