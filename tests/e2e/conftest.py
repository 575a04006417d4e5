"""E2E fixtures: the example web app, one Chromium for the whole session, and a runner wired to the
in-memory fakes through a real RunService."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from cli.local.mode import LocalInfo, LocalModeThread, LocalOptions
from examples.webapp import ADMIN_PASSWORD, WebApp, serve
from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import Execution, RunExecutor
from shared.models.messages import RunMessage
from shared.models.runs import Run, RunCreate
from shared.services.runs import RunService
from shared.services.secrets import Secrets
from shared.settings import Settings
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeSecretStore, FakeStore

PROJECT = "prj_e2e"


@contextmanager
def local_mode(tmp_path_factory: pytest.TempPathFactory, prefix: str, **settings: Any) -> Iterator[LocalInfo]:
    """``autotest local`` on a thread, with the example app, on free ports and resource names of its own (moto's
    state is process-wide: every local mode of the session needs its own table, queues, bucket and bus)."""
    with local_mode_thread(tmp_path_factory, prefix, **settings) as (_, info):
        yield info


@contextmanager
def local_mode_thread(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, **settings: Any
) -> Iterator[tuple[LocalModeThread, LocalInfo]]:
    """:func:`local_mode`, with its thread (``thread.mode.services``: the services its API serves)."""
    suffix = uuid.uuid4().hex[:8]
    base = Settings(
        table_name=f"{prefix}-{suffix}",
        run_queue_name=f"{prefix}-runs-{suffix}",
        run_dlq_name=f"{prefix}-dlq-{suffix}",
        plan_queue_name=f"{prefix}-plans-{suffix}",
        plan_dlq_name=f"{prefix}-plans-dlq-{suffix}",
        artifact_bucket=f"{prefix}-artifacts-{suffix}",
        event_bus_name=f"{prefix}-bus-{suffix}",
        **settings,
    )
    options = LocalOptions(port=0, example_port=0, data_dir=tmp_path_factory.mktemp("local"), base_settings=base)
    thread = LocalModeThread(options)
    info = thread.start()
    try:
        yield thread, info
    finally:
        thread.stop()


@pytest.fixture(scope="session")
def webapp() -> Iterator[WebApp]:
    with serve() as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool() -> AsyncIterator[BrowserPool]:
    browser_pool = BrowserPool(concurrency=2)
    await browser_pool.browser()
    yield browser_pool
    await browser_pool.close()


class NoBrowser(BrowserPool):
    """A pool with no browser behind it: using it at all fails the run (and so the test)."""

    async def browser(self) -> Browser:
        raise AssertionError("an API run must not use the browser pool")

    def context(self, **options: Any) -> Any:
        raise AssertionError("an API run must not open a browser context")


@dataclass
class Harness:
    store: FakeStore
    queue: FakeQueue
    artifacts: FakeArtifacts
    events: FakeEvents
    secret_store: FakeSecretStore
    secrets: Secrets
    runs: RunService
    executor: RunExecutor
    base_url: str

    def start(self, steps: list[dict[str, Any]], **body: Any) -> tuple[Run, RunMessage]:
        """Start a run of an inline spec; returns the queued run and the message the queue got."""
        spec = {"steps": steps, "variables": {"base_url": self.base_url}, **body.pop("spec", {})}
        run = self.runs.start_run(PROJECT, RunCreate.model_validate({"spec": spec, **body}))
        message, _ = self.queue.sent.pop()
        return run, message

    async def run(self, steps: list[dict[str, Any]], **body: Any) -> Run:
        _, message = self.start(steps, **body)
        result = await self.executor.execute(message)
        assert result.run is not None
        return self.store.get_run(result.run.id)

    async def execute(self, message: RunMessage) -> Execution:
        return await self.executor.execute(message)

    def set_secret(self, name: str, value: str) -> None:
        """Store a secret of the harness's project (the one its runs belong to)."""
        self.secret_store.put(PROJECT, name, value)

    def statuses(self, run_id: str) -> list[str]:
        return [e.status.value for e in self.events.events if getattr(e, "run_id", None) == run_id]  # type: ignore[attr-defined]


def make_harness(pool: BrowserPool, base_url: str, **config: Any) -> Harness:
    store, queue, artifacts, events = FakeStore(), FakeQueue(), FakeArtifacts(), FakeEvents()
    secret_store = FakeSecretStore()
    secret_store.put(PROJECT, "ADMIN_PASSWORD", ADMIN_PASSWORD)
    secrets = Secrets(secret_store)
    runs = RunService(tests=store, runs=store, queue=queue, events=events, artifacts=artifacts)
    settings: dict[str, Any] = {
        "network_allowlist": "127.0.0.0/8",
        "step_timeout_s": 5.0,
        "retry_delay_s": 0,
        "heartbeat_s": 0.5,
        "upload_backoff_s": 0.01,
        "record_video": False,
        "record_trace": False,
        **config,
    }
    executor = RunExecutor(runs=runs, artifacts=artifacts, secrets=secrets, pool=pool, config=RunnerConfig(**settings))
    return Harness(store, queue, artifacts, events, secret_store, secrets, runs, executor, base_url)


@pytest.fixture
def harness(pool: BrowserPool, webapp: WebApp) -> Harness:
    return make_harness(pool, webapp.url)
