"""Local mode's runner worker: ``runner_container.runner.worker.run_forever`` (the Fargate worker's
loop: long-polls the run queue, ``runner_concurrency`` runs at a time, finishes in-flight runs when
stopped) bound to local mode's services and settings."""

from __future__ import annotations

import asyncio

from cli.local.workers import LocalContext
from runner_container.runner.worker import run_forever

#: short long-polls: a message received while stopping waits out its visibility timeout
POLL_WAIT_S = 2


class LocalRunner:
    def __init__(self, ctx: LocalContext) -> None:
        self._ctx = ctx

    async def run(self, stop: asyncio.Event) -> None:
        await run_forever(stop, services=self._ctx.services, settings=self._ctx.settings, wait_s=POLL_WAIT_S)
