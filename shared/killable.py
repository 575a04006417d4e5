"""CPU work on user input, run in worker processes that are killed when the work's time is up.

Some of what a test asks for costs CPU time that only the input decides: RE2 matching a 10 MB body with a
pattern whose DFA does not fit its cache (linear, but seconds per megabyte), a JSON Schema ``pattern`` (which
``jsonschema`` runs with Python's backtracking ``re``), a walk of a huge JSON document. A thread running such
work cannot be stopped: ``asyncio.wait_for`` around ``asyncio.to_thread`` only stops *waiting* for it, and
the thread keeps a core busy, and a thread of the shared default executor taken, long after the step that
asked for it has failed. A process can be stopped.

:class:`KillablePool` runs a function in a worker process, one call per worker at a time. When the call's
time is up, or its caller is cancelled, the worker is killed (SIGKILL): the work stops at once, whatever it
is, and the next call gets another worker. Workers are started when a call needs one (none before the first
call), from multiprocessing's fork server preloaded with the modules the calls need, so a replacement costs a
fork, not an interpreter start. Up to ``keep`` idle workers are kept for the next calls; a call that finds
none idle starts one rather than wait behind another call (callers bound their own concurrency: the runner
executes ``runner_concurrency`` runs at a time, one step each), up to ``limit`` calls at once.
A worker ignores SIGINT: the terminal's Ctrl-C is for autotest, which finishes its running tests first.

Hand-written, because no library does this within our constraints: ``concurrent.futures.ProcessPoolExecutor``
cannot stop a call that has started (and one dead worker breaks the whole pool); pebble's ``ProcessPool``,
which kills a timed-out call's worker, guards its pipes with multiprocessing locks, which need POSIX
semaphores (``/dev/shm``), and AWS Lambda, where the runner also runs, has none. This module uses processes
and pipes only.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any

#: ``report(value)``: what a call tells its caller while it works (the caller keeps the last one)
Report = Callable[[Any], None]
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
#: a worker that cannot be started in this long is a broken machine, not a slow check
START_TIMEOUT_S = 60.0
_REAP_TIMEOUT_S = 5.0
_FORK_SERVER_LOCK = threading.Lock()


class CallTimedOut(Exception):
    """The call did not finish within its time; its worker was killed. ``progress``: what it last reported."""

    def __init__(self, timeout_s: float, progress: Any) -> None:
        super().__init__(f"the call did not finish within {timeout_s:g}s; its worker process was killed")
        self.timeout_s = timeout_s
        self.progress = progress


class WorkerDied(Exception):
    """The worker process ended without answering (killed from outside, or out of memory)."""

    def __init__(self, exitcode: int | None, progress: Any) -> None:
        super().__init__(f"the worker process ended without answering (exit code {exitcode})")
        self.exitcode = exitcode
        self.progress = progress


def _serve(conn: Connection) -> None:
    """A worker's life: answer ``(function, args)`` requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def report(value: Any) -> None:
        conn.send(("progress", value))

    while True:
        try:
            function, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", function(report, *args))
        except Exception as exc:
            answer = ("error", exc)
        try:
            conn.send(answer)
        except Exception as exc:  # the value (or the exception) cannot be pickled
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        del function, args, answer  # an idle worker holds no 10 MB body


def _ensure_fork_server() -> None:
    """Start multiprocessing's fork server (when it is not running) with ``PYTHONSAFEPATH=1``. It is started as
    ``python -c ...``, which puts the current directory first on ``sys.path``, and Python 3.11's fork server does
    not take the parent's ``sys.path``: a ``shared/`` (or ``yaml.py``, ``httpx/``...) in the directory local mode
    was started from would be imported in place of ours, and every worker would die at its start."""
    from multiprocessing import forkserver

    with _FORK_SERVER_LOCK:
        before = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            forkserver.ensure_running()
        finally:
            if before is None:
                os.environ.pop("PYTHONSAFEPATH", None)
            else:
                os.environ["PYTHONSAFEPATH"] = before


class _Worker:
    def __init__(self, context: Any) -> None:
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child,), daemon=True, name="autotest-killable")
        self.process.start()
        child.close()
        self.conn: Connection = parent

    def exchange(self, request: tuple[Callable[..., Any], tuple[Any, ...]], on_progress: Report) -> tuple[str, Any]:
        """Send one request and wait for its answer (blocking: runs in the pool's I/O thread)."""
        self.conn.send(request)
        while True:
            try:
                kind, value = self.conn.recv()
            except EOFError:  # the process ended: reaped first, so that its exit code is known
                self.process.join(_REAP_TIMEOUT_S)
                raise
            if kind != "progress":
                return kind, value
            on_progress(value)

    def kill(self) -> None:
        with suppress(Exception):
            self.process.kill()

    def reap(self) -> None:
        """Close the pipe and wait for the process to end (blocking; after its exchange returned)."""
        with suppress(Exception):
            self.conn.close()
        with suppress(Exception):
            self.process.join(_REAP_TIMEOUT_S)
            self.process.close()


def _kill_all(idle: list[_Worker], busy: set[_Worker]) -> None:
    for worker in [*idle, *busy]:
        worker.kill()


class KillablePool:
    """Worker processes for calls that must stop when their time is up (see the module docstring).

    ``call`` takes a picklable, module-level ``function(report, *args)``; ``preload`` names the modules it
    needs, imported once in the fork server. Usable from any event loop; ``close`` kills every worker (a later
    call starts new ones)."""

    def __init__(self, *, keep: int = 2, limit: int = 32, preload: tuple[str, ...] = ()) -> None:
        self._keep = keep
        self._context = multiprocessing.get_context(_START_METHOD)
        # ``__main__`` too, as multiprocessing's default: every child imports the main module otherwise
        self._preload = ["__main__", *preload]
        self._io = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="killable-io")
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting: Future[None] | None = None
        # a pool dropped without close() (a test's executor) leaves no process behind
        weakref.finalize(self, _kill_all, self._idle, self._busy)

    # ------------------------------------------------------------------------------------------ calls

    async def call(
        self,
        function: Callable[..., Any],
        *args: Any,
        timeout_s: float,
        on_progress: Report | None = None,
    ) -> Any:
        """``function(report, *args)`` in a worker; its value, or the exception it raised. Raises
        :class:`CallTimedOut` when it takes longer than ``timeout_s`` (counted from when a worker has it; starting
        a worker is not counted) and :class:`WorkerDied` when the worker ends without answering. Either way, and
        when the caller is cancelled, the worker is killed."""
        loop = asyncio.get_running_loop()
        worker = self._take_idle() or await self._started()

        # What the caller has been told, and whether the call is decided: a report the I/O thread reads after
        # the call timed out is not passed on, so the progress an error names is the last one the caller saw.
        gate = threading.Lock()
        told: list[Any] = [None]
        decided = False

        def progress(value: Any) -> None:  # in the I/O thread
            with gate:
                if decided:
                    return
                told[0] = value
                if on_progress is not None:
                    with suppress(RuntimeError):  # the loop closed: nobody is listening any more
                        loop.call_soon_threadsafe(on_progress, value)

        def decide() -> Any:
            nonlocal decided
            with gate:
                decided = True
                return told[0]

        exchange = self._io.submit(worker.exchange, (function, args), progress)
        answered = False
        try:
            kind, value = await asyncio.wait_for(asyncio.wrap_future(exchange), timeout_s)
            answered = True
        except TimeoutError:
            raise CallTimedOut(timeout_s, decide()) from None
        except (EOFError, OSError) as exc:
            raise WorkerDied(worker.process.exitcode, decide()) from exc
        finally:
            if answered:
                self._give_back(worker)
            else:
                self._discard(worker, exchange)
        if kind == "error":
            raise value
        return value

    def warm(self) -> None:
        """Start a worker now, in the background, unless one is idle or starting: the next call finds it ready
        (give this as soon as a call is foreseen)."""
        self._warming()

    async def ready(self) -> None:
        """Return once a worker is idle (at once, mostly): the first start boots the fork server, which imports
        the preloaded modules (a second or so), and a caller may want that outside the time it gives a call."""
        starting = self._warming()
        if starting is not None:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(starting)), START_TIMEOUT_S)

    def _warming(self) -> Future[None] | None:
        """The start of an idle worker in progress (begun here if needed), or None when one is idle."""
        with self._lock:
            if self._idle:
                return None
            if self._starting is None:
                self._starting = self._io.submit(self._start_idle)
            return self._starting

    def close(self) -> None:
        """Kill every worker, idle or busy."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.kill()
        for worker in workers:
            if worker not in self._busy:
                worker.reap()  # a busy one is reaped by its call

    # -------------------------------------------------------------------------------------- workers

    async def _started(self) -> _Worker:
        started = self._io.submit(self._start)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(started), START_TIMEOUT_S)
        except BaseException:  # cancelled (or too slow): the worker, once started, is kept for the next call
            started.add_done_callback(self._keep_started)
            raise

    def _keep_started(self, started: Future[_Worker]) -> None:
        if not started.cancelled() and started.exception() is None:
            self._give_back(started.result())

    def _start(self) -> _Worker:
        if _START_METHOD == "forkserver":
            self._context.set_forkserver_preload(self._preload)  # used when the fork server starts
            _ensure_fork_server()
        worker = _Worker(self._context)
        with self._lock:
            self._busy.add(worker)
        return worker

    def _start_idle(self) -> None:
        try:
            self._give_back(self._start())
        finally:
            with self._lock:
                self._starting = None

    def _take_idle(self) -> _Worker | None:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    self._busy.add(worker)
                    return worker
                self._io.submit(worker.reap)
        return None

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if len(self._idle) < self._keep:
                self._idle.append(worker)
                return
        self._io.submit(worker.reap)  # closing the pipe ends it

    def _discard(self, worker: _Worker, exchange: Future[tuple[str, Any]]) -> None:
        worker.kill()
        with self._lock:
            self._busy.discard(worker)
        # the exchange ends as soon as the pipe breaks; the pipe is closed only after that
        exchange.add_done_callback(lambda _: worker.reap())

    @property
    def pids(self) -> list[int]:
        """The worker processes alive now (for tests and diagnostics)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [w.process.pid for w in workers if w.process.pid is not None and w.process.is_alive()]
