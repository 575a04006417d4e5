"""Live run events: the RunEvents sources, the SSE route, and the CLI's SSE parser."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import patch

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cli.client import parse_sse
from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from functions.api.routes.events import sse_stream
from shared import attempt_steps
from shared.errors import Throttled
from shared.events_source import (
    EventHub,
    RunEvent,
    RunFeeds,
    RunReader,
    StepProgress,
    StreamLimits,
    event_name,
    status_event,
)
from shared.models.events import RunStatusChanged
from shared.models.messages import RunMessage
from shared.models.runs import Iteration, Run, RunCreate, RunStatus, StepResult
from shared.services import attempts as attempt_records
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


def finish_running(fakes: FakeServices, taken: Run, status: RunStatus = RunStatus.passed) -> Run:
    done = StepResult(index=0, action="goto", status="passed", duration_ms=5)
    return fakes.services.runs.transition(taken, status, steps=[done])


def kinds(events: list[RunEvent]) -> list[str]:
    return [f"status:{e.status.value}" if not isinstance(e, StepProgress) else f"step:{e.step.index}" for e in events]


async def collect(source: AsyncIterator[RunEvent], timeout_s: float = 5) -> list[RunEvent]:
    async def go() -> list[RunEvent]:
        return [e async for e in source]

    return await asyncio.wait_for(go(), timeout_s)


# ------------------------------------------------------------------------------------ sources


def reads_of(reads: Iterator[Run]) -> RunReader:
    return lambda project_id, run_id: next(reads)


async def test_a_stream_reports_steps_then_status_until_the_end(fakes: FakeServices) -> None:
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
    events = await collect(RunFeeds(reads_of(reads), tick_s=0.001).open("default", run))

    # Then every step and status arrives once, "running" before its steps, and the stream ends at the end
    assert kinds(events) == ["status:queued", "status:running", "step:0", "step:1", "status:failed"]
    assert events[-1].previous_status == RunStatus.running  # type: ignore[union-attr]


async def test_a_subscriber_joining_late_gets_the_steps_already_done(fakes: FakeServices) -> None:
    run = finish(fakes, start(fakes))
    feeds = RunFeeds(lambda project_id, run_id: run)

    events = await collect(feeds.open("default", run))

    assert kinds(events) == ["status:passed", "step:0"]
    assert (feeds.open_streams, feeds.feed_count) == (0, 0)  # an ended run needs no reader


async def test_a_stream_ends_on_a_pushed_terminal_event(fakes: FakeServices) -> None:
    # Given a bus-fed source that would only read the store every minute
    hub = EventHub()
    run = start(fakes)
    feeds = RunFeeds(fakes.services.runs.get_run, hub=hub, tick_s=60)
    events: list[RunEvent] = []

    async def follow() -> None:
        async for event in feeds.open("default", run):
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

    # Then the stream carries the step between the start and the end, as a polled one does, and ends with it
    assert kinds(events) == ["status:queued", "status:running", "step:0", "status:passed"]
    assert hub.subscriber_count == 0
    assert done.status == RunStatus.passed


async def test_a_bus_fed_stream_catches_up_from_the_store_when_an_event_is_lost(fakes: FakeServices) -> None:
    hub = EventHub()
    run = start(fakes)
    finish(fakes, run)  # nothing is pushed at all

    events = await collect(RunFeeds(fakes.services.runs.get_run, hub=hub, tick_s=0.01).open("default", run))

    assert kinds(events)[-1] == "status:passed"


async def test_many_streams_of_a_run_share_one_store_read_per_tick(fakes: FakeServices) -> None:
    # Given a running run, and a store that counts the reads of it
    run = start(fakes)
    taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id=run.project_id, attempt=run.attempt))
    assert taken is not None
    reads: list[str] = []
    store_read = fakes.store.get_run

    def counted(run_id: str) -> Run:
        reads.append(run_id)
        return store_read(run_id)

    fakes.store.get_run = counted  # type: ignore[method-assign]
    feeds = RunFeeds(fakes.services.runs.get_run, tick_s=0.05, limits=StreamLimits(per_project=100, per_run=100))

    # When 50 streams follow it for half a second (10 ticks), and then it passes
    streams = [feeds.open("default", taken) for _ in range(50)]
    followers = [asyncio.create_task(collect(stream)) for stream in streams]
    await asyncio.sleep(0.5)
    during = len(reads)
    finish_running(fakes, taken)
    followed = await asyncio.gather(*followers)

    # Then the store was read once per tick, not once per stream per tick, and every stream saw the same events
    assert 1 <= during <= 12, during
    assert all(kinds(events) == ["status:running", "step:0", "status:passed"] for events in followed), followed[0]
    assert (feeds.open_streams, feeds.feed_count) == (0, 0)


async def test_a_queued_run_fed_by_the_bus_is_read_seldom_and_wakes_on_its_start(fakes: FakeServices) -> None:
    # Given a bus-fed source that reads a followed run every 10 ms, a queued one every minute
    hub = EventHub()
    run = start(fakes)
    reads: list[str] = []
    store_read = fakes.store.get_run

    def counted(run_id: str) -> Run:
        reads.append(run_id)
        return store_read(run_id)

    fakes.store.get_run = counted  # type: ignore[method-assign]
    feeds = RunFeeds(fakes.services.runs.get_run, hub=hub, tick_s=0.01, queued_tick_s=60)
    followed = asyncio.create_task(collect(feeds.open("default", run)))

    # When it stays queued for 0.3 s (30 ticks)
    await asyncio.sleep(0.3)
    during = len(reads)

    # Then it was read once (its first read found it queued), and its start and end, pushed, wake the feed at once
    done = finish(fakes, run)
    for event in fakes.events.events:
        if event.run_id == run.id:  # type: ignore[attr-defined]
            hub.publish(event)  # type: ignore[arg-type]
    events = await asyncio.wait_for(followed, 5)
    assert during == 1, during
    assert kinds(events) == ["status:queued", "status:running", "step:0", "status:passed"]
    assert done.status == RunStatus.passed


async def test_open_streams_are_capped_per_project_and_per_run_and_closing_frees_a_slot(fakes: FakeServices) -> None:
    # Given caps of 3 streams per project and 2 per run, and queued runs of two projects
    feeds = RunFeeds(fakes.services.runs.get_run, tick_s=0.05, limits=StreamLimits(per_project=3, per_run=2))
    first, second, third = start(fakes), start(fakes), start(fakes)
    other = start(fakes, project="prj_other")

    # When streams are opened beyond the caps
    on_first = [feeds.open("default", first), feeds.open("default", first)]
    with pytest.raises(Throttled) as per_run:
        feeds.open("default", first)
    on_second = feeds.open("default", second)
    with pytest.raises(Throttled) as per_project:
        feeds.open("default", third)
    elsewhere = feeds.open("prj_other", other)

    # Then each refusal says which cap, and another project is not held to this one's
    assert per_run.value.details == {"scope": "run", "limit": 2}
    assert f"run {first.id} already has 2 open event streams" in per_run.value.message
    assert per_project.value.details == {"scope": "project", "limit": 3}
    assert feeds.open_streams == 4

    # When one stream closes, its slot is free at once (and closing twice frees nothing more)
    on_first[0].close()
    on_first[0].close()
    again = feeds.open("default", third)
    with pytest.raises(Throttled):
        feeds.open("default", first)
    for stream in (on_first[1], on_second, again, elsewhere):
        stream.close()
    assert (feeds.open_streams, feeds.feed_count) == (0, 0)


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


# ------------------------------------------------------------------------------------ retries

FLAKY_URL = "http://127.0.0.1:8711/flaky?key=k9"
#: the steps of each attempt of a flaky run: attempt 1 fails its expectation, attempt 2 passes
ATTEMPT_STEPS = {
    1: [
        StepResult(index=0, action="goto", detail=FLAKY_URL, status="passed", duration_ms=125),
        StepResult(index=1, action="expect_text", status="failed", duration_ms=10048, error="no 'Stable now'"),
    ],
    2: [
        StepResult(index=0, action="goto", detail=FLAKY_URL, status="passed", duration_ms=82),
        StepResult(index=1, action="expect_text", status="passed", duration_ms=31),
    ],
}
Written = dict[tuple[int, int | None, int], StepResult]  # (attempt, iteration, index) -> the step that attempt wrote


def _results(attempt: int, done: int, rows: bool) -> dict[str, Any]:
    """What the runner writes once ``done`` steps (or, with ``rows``, dataset rows of both steps) are done."""
    steps = ATTEMPT_STEPS[attempt]
    if not rows:
        return {"steps": steps[:done]}
    status = {1: RunStatus.failed, 2: RunStatus.passed}[attempt]
    return {
        "iterations": [
            Iteration(index=i, status=status if i == 1 else RunStatus.passed, steps=steps if i == 1 else steps[:1])
            for i in range(done)
        ]
    }


def retried_run(fakes: FakeServices, *, rows: bool = False, cleared: bool = False) -> tuple[list[Run], Written]:
    """Every state the store holds, in order, of a run (``retries: 1``) whose first attempt fails and second passes,
    as the run service and the runner write it: the retry goes back to ``queued`` holding attempt 1's steps and keeps
    them (through its start and a heartbeat) until attempt 2 writes its first (``cleared``: a retry that drops them);
    ``rows``: a data-driven run of two rows. Also what each attempt wrote."""
    runs = fakes.services.runs
    run = runs.start_run("default", RunCreate.model_validate({"spec": SPEC, "retries": 1}))
    states = [run]
    for attempt, status in ((1, RunStatus.failed), (2, RunStatus.passed)):
        taken = runs.take(fakes.queue.sent[-1][0])
        assert taken is not None and taken.attempt == attempt
        states.append(taken)
        if attempt == 2:
            states.append(runs.heartbeat(states[-1]))
        for done in (1, 2):  # the runner writes the results so far after each step (dataset row)
            states.append(runs.update_progress(states[-1], **_results(attempt, done, rows)))
        why = "step 2: no 'Stable now'" if status == RunStatus.failed else None
        states.append(runs.end_attempt(states[-1], status, error=why, **_results(attempt, 2, rows)))
    assert states[-1].status == RunStatus.passed and states[-1].flaky and states[4].status == RunStatus.queued
    if cleared:
        states[4:7] = [s.model_copy(update={"steps": [], "iterations": []}) for s in states[4:7]]
    else:
        assert states[6].steps == states[4].steps and states[6].iterations == states[4].iterations  # held still
    written: Written = {}
    for attempt in (1, 2):
        for it in _results(attempt, 2, rows).get("iterations") or [Iteration(index=-1, status=RunStatus.passed)]:
            for step in it.steps if rows else ATTEMPT_STEPS[attempt]:
                written[(attempt, it.index if rows else None, step.index)] = step
    return states, written


def test_held_steps_are_compared_on_what_an_attempt_record_keeps() -> None:
    assert attempt_steps.MAX_ROWS == attempt_records.MAX_ROWS
    assert set(attempt_steps._RECORDED) <= attempt_records._STEP_FIELDS


def check_truthful(events: list[RunEvent], written: Written) -> None:
    """Each step once, under the attempt that wrote it, after the status that started that attempt (when sent)
    and before the status that ended it; the attempt before's steps before its retry's status."""
    steps = [(e.attempt, e.iteration, e.step.index) for e in events if isinstance(e, StepProgress)]
    assert len(steps) == len(set(steps)), steps
    for event in events:
        if isinstance(event, StepProgress):
            assert written[(event.attempt, event.iteration, event.step.index)] == event.step, event
    for position, event in enumerate(events):
        if isinstance(event, StepProgress):
            later = [e for e in events[position:] if isinstance(e, RunStatusChanged)]
            assert all(e.attempt >= event.attempt for e in later)
            assert not any(e.attempt > event.attempt for e in events[:position] if isinstance(e, RunStatusChanged))
            assert not any(
                e.attempt == event.attempt and e.status == RunStatus.running
                for e in events[position:]
                if isinstance(e, RunStatusChanged)
            )


def labelled(events: list[RunEvent]) -> list[tuple[str, int]]:
    return [(kind, e.attempt) for kind, e in zip(kinds(events), events, strict=True)]


def told(events: list[RunEvent], attempt: int) -> list[tuple[int | None, int]]:
    return [(e.iteration, e.step.index) for e in events if isinstance(e, StepProgress) and e.attempt == attempt]


@pytest.mark.parametrize(("rows", "cleared"), [(False, False), (False, True), (True, False), (True, True)])
async def test_a_retried_run_streams_each_attempts_steps_once_under_its_own_number(
    fakes: FakeServices, rows: bool, cleared: bool
) -> None:
    # Given a run whose first attempt fails and whose retry passes, and every way a poller may see it: opened at any
    # of its states, then reading any of the later ones (reads come a tick apart; writes do not wait for them)
    states, written = retried_run(fakes, rows=rows, cleared=cleared)
    last = len(states) - 1
    every_step = {a: [(i, n) for (at, i, n) in written if at == a] for a in (1, 2)}
    for opened in range(last):
        later = range(opened + 1, last)
        for mask in range(2 ** len(later)):
            picked = [opened, *(i for bit, i in enumerate(later) if mask >> bit & 1), last]
            reads = [states[i] for i in picked[1:]]

            # When it is followed through them
            events = await collect(RunFeeds(reads_of(iter(reads)), tick_s=0).open("default", states[opened]))

            # Then every step is sent once, under the attempt that wrote it, and never attempt 1's as attempt 2's
            check_truthful(events, written)
            assert kinds(events)[-1] == "status:passed"
            # attempt 2's steps are all sent (it ends holding them), from its first
            assert sorted(told(events, 2)) == every_step[2], (opened, reads)
            # attempt 1's are all sent when the stream saw the retry holding them, or attempt 1 writing them all
            # (states 3: attempt 1 wrote them all; 4 to 6: the retry, queued then started, holding them)
            if opened >= 4:  # a stream opened on the retry tells only what is the retry's
                assert told(events, 1) == [], picked
            elif any(i == 3 or (4 <= i <= 6 and not cleared) for i in picked[1:]):
                assert sorted(told(events, 1)) == every_step[1], (picked, kinds(events))


async def test_the_reported_walkthrough_no_longer_resends_attempt_1_as_attempt_2(fakes: FakeServices) -> None:
    # Given the walkthrough's reads: attempt 1 with its goto, the retry holding attempt 1's steps, and attempt 2
    # done between two ticks
    states, _ = retried_run(fakes)
    reads = [states[2], states[4], states[5], states[-1]]

    events = await collect(RunFeeds(reads_of(iter(reads)), tick_s=0).open("default", states[0]))

    shown = [
        (e.attempt, e.step.index, e.step.status, e.step.duration_ms)
        if isinstance(e, StepProgress)
        else (e.status.value, e.attempt)
        for e in events
    ]
    assert shown == [
        ("queued", 1),
        ("running", 1),
        (1, 0, "passed", 125),
        (1, 1, "failed", 10048),
        ("queued", 2),
        ("running", 2),
        (2, 0, "passed", 82),
        (2, 1, "passed", 31),
        ("passed", 2),
    ]


@pytest.mark.parametrize("rows", [False, True])
async def test_a_bus_fed_stream_of_a_retried_run_tells_each_attempts_steps_as_a_polled_one_does(
    fakes: FakeServices, rows: bool
) -> None:
    # Given a bus-fed source that reads the store only when an event is pushed, and a run retried once
    states, written = retried_run(fakes, rows=rows)
    hub = EventHub()
    current = [states[0]]
    reads: list[int] = []

    def read(project_id: str, run_id: str) -> Run:
        reads.append(1)
        return current[0]

    stream = RunFeeds(read, hub=hub, tick_s=60).open("default", states[0])
    task = asyncio.create_task(collect(stream))
    for _ in range(5000):
        if hub.subscriber_count:
            break
        await asyncio.sleep(0.001)

    # When each of its writes is pushed (a status event each time: those with no news only wake the reader)
    for previous, state in itertools.pairwise(states):
        current[0], before = state, len(reads)
        hub.publish(status_event(state, previous))
        for _ in range(5000):
            if len(reads) > before or task.done():
                break
            await asyncio.sleep(0.001)
    events = await task

    # Then it tells what a polled stream tells: each attempt's steps once, under its own number, in order
    polled = await collect(RunFeeds(reads_of(iter(states[1:])), tick_s=0).open("default", states[0]))
    check_truthful(events, written)
    assert labelled(events) == labelled(polled)
    assert len(told(events, 1)) == len(told(events, 2)) == len(written) // 2


async def test_a_stream_opened_on_a_retry_that_started_tells_only_its_own_steps(fakes: FakeServices) -> None:
    # Given a run on its second attempt, started, still holding attempt 1's steps (a first look: nothing seen before)
    states, _ = retried_run(fakes)
    started = states[6]
    assert started.status == RunStatus.running and started.attempt == 2 and started.steps == ATTEMPT_STEPS[1]

    events = await collect(RunFeeds(reads_of(iter(states[7:])), tick_s=0).open("default", started))

    # Then attempt 1's steps are not told as attempt 2's: attempt 2's come as it writes them
    assert [(e.attempt, e.step.duration_ms) for e in events if isinstance(e, StepProgress)] == [(2, 82), (2, 31)]


# ------------------------------------------------------------------------------ CLI, retried


def _sse(event: RunEvent) -> str:
    return f"event: {event_name(event)}\ndata: {event.model_dump_json()}\n\n"


def _wait(
    states: list[Run], *, stream: list[RunEvent] | None, command: str = "run", created: Run | None = None
) -> list[str]:
    """``autotest run t.yaml --wait`` (or ``status``) against an API whose run goes through ``states``: each read
    of it gives the next, the last for good; its event stream sends ``stream`` (None: the deployment does not
    stream, the CLI polls); ``created``: the run as started (default: the first state)."""
    reads = iter(states)
    last = [states[0]]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/runs":
            return httpx.Response(202, json=(created or states[0]).model_dump(mode="json"))
        if path.endswith("/events"):
            if stream is None:
                return httpx.Response(404, json={"error": {"code": "not_found", "message": "no route"}})
            body = "".join(_sse(e) for e in stream)
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        if path.endswith("/artifacts"):
            return httpx.Response(200, json={"artifacts": []})
        last[0] = next(reads, last[0])
        return httpx.Response(200, json=last[0].model_dump(mode="json"))

    state = CliState(api_url="http://api.test", api_key="atk_test", transport=httpx.MockTransport(handler))
    state.console.width = 200
    args = ["run", "tst_flaky", "--var", "key=k9", "--wait"] if command == "run" else ["status", states[0].id]
    with patch("cli.waiting.POLL_S", 0):
        result = CliRunner().invoke(cli, args, obj=state)
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.splitlines() if line.strip()]


def _progress(lines: list[str]) -> list[str]:
    """The progress lines of ``autotest run --wait``, each cut to what tells it apart, then the results line."""
    out = []
    for line in lines:
        if "goto" in line or "expect_text" in line:
            out.append(" ".join([*line.split()[1:3], line.split("  ")[-1].strip()]))  # number, action, duration
        elif line.startswith("↻") or line.startswith(("queued", "running", "PASSED")):
            out.append(line)
    return out


EXPECTED_WAIT = [
    "queued",
    "running",
    "1. goto 125 ms",
    "2. expect_text 10.0 s",
    "↻ attempt 1 FAILED: step 2: no 'Stable now'; retrying as attempt 2",
    "queued (attempt 2)",
    "running (attempt 2)",
    "1. goto 82 ms",
    "2. expect_text 31 ms",
    "PASSED (attempt 2)",
]


async def _streamed(states: list[Run]) -> list[RunEvent]:
    return await collect(RunFeeds(reads_of(iter(states[1:])), tick_s=0).open("default", states[0]))


async def test_run_wait_shows_attempt_1s_steps_a_retry_line_then_attempt_2s(fakes: FakeServices) -> None:
    # Given the walkthrough's flaky run, streamed as the API streams it (attempt 1's failing step first told
    # with the retry), and the run as it ends
    states, _ = retried_run(fakes)
    stream = await _streamed([states[0], states[2], states[4], states[5], states[-1]])

    # When the CLI follows it
    lines = _wait([states[4], states[-1]], stream=stream, created=states[0])  # read for the retry line, then at the end

    # Then it shows attempt 1's steps, a line that it is retried and why, attempt 2's steps; each once
    assert _progress(lines)[: len(EXPECTED_WAIT)] == EXPECTED_WAIT, lines
    # and the results line says the pass was flaky
    headline = next(line for line in lines if line.startswith("PASSED") and states[0].id in line)
    assert "attempt 2/2" in headline and "(flaky)" in headline


async def test_run_wait_polling_a_retried_run_shows_each_attempts_steps_once_under_its_own(
    fakes: FakeServices,
) -> None:
    # Given a deployment that does not stream, and a flaky run polled through every state it goes through
    states, _ = retried_run(fakes)

    # When the CLI follows it
    lines = _wait(states, stream=None)

    # Then it shows what a streaming follower does: attempt 1's steps, the retry, attempt 2's, none twice
    assert _progress(lines)[: len(EXPECTED_WAIT)] == EXPECTED_WAIT, lines


def test_status_of_a_flaky_run_says_flaky_once(fakes: FakeServices) -> None:
    states, _ = retried_run(fakes)

    lines = _wait([states[-1]], stream=None, command="status")

    assert sum(line.count("(flaky)") for line in lines) == 1, lines
    assert "attempt 1 FAILED: step 2: no 'Stable now', attempt 2 PASSED (flaky)" in lines
