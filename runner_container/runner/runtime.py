"""Wiring for one runner process: the browser pool, the response checker's worker processes and the executor,
built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.apitests.checks import ResponseChecker
from shared.planning.choose import healer_for
from shared.ports import ElementCache, Healer
from shared.services.container import Services
from shared.services.runs import DEFAULT_API_CONCURRENCY
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


def build_runtime(
    services: Services,
    settings: Settings,
    *,
    extra_args: tuple[str, ...] = (),
    element_cache: ElementCache | None = None,
    healer: Healer | None = None,
) -> Runtime:
    """The runner of one process. ``element_cache``: where saved tests' elements are remembered (default: the
    services' DynamoDB adapter). ``healer``: default, Bedrock's when the ``healer`` setting is ``bedrock``; else
    fuzzy matching heals (or nothing, with ``healer=off``)."""
    if element_cache is None:
        element_cache = services.element_cache
    if healer is None:
        healer = healer_for(settings)
    pool = BrowserPool(
        concurrency=settings.runner_concurrency,
        executable=settings.browser_path,
        extra_args=extra_args,
        idle_close_s=settings.browser_idle_close_s,
    )
    executor = RunExecutor(
        runs=services.runs,
        artifacts=services.artifacts,
        secrets=services.secrets,
        pool=pool,
        config=RunnerConfig.from_settings(settings),
        checker=ResponseChecker(keep=min(32, settings.runner_concurrency * DEFAULT_API_CONCURRENCY)),
        healer=healer,
        element_cache=element_cache,
    )
    return Runtime(pool=pool, executor=executor)
