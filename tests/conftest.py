"""Shared fixtures: in-memory services for unit tests, an embedded moto server for integration tests."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from shared.apitests.checks import ResponseChecker
from shared.netguard import NetworkGuard
from shared.services.audit import AuditService
from shared.services.catalog import Catalog
from shared.services.container import Services
from shared.services.github import GithubService
from shared.services.notifications import DeliveryPolicy, NotificationService
from shared.services.planning import Planning
from shared.services.projects import Projects
from shared.services.runs import RunService
from shared.services.schedules import ScheduleService
from shared.services.secrets import Secrets
from shared.services.stats import StatsService
from shared.services.suites import SuiteService
from shared.settings import Settings
from tests.fakes import (
    FakeArtifacts,
    FakeAuditStore,
    FakeElementCache,
    FakeEvents,
    FakeGithubStore,
    FakeNotificationQueue,
    FakeNotificationStore,
    FakePlanner,
    FakePlanQueue,
    FakePlanStore,
    FakeQueue,
    FakeScheduler,
    FakeScheduleStore,
    FakeSecretStore,
    FakeSender,
    FakeStore,
    FakeSuiteStore,
)

BOOTSTRAP_KEY = "atk_test_bootstrap_key"


class FakeServices:
    """Services wired to fakes, with the fakes reachable for assertions. ``planner``: default, a
    :class:`FakePlanner` that plans inline (as the sentence grammar does)."""

    def __init__(self, planner: FakePlanner | None = None) -> None:
        self.store = FakeStore()
        self.queue = FakeQueue()
        self.artifacts = FakeArtifacts()
        self.events = FakeEvents()
        self.secret_store = FakeSecretStore()
        self.plans = FakePlanStore()
        self.plan_queue = FakePlanQueue()
        self.element_cache = FakeElementCache()
        self.planner = planner or FakePlanner()
        self.suite_store = FakeSuiteStore()
        self.schedule_store = FakeScheduleStore()
        self.scheduler = FakeScheduler()
        self.audit_store = FakeAuditStore()
        catalog = Catalog(self.store)
        self.planning = Planning(
            tests=self.store,
            runs=self.store,
            plans=self.plans,
            planner=self.planner,
            queue=self.plan_queue,
            events=self.events,
            catalog=catalog,
            inline=self.planner.name == "rules",
        )
        runs = RunService(
            tests=self.store,
            runs=self.store,
            queue=self.queue,
            events=self.events,
            artifacts=self.artifacts,
            planning=self.planning,
        )
        suites = SuiteService(suites=self.suite_store, tests=self.store, runs=runs, events=self.events)
        self.notification_store = FakeNotificationStore()
        self.notification_queue = FakeNotificationQueue()
        self.sender = FakeSender()
        #: the network guard notification URLs pass (loopback allowed, as local mode does)
        self.allowlist = "127.0.0.0/8,localhost"
        self.notifications = NotificationService(
            store=self.notification_store,
            queue=self.notification_queue,
            runs=runs,
            suites=suites,
            catalog=catalog,
            send=self.sender,
            guard=lambda: NetworkGuard.from_setting(self.allowlist),
            policy=DeliveryPolicy(),
            public_url="http://127.0.0.1:8000",
        )
        self.services = Services(
            projects=Projects(self.store, bootstrap_key=BOOTSTRAP_KEY),
            catalog=catalog,
            runs=runs,
            queue=self.queue,
            artifacts=self.artifacts,
            events=self.events,
            secrets=Secrets(self.secret_store),
            planning=self.planning,
            plan_queue=self.plan_queue,
            element_cache=self.element_cache,
            stats=StatsService(tests=self.store, runs=self.store),
            suites=suites,
            schedules=ScheduleService(
                schedules=self.schedule_store, scheduler=self.scheduler, tests=self.store, runs=runs, suites=suites
            ),
            notifications=self.notifications,
            audit=AuditService(self.audit_store),
        )
        self.github_store = FakeGithubStore()
        #: what GitHub statuses would be POSTed (the notifier's sender is ``sender``)
        self.github_sender = FakeSender()
        self.github = GithubService(
            store=self.github_store,
            suites=suites,
            secrets=self.services.secrets,
            notifications=self.notifications,
            send=self.github_sender,
            guard=lambda: NetworkGuard.from_setting(self.allowlist),
            public_url="http://127.0.0.1:8000",
        )
        self.services = replace(self.services, github=self.github)


@pytest.fixture(scope="session", autouse=True)
def _own_cli_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`autotest local` records itself for the CLI under $XDG_STATE_HOME: keep the tests' local modes (and
    the processes they start, which inherit it) out of the user's own, and the user's out of the tests."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    yield
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(scope="session", autouse=True)
def secret_store_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Local mode keeps its secret store's key outside the data directory (in ~/.config by default); the
    tests' local modes, subprocesses included, keep theirs in a temporary directory instead."""
    key_file = Path(os.environ.setdefault("AUTOTEST_SECRETS_KEY_FILE", str(tmp_path_factory.mktemp("keys") / "k")))
    yield key_file


@pytest.fixture
def fakes() -> FakeServices:
    return FakeServices()


@pytest.fixture(scope="session")
def checker() -> Iterator[ResponseChecker]:
    """The worker processes that check responses, shared by the tests that check some (started on first use)."""
    shared = ResponseChecker()
    asyncio.run(shared.ready())  # the fork server starts once, not in the first test's time
    yield shared
    shared.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One embedded moto server for the session; fake credentials set before any client exists."""
    from moto.server import ThreadedMotoServer

    from cli.local import moto_fixes

    moto_fixes.apply()  # as local mode does
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_settings(moto_endpoint: str) -> Settings:
    """Settings naming fresh resources (unique per test) on the moto server, provisioned."""
    from shared.aws.provision import provision

    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        aws_endpoint_url=moto_endpoint,
        aws_region="us-east-1",
        table_name=f"autotest-{suffix}",
        run_queue_name=f"autotest-runs-{suffix}",
        run_dlq_name=f"autotest-runs-dlq-{suffix}",
        plan_queue_name=f"autotest-plans-{suffix}",
        plan_dlq_name=f"autotest-plans-dlq-{suffix}",
        notify_queue_name=f"autotest-notifications-{suffix}",
        notify_dlq_name=f"autotest-notifications-dlq-{suffix}",
        artifact_bucket=f"autotest-artifacts-{suffix}",
        event_bus_name=f"autotest-{suffix}",
        bootstrap_api_key=BOOTSTRAP_KEY,  # type: ignore[arg-type]
    )
    provision(settings)
    return settings
