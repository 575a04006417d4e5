"""Live run events: ``GET /v1/runs/{id}/events`` (server-sent events until the run ends).

Events: ``status`` (a ``Run Status Changed`` detail) and ``step`` (a step result as it is written).
The source is the ``RunEvents`` port, one per app (its streams of one run share one reader of the store:
``shared/events_source.py``): by default the run store is polled (any deployment); local mode overrides
:func:`run_events_dep` with its EventBridge bridge. Beyond the caps on open streams (per project, per run)
the answer is a 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from functions.api.deps import RunIdPath, ServicesDep, SettingsDep, ViewerDep
from functions.api.errors import ErrorBody
from shared.errors import NotFound
from shared.events_source import EventHub, RunEvent, RunEvents, RunFeeds, StreamLimits, event_name
from shared.services.container import Services
from shared.settings import Settings

router = APIRouter(prefix="/v1/runs", tags=["runs"])

KEEPALIVE_S = 15.0
POLL_S = 1.0


def run_feeds(
    services: Services,
    settings: Settings,
    *,
    tick_s: float,
    hub: EventHub | None = None,
    queued_tick_s: float | None = None,
) -> RunFeeds:
    """The app's ``RunEvents``: reads through ``services`` every ``tick_s`` (a queued run every ``queued_tick_s``
    when a ``hub`` pushes status changes), capped as ``settings`` say."""
    limits = StreamLimits(per_project=settings.event_streams_per_project, per_run=settings.event_streams_per_run)
    return RunFeeds(services.runs.get_run, hub=hub, tick_s=tick_s, queued_tick_s=queued_tick_s, limits=limits)


def run_events_dep(request: Request, services: ServicesDep, settings: SettingsDep) -> RunEvents:
    """The app's event source, made on first use (one per app, so that its streams share their reads); local
    mode overrides this dependency with its EventBridge bridge."""
    state = request.app.state
    source: RunEvents | None = getattr(state, "run_events", None)
    if source is None:
        source = state.run_events = run_feeds(services, settings, tick_s=POLL_S)
    return source


RunEventsDep = Annotated[RunEvents, Depends(run_events_dep)]


class _EventStreamResponse(StreamingResponse):
    """A streaming response that calls ``on_close`` however it ends (the client hung up before the first
    event, the server shut down): a stream's slot must never outlive its connection."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None], **options: object) -> None:
        super().__init__(content, **options)  # type: ignore[arg-type]
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def sse_frame(event: RunEvent, event_id: int) -> str:
    return f"event: {event_name(event)}\nid: {event_id}\ndata: {event.model_dump_json()}\n\n"


async def sse_stream(events: AsyncIterator[RunEvent], *, keepalive_s: float = KEEPALIVE_S) -> AsyncIterator[str]:
    """Frame ``events`` as SSE, with a comment line every ``keepalive_s`` of silence so proxies
    keep the connection open. Ends when the source does."""
    yield "retry: 2000\n\n"
    counter = 0
    next_event: asyncio.Task[RunEvent] | None = None
    try:
        while True:
            if next_event is None:
                next_event = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({next_event}, timeout=keepalive_s)
            if not done:
                yield ": keepalive\n\n"
                continue
            try:
                event = next_event.result()
            except StopAsyncIteration:
                return
            next_event = None
            counter += 1
            yield sse_frame(event, counter)
    finally:
        if next_event is not None and not next_event.done():
            next_event.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration):
                await next_event
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            with suppress(RuntimeError):
                await aclose()


@router.get(
    "/{run_id}/events",
    summary="Server-sent events of a run until it ends",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`status` and `step` events"},
        404: {
            "model": ErrorBody,
            "description": "No such run, or this deployment does not stream events (`AUTOTEST_EVENT_STREAMS` off: "
            "its gateway buffers answers): poll `GET /v1/runs/{id}`",
        },
        429: {
            "model": ErrorBody,
            "description": "The project, or the run, has as many open event streams as it may (`throttled`; "
            "`Retry-After` says when to try again): close one, or poll `GET /v1/runs/{id}`",
        },
    },
)
async def run_events(
    run_id: RunIdPath, principal: ViewerDep, services: ServicesDep, settings: SettingsDep, source: RunEventsDep
) -> StreamingResponse:
    # 404 (unknown run, or another project's) before the stream starts; 429 beyond the caps on open streams
    run = await run_in_threadpool(services.runs.get_run, principal.project_id, run_id)
    if not settings.event_streams:  # behind a gateway that buffers, a stream would arrive only when the run ended
        raise NotFound(
            "this deployment does not stream run events (its gateway buffers answers): poll GET /v1/runs/{id}",
            details={"reason": "event_streams_off"},
        )
    stream = source.open(principal.project_id, run)
    return _EventStreamResponse(
        sse_stream(stream),
        stream.close,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
