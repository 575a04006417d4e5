"""Step results that fit the run's record: a run item must stay under DynamoDB's 400 KB.

A data-driven run has up to 1,000 rows, each with its steps and every check of its request steps; in full,
1,000 rows x 4 steps x 5 checks is megabytes. The run's ``report.html`` keeps everything; the record keeps
what fits, dropping what matters least first, one stage at a time until it fits (:func:`fitted`):

1. the expected and actual texts of checks that passed;
2. the checks of steps that passed;
3. the steps of rows that passed (the row keeps its index, variables and status; ``trimmed``);
4. the checks of the steps of rows that did not pass, but the first :data:`KEPT_ROWS` of them;
5. the steps of those rows too (``trimmed``);
6. the variables of every row (they are the dataset's, which the run holds), and every check.

What did not pass is the last to go: a step's ``error`` (the failures joined, cut to 2,000 characters)
stays until stage 5, and the first :data:`KEPT_ROWS` rows that did not pass keep their steps to the end.
"""

from __future__ import annotations

import weakref
from typing import Any

from pydantic import TypeAdapter

from shared.models.runs import Iteration, Run, RunStatus, StepResult

#: DynamoDB's item limit with a margin (as ``shared/aws/dynamodb.py``'s ``MAX_ITEM_BYTES``; a test holds
#: them equal)
RUN_ITEM_BYTES = 390 * 1024
#: room kept for what a later write adds beside the results (artifact names, the attempt records' growth)
MARGIN_BYTES = 24 * 1024
#: rows that did not pass which keep their steps whatever the size
KEPT_ROWS = 10

_steps = TypeAdapter(list[StepResult])
_iterations = TypeAdapter(list[Iteration])


def stored_size(data: bytes) -> int:
    """The bytes a JSON document takes in the run item, where it is a string attribute (and measured as JSON
    text: every quote and backslash escaped once more)."""
    return len(data) + data.count(b'"') + data.count(b"\\")


def fitted(run: Run, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` (a write to ``run``) with their ``steps`` and ``iterations`` reduced, stage by stage, until the
    run's record fits in :data:`RUN_ITEM_BYTES`. Fields without results are returned as they are. The size of
    each row at each stage is remembered (the runner writes the same rows again as more of them end), so a
    write costs the measure of its new rows, not of all of them."""
    if "steps" not in fields and "iterations" not in fields:
        return fields
    steps = _steps.validate_python(fields.get("steps", run.steps))
    iterations = _iterations.validate_python(fields.get("iterations", run.iterations))
    rest = run.model_copy(update={k: v for k, v in fields.items() if k not in ("steps", "iterations")})
    others = stored_size(rest.model_dump_json(exclude={"steps", "iterations", "spec", "dataset"}).encode())
    others += stored_size(rest.spec.model_dump_json().encode()) + stored_size(_any.dump_json(rest.dataset))
    budget = RUN_ITEM_BYTES - MARGIN_BYTES - others
    later = _later_failing(iterations)
    chosen = STAGES
    for stage in range(STAGES + 1):
        size = stored_size(_steps.dump_json(_reduced_steps(steps, stage)))
        size += sum(_row_size(it, stage, i in later) for i, it in enumerate(iterations)) + len(iterations) + 2
        if size <= budget:
            chosen = stage
            break
    out = dict(fields)
    if "steps" in fields:
        out["steps"] = _reduced_steps(steps, chosen)
    if "iterations" in fields:
        out["iterations"] = [_reduced_row(it, chosen, i in later) for i, it in enumerate(iterations)]
    return out


# --------------------------------------------------------------------------------------- stages

STAGES = 6
_any = TypeAdapter(Any)
_iteration = TypeAdapter(Iteration)
#: the stored size of a row at a stage, by the row's id while it lives (the runner hands the same Iteration
#: objects again with every write; models are not hashable, so not a WeakKeyDictionary)
_row_sizes: dict[int, tuple[weakref.ref[Iteration], dict[tuple[int, bool], int]]] = {}


def _later_failing(iterations: list[Iteration]) -> set[int]:
    """The positions of the rows that did not pass, after the first :data:`KEPT_ROWS` of them."""
    failing = [i for i, it in enumerate(iterations) if it.status != RunStatus.passed]
    return set(failing[KEPT_ROWS:])


def _row_size(iteration: Iteration, stage: int, later: bool) -> int:
    entry = _row_sizes.get(id(iteration))
    if entry is None or entry[0]() is not iteration:
        key_id = id(iteration)
        entry = (weakref.ref(iteration, lambda _, k=key_id: _row_sizes.pop(k, None)), {})  # type: ignore[misc]
        _row_sizes[key_id] = entry
    sizes = entry[1]
    key = (stage, later)
    if key not in sizes:
        sizes[key] = stored_size(_iteration.dump_json(_reduced_row(iteration, stage, later)))
    return sizes[key]


def _short_checks(step: StepResult) -> StepResult:
    if not any(c.passed and (c.expected is not None or c.actual is not None) for c in step.checks):
        return step
    checks = [c.model_copy(update={"expected": None, "actual": None}) if c.passed else c for c in step.checks]
    return step.model_copy(update={"checks": checks})


def _no_checks(step: StepResult) -> StepResult:
    return step.model_copy(update={"checks": []}) if step.checks else step


def _reduced_step(step: StepResult, stage: int, *, drop_checks: bool = False) -> StepResult:
    if drop_checks or stage >= 6 or (stage >= 2 and step.status == "passed"):
        return _no_checks(step)
    if stage >= 1:
        return _short_checks(step)
    return step


def _reduced_steps(steps: list[StepResult], stage: int) -> list[StepResult]:
    return [_reduced_step(s, stage) for s in steps] if stage else steps


def _reduced_row(iteration: Iteration, stage: int, later: bool) -> Iteration:
    """The row as stage ``stage`` keeps it (``later``: a row that did not pass, past the first kept ones)."""
    if stage == 0:
        return iteration
    passed = iteration.status == RunStatus.passed
    if (stage >= 3 and passed) or (stage >= 5 and later):
        update: dict[str, Any] = {"steps": [], "trimmed": True}
    else:
        drop = stage >= 4 and later
        steps = [_reduced_step(s, stage, drop_checks=drop) for s in iteration.steps]
        lost = any(len(a.checks) != len(b.checks) for a, b in zip(steps, iteration.steps, strict=True))
        update = {"steps": steps, "trimmed": iteration.trimmed or lost}
    if stage >= 6:
        update |= {"variables": {}, "trimmed": True}
    return iteration.model_copy(update=update)
