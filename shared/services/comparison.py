"""Run comparison (``GET /v1/runs/{id}/compare/{other_id}``): two runs step by step, the first place to look when
"it passed yesterday". A pure function of the two stored runs (:func:`compare_runs`); the route and the CLI only
show what it returns.

Steps are aligned by position (the runner records every step of the plan, run or skipped). When the two runs ran
other tests, other revisions, other plans (the steps as written differ) or a different number of steps, the
comparison says so first (``notes``), and each position says whether it holds the same step (action and target).
A data-driven run has its steps in its rows: its first row that did not pass is compared (else its first row).
"""

from __future__ import annotations

import json

from shared.models.failures import CheckShown, RunComparison, RunSide, StepComparison, StepSide
from shared.models.runs import Run, RunStatus, StepResult
from shared.services import signatures

#: the most characters of an error the headline and a change show
SHOWN_ERROR_CHARS = 160


def plan_digest(run: Run) -> str:
    """16 hex digits of a hash of the run's step plan as written (placeholders not filled in)."""
    steps = [step.model_dump(mode="json") for step in run.spec.steps or []]
    return signatures.digest(json.dumps(steps, sort_keys=True, separators=(",", ":")))


def _steps_of(run: Run) -> tuple[list[StepResult], str | None]:
    """The step results compared, and a note when they are a dataset row's."""
    if run.steps or not run.iterations:
        return run.steps, None
    row = next((it for it in run.iterations if it.status != RunStatus.passed), run.iterations[0])
    return (
        row.steps,
        f"run {run.id} is data-driven: its dataset row {row.index + 1} of {len(run.iterations)} is compared",
    )


def _side(step: StepResult) -> StepSide:
    return StepSide(
        action=step.action,
        target=step.target,
        detail=step.detail,
        description=step.description,
        status=step.status,
        duration_ms=step.duration_ms,
        error=step.error,
        locator=step.locator,
        matched_by=step.matched_by,
        cache=step.cache,
        healed_to=step.heal.after if step.heal else None,
        http_status=signatures.response_status(step) if step.action == "request" else None,
        failing_checks=[
            CheckShown(check=c.check, expected=c.expected, actual=c.actual) for c in step.checks if not c.passed
        ],
    )


def _run_side(run: Run, steps: list[StepResult]) -> RunSide:
    return RunSide(
        id=run.id,
        test_id=run.test_id,
        name=run.name,
        revision=run.revision,
        status=run.status.value,
        attempt=run.attempt,
        created_at=run.created_at,
        duration_ms=run.duration_ms,
        error=run.error,
        steps=len(steps),
        plan_digest=plan_digest(run),
        failure=run.failure or signatures.failure_of(run),
    )


def _cut(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SHOWN_ERROR_CHARS else text[: SHOWN_ERROR_CHARS - 3] + "..."


def _label(step: StepSide) -> str:
    """``click role=button name="Log in"``: the step's action and what it acted on."""
    what = step.target or step.detail
    return f"{step.action} {what}" if what else step.action


def _change(index: int, base: StepSide | None, other: StepSide | None) -> str | None:
    number = index + 1
    if base is None and other is not None:
        return f"step {number} '{_label(other)}' only in the second run ({other.status})"
    if other is None and base is not None:
        return f"step {number} '{_label(base)}' only in the first run ({base.status})"
    assert base is not None and other is not None
    if base.status == other.status:
        return None
    label = f"'{_label(other)}'" if _label(base) == _label(other) else f"'{_label(base)}' -> '{_label(other)}'"
    text = f"step {number} {label} {base.status} -> {other.status}"
    if other.error:
        text += f" ({_cut(other.error)})"
    elif base.error:
        text += f" (was: {_cut(base.error)})"
    return text


def _resolution(step: StepSide) -> tuple[str | None, str | None, str | None]:
    return step.locator, step.matched_by, step.healed_to


def _duration_diff(a: int | None, b: int | None) -> int | None:
    return b - a if a is not None and b is not None else None


def compare_runs(base: Run, other: Run) -> RunComparison:
    """``base`` and ``other`` step by step (see the module's docstring); ``headline``: the first step whose status
    changed, else how the runs' statuses changed, else that none did."""
    base_steps, base_note = _steps_of(base)
    other_steps, other_note = _steps_of(other)
    same_test = base.test_id == other.test_id and base.test_id is not None
    same_revision = same_test and base.revision == other.revision
    same_plan = plan_digest(base) == plan_digest(other)
    notes: list[str] = []
    if not same_test:
        if base.test_id is None or other.test_id is None:
            notes.append("one run or both ran an inline spec, not a saved test")
        else:
            notes.append(f"the runs are of different tests: {base.test_id} and {other.test_id}")
    elif not same_revision:
        notes.append(f"the runs are of different revisions: {base.revision} and {other.revision}")
    if not same_plan:
        notes.append("the runs have different plans (their steps as written differ)")
    if len(base_steps) != len(other_steps):
        notes.append(f"the runs have different step counts: {len(base_steps)} and {len(other_steps)}")
    notes += [note for note in (base_note, other_note) if note]

    compared: list[StepComparison] = []
    for index in range(max(len(base_steps), len(other_steps))):
        a = _side(base_steps[index]) if index < len(base_steps) else None
        b = _side(other_steps[index]) if index < len(other_steps) else None
        if a is not None and b is not None:
            same_step, status_changed = (a.action, a.target) == (b.action, b.target), a.status != b.status
            diff, resolution_changed = b.duration_ms - a.duration_ms, _resolution(a) != _resolution(b)
        else:
            same_step, status_changed, diff, resolution_changed = False, True, None, False
        compared.append(
            StepComparison(
                index=index,
                base=a,
                other=b,
                same_step=same_step,
                status_changed=status_changed,
                duration_diff_ms=diff,
                resolution_changed=resolution_changed,
                change=_change(index, a, b),
            )
        )
    changed = [c.index for c in compared if c.status_changed]
    first = next((c.change for c in compared if c.status_changed and c.change), None)
    if first is not None:
        headline = first
    elif base.status != other.status:
        why = other.error or base.error
        headline = f"run {base.status.value} -> {other.status.value}" + (f" ({_cut(why)})" if why else "")
    else:
        diff = _duration_diff(base.duration_ms, other.duration_ms)
        took = f"; the second took {diff:+d} ms" if diff is not None else ""
        headline = f"no step changed status (both runs {base.status.value}){took}"
    return RunComparison(
        headline=headline,
        base=_run_side(base, base_steps),
        other=_run_side(other, other_steps),
        same_test=same_test,
        same_revision=same_revision,
        same_plan=same_plan,
        notes=notes,
        duration_diff_ms=_duration_diff(base.duration_ms, other.duration_ms),
        changed_steps=changed,
        steps=compared,
    )
