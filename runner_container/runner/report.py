"""The report of one attempt of a run: a self-contained ``report.html`` and a ``junit.xml``.

Pure functions from the run (as it stands when the attempt ends) to bytes. The run given is expected to
be masked already (secret values replaced). ``report.html`` is rendered by Jinja2 from
``templates/report.html.j2`` with autoescaping: the functions here build a view model of plain values
(no markup), and the template escapes every one of them. ``junit.xml`` is written by :mod:`shared.junit`.
Links to the other artifacts are relative to the attempt's prefix, so they work from a downloaded copy of
the folder too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import jinja2

from runner_container.runner.exchanges import Exchanges, as_view
from shared import junit
from shared.junit import xml_text
from shared.models.runs import ArtifactRef, Iteration, Run, RunStatus, StepResult

#: a failure screenshot larger than this is linked, not embedded
MAX_EMBEDDED_BYTES = 4 * 1024 * 1024
TEMPLATE = "report.html.j2"


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    """The report's templates (``templates/`` of this package, shipped in the wheel and the image), escaped
    on output: a value can never become markup, whatever it holds."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("runner_container.runner", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# ---------------------------------------------------------------------------------- report.html


def html_report(
    run: Run, *, prefix: str, images: Mapping[str, bytes] | None = None, exchanges: Exchanges | None = None
) -> bytes:
    """``report.html`` for the attempt whose artifacts live under ``prefix``. ``images`` maps a
    screenshot's key to its PNG bytes: a failed step's screenshot found there is embedded inline.
    ``exchanges``: what the request steps sent and received (masked already), shown with each step's checks."""
    images = images or {}
    exchanges = exchanges or Exchanges()
    prefix = prefix.rstrip("/") + "/"
    own = [ref for ref in run.artifacts if ref.key.startswith(prefix) and ref.kind not in ("report", "junit")]
    links = {ref.key: _href(_relative(ref, prefix)) for ref in own}
    page = (
        _templates()
        .get_template(TEMPLATE)
        .render(
            title=run.name or run.id,
            status=run.status.value,
            summary=_summary(run),
            error=run.error,
            run_variables=_variables(run.variables),
            rows=[
                {
                    "number": iteration.index + 1,
                    "status": iteration.status.value,
                    "variables": _variables(iteration.variables),
                    "steps": _steps(iteration.steps, links, exchanges, f"row-{iteration.index + 1}/"),
                    "figures": _figures(iteration.steps, links, images),
                }
                for iteration in run.iterations
            ],
            steps=_steps(run.steps, links, exchanges, ""),
            figures=_figures(run.steps, links, images),
            artifacts=[
                {"href": _href(_relative(ref, prefix)), "name": ref.name, "kind": ref.kind, "size": _size(ref.size)}
                for ref in own
            ],
            artifact_errors=run.artifact_errors,
        )
    )
    return xml_text(page).encode("utf-8")


def _summary(run: Run) -> list[tuple[str, str]]:
    rows: list[tuple[str, Any]] = [
        ("Run", run.id),
        ("Test", f"{run.test_id} (revision {run.revision})" if run.test_id else "inline spec"),
        ("Kind", run.kind.value),
        ("Status", run.status.value + (" (flaky: passed after an attempt that failed)" if run.flaky else "")),
        ("Attempt", f"{run.attempt} of {run.max_attempts + len(run.interruptions)}"),
        *(
            (f"Attempt {i.attempt}", f"interrupted: {i.reason} ({_time(i.at)}); run again as attempt {i.attempt + 1}")
            for i in run.interruptions
        ),
        *(
            (f"Attempt {a.attempt}", f"{a.status}: {a.error or 'no error recorded'} ({_time(a.ended_at)}); retried")
            for a in run.attempts
            if a.status != "interrupted" and a.attempt < run.attempt
        ),
        ("Trigger", run.trigger),
        ("Started", _time(run.started_at)),
        ("Ended", _time(run.ended_at)),
        ("Duration", _duration(run.duration_ms)),
        ("Timeout", f"{run.timeout_s} s"),
        ("Browser", run.browser_version or "none"),
    ]
    rows += [(f"Label {key}", value) for key, value in sorted(run.labels.items())]
    return [(name, str(value)) for name, value in rows]


def _steps(steps: list[StepResult], links: Mapping[str, str], exchanges: Exchanges, label: str) -> list[dict[str, Any]]:
    return [
        {
            "number": step.index + 1,
            "action": step.action,
            "what": step.summary(),
            "locator": step.locator or "",
            "matched_by": step.matched_by or "",
            "healed": f"{step.heal.before} -> {step.heal.after} ({step.heal.source}, score {step.heal.score:.2f})"
            if step.heal
            else "",
            "status": step.status,
            "duration": _duration(step.duration_ms) if step.status != "skipped" else "",
            "error": step.error or "",
            "screenshot": links.get(step.screenshot) if step.screenshot else None,
            "checks": [
                {"check": c.check, "passed": c.passed, "expected": c.expected or "", "actual": c.actual or ""}
                for c in step.checks
            ],
            "tries": step.tries,
            "exchange": as_view(exchanges.get(label, step.index)),
        }
        for step in steps
    ]


def _figures(steps: list[StepResult], links: Mapping[str, str], images: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """The screenshots of the failed steps: embedded (a data URL) when their bytes are at hand, else linked."""
    figures = []
    for step in steps:
        if step.status not in ("failed", "error") or not step.screenshot:
            continue
        data = images.get(step.screenshot)
        figure: dict[str, Any] = {
            "number": step.index + 1,
            "caption": f"Step {step.index + 1} ({step.action}) {step.status}: {step.error or ''}",
            "src": None,
            "href": links.get(step.screenshot),
        }
        if data is not None and len(data) <= MAX_EMBEDDED_BYTES:
            figure["src"] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        elif figure["href"] is None:
            continue
        figures.append(figure)
    return figures


def _variables(variables: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, _value(value)) for name, value in sorted(variables.items())]


def _relative(ref: ArtifactRef, prefix: str) -> str:
    return ref.key[len(prefix) :] if ref.key.startswith(prefix) else ref.name


def _href(relative: str) -> str:
    """A relative link to an artifact: percent-encoded here, escaped as an attribute by the template."""
    return quote(relative, safe="/")


# ------------------------------------------------------------------------------------ junit.xml


def junit_report(run: Run) -> bytes:
    """``junit.xml``: one testsuite, one testcase per step; for a dataset run one testcase per row (iteration),
    failing with the message of its step that did not pass. A run that did not pass without a failed step to
    show for it (cancelled, timed out between steps, an invalid plan) gets one more testcase, ``run``, that
    says why. :mod:`shared.junit` writes it."""
    name = run.name or run.id
    cases: list[junit.Case] = []
    if run.iterations:
        cases += [_row_case(name, iteration) for iteration in run.iterations]
    else:
        cases += [_case(name, step) for step in run.steps]
    if run.status != RunStatus.passed and not any(case.outcome in ("failure", "error") for case in cases):
        text = run.error or f"the run ended as {run.status.value}"
        outcome: junit.Outcome = "failure" if run.status == RunStatus.failed else "error"
        cases.append(
            junit.Case(
                name="run",
                classname=name,
                time_s=_seconds(run.duration_ms),
                outcome=outcome,
                message=text,
                type=run.status.value,
                detail=text,
            )
        )
    properties = [
        (key, str(value))
        for key, value in (
            ("run_id", run.id),
            ("test_id", run.test_id),
            ("revision", run.revision),
            ("kind", run.kind.value),
            ("status", run.status.value),
            ("attempt", run.attempt),
            ("browser", run.browser_version),
        )
        if value is not None
    ]
    suite = junit.Suite(
        name=name,
        cases=cases,
        id=run.id,
        timestamp=run.started_at.isoformat(timespec="seconds") if run.started_at is not None else None,
        time_s=_seconds(run.duration_ms),
        properties=properties,
    )
    return junit.document([suite], time_s=suite.time_s)


def _case(classname: str, step: StepResult) -> junit.Case:
    what = step.summary()
    case = junit.Case(
        name=f"step {step.index + 1}: {step.action}" + (f" {what}" if what else ""),
        classname=classname,
        time_s=_seconds(step.duration_ms),
    )
    if step.status in ("failed", "error"):
        text = step.error or f"the step {step.status}"
        detail = "\n".join(
            line for line in (text, f"locator: {step.locator}" if step.locator else "", step.screenshot or "") if line
        )
        outcome: junit.Outcome = "failure" if step.status == "failed" else "error"
        return replace(case, outcome=outcome, message=text, type=step.status, detail=detail)
    if step.status == "skipped":
        return replace(case, outcome="skipped", message="not run: an earlier step did not pass, or the run stopped")
    return case


def _row_case(classname: str, iteration: Iteration) -> junit.Case:
    """One dataset row as a testcase: its steps' time; failed (or error) as its first step that did not pass,
    with that step's error and its checks that failed; skipped when none of its steps ran."""
    case = junit.Case(
        name=f"row {iteration.index + 1}",
        classname=classname,
        time_s=_seconds(sum(step.duration_ms for step in iteration.steps)),
    )
    bad = next((step for step in iteration.steps if step.status in ("failed", "error")), None)
    if bad is not None:
        what = bad.summary()
        text = (
            f"step {bad.index + 1} ({bad.action}{' ' + what if what else ''}): {bad.error or 'the step ' + bad.status}"
        )
        failed = [f"{c.check}: expected {c.expected}, got {c.actual}" for c in bad.checks if not c.passed]
        variables = ", ".join(f"{k}={_value(v)}" for k, v in sorted(iteration.variables.items()))
        detail = "\n".join(line for line in (text, *failed, f"row variables: {variables}" if variables else "") if line)
        outcome: junit.Outcome = "failure" if bad.status == "failed" else "error"
        return replace(case, outcome=outcome, message=text, type=bad.status, detail=detail)
    if iteration.status != RunStatus.passed:
        text = f"the row ended as {iteration.status.value}"
        kind: junit.Outcome = "failure" if iteration.status == RunStatus.failed else "error"
        return replace(case, outcome=kind, message=text, type=iteration.status.value, detail=text)
    if iteration.steps and all(step.status == "skipped" for step in iteration.steps):
        return replace(case, outcome="skipped", message="not run: the run stopped before this row")
    return case


# -------------------------------------------------------------------------------------- helpers


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="milliseconds") if value is not None else "-"


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _seconds(ms: int | None) -> float:
    return (ms or 0) / 1000


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
