"""``--wait``: follow runs to the end with live step-by-step progress.

One thread per run reads its server-sent events (``GET /v1/runs/{id}/events``), reconnecting if the
stream drops, or polls ``GET /v1/runs/{id}`` when the deployment does not stream. The main thread
prints what arrives (of a data-driven run, every step of its first rows, then the steps that did not pass and
a count of the rows ended); steps and statuses are printed once even when a reconnect repeats them, each step under the
attempt it belongs to; when a run is retried, a line says how its attempt ended before the retry's lines.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rich.console import Console

from cli.client import ApiClient, CliError, EventsUnavailable
from cli.junit import RunOutcome
from cli.output import TERMINAL, retry_line, row_prefix, safe, status_text, step_line
from shared.attempt_steps import AttemptSteps, held_like_record

POLL_S = 1.0
RECONNECT_S = 1.0
MAX_FAILURES = 10
OUTCOME_READERS = 4  # ended runs' outcomes read at once

T = TypeVar("T")


class BackgroundReads:
    """Reads done beside the main thread, ``limit`` at a time, each in a daemon thread: an interrupted command
    exits at once, where a ``ThreadPoolExecutor``'s threads would be joined at exit, each read up to its
    timeout. What a read raises is its future's exception."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()

        def read() -> None:
            with self._slots:
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # the caller sees it through the future
                    future.set_exception(exc)

        threading.Thread(target=read, name="background-read", daemon=True).start()
        return future


#: a data-driven run's first rows show every step; later rows only the steps that did not pass, and a count
#: of the rows ended (at most every ROWS_EVERY_S): 200 rows of 4 steps would be 800 lines
ROWS_SHOWN = 5
ROWS_EVERY_S = 2.0


@dataclass
class Followed:
    label: str
    run_id: str
    shown_status: tuple[str, int] | None = None
    shown_steps: set[tuple[int, int | None, int]] = field(default_factory=set)
    shown_attempt: int = 0  # the newest attempt a line was printed for
    polled: AttemptSteps[tuple[int | None, dict[str, Any]]] = field(default_factory=AttemptSteps)
    rows_ended: set[tuple[int, int]] = field(default_factory=set)  # (attempt, row) of the rows seen
    rows_said: int = 0  # the count the last "rows ended" line gave
    rows_said_at: float = 0.0
    done: bool = False
    error: str | None = None


class _Follower(threading.Thread):
    """Puts ``(index, kind, payload)`` on ``out``: kind ``status`` / ``step`` / ``run`` / ``end`` / ``error``."""

    def __init__(self, client: ApiClient, index: int, run_id: str, out: queue.Queue[tuple[int, str, Any]]) -> None:
        super().__init__(name=f"follow-{run_id}", daemon=True)
        self.client = client
        self.index = index
        self.run_id = run_id
        self.out = out
        self.stop = threading.Event()

    def run(self) -> None:
        failures = 0
        streaming = True
        while not self.stop.is_set():
            try:
                if streaming and self._stream():
                    return
                if not streaming and self._poll():
                    return
                failures = 0
            except EventsUnavailable:
                streaming = False
                continue
            except CliError as exc:
                failures += 1
                if failures >= MAX_FAILURES:
                    self.out.put((self.index, "error", exc.message))
                    return
            self.stop.wait(RECONNECT_S if streaming else POLL_S)

    def _stream(self) -> bool:
        """Read the stream; True once the run ended."""
        for event in self.client.run_events(self.run_id):
            if self.stop.is_set():
                return True
            try:
                payload = json.loads(event.data)
            except ValueError:
                continue
            if event.event in ("status", "step"):
                self.out.put((self.index, event.event, payload))
            if event.event == "status" and payload.get("status") in TERMINAL:
                self.out.put((self.index, "end", None))
                return True
        return False

    def _poll(self) -> bool:
        run = self.client.get(f"/v1/runs/{self.run_id}")
        self.out.put((self.index, "run", run))
        if run.get("status") in TERMINAL:
            self.out.put((self.index, "end", None))
            return True
        return False


class Progress:
    """Prints progress lines for a set of runs, each step and status once, and a line when a run is retried.
    ``fetch`` reads a followed run (for how the attempt before a retry ended), or None when it cannot."""

    def __init__(
        self,
        console: Console,
        followed: Sequence[Followed],
        *,
        quiet: bool = False,
        fetch: Callable[[Followed], dict[str, Any] | None] | None = None,
    ) -> None:
        self.console = console
        self.followed = followed
        self.quiet = quiet
        self.fetch = fetch

    def _prefix(self, item: Followed) -> str:
        return f"[dim]{safe(item.label)}[/] " if len(self.followed) > 1 else ""

    def _attempt(self, item: Followed, attempt: int, run: dict[str, Any] | None = None) -> None:
        """Before the first line of a newer attempt: a line for each attempt that ended and was tried again."""
        if attempt <= item.shown_attempt:
            return
        newer, item.shown_attempt = range(max(item.shown_attempt + 1, 2), attempt + 1), attempt
        if self.quiet or not newer:
            return
        if run is None and self.fetch is not None:
            run = self.fetch(item)
        for n in newer:
            self.console.print(f"{self._prefix(item)}{retry_line(run, n)}")

    def status(self, item: Followed, status: str, attempt: int, run: dict[str, Any] | None = None) -> None:
        key = (status, attempt)
        if item.shown_status == key:
            return
        self._attempt(item, attempt, run)
        item.shown_status = key
        if not self.quiet:
            retry = f" (attempt {attempt})" if attempt > 1 else ""
            self.console.print(f"{self._prefix(item)}{status_text(status)}{retry}")

    def step(
        self,
        item: Followed,
        attempt: int,
        iteration: int | None,
        step: dict[str, Any],
        run: dict[str, Any] | None = None,
    ) -> None:
        key = (attempt, iteration, int(step.get("index", 0)))
        if key in item.shown_steps:
            return
        self._attempt(item, attempt, run)
        item.shown_steps.add(key)
        if self.quiet:
            return
        if iteration is not None:  # rows are written when they end: a row's first step says it ended
            item.rows_ended.add((attempt, iteration))
            if iteration >= ROWS_SHOWN and step.get("status") in ("passed", "skipped"):
                self._rows_ended(item, attempt)
                return
        self.console.print(step_line(step, prefix=self._prefix(item) + row_prefix(iteration)))

    def _rows_ended(self, item: Followed, attempt: int) -> None:
        ended = sum(1 for a, _ in item.rows_ended if a == attempt)
        now = time.monotonic()
        if ended > item.rows_said and now - item.rows_said_at >= ROWS_EVERY_S:
            item.rows_said, item.rows_said_at = ended, now
            self.console.print(f"{self._prefix(item)}  [dim]{ended} rows ended[/]")

    def run(self, item: Followed, run: dict[str, Any]) -> None:
        """A polled run: print what is new in it, each step under its own attempt (a retried run still holds
        the steps of the attempt before until its new attempt writes its own: ``AttemptSteps``)."""
        attempt = int(run.get("attempt") or 1)
        if run.get("iterations"):
            held = [(it.get("index"), step) for it in run["iterations"] for step in it.get("steps", [])]
        else:
            held = [(None, step) for step in run.get("steps") or []]
        queued = run.get("status") == "queued"
        earlier, own = item.polled.read(attempt, queued, held, lambda: held_like_record(run))
        for iteration, step in earlier:
            self.step(item, attempt - 1, iteration, step, run)
        for iteration, step in own:
            self.step(item, attempt, iteration, step, run)
        self.status(item, str(run.get("status")), attempt, run)


def follow(
    client: ApiClient,
    started: Sequence[tuple[str, dict[str, Any]]],
    *,
    console: Console,
    timeout_s: float,
    quiet: bool = False,
) -> list[RunOutcome]:
    """Follow ``started`` runs (label, run as the API returned it) until they end or ``timeout_s``."""
    out: queue.Queue[tuple[int, str, Any]] = queue.Queue()
    followed = [Followed(label=label, run_id=str(run["id"])) for label, run in started]
    progress = Progress(console, followed, quiet=quiet, fetch=lambda item: _fetch(client, item))
    threads = [_Follower(client, i, item.run_id, out) for i, item in enumerate(followed)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    # a run's outcome (the run and its artifacts) is read as soon as it ends, while the others still run: read
    # one after the other at the end, 40 runs' outcomes took 4.3 s after the last run ended
    pool = BackgroundReads(OUTCOME_READERS)
    outcomes: dict[int, Future[RunOutcome]] = {}
    try:
        while not all(item.done for item in followed):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                index, kind, payload = out.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            item = followed[index]
            if kind == "status" and payload.get("status") in TERMINAL:
                # the steps the stream did not bring (a run that ended before it was followed), then the status
                _catch_up(client, progress, item, payload)
            elif kind == "status":
                progress.status(item, str(payload.get("status")), int(payload.get("attempt") or 1))
            elif kind == "step":
                progress.step(item, int(payload.get("attempt") or 1), payload.get("iteration"), payload["step"])
            elif kind == "run":
                progress.run(item, payload)
            elif kind == "end":
                item.done = True
            elif kind == "error":
                item.done, item.error = True, str(payload)
            if item.done and index not in outcomes:
                outcomes[index] = pool.submit(_outcome, client, item, timeout_s)
        for index, item in enumerate(followed):  # the runs still going when it gave up waiting
            if index not in outcomes:
                outcomes[index] = pool.submit(_outcome, client, item, timeout_s)
        return [outcomes[index].result() for index in range(len(followed))]
    finally:
        for thread in threads:
            thread.stop.set()


def _fetch(client: ApiClient, item: Followed) -> dict[str, Any] | None:
    try:
        run: dict[str, Any] = client.get(f"/v1/runs/{item.run_id}")
    except CliError:
        return None
    return run


def _catch_up(client: ApiClient, progress: Progress, item: Followed, status: dict[str, Any]) -> None:
    """Print the ended run's steps not shown yet, then its status."""
    try:
        progress.run(item, client.get(f"/v1/runs/{item.run_id}"))
    except CliError:
        progress.status(item, str(status.get("status")), int(status.get("attempt") or 1))


def _outcome(client: ApiClient, item: Followed, timeout_s: float) -> RunOutcome:
    try:
        run = client.get(f"/v1/runs/{item.run_id}")
    except CliError as exc:
        return RunOutcome(label=item.label, error=item.error or exc.message)
    if item.error is not None:
        return RunOutcome(label=item.label, run=run, error=item.error)
    if run.get("status") not in TERMINAL:
        return RunOutcome(
            label=item.label,
            run=run,
            error=f"gave up waiting after {timeout_s:.0f} s: the run is still {run.get('status')}",
        )
    try:
        artifacts = client.get(f"/v1/runs/{item.run_id}/artifacts").get("artifacts", [])
    except CliError:
        artifacts = []
    return RunOutcome(label=item.label, run=run, artifacts=artifacts)
