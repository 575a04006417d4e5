"""Per-attempt records: what one attempt of a run did, kept on the run once the attempt ends.

A run item must stay under DynamoDB's 400 KB, and a run has up to 6 attempts (5 retries) plus its
interruptions, so a record is bounded:

- steps in short form: index, action, target, status, duration, error (in full: the runner clips errors
  already), screenshot and ``healed``; the descriptive fields (description, detail, locator, heal) are left
  out, they are in the attempt's own ``report.html``;
- a data-driven attempt keeps only its rows that did not pass, at most :data:`MAX_ROWS`, without their
  variables;
- all records of a run together stay under :data:`BUDGET_BYTES` of JSON: past it, the oldest records lose
  their steps and rows first (``trimmed``), keeping their status, error, timings and artifact names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from shared.models.runs import Attempt, AttemptStatus, Iteration, Run, RunStatus, StepResult, artifact_prefix

#: rows (of a data-driven attempt) that did not pass kept per record
MAX_ROWS = 10
#: all attempt records of one run together, as JSON
BUDGET_BYTES = 64 * 1024

_STEP_FIELDS = frozenset({"index", "action", "target", "status", "duration_ms", "error", "screenshot", "healed"})
_steps = TypeAdapter(list[StepResult])
_iterations = TypeAdapter(list[Iteration])


def _short(step: StepResult) -> StepResult:
    return StepResult.model_validate(step.model_dump(include=set(_STEP_FIELDS)))


def record(
    run: Run, status: AttemptStatus, *, ended_at: datetime, error: str | None = None, results: dict[str, Any]
) -> Attempt:
    """The record of the attempt ``run`` is on, ending with ``status`` at ``ended_at``. ``results``: the
    attempt's results as the caller writes them (``steps``, ``iterations``, ``error``, ``artifacts``); what
    they leave out is taken from ``run``."""
    steps = _steps.validate_python(results.get("steps", run.steps))
    iterations = _iterations.validate_python(results.get("iterations", run.iterations))
    refs = results.get("artifacts", run.artifacts)
    prefix = artifact_prefix(run.project_id, run.id, run.attempt) + "/"
    names = []
    for ref in refs:
        key = ref["key"] if isinstance(ref, dict) else ref.key
        if key.startswith(prefix):
            names.append(key[len(prefix) :])
    failing = [it for it in iterations if it.status != RunStatus.passed]
    kept = [
        Iteration(index=it.index, status=it.status, steps=[_short(s) for s in it.steps]) for it in failing[:MAX_ROWS]
    ]
    duration = int((ended_at - run.started_at).total_seconds() * 1000) if run.started_at else None
    return Attempt(
        attempt=run.attempt,
        status=status,
        started_at=run.started_at,
        ended_at=ended_at,
        duration_ms=duration,
        error=error if error is not None else (None if status == "passed" else results.get("error", run.error)),
        steps=[_short(s) for s in steps],
        iterations=kept,
        artifacts=names,
        trimmed=len(failing) > MAX_ROWS,
    )


def _size(attempts: Sequence[Attempt]) -> int:
    data = [a.model_dump(mode="json") for a in attempts]
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def appended(attempts: Sequence[Attempt], new: Attempt, *, budget: int = BUDGET_BYTES) -> list[Attempt]:
    """``attempts`` with ``new`` after them, within ``budget`` bytes: the oldest records lose their steps and
    rows first (the newest last of all)."""
    out = [*attempts, new]
    for i, attempt in enumerate(out):
        if _size(out) <= budget:
            break
        if attempt.steps or attempt.iterations:
            out[i] = attempt.model_copy(update={"steps": [], "iterations": [], "trimmed": True})
    return out
