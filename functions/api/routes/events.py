"""Live run events: ``GET /v1/runs/{id}/events`` (server-sent events until the run ends).

Events: ``status`` (a ``Run Status Changed`` detail) and ``step`` (a step result as it is written).
The source is the ``RunEvents`` port: by default the run store is polled (any deployment); local
mode overrides :func:`run_events_dep` with its EventBridge bridge.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from functions.api.deps import PrincipalDep, RunIdPath, ServicesDep
from shared.events_source import PollingRunEvents, RunEvent, RunEvents, event_name

router = APIRouter(prefix="/v1/runs", tags=["runs"])

KEEPALIVE_S = 15.0


def run_events_dep(services: ServicesDep, principal: PrincipalDep) -> RunEvents:
    """The event source; local mode overrides this dependency with its EventBridge bridge."""
    project_id = principal.project_id
    return PollingRunEvents(lambda run_id: services.runs.get_run(project_id, run_id))


RunEventsDep = Annotated[RunEvents, Depends(run_events_dep)]


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
    responses={200: {"content": {"text/event-stream": {}}, "description": "`status` and `step` events"}},
)
async def run_events(
    run_id: RunIdPath, principal: PrincipalDep, services: ServicesDep, source: RunEventsDep
) -> StreamingResponse:
    # 404 (unknown run, or another project's) before the stream starts
    run = await run_in_threadpool(services.runs.get_run, principal.project_id, run_id)
    return StreamingResponse(
        sse_stream(source.events(run)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
