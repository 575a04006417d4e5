"""JUnit XML for CI systems: one ``<testcase>`` per run (per dataset row for a data-driven run), written by
:mod:`shared.junit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shared import junit


@dataclass
class RunOutcome:
    """What the CLI knows about one run when it stops waiting."""

    label: str  # the test's name, or the file / test id it was started from
    run: dict[str, Any] | None = None  # the run as GET /v1/runs/{id} returned it
    error: str | None = None  # why the CLI could not see the run end (timeout, lost connection)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # artifact name -> downloaded file

    @property
    def status(self) -> str:
        if self.error or self.run is None:
            return "error"
        return str(self.run.get("status", "error"))

    @property
    def exit_code(self) -> int:
        """0 passed, 1 failed, 2 anything else (error, timed out, cancelled, still running)."""
        return {"passed": 0, "failed": 1}.get(self.status, 2)


def exit_code(outcomes: Sequence[RunOutcome]) -> int:
    return max((o.exit_code for o in outcomes), default=0)


def _steps(run: dict[str, Any]) -> list[dict[str, Any]]:
    if run.get("iterations"):
        return [s for it in run["iterations"] for s in it.get("steps", [])]
    return list(run.get("steps") or [])


def _named(step: dict[str, Any]) -> str:
    """``request Login``, ``click the Log in button``: the action and what the step says it does."""
    what = step.get("description") or step.get("target")
    return f"{step.get('action')} {what}" if what else str(step.get("action"))


def _step_lines(steps: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for step in steps:
        mark = {"passed": "ok", "skipped": "--"}.get(step.get("status", ""), "FAIL")
        lines.append(f"[{mark}] {step.get('index', 0) + 1}. {_named(step)}")
        if step.get("error"):
            lines.append(f"       {step['error']}")
        if step.get("status") in ("failed", "error"):
            lines += [
                f"       {c.get('check')}: expected {c.get('expected')}, got {c.get('actual')}"
                for c in step.get("checks") or []
                if not c.get("passed")
            ]
    return lines


def _failure_text(run: dict[str, Any]) -> str:
    lines = _step_lines(_steps(run))
    if run.get("error"):
        lines.append(f"run error: {run['error']}")
    return "\n".join(lines)


def _first_bad(steps: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    return next((s for s in steps if s.get("status") in ("failed", "error")), None)


def _message(run: dict[str, Any]) -> str:
    if run.get("error"):
        return str(run["error"])
    failed = _first_bad(_steps(run))
    if failed is not None:
        return f"step {failed.get('index', 0) + 1} ({_named(failed)}): {failed.get('error') or 'failed'}"
    return f"run ended as {run.get('status')}"


def reruns_of(run: dict[str, Any]) -> list[junit.Rerun]:
    """The run's earlier attempts that did not pass (retried), as JUnit reruns; interrupted ones are not reruns."""
    reruns = []
    for attempt in run.get("attempts") or []:
        status = attempt.get("status")
        if attempt.get("attempt") == run.get("attempt") or status in ("passed", "interrupted", None):
            continue
        message = f"attempt {attempt.get('attempt')}: {attempt.get('error') or status}"
        reruns.append(junit.Rerun(kind="failure" if status == "failed" else "error", message=message, type=status))
    return reruns


def case_of(outcome: RunOutcome) -> junit.Case:
    """The ``<testcase>`` of one run (its retried attempts as reruns)."""
    run = outcome.run or {}
    out = [f"run: {run.get('id', '-')}", f"status: {outcome.status}"]
    out += [f"{a.get('name')}: {outcome.files.get(str(a.get('name'))) or a.get('url')}" for a in outcome.artifacts]
    case = junit.Case(
        name=outcome.label,
        classname=f"autotest.{run.get('kind') or 'test'}",
        time_s=(run.get("duration_ms") or 0) / 1000,
        system_out="\n".join(out),
        reruns=reruns_of(run),
    )
    if outcome.error is not None:
        return replace(case, outcome="error", message=outcome.error, type="cli", detail=outcome.error)
    if outcome.status == "failed":
        return replace(case, outcome="failure", message=_message(run), type="failed", detail=_failure_text(run))
    if outcome.status != "passed":
        return replace(case, outcome="error", message=_message(run), type=outcome.status, detail=_failure_text(run))
    return case


def _row_case(outcome: RunOutcome, iteration: dict[str, Any]) -> junit.Case:
    """One dataset row of a run as a ``<testcase>`` (``LABEL row N``), as the run's own junit.xml has it: failed
    (or error) with its first step that did not pass and that step's failed checks, skipped when none ran."""
    run = outcome.run or {}
    steps = list(iteration.get("steps") or [])
    number = int(iteration.get("index", 0)) + 1
    variables = ", ".join(f"{k}={v}" for k, v in sorted((iteration.get("variables") or {}).items()))
    out = [f"run: {run.get('id', '-')}", f"row {number} of {len(run.get('iterations') or [])}"]
    out += [f"row variables: {variables}"] if variables else []
    out += [f"{a.get('name')}: {outcome.files.get(str(a.get('name'))) or a.get('url')}" for a in outcome.artifacts]
    case = junit.Case(
        name=f"{outcome.label} row {number}",
        classname=f"autotest.{run.get('kind') or 'test'}",
        time_s=(iteration.get("duration_ms") or 0) / 1000,
        system_out="\n".join(out),
        reruns=reruns_of(run),
    )
    status = str(iteration.get("status") or "error")
    if status == "passed":
        return case
    if status == "skipped" or (steps and all(s.get("status") == "skipped" for s in steps)):
        return replace(case, outcome="skipped", message="not run: the run stopped before this row")
    bad = _first_bad(steps)
    if bad is not None:
        message = f"step {bad.get('index', 0) + 1} ({_named(bad)}): {bad.get('error') or bad.get('status')}"
    else:
        message = f"the row ended as {status}"
    detail = "\n".join([*_step_lines(steps), *([f"row variables: {variables}"] if variables else [])])
    kind: junit.Outcome = "failure" if status == "failed" else "error"
    return replace(case, outcome=kind, message=message, type=status, detail=detail or message)


def cases_of(outcome: RunOutcome) -> list[junit.Case]:
    """The ``<testcase>``s of one run: one, or for a data-driven run one per dataset row; a run that did not pass
    with no row to show for it (timed out between rows) also gets its run's case, which says why."""
    iterations = (outcome.run or {}).get("iterations") or []
    if outcome.error is not None or not iterations:
        return [case_of(outcome)]
    cases = [_row_case(outcome, iteration) for iteration in iterations]
    if outcome.status != "passed" and not any(case.outcome in ("failure", "error") for case in cases):
        cases.append(case_of(outcome))
    return cases


def build(outcomes: Sequence[RunOutcome], *, suite_name: str = "autotest") -> bytes:
    """The JUnit XML of ``outcomes``: one testsuite, one testcase per run or dataset row (shared.junit writes it)."""
    cases = [case for outcome in outcomes for case in cases_of(outcome)]
    return junit.document([junit.Suite(name=suite_name, cases=cases)], name=suite_name)


def write(path: Path, outcomes: Sequence[RunOutcome]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build(outcomes))
