"""Which attempt of a run the steps it holds belong to (live progress: ``shared/events_source.py`` and the
CLI's ``--wait``). Plain data (runs as JSON), no models: the CLI imports it.

A run whose attempt failed goes back to ``queued`` as its next attempt still holding the failed attempt's steps
(``RunService.end_attempt``), until the new attempt writes its first; a follower that took them for the new
attempt's would tell them twice, under the wrong number, and miss as many of the new attempt's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
#: the rows that did not pass an attempt record keeps (``shared.services.attempts.MAX_ROWS``)
MAX_ROWS = 10
#: the step fields an attempt record keeps (``shared/services/attempts.py``): what a held step is compared on
_RECORDED = ("index", "action", "target", "status", "duration_ms", "error", "screenshot", "healed")


def _short(step: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(step.get(name) for name in _RECORDED)


def _rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r.get("index"), r.get("status"), [_short(s) for s in r.get("steps") or []]) for r in rows]


def held_like_record(run: Mapping[str, Any]) -> bool | None:
    """Whether the steps ``run`` (as JSON: a ``Run`` or ``RunPublic`` dumped) holds are like the record of the
    attempt before its current one (``attempts``, short form): True when they are (they may be that attempt's,
    left over), False when they are not (they are the current attempt's own), None when there is nothing to
    tell by (no record, one trimmed to nothing, or a data-driven record with no row that did not pass)."""
    attempt = int(run.get("attempt") or 1)
    record = next((a for a in reversed(run.get("attempts") or []) if a.get("attempt") == attempt - 1), None)
    if record is None or (record.get("trimmed") and not record.get("steps") and not record.get("iterations")):
        return None
    if run.get("iterations"):  # a data-driven record keeps the rows that did not pass, at most 10
        failing = [r for r in run["iterations"] if r.get("status") != "passed"]
        rows = _rows(failing[:MAX_ROWS])
        if rows != _rows(record.get("iterations") or []):
            return False
        return True if rows else None
    return [_short(s) for s in run.get("steps") or []] == [_short(s) for s in record.get("steps") or []]


class AttemptSteps(Generic[T]):
    """Which attempt the steps a run holds belong to, read after read (one follower's view).

    A run whose attempt failed goes back to ``queued`` as its next attempt still holding the failed attempt's
    steps (``RunService.end_attempt``), and keeps them until the new attempt writes its first; an interrupted
    attempt's are cleared. So at a new attempt, the held steps are the attempt before's when the run is
    ``queued``, or while it holds the very list it held when its attempt changed; on a first look at a started
    attempt, when they are like the attempt before's record (:func:`held_like_record`); when that cannot be
    told, they are held back until the list changes. Once the held list changes within an attempt, that
    attempt has written its own: from then on every step is its own, told from index 0.
    """

    def __init__(self) -> None:
        self.attempt: int | None = None  # the attempt whose steps are told; None before the first read
        self.told = 0  # how many of its steps were told
        self.baseline: list[T] | None = None  # the held list while it may still be an earlier attempt's

    def read(
        self, attempt: int, queued: bool, held: Sequence[T], like_previous: Callable[[], bool | None]
    ) -> tuple[list[T], list[T]]:
        """``(steps of attempt - 1 not told yet, steps of attempt not told yet)`` in what one read of the run
        holds. ``queued``: the run is queued; ``like_previous``: :func:`held_like_record` of the read."""
        held = list(held)
        earlier: list[T] = []
        if attempt != self.attempt:
            told_before = self.told if self.attempt == attempt - 1 else 0
            self.attempt, self.told, self.baseline = attempt, 0, None
            if held and attempt > 1:
                verdict = True if queued else like_previous()
                if verdict is not False:
                    self.baseline = held
                if verdict is True:
                    earlier = held[told_before:]
        elif self.baseline is not None:
            if queued or held == self.baseline:
                return [], []
            self.baseline = None  # the attempt wrote its own steps
        if self.baseline is not None:
            return earlier, []
        own = held[self.told :]
        self.told = len(held)
        return earlier, own
