"""Wiring for one runner process: the browser pool, the response checker's worker processes and the executor,
built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.apitests.checks import ResponseChecker
from shared.services.container import Services
from shared.settings import Settings


@dataclass
class Runtime:
    pool: BrowserPool
    executor: RunExecutor

    async def close(self) -> None:
        try:
            await self.pool.close()
        finally:
            self.executor.close()


def build_runtime(services: Services, settings: Settings, *, extra_args: tuple[str, ...] = ()) -> Runtime:
    pool = BrowserPool(concurrency=settings.runner_concurrency, executable=settings.browser_path, extra_args=extra_args)
    executor = RunExecutor(
        runs=services.runs,
        artifacts=services.artifacts,
        secrets=services.secrets,
        pool=pool,
        config=RunnerConfig.from_settings(settings),
        checker=ResponseChecker(keep=settings.runner_concurrency),
    )
    return Runtime(pool=pool, executor=executor)
