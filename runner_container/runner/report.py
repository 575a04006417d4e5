"""The report of one attempt of a run: a self-contained ``report.html`` and a ``junit.xml``.

Pure functions from the run (as it stands when the attempt ends) to bytes. The run given is expected to
be masked already (secret values replaced); everything it holds is escaped. Links to the other artifacts
are relative to the attempt's prefix, so they work from a downloaded copy of the folder too.
"""

from __future__ import annotations

import base64
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from shared.models.runs import ArtifactRef, Iteration, Run, RunStatus, StepResult

#: a failure screenshot larger than this is linked, not embedded
MAX_EMBEDDED_BYTES = 4 * 1024 * 1024
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#1f2328}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .5em}h3{font-size:1.05em}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.status{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;background:#6e7781}
.passed{background:#1a7f37}.failed{background:#cf222e}.error,.timed_out{background:#9a6700}
.cancelled,.skipped{background:#6e7781}
.problem{background:#fff1f0;border:1px solid #ffccc7;padding:.6em 1em;white-space:pre-wrap}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dl.meta dt{color:#57606a}
dl.meta dd{margin:0}figure{margin:1em 0}figure img{max-width:100%;border:1px solid #d0d7de}
"""


# ---------------------------------------------------------------------------------- report.html


def html_report(run: Run, *, prefix: str, images: Mapping[str, bytes] | None = None) -> bytes:
    """``report.html`` for the attempt whose artifacts live under ``prefix``. ``images`` maps a
    screenshot's key to its PNG bytes: a failed step's screenshot found there is embedded inline."""
    images = images or {}
    prefix = prefix.rstrip("/") + "/"
    own = [ref for ref in run.artifacts if ref.key.startswith(prefix) and ref.kind not in ("report", "junit")]
    links = {ref.key: _relative(ref, prefix) for ref in own}
    title = run.name or run.id
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}: {_e(run.status.value)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)} {_badge(run.status.value)}</h1>",
        _summary(run),
    ]
    if run.error:
        parts.append(f'<div class="problem">{_e(run.error)}</div>')
    parts += ["<h2>Variables</h2>", _variables(run.variables)]
    if run.iterations:
        for iteration in run.iterations:
            parts.append(_iteration(iteration, links, images))
    else:
        parts += ["<h2>Steps</h2>", _steps_table(run.steps, links), _failures(run.steps, links, images)]
    parts += ["<h2>Artifacts</h2>", _artifacts(own, prefix)]
    if run.artifact_errors:
        parts += ["<h3>Artifacts not stored, not kept or incomplete</h3>", _list(run.artifact_errors)]
    parts.append("</body></html>")
    return _clean("\n".join(parts)).encode("utf-8")


def _summary(run: Run) -> str:
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
        ("Trigger", run.trigger),
        ("Started", _time(run.started_at)),
        ("Ended", _time(run.ended_at)),
        ("Duration", _duration(run.duration_ms)),
        ("Timeout", f"{run.timeout_s} s"),
        ("Browser", run.browser_version or "none"),
    ]
    rows += [(f"Label {key}", value) for key, value in sorted(run.labels.items())]
    items = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in rows)
    return f'<dl class="meta">{items}</dl>'


def _iteration(iteration: Iteration, links: Mapping[str, str], images: Mapping[str, bytes]) -> str:
    return "\n".join(
        [
            f'<section id="row-{iteration.index + 1}">',
            f"<h2>Row {iteration.index + 1} {_badge(iteration.status.value)}</h2>",
            _variables(iteration.variables),
            _steps_table(iteration.steps, links),
            _failures(iteration.steps, links, images),
            "</section>",
        ]
    )


def _steps_table(steps: list[StepResult], links: Mapping[str, str]) -> str:
    if not steps:
        return "<p>No steps ran.</p>"
    head = "<tr><th>#</th><th>Action</th><th>Step</th><th>Locator</th><th>Status</th><th>Duration</th>"
    head += "<th>Error</th><th>Screenshot</th></tr>"
    rows = []
    for step in steps:
        what = step.summary()
        shot = _link(links[step.screenshot], "screenshot") if step.screenshot and step.screenshot in links else ""
        rows.append(
            f'<tr><td class="num">{step.index + 1}</td><td>{_e(step.action)}</td><td>{_e(what)}</td>'
            f'<td class="mono">{_e(step.locator or "")}{_matched(step)}</td><td>{_badge(step.status)}</td>'
            f'<td class="num">{_e(_duration(step.duration_ms) if step.status != "skipped" else "")}</td>'
            f"<td>{_e(step.error or '')}</td><td>{shot}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _matched(step: StepResult) -> str:
    """How the step's element was chosen, under its locator (``matched: exact``)."""
    return f'<br><span class="matched">matched: {_e(step.matched_by)}</span>' if step.matched_by else ""


def _failures(steps: list[StepResult], links: Mapping[str, str], images: Mapping[str, bytes]) -> str:
    figures = []
    for step in steps:
        if step.status not in ("failed", "error") or not step.screenshot:
            continue
        caption = f"Step {step.index + 1} ({step.action}) {step.status}: {step.error or ''}"
        data = images.get(step.screenshot)
        if data is not None and len(data) <= MAX_EMBEDDED_BYTES:
            src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            body = f'<img src="{src}" alt="screenshot of the page when step {step.index + 1} failed">'
        elif step.screenshot in links:
            body = _link(links[step.screenshot], "the screenshot of the failure")
        else:
            continue
        figures.append(f"<figure>{body}<figcaption>{_e(caption)}</figcaption></figure>")
    return "\n".join(figures)


def _variables(variables: Mapping[str, Any]) -> str:
    if not variables:
        return "<p>None.</p>"
    rows = "".join(
        f'<tr><td class="mono">{_e(name)}</td><td class="mono">{_e(_value(value))}</td></tr>'
        for name, value in sorted(variables.items())
    )
    return f"<table><tr><th>Name</th><th>Value</th></tr>{rows}</table>"


def _artifacts(refs: list[ArtifactRef], prefix: str) -> str:
    if not refs:
        return "<p>None.</p>"
    rows = "".join(
        f"<tr><td>{_link(_relative(ref, prefix), ref.name)}</td><td>{_e(ref.kind)}</td>"
        f'<td class="num">{_e(_size(ref.size))}</td></tr>'
        for ref in refs
    )
    return f"<table><tr><th>Name</th><th>Kind</th><th>Size</th></tr>{rows}</table>"


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


def _relative(ref: ArtifactRef, prefix: str) -> str:
    return ref.key[len(prefix) :] if ref.key.startswith(prefix) else ref.name


def _link(relative: str, text: str) -> str:
    return f'<a href="{_e(quote(relative, safe="/"))}">{_e(text)}</a>'


def _badge(status: str) -> str:
    return f'<span class="status {_e(status)}">{_e(status)}</span>'


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ------------------------------------------------------------------------------------ junit.xml


def junit_report(run: Run) -> bytes:
    """``junit.xml``: one testsuite, one testcase per step (per row and step for a dataset run). A run that
    did not pass without a failed step to show for it (cancelled, timed out between steps, an invalid plan)
    gets one more testcase, ``run``, that says why."""
    name = run.name or run.id
    cases: list[ET.Element] = []
    if run.iterations:
        for iteration in run.iterations:
            cases += [_case(f"{name} [row {iteration.index + 1}]", step) for step in iteration.steps]
    else:
        cases += [_case(name, step) for step in run.steps]
    if run.status != RunStatus.passed and not any(_problem(case) for case in cases):
        case = ET.Element("testcase", name="run", classname=_clean(name), time=_seconds(run.duration_ms))
        tag = "failure" if run.status == RunStatus.failed else "error"
        text = run.error or f"the run ended as {run.status.value}"
        ET.SubElement(case, tag, message=_clean(text), type=run.status.value).text = _clean(text)
        cases.append(case)
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": _seconds(run.duration_ms),
    }
    root = ET.Element("testsuites", {"name": "autotest", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": _clean(name), "id": run.id, **counts})
    if run.started_at is not None:
        suite.set("timestamp", run.started_at.isoformat(timespec="seconds"))
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", run.id),
        ("test_id", run.test_id),
        ("revision", run.revision),
        ("kind", run.kind.value),
        ("status", run.status.value),
        ("attempt", run.attempt),
        ("browser", run.browser_version),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=_clean(str(value)))
    suite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _problem(case: ET.Element) -> bool:
    return case.find("failure") is not None or case.find("error") is not None


def _case(classname: str, step: StepResult) -> ET.Element:
    what = step.summary()
    name = f"step {step.index + 1}: {step.action}" + (f" {what}" if what else "")
    case = ET.Element("testcase", name=_clean(name), classname=_clean(classname), time=_seconds(step.duration_ms))
    if step.status in ("failed", "error"):
        text = step.error or f"the step {step.status}"
        detail = "\n".join(
            line for line in (text, f"locator: {step.locator}" if step.locator else "", step.screenshot or "") if line
        )
        tag = "failure" if step.status == "failed" else "error"
        ET.SubElement(case, tag, message=_clean(text), type=step.status).text = _clean(detail)
    elif step.status == "skipped":
        ET.SubElement(case, "skipped", message="not run: an earlier step did not pass, or the run stopped")
    return case


# -------------------------------------------------------------------------------------- helpers


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters from terminal output, lone surrogates)."""
    return _NOT_XML.sub("\ufffd", text)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="milliseconds") if value is not None else "-"


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
