"""JUnit XML for CI systems: one ``<testcase>`` per run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


def build(outcomes: Sequence[RunOutcome], *, suite_name: str = "autotest") -> ET.ElementTree[ET.Element]:
    failures = sum(1 for o in outcomes if o.status == "failed")
    errors = sum(1 for o in outcomes if o.status not in ("passed", "failed"))
    total_s = sum(((o.run or {}).get("duration_ms") or 0) for o in outcomes) / 1000
    counts = {"tests": str(len(outcomes)), "failures": str(failures), "errors": str(errors), "skipped": "0"}
    attrs = {"name": suite_name, "time": f"{total_s:.3f}", **counts}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for outcome in outcomes:
        run = outcome.run or {}
        kind = run.get("kind") or "test"
        case = ET.SubElement(
            suite,
            "testcase",
            name=outcome.label,
            classname=f"autotest.{kind}",
            time=f"{(run.get('duration_ms') or 0) / 1000:.3f}",
        )
        if outcome.error is not None:
            ET.SubElement(case, "error", message=outcome.error, type="cli").text = outcome.error
        elif outcome.status == "failed":
            ET.SubElement(case, "failure", message=_message(run), type="failed").text = _failure_text(run)
        elif outcome.status != "passed":
            ET.SubElement(case, "error", message=_message(run), type=outcome.status).text = _failure_text(run)
        out = [f"run: {run.get('id', '-')}", f"status: {outcome.status}"]
        out += [f"{a.get('name')}: {outcome.files.get(str(a.get('name'))) or a.get('url')}" for a in outcome.artifacts]
        ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(root)
    return ET.ElementTree(root)


def write(path: Path, outcomes: Sequence[RunOutcome]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    build(outcomes).write(path, encoding="utf-8", xml_declaration=True)
