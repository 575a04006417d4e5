"""``autotest local``: the whole system in one process on this machine.

Start-up: moto in this process (``moto.mock_aws``: no emulator port) -> ``provision()`` -> restore the
data directory (the last snapshot, then the journal after it: ``cli/local/persistence.py``) ->
re-enqueue runs that were pending -> the EventBridge -> SSE bridge -> the API (uvicorn) -> the workers
(``cli/local/workers.py``) -> the example web app. Every write to the table and the artifact bucket
is journaled (fsync'd) before it is applied; the state is snapshotted (and the journal compacted)
every ``snapshot_interval_s`` when it changed, and on shutdown.

Shutdown (Ctrl-C / SIGTERM): the workers stop taking runs and finish or give back the ones they
hold while the API keeps serving (so followers see the end), then the API, the bridge and the
final snapshot. A second Ctrl-C cancels the workers; their runs are re-enqueued on the next start.

moto's state is process-wide (the integration tests' moto server shares it): local mode never resets
it (``start(reset=False)``, ``stop(remove_data=False)``), and tests give each start its own names.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from cli.config import CONFIG_NAME, read_config_file, write_config_file
from cli.local.persistence import LocalState
from cli.local.recovery import requeue_pending
from cli.local.secret_store import SecretStoreError, local_secrets
from cli.local.workers import WORKERS, LocalContext, WorkerFactory
from functions.api.app import create_app
from functions.api.routes.events import run_events_dep, run_feeds
from shared.aws.bridge import EventBridgeSqsBridge
from shared.aws.clients import in_process_client
from shared.aws.factory import build_services
from shared.aws.journal import JOURNALED, JournaledClient
from shared.aws.provision import provision
from shared.errors import DomainError
from shared.events_source import EventHub, RunEvents
from shared.observability import logger
from shared.resources import priority_queue_name
from shared.services.artifact_links import ArtifactLinkSigner
from shared.services.container import Services
from shared.services.projects import generate_key
from shared.settings import Settings

LOOPBACK_ALLOWLIST = ("127.0.0.0/8", "::1", "localhost")
#: a followed run is read this often for its step progress (its status changes are pushed from the bus)
BUS_TICK_S = 0.5
#: a streamed run last read as queued is read this often (its start is pushed by the bus): reading a suite's queued
#: runs every BUS_TICK_S took about a fifth of local mode's process while it ran 40 browser tests (py-spy)
QUEUED_TICK_S = 5.0
#: event streams a project may hold open in local mode unless AUTOTEST_EVENT_STREAMS_PER_PROJECT says otherwise:
#: `autotest run DIR --wait` follows each run of a directory with a stream, and a follower refused one polls
#: GET /v1/runs/{id} every second until its run ends (20 of a 40-test directory did, at the default of 20)
LOCAL_STREAMS_PER_PROJECT = 200
FORCE_STOP_S = 5.0
#: what the first release kept beside config.json ({"aws_port": N}, its emulator's port): removed on start
OLD_LOCAL_STATE_NAME = "local.json"
#: the key that signs artifact links (``shared/services/artifact_links.py``), owner-only
LINK_KEY_NAME = "artifact-links.key"
#: the key that signs the dashboard's session cookies (``functions/api/ui/session.py``), owner-only
UI_KEY_NAME = "ui-session.key"


class LocalModeError(Exception):
    """Local mode cannot start (a port in use, a data directory held by another process...)."""


@dataclass
class LocalOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".autotest")
    concurrency: int | None = None
    example_port: int | None = 8001  # None: no example app; 0: any free port
    snapshot_interval_s: float = 60.0
    #: Settings to start from (default: the environment's); tests pass unique resource names
    base_settings: Settings | None = None
    workers: dict[str, WorkerFactory] = field(default_factory=lambda: dict(WORKERS))
    #: said in the banner (a deprecated option...)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalInfo:
    api_url: str
    api_key: str
    example_url: str | None
    data_dir: Path
    restored_items: int
    restored_objects: int
    requeued_runs: int
    workers: tuple[str, ...]
    #: what of the data directory could not be read back (kept aside as ``*.damaged-*``)
    damaged: tuple[str, ...] = ()
    #: journal entries applied after the last snapshot
    replayed: int = 0
    #: other things worth saying at start (a torn last journal line...)
    notes: tuple[str, ...] = ()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: local mode decides when the API stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int, what: str, flag: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LocalModeError(f"cannot listen on {host}:{port} for {what} ({exc.strerror}): pass {flag}") from exc
    return sock


def link_key(data_dir: Path) -> bytes:
    """The artifact-link key of this data directory: made once (32 random bytes), readable by its owner only."""
    return _key_file(data_dir, LINK_KEY_NAME, "artifact links change")


def ui_session_key(data_dir: Path) -> bytes:
    """The dashboard's cookie-signing key of this data directory (as :func:`link_key`): logins outlive a restart."""
    return _key_file(data_dir, UI_KEY_NAME, "dashboard logins end")


def _key_file(data_dir: Path, name: str, consequence: str) -> bytes:
    path = data_dir / name
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        raise LocalModeError(f"{path} is damaged (shorter than 32 bytes): delete it ({consequence})") from None
    key = secrets.token_bytes(32)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _merge_ports(configured: str, port: int) -> str:
    entries = [e.strip() for e in configured.split(",") if e.strip()]
    return ",".join([*entries, str(port)] if str(port) not in entries else entries)


def _merge_allowlist(configured: str) -> str:
    entries = [e.strip() for e in configured.split(",") if e.strip()]
    return ",".join(entries + [e for e in LOOPBACK_ALLOWLIST if e not in entries])


class _DataDirLock:
    """One ``autotest local`` per data directory: two would overwrite each other's snapshots."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "local.lock"
        self._file: Any = None

    def acquire(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._file.close()
            self._file = None
            raise LocalModeError(
                f"another `autotest local` is using {self._path.parent}: stop it, or pass another --data-dir"
            ) from exc
        self._file.truncate(0)
        self._file.write(str(os.getpid()))
        self._file.flush()

    @property
    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _seed_example_secrets(path: Path) -> None:
    """A first ``secrets.env`` holding the example app's demo password, so the example tests pass."""
    if path.exists():
        return
    from examples.webapp import ADMIN_PASSWORD

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Secrets for {{secret:NAME}} references of the bootstrap project (local mode's own key): NAME=value\n"
        "# lines. AUTOTEST_SECRET_<NAME> variables take precedence, and a secret the project stores\n"
        "# (`autotest secrets set NAME`) over both. Other projects never see these: they store their own.\n"
        "# The example app's demo password (examples/webapp), used by examples/tests:\n"
        f"ADMIN_PASSWORD={ADMIN_PASSWORD}\n"
    )
    path.chmod(0o600)


def api_key_for(data_dir: Path) -> str:
    """``AUTOTEST_API_KEY`` when set, else the key saved in the data directory, else a new one."""
    from_env = os.environ.get("AUTOTEST_API_KEY")
    if from_env:
        return from_env
    path = data_dir / CONFIG_NAME
    if not path.exists():
        return generate_key()
    saved = read_config_file(path).get("api_key")
    if not (isinstance(saved, str) and saved):
        # a new key would lock out every client holding the old one: say so rather than change it silently
        raise LocalModeError(
            f"{path} holds no readable API key (the file is damaged): repair it, set AUTOTEST_API_KEY to the key "
            "you use, or remove the file to have a new key made"
        )
    return saved


class LocalMode:
    def __init__(self, options: LocalOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.info: LocalInfo | None = None
        self.hub = EventHub()
        self._lock = _DataDirLock(self.data_dir)
        self._moto: Any = None
        self._webapp: Any = None
        self._server: _Server | None = None
        self._state: LocalState | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._worker_stop = asyncio.Event()
        self._stop_loops = asyncio.Event()
        self.settings: Settings | None = None
        self.services: Services | None = None
        #: what stop() can truly say about the data ("state saved", or what happened instead)
        self.outcome: str | None = None

    # -------------------------------------------------------------------------------- start

    async def start(self) -> LocalInfo:
        opts = self.options
        loop = asyncio.get_running_loop()
        # blocking AWS calls (runner, bridge, snapshots, event streams) run in threads: room for all
        loop.set_default_executor(ThreadPoolExecutor(max_workers=48, thread_name_prefix="local"))
        self._lock.acquire()
        try:
            return await self._start(opts)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, opts: LocalOptions) -> LocalInfo:
        api_sock = _bind(opts.host, opts.port, "the API", "--port")
        example_sock = None
        if opts.example_port is not None:
            example_sock = _bind(opts.host, opts.example_port, "the example app", "--example-port")
            example_port = int(example_sock.getsockname()[1])
            example_sock.close()  # the example app binds it again right away (SO_REUSEADDR)
        api_port = int(api_sock.getsockname()[1])
        api_url = _url(opts.host, api_port)

        self._start_moto()
        api_key = api_key_for(self.data_dir)
        base = opts.base_settings or Settings()
        if opts.example_port is not None and base.secrets_file is None:
            _seed_example_secrets(self.data_dir / "secrets.env")
        settings = base.model_copy(
            update={
                "aws_endpoint_url": None,  # moto answers in this process
                "bootstrap_api_key": SecretStr(api_key),
                "runner_concurrency": opts.concurrency or base.runner_concurrency,
                "network_allowlist": _merge_allowlist(base.network_allowlist),
                "network_refused_local_ports": _merge_ports(base.network_refused_local_ports, api_port),
                "secrets_file": base.secrets_file or self.data_dir / "secrets.env",
                "public_url": base.public_url or api_url,  # links in notifications
                "event_streams_per_project": base.event_streams_per_project
                if "event_streams_per_project" in base.model_fields_set
                else LOCAL_STREAMS_PER_PROJECT,
                # a run queue per priority, named after the normal one unless given
                "run_queue_high_name": base.run_queue_high_name or priority_queue_name(base.run_queue_name, "high"),
                "run_queue_low_name": base.run_queue_low_name or priority_queue_name(base.run_queue_name, "low"),
            }
        )
        self.settings = settings
        region = settings.aws_region

        def plain(service: str) -> Any:
            return in_process_client(service, region)

        await asyncio.to_thread(provision, settings, clients=plain)
        self._state = LocalState(
            self.data_dir, clients=plain, table=settings.table_name, bucket=settings.artifact_bucket
        )
        restored = await asyncio.to_thread(self._state.restore)
        journaled = {service: JournaledClient(plain(service), service, self._state) for service in JOURNALED}
        services = build_services(
            settings,
            clients=lambda service: journaled.get(service) or plain(service),
            links=ArtifactLinkSigner(link_key(self.data_dir), api_url),
            in_process_queues=True,  # the API, the planner, the scheduler and the runner share its run queues
        )
        try:  # secrets: the data directory's encrypted store, not Secrets Manager
            secrets = local_secrets(settings, self.data_dir)
            github = services.github.with_secrets(secrets) if services.github is not None else None
            services = replace(services, secrets=secrets, github=github)
        except SecretStoreError as exc:
            raise LocalModeError(str(exc)) from exc
        self.services = services

        bridge = EventBridgeSqsBridge(
            plain("events"),
            plain("sqs"),
            bus_name=settings.event_bus_name,
            queue_name=f"{settings.event_bus_name}-sse-bridge",
        )
        await asyncio.to_thread(bridge.ensure)
        requeued = await asyncio.to_thread(requeue_pending, services, restored.items)

        example_url = None
        if opts.example_port is not None:
            from examples.webapp import serve

            self._webapp = await asyncio.to_thread(serve, opts.host, example_port)
            example_url = self._webapp.url

        self._tasks["bridge"] = asyncio.create_task(self._pump(bridge), name="bridge")
        self._tasks["snapshots"] = asyncio.create_task(self._snapshots(), name="snapshots")
        self._server = _Server(
            uvicorn.Config(
                self._app(services),
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=3,
                access_log=False,
            )
        )
        self._tasks["api"] = asyncio.create_task(self._server.serve(sockets=[api_sock]), name="api")
        while not self._server.started:
            if self._tasks["api"].done():
                self._tasks["api"].result()
                raise LocalModeError("the API stopped while starting")
            await asyncio.sleep(0.02)

        ctx = LocalContext(settings=settings, services=services, data_dir=self.data_dir)
        for name, factory in opts.workers.items():
            worker = factory(ctx)
            self._tasks[f"worker:{name}"] = asyncio.create_task(worker.run(self._worker_stop), name=name)

        write_config_file(self.data_dir / CONFIG_NAME, api_url=api_url, api_key=api_key)
        (self.data_dir / OLD_LOCAL_STATE_NAME).unlink(missing_ok=True)
        self.info = LocalInfo(
            api_url=api_url,
            api_key=api_key,
            example_url=example_url,
            data_dir=self.data_dir,
            restored_items=len(restored.items),
            restored_objects=restored.objects,
            requeued_runs=requeued,
            workers=tuple(opts.workers),
            damaged=restored.damaged,
            replayed=restored.replayed,
            notes=(*self.options.notes, *restored.notes),
        )
        logger.info("local mode started", api_url=api_url, workers=list(opts.workers))
        return self.info

    def _start_moto(self) -> None:
        """moto in this process, before any client exists. Never reset: its state is process-wide."""
        from moto import mock_aws

        from cli.local import moto_fixes

        moto_fixes.apply()  # an item's size as DynamoDB measures an update (a large run's results)
        self._moto = mock_aws()
        self._moto.start(reset=False)

    def _app(self, services: Services) -> FastAPI:
        assert self.settings is not None
        app = create_app(
            services,
            max_body_bytes=self.settings.max_body_bytes,
            ui_session_key=ui_session_key(self.data_dir),
        )
        bridged: RunEvents = run_feeds(
            services, self.settings, hub=self.hub, tick_s=BUS_TICK_S, queued_tick_s=QUEUED_TICK_S
        )
        app.dependency_overrides[run_events_dep] = lambda: bridged
        return app

    # ----------------------------------------------------------------------------- loops

    async def _pump(self, bridge: EventBridgeSqsBridge) -> None:
        """EventBridge -> SQS -> the hub's subscribers."""
        while not self._stop_loops.is_set():
            try:
                events = await asyncio.to_thread(bridge.receive, wait_s=1)
            except DomainError as exc:
                logger.warning("event bridge receive failed", error=exc.message)
                await asyncio.sleep(1)
                continue
            for event in events:
                self.hub.publish(event)

    async def _snapshots(self) -> None:
        while not self._stop_loops.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_loops.wait(), timeout=self.options.snapshot_interval_s)
            if self._stop_loops.is_set():
                return  # the final snapshot is stop()'s
            await self.snapshot()

    async def snapshot(self) -> str | None:
        """Snapshot and compact now; returns what went wrong, or None."""
        if self._state is None:
            return "local mode is not running"
        try:
            await asyncio.to_thread(self._state.snapshot)
        except (DomainError, OSError) as exc:
            logger.error("snapshot failed", error=str(exc))
            return str(exc)
        return None

    # --------------------------------------------------------------------------------- stop

    async def drain(self, *, force: asyncio.Event | None = None) -> None:
        """Stop the workers: they finish or give back their runs. ``force`` set: cancel them."""
        self._worker_stop.set()
        workers = [t for name, t in self._tasks.items() if name.startswith("worker:")]
        if not workers:
            return
        pending = set(workers)
        force_wait = asyncio.ensure_future(force.wait()) if force is not None else None
        try:
            while pending:
                waiting = pending | ({force_wait} if force_wait else set())
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                pending -= done
                if force_wait is not None and force_wait in done:
                    for task in pending:
                        task.cancel()
                    # cancelled runs stay 'running' in the store: the next start re-enqueues them
                    await asyncio.wait(pending, timeout=FORCE_STOP_S)
                    pending = set()
        finally:
            if force_wait is not None:
                force_wait.cancel()
        for task in workers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                logger.error("a worker failed", worker=task.get_name(), error=repr(task.exception()))

    async def stop(self, *, force: asyncio.Event | None = None) -> None:
        """Shut everything down in order; safe to call twice and after a failed start."""
        await self.drain(force=force)
        self.hub.close()
        if self._server is not None:
            self._server.should_exit = True
        self._stop_loops.set()
        others = [t for name, t in self._tasks.items() if not name.startswith("worker:")]
        results = await asyncio.gather(*others, return_exceptions=True)
        for task, result in zip(others, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                logger.error("a local-mode task failed", task=task.get_name(), error=repr(result))
        self._tasks.clear()
        if self.services is not None and self._state is not None:
            failed = await self.snapshot()
            broken = self._state.broken
            if broken is not None:
                self.outcome = f"writes after the journal failed were refused ({broken}); the rest is saved"
            elif failed is not None:
                self.outcome = (
                    f"every acknowledged write is in the journal, but the final snapshot failed ({failed}): "
                    "the next start replays the journal"
                )
            else:
                self.outcome = "state saved"
        elif self.outcome is None and self._lock.held:
            self.outcome = (
                "nothing was saved (it stopped before its data was restored); the data directory is as it was"
            )
        if self._state is not None:
            await asyncio.to_thread(self._state.close)
            self._state = None
        if self._webapp is not None:
            await asyncio.to_thread(self._webapp.close)
            self._webapp = None
        if self._moto is not None:
            self._moto.stop(remove_data=False)
            self._moto = None
        self._lock.release()

    async def run(self, stop: asyncio.Event, *, force: asyncio.Event | None = None) -> None:
        """Serve until ``stop`` is set (start() must have succeeded)."""
        api = self._tasks.get("api")
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
        if api is not None:
            waits.add(api)  # the API died: stop the rest too
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for fut in pending:
            if fut is not api:
                fut.cancel()
        await self.stop(force=force)


class LocalModeThread:
    """Local mode on a background thread with its own event loop (tests, tools)."""

    def __init__(self, options: LocalOptions) -> None:
        self.mode = LocalMode(options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="autotest-local", daemon=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.mode.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self.mode.run(self._stop)

    def start(self, timeout_s: float = 60.0) -> LocalInfo:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise LocalModeError("local mode did not start in time")
        if self._error is not None:
            raise self._error
        assert self.mode.info is not None
        return self.mode.info

    def call(self, fn: Callable[[], Any]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def stop(self, timeout_s: float = 60.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise LocalModeError("local mode did not stop in time")
