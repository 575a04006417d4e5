"""Local mode's scheduler loop: what EventBridge Scheduler does in AWS. Every ``scheduler_tick_s`` (1 s) it asks
the schedule service to fire what is due (``ScheduleService.tick``: once per due time, across restarts, with the
catch-up rule for what fell due while local mode was stopped). A tick that fails is logged; the next one tries
again."""

from __future__ import annotations

import asyncio
import contextlib

from cli.local.workers import LocalContext
from shared.observability import logger
from shared.services.schedules import Firing


class SchedulerLoop:
    def __init__(self, ctx: LocalContext, *, tick_s: float | None = None) -> None:
        self._services = ctx.services
        self._tick_s = tick_s if tick_s is not None else ctx.settings.scheduler_tick_s

    def tick(self) -> list[Firing]:
        schedules = self._services.schedules
        return schedules.tick() if schedules is not None else []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception as exc:  # the loop outlives any one tick
                logger.exception("scheduler tick failed; trying again", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._tick_s)
