"""What the dashboard's pages show, worked out from the services' models: pure functions, no I/O.

Charts are drawn on the server as SVG (the points and bars worked out here, the markup in the templates, all
escaped like the rest); the revision diff is the standard library's ``difflib`` over the revisions as YAML.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import InvalidInput
from shared.models.runs import Run, RunRow, StepResult, split_artifact_key
from shared.models.tests import Revision

#: the ``since`` choices of the runs filter (anything else must be an ISO 8601 time)
SINCE_CHOICES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
FINAL = frozenset({"passed", "failed", "error", "timed_out", "cancelled"})


def since_of(text: str | None, now: datetime) -> datetime | None:
    """The time a ``since`` filter means: a choice of :data:`SINCE_CHOICES`, or an ISO 8601 time (UTC when it
    names no zone); None for none. A 422 that says what it takes otherwise."""
    if not text:
        return None
    if text in SINCE_CHOICES:
        return now - SINCE_CHOICES[text]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        choices = ", ".join(SINCE_CHOICES)
        raise InvalidInput(
            f"query.since: {text[:40]!r} is neither one of {choices} nor an ISO 8601 time (2026-01-31T09:00:00Z)",
            details={"field": "since"},
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def duration(ms: int | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``; an empty string for none."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes} min {seconds:02d} s"


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def artifact_path(run_id: str, key: str | None) -> str | None:
    """The dashboard's own link to a stored artifact (a step's screenshot key), or None."""
    parts = split_artifact_key(key) if key else None
    if parts is None:
        return None
    _, _, attempt, name = parts
    return f"/ui/runs/{run_id}/files/{attempt}/{name}"


@dataclass(frozen=True)
class Bar:
    """One bar of a run-history chart: where it is drawn and what it stands for."""

    x: float
    y: float
    height: float
    status: str
    label: str
    href: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    #: what the chart shows, in words (its accessible name)
    title: str = ""
    #: how wide each bar is drawn
    bar_width: float = 1.0


def sparkline(runs: list[RunRow], *, width: int = 120, height: int = 20) -> Chart:
    """The newest runs (given newest first) as equal bars, oldest on the left, coloured by status."""
    shown = list(reversed(runs[:20]))
    step = width / 20
    bars = [
        Bar(
            x=round(i * step, 1),
            y=0,
            height=height,
            status=run.status.value,
            label=f"{run.status.value} {when(run.created_at)}",
            href=f"/ui/runs/{run.id}",
        )
        for i, run in enumerate(shown)
    ]
    passed = sum(1 for r in shown if r.status.value == "passed")
    title = f"last {len(shown)} runs: {passed} passed" if shown else "no runs yet"
    return Chart(width=width, height=height, bars=bars, title=title, bar_width=max(step - 1, 1))


def duration_chart(runs: list[RunRow], *, width: int = 600, height: int = 120) -> Chart:
    """The newest ended runs (given newest first) as bars as tall as they took, oldest on the left."""
    ended = [r for r in runs if r.status.value in FINAL][:50]
    shown = list(reversed(ended))
    longest = max((r.duration_ms or 0 for r in shown), default=0) or 1
    step = width / max(len(shown), 1)
    bars = []
    for i, run in enumerate(shown):
        tall = max(2.0, (run.duration_ms or 0) / longest * (height - 4))
        bars.append(
            Bar(
                x=round(i * step, 1),
                y=round(height - tall, 1),
                height=round(tall, 1),
                status=run.status.value,
                label=f"{run.status.value}{' (flaky)' if run.flaky else ''}, {duration(run.duration_ms)}, "
                f"{when(run.created_at)}",
                href=f"/ui/runs/{run.id}",
            )
        )
    title = f"duration and status of the last {len(shown)} ended runs, oldest first (longest {duration(longest)})"
    return Chart(width=width, height=height, bars=bars, title=title, bar_width=round(min(max(step - 2, 1), 40), 1))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "same", "file"
    text: str


def revision_text(revision: Revision) -> str:
    """A revision's spec as the YAML a test file would hold (what the diff compares)."""
    data: dict[str, Any] = revision.model_dump(
        mode="json", exclude_none=True, exclude={"test_id", "project_id", "revision", "created_at", "note"}
    )
    import yaml  # (loaded by the first page that shows a test's YAML)

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def revision_diff(old: Revision, new: Revision) -> list[DiffLine]:
    lines = difflib.unified_diff(
        revision_text(old).splitlines(),
        revision_text(new).splitlines(),
        fromfile=f"revision {old.revision}",
        tofile=f"revision {new.revision}",
        lineterm="",
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out


def exchanges_of(data: bytes, *, row: bool) -> dict[int, Any]:
    """The requests and responses of a run's ``exchanges.json`` by step index: of its own steps, or (``row``: a
    data-driven run) of its first row's, as the page shows those. Nothing when the file cannot be read."""
    try:
        items = json.loads(data).get("exchanges", [])
    except (ValueError, AttributeError):
        return {}
    label = "row-1/" if row else ""
    return {
        item["index"]: item
        for item in items
        if isinstance(item, dict) and item.get("row") == label and isinstance(item.get("index"), int)
    }


def step_results(run: Run) -> list[StepResult]:
    """The steps a run's page shows: its own, or a data-driven run's first row's."""
    return run.steps or (run.iterations[0].steps if run.iterations else [])


def has_heals(run: Run) -> bool:
    return any(step.heal is not None for step in step_results(run))


def first_failure(run: Run) -> StepResult | None:
    return next((s for s in step_results(run) if s.status in ("failed", "error")), None)
