"""Checking a ``request`` step's response (its expectations, then its extraction) within the step's time.

The checks are CPU work whose cost the test decides: RE2 is linear in the body, but a pattern whose DFA does
not fit RE2's cache takes seconds per megabyte (``[ab]*a[ab]{999}c``: about 5 s per MB, per expectation),
a JSON Schema ``pattern`` runs in ``jsonschema``'s backtracking engine, and a step may have a hundred
expectations on a 10 MB body. :class:`ResponseChecker` runs all of one response's checks in one call to a
worker process (``shared/killable.py``; the body crosses once): when the step's time is up the worker is
killed, so the work stops then, not when it would have finished, and the step fails saying which expectation
was being checked. Other runs' checks run in other workers: none waits behind a slow one.

Why not refuse a costly pattern up front (its RE2 program size times the body's size)? That product bounds
RE2's slow path only, and whether a search takes it depends on the text as much as on the pattern:
``[ab]*a[ab]{999}c`` (program size 1006) searches a megabyte of random letters in 2 ms and a megabyte of "a"
and "b" in 5 s; ``a[ab]{20}c`` (26) takes 1 ms and 0.2 s on the same two texts. A bound set by the worst
case would refuse tests that pass in milliseconds on the responses they get. Stopping the work when the time
the test gave itself is up is a bound that is never wrong. (RE2's ``max_mem``, in ``shared/regex.py``,
bounds each pattern's memory, not its time.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared import killable, regex
from shared.apitests.expectations import Clip, Outcome, cut, outcomes, show
from shared.apitests.jsonpath import JsonPathError, is_definite, query
from shared.apitests.response import HttpResult, RequestFailed
from shared.models.common import MAX_VARIABLE_CHARS, find_unstorable
from shared.models.plans import Expectation, ExpectBody, ExpectHeader, ExpectJsonPath
from shared.wording import seconds

#: what the workers import once, in the fork server
PRELOAD = ("shared.apitests.checks",)
_DESCRIBED = 200


@dataclass
class Checked:
    """What the checks found: every check's outcome (the expectations, then the extraction), and the values
    extracted."""

    outcomes: list[Outcome]
    variables: dict[str, Any]

    @property
    def failures(self) -> list[str]:
        """The sentences of the checks that did not hold, in order."""
        return [o.failure for o in self.outcomes if o.failure is not None]


def extract(result: HttpResult, spec: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Values for ``{var: jsonpath}``; a path that matches nothing is a failure."""
    values, found = extract_outcomes(result, spec)
    return values, [o.failure for o in found if o.failure is not None]


def extract_outcomes(
    result: HttpResult, spec: dict[str, str], clip: Clip = cut
) -> tuple[dict[str, Any], list[Outcome]]:
    """Values for ``{var: jsonpath}``, and one outcome per variable (a path that matches nothing, or a value a
    variable cannot hold, fails)."""
    values: dict[str, Any] = {}
    found: list[Outcome] = []
    for var, path in spec.items():
        value, failure = _extract_one(result, var, path)
        shown = show(value, clip) if failure is None else None
        found.append(
            Outcome(
                check=clip(f"extract {var} = {path}", 300),
                passed=failure is None,
                expected="a value",
                actual=shown if failure is None else ("nothing" if "matched nothing" in failure else None),
                failure=failure,
            )
        )
        if failure is None:
            values[var] = value
    return values, found


def _extract_one(result: HttpResult, var: str, path: str) -> tuple[Any, str | None]:
    if not result.is_json:
        return None, f"cannot extract {var!r}: the response body is not JSON"
    try:
        matches = query(result.json, path)
    except JsonPathError as exc:
        return None, f"cannot extract {var!r}: {exc.message}"
    if not matches:
        return None, f"cannot extract {var!r}: {path} matched nothing in the response"
    value = matches[0] if is_definite(path) else matches
    unfit = find_unstorable(value)  # deeper than a run can store (or pass between processes), NaN, ...
    if unfit is not None:
        return None, f"cannot extract {var!r}: what {path} holds cannot be a variable: {unfit[1]}"
    size = len(value) if isinstance(value, str) else len(json.dumps(value))
    if size > MAX_VARIABLE_CHARS:
        return None, (
            f"cannot extract {var!r}: {path} is {size // 1024} KB, more than the "
            f"{MAX_VARIABLE_CHARS // 1024} KB a variable may hold"
        )
    return value, None


def evaluate(
    report: killable.Report,
    result: HttpResult,
    expectations: list[Expectation],
    spec: dict[str, str],
    clip: Clip = cut,
    variables: dict[str, Any] | None = None,
) -> Checked:
    """Every expectation, then the extraction; ``report(i)`` before expectation ``i`` (``len(expectations)``:
    the extraction), so a check stopped half-way can say where it was. ``variables``: what an ``expr`` sees as
    ``vars``. Runs in a worker process."""
    found = outcomes(result, expectations, clip=clip, before_each=report, variables=variables)
    report(len(expectations))
    values, extracted = extract_outcomes(result, spec, clip)
    return Checked(found + extracted, values)


def _search(report: killable.Report, pattern: str, text: str) -> bool:
    return regex.search(pattern, text)


class ResponseChecker:
    """Checks responses in worker processes that are killed when a step's time is up (one per runner; see
        the module docstring). ``keep``: idle workers kept (the requests a runner checks at once: its runs at a time,
    times the dataset rows each runs at once)."""

    def __init__(self, *, keep: int = 8) -> None:
        self._pool = killable.KillablePool(keep=keep, preload=PRELOAD)

    def warm(self) -> None:
        """Start a worker in the background, unless one is ready (call when a run with checks begins)."""
        self._pool.warm()

    async def ready(self) -> None:
        """Wait until a worker is ready: at once, but for the first check of the process, which waits for the
        fork server to start (a second or so) and should not count that as the step's time."""
        try:
            await self._pool.ready()
        except TimeoutError:
            raise RequestFailed(
                f"the process that checks responses did not start within {seconds(killable.START_TIMEOUT_S)}"
            ) from None

    async def check(
        self,
        result: HttpResult,
        expectations: list[Expectation],
        spec: dict[str, str],
        *,
        clip: Clip,
        timeout_s: float,
        variables: dict[str, Any] | None = None,
    ) -> Checked:
        """The checks of ``result``; raises :class:`RequestFailed` when they take longer than ``timeout_s``
        (and are stopped then) or their worker dies. ``variables``: what an ``expr`` sees as ``vars``."""
        try:
            checked: Checked = await self._pool.call(
                evaluate, result, expectations, spec, clip, variables or {}, timeout_s=max(timeout_s, 0.001)
            )
        except killable.CallTimedOut as exc:
            where = _where(exc.progress, expectations, spec, clip)
            raise RequestFailed(
                f"the response was still being checked when the step's time ran out ({seconds(timeout_s)} were "
                f"left after the response arrived); stopped at {where}, on a body of {_size(len(result.content))}"
                f"{_hint(exc.progress, expectations)}"
            ) from None
        except killable.WorkerDied as exc:
            where = _where(exc.progress, expectations, spec, clip)
            raise RequestFailed(
                f"the process checking the response ended at {where} (exit code {exc.exitcode}: out of memory, or "
                f"an error the runner's log shows), on a body of {_size(len(result.content))}"
            ) from None
        return checked

    async def search(self, pattern: str, text: str, *, timeout_s: float) -> bool | None:
        """Whether RE2 finds ``pattern`` in ``text``; None when that takes longer than ``timeout_s`` (the search
        is stopped then). For texts too long to search on the event loop (``regex.cheap``)."""
        try:
            found: bool = await self._pool.call(_search, pattern, text, timeout_s=max(timeout_s, 0.001))
        except killable.CallTimedOut:
            return None
        return found

    def close(self) -> None:
        """Stop every worker (the runner is shutting down)."""
        self._pool.close()

    @property
    def worker_pids(self) -> list[int]:
        return self._pool.pids


def _where(progress: Any, expectations: list[Expectation], spec: dict[str, str], clip: Clip) -> str:
    if not isinstance(progress, int):
        return "the start"
    if progress < len(expectations):
        described = json.dumps(expectations[progress].model_dump(mode="json", exclude_none=True))
        return f"expectation {progress + 1} of {len(expectations)} {clip(described, _DESCRIBED)}"
    return f"extracting {', '.join(spec)}"


def _hint(progress: Any, expectations: list[Expectation]) -> str:
    if not isinstance(progress, int) or progress >= len(expectations):
        return ""
    expectation = expectations[progress]
    pattern = isinstance(expectation, ExpectBody) and expectation.body_matches is not None
    pattern = pattern or (isinstance(expectation, ExpectHeader | ExpectJsonPath) and expectation.matches is not None)
    if not pattern:
        return ""
    return (
        ": RE2 matches in linear time, but slowly when a pattern's automaton is large (counted repetitions such "
        "as {999}) and the text long; shorten the pattern or match a smaller part of the response (a jsonpath)"
    )


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} KB"
    return f"{n} bytes"
