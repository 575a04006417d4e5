"""JUnit XML for CI systems: one ``<testcase>`` per run (per dataset row of a data-driven run), written by
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


def _failure_text(run: dict[str, Any]) -> str:
    lines = []
    for step in _steps(run):
        mark = {"passed": "ok", "skipped": "--"}.get(step.get("status", ""), "FAIL")
        target = f" {step['target']}" if step.get("target") else ""
        lines.append(f"[{mark}] {step.get('index', 0) + 1}. {step.get('action')}{target}")
        if step.get("error"):
            lines.append(f"       {step['error']}")
    if run.get("error"):
        lines.append(f"run error: {run['error']}")
    return "\n".join(lines)


def _message(run: dict[str, Any]) -> str:
    if run.get("error"):
        return str(run["error"])
    failed = next((s for s in _steps(run) if s.get("status") in ("failed", "error")), None)
    if failed is not None:
        return f"step {failed.get('index', 0) + 1} ({failed.get('action')}): {failed.get('error') or 'failed'}"
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


def _row_failure(row: dict[str, Any]) -> tuple[str, str]:
    """The message and the text of a dataset row that did not pass: its failing step, with the checks that
    failed."""
    steps = [s for s in row.get("steps") or [] if isinstance(s, dict)]
    failed = next((s for s in steps if s.get("status") in ("failed", "error")), None)
    if failed is None:
        what = "not run" if steps and all(s.get("status") == "skipped" for s in steps) else "did not pass"
        return f"row ended as {row.get('status')} ({what})", _failure_text({"steps": steps})
    message = f"step {failed.get('index', 0) + 1} ({failed.get('action')}): {failed.get('error') or 'failed'}"
    lines = [_failure_text({"steps": steps})]
    for check in failed.get("checks") or []:
        if isinstance(check, dict) and not check.get("passed"):
            lines.append(
                f"  check failed: {check.get('check')}: expected {check.get('expected')}, got {check.get('actual')}"
            )
    return message, "\n".join(lines)


def cases_of(outcome: RunOutcome) -> list[junit.Case]:
    """A run's ``<testcase>``s: one per dataset row of a data-driven run (``name [row N]``), else one."""
    run = outcome.run or {}
    rows = [r for r in run.get("iterations") or [] if isinstance(r, dict)]
    if outcome.error is not None or not rows:
        return [case_of(outcome)]
    cases = []
    for row in rows:
        number = int(row.get("index", 0)) + 1
        case = junit.Case(
            name=f"{outcome.label} [row {number}]",
            classname=f"autotest.{run.get('kind') or 'test'}",
            time_s=(row.get("duration_ms") or 0) / 1000,
            system_out=f"run: {run.get('id', '-')}\nrow: {number}\nstatus: {row.get('status')}",
        )
        status = row.get("status")
        if status != "passed":
            message, detail = _row_failure(row)
            kind: junit.Outcome = "failure" if status == "failed" else "error"
            case = replace(case, outcome=kind, message=message, type=str(status), detail=detail)
        cases.append(case)
    return cases


def build(outcomes: Sequence[RunOutcome], *, suite_name: str = "autotest") -> bytes:
    """The JUnit XML of ``outcomes``: one testsuite, one testcase per run, or per row of a data-driven run
    (shared.junit writes it)."""
    cases = [case for outcome in outcomes for case in cases_of(outcome)]
    return junit.document([junit.Suite(name=suite_name, cases=cases)], name=suite_name)


def write(path: Path, outcomes: Sequence[RunOutcome]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build(outcomes))
