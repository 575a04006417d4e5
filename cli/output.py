"""How the CLI shows things (rich): run progress lines, run summaries, tables.

Everything that came from the server (names, ids, errors, step texts, URLs, labels) is printed through
:func:`safe` (or :func:`visible` where no markup is parsed): control and bidirectional-formatting characters
become escapes a terminal shows as they are (``\x1b``, ``\u202e``), and rich markup is escaped, so a test
named ``\x1b[2J`` or ``[red]passed`` prints as what it is. :class:`SafeConsole` escapes them once more in
whatever reaches the console, line breaks aside, in case a print path forgets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shared.controlchars import escape_controls

STATUS_STYLE = {
    "queued": "dim",
    "running": "cyan",
    "passed": "bold green",
    "failed": "bold red",
    "error": "bold magenta",
    "timed_out": "bold yellow",
    "cancelled": "yellow",
}
#: how a step's element was chosen, when it took more than the plain (substring) match: see ``matched_by``
MATCHED_BY = {
    "exact": "exact name",
    "normalized": "name ignoring case",
    "label": "by label",
    "placeholder": "by placeholder",
    "text": "by text",
    "fuzzy": "close name",
    "cache": "element cache",
}
STEP_MARK = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "error": "[magenta]![/]", "skipped": "[dim]-[/]"}
TERMINAL = frozenset({"passed", "failed", "error", "timed_out", "cancelled"})


#: what free text (a description, a YAML dump) keeps as it is with ``multiline``
_LINES = "\n\t"


def visible(value: Any, *, multiline: bool = False) -> str:
    """``value`` as text that shows as it is on a terminal: control and bidi characters as escapes (``\x1b``,
    ``\u202e``); line breaks too, unless ``multiline`` (one value, one line)."""
    return escape_controls(str(value), keep=_LINES if multiline else "")


def safe(value: Any, *, multiline: bool = False) -> str:
    """:func:`visible`, with rich markup escaped: how server text goes into a markup string."""
    return escape(visible(value, multiline=multiline))


class SafeConsole(Console):
    """A rich console that writes no control or bidi character it was handed (line breaks aside): every
    string printed, table cells included, passes :meth:`render_str`. (Styles are added after, as rich's own
    escape sequences.)"""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(escape_controls(text, keep="\n"), **kwargs)


def status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'bold')}]{safe(status.upper() if status in TERMINAL else status)}[/]"


def duration(ms: int | float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def step_what(step: dict[str, Any]) -> str:
    """The step's own description, else its target and detail (``label="Username"``, a URL...)."""
    if step.get("description"):
        return str(step["description"])
    parts = [str(step[key]) for key in ("target", "detail") if step.get(key)]
    return " ".join(parts) or str(step.get("locator") or "")


def step_line(step: dict[str, Any], *, prefix: str = "") -> str:
    mark = STEP_MARK.get(str(step.get("status")), "?")
    number = int(step.get("index", 0)) + 1
    what = safe(step_what(step))
    heal = step.get("heal") or {}
    healed_as = f": {safe(heal['after'])}" if isinstance(heal, dict) and heal.get("after") else ""
    notes = f" [yellow](healed{healed_as})[/]" if step.get("healed") else ""
    matched = MATCHED_BY.get(str(step.get("matched_by")))
    notes += f" [dim]({matched})[/]" if matched else ""
    line = f"{prefix}  {mark} {number:>2}. [bold]{safe(step.get('action'))}[/] {what}{notes}"
    checks = [c for c in step.get("checks") or [] if isinstance(c, dict)]
    tries = step.get("tries")
    if isinstance(tries, int) and tries > 1:
        line += f" [dim]({tries} tries)[/]"
    if checks and step.get("status") == "passed":
        line += f" [dim]({len(checks)} {'check' if len(checks) == 1 else 'checks'} passed)[/]"
    if step.get("status") != "skipped":  # a step that did not run took no time
        line += f"  [dim]{duration(step.get('duration_ms'))}[/]"
    if step.get("error"):
        line += f"\n{prefix}       [red]{safe(step['error'])}[/]"
    if checks and step.get("status") != "passed":
        line += "".join(f"\n{prefix}{check_line(c)}" for c in checks)
    return line


def check_line(check: dict[str, Any]) -> str:
    """One check of a request step that did not pass: a mark, what it checked, and for one that failed what
    was expected and what came back."""
    if check.get("passed"):
        return f"         [green]✓[/] {safe(check.get('check'))}"
    shown = ""
    if check.get("expected") is not None or check.get("actual") is not None:
        shown = f" [dim]expected[/] {safe(check.get('expected'))} [dim]got[/] {safe(check.get('actual'))}"
    return f"         [red]✗[/] {safe(check.get('check'))}{shown}"


#: the rows that did not pass a data-driven run's summary shows in full
SHOWN_ROWS = 10


def iteration_lines(run: dict[str, Any], *, shown: int = SHOWN_ROWS) -> list[str]:
    """A data-driven run's rows in short: how many ended how, then each row that did not pass (the first
    ``shown``) with the step that stopped it and its checks. Nothing for a run without a dataset."""
    rows = [it for it in run.get("iterations") or [] if isinstance(it, dict)]
    if not rows:
        return []
    counts: dict[str, int] = {}
    for it in rows:
        counts[str(it.get("status"))] = counts.get(str(it.get("status")), 0) + 1
    order = ["passed", "failed", "error", "timed_out", "cancelled"]
    tally = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: order.index(s) if s in order else 9))
    at_once = f", {safe(run.get('concurrency'))} at once" if run.get("concurrency") else ""
    lines = [f"  rows: {tally} (of {len(rows)}){at_once}"]
    bad = [it for it in rows if it.get("status") != "passed"]
    for it in bad[:shown]:
        steps = [s for s in it.get("steps") or [] if isinstance(s, dict)]
        stopped = next((s for s in steps if s.get("status") in ("failed", "error")), None)
        took = f" [dim]{duration(it.get('duration_ms'))}[/]" if it.get("duration_ms") is not None else ""
        lines.append(f"  [bold]row {int(it.get('index', 0)) + 1}[/] {status_text(str(it.get('status')))}{took}")
        if stopped is not None:
            lines.append(step_line(stopped, prefix="  "))
        elif steps and all(s.get("status") == "skipped" for s in steps):
            lines.append("      [dim]not run[/]")
    if len(bad) > shown:
        lines.append(f"  [dim]... and {len(bad) - shown} more rows that did not pass (`autotest status ID`)[/]")
    return lines


def all_steps(run: dict[str, Any]) -> list[dict[str, Any]]:
    if run.get("iterations"):
        return [s for it in run["iterations"] for s in it.get("steps", [])]
    return list(run.get("steps") or [])


def run_headline(run: dict[str, Any], label: str | None = None, *, flaky: bool = True) -> str:
    """The run in one line: status, name, id, steps passed, duration, attempts; ``(flaky)`` when it passed after
    an attempt that failed (unless ``flaky`` is False: a line below says it)."""
    steps = all_steps(run)
    passed = sum(1 for s in steps if s.get("status") == "passed")
    name = safe(label or run.get("name") or run.get("test_id") or "inline test")
    attempt = ""
    interrupted = len(run.get("interruptions") or [])
    if (run.get("max_attempts") or 1) > 1 or interrupted:  # attempts possible: the retries, and one per interruption
        attempt = f"  attempt {run.get('attempt')}/{(run.get('max_attempts') or 1) + interrupted}"
        attempt += f" ({interrupted} interrupted)" if interrupted else ""
    if flaky and run.get("flaky") and run.get("status") == "passed":
        attempt += "  [yellow](flaky)[/]"
    heals = int((run.get("stats") or {}).get("heals") or 0)
    healed = f"  [yellow]{heals} healed[/]" if heals else ""
    return (
        f"{status_text(str(run.get('status')))}  [bold]{name}[/]  [dim]{safe(run.get('id'))}[/]  "
        f"{passed}/{len(steps)} steps  {duration(run.get('duration_ms'))}{attempt}{healed}"
    )


def queue_line(run: dict[str, Any]) -> str | None:
    """Its priority and how long its latest attempt waited in the queue; none until a runner took it (or for a run
    from before queue waits were recorded)."""
    waited = run.get("queue_wait_ms")
    if waited is None:
        return None
    return f"  [dim]priority {safe(run.get('priority') or 'normal')}, waited {duration(waited)} in the queue[/]"


def heal_hint(run: dict[str, Any]) -> str | None:
    """How to keep a run's heals, when it healed targets of a saved test."""
    heals = int((run.get("stats") or {}).get("heals") or 0)
    if not heals or not run.get("test_id") or run.get("status") != "passed":
        return None
    what = "a target" if heals == 1 else f"{heals} targets"
    return f"  [yellow]healed {what}[/]: keep the new targets with [bold]autotest heals accept {safe(run.get('id'))}[/]"


_KIND_ORDER = ("report", "video", "trace", "junit", "log", "other", "screenshot")


def _ordered(artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rank(a: dict[str, Any]) -> tuple[int, str]:
        kind = str(a.get("kind"))
        return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), str(a.get("name")))

    return sorted(artifacts, key=rank)


def artifact_lines(artifacts: list[dict[str, Any]], *, indent: str = "    ") -> list[str]:
    """The report first, then video, trace, ..., screenshots last; full URLs (links in any terminal)."""
    return [f"{indent}{safe(a.get('name')):<28} {safe(a.get('url'))}" for a in _ordered(artifacts)]


def compact_artifact_lines(
    artifacts: list[dict[str, Any]], links: dict[str, str], *, indent: str = "    "
) -> list[str]:
    """Like :func:`artifact_lines` with ``links`` (name -> link), screenshots counted on one line."""
    lines: list[str] = []
    shots = [a for a in artifacts if a.get("kind") == "screenshot"]
    for a in _ordered(artifacts):
        if a.get("kind") != "screenshot":
            name = str(a.get("name"))
            lines.append(f"{indent}{safe(name):<28} {safe(links.get(name, str(a.get('url'))))}")
    if shots:
        first = links.get(str(shots[0].get("name")), str(shots[0].get("url")))
        folder = first.rsplit("/", 1)[0] + "/" if first.startswith("file:") else first
        lines.append(f"{indent}{f'screenshots ({len(shots)})':<28} {safe(folder)}")
    return lines


def row_prefix(iteration: int | None) -> str:
    """``row N`` before the steps of a dataset run's row (``iteration`` counts from 0)."""
    return "" if iteration is None else f"  [dim]row {iteration + 1}[/]"


def interruption_lines(run: dict[str, Any]) -> list[str]:
    """One line per attempt that never finished and was run again: which, why, when."""
    return [
        f"  [yellow]attempt {i.get('attempt')} interrupted:[/] {escape(str(i.get('reason')))}  "
        f"[dim]{escape(timestamp(i.get('at')))}[/]"
        for i in run.get("interruptions") or []
    ]


def _clipped(text: str, limit: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def attempts_line(run: dict[str, Any]) -> str | None:
    """``attempt 1 failed: <why>, attempt 2 passed (flaky)``: how each attempt of a run that took more than
    one ended (None for a run of one attempt, or from before attempts were recorded)."""
    attempts = run.get("attempts") or []
    if len(attempts) < 2:
        return None
    parts = []
    for a in attempts:
        part = f"attempt {a.get('attempt')} {status_text(str(a.get('status')))}"
        if a.get("error") and a.get("status") != "passed":
            part += f": {safe(_clipped(str(a['error'])))}"
        if a is attempts[-1] and a.get("status") == "passed" and run.get("flaky"):
            part += " [yellow](flaky)[/]"
        parts.append(part)
    return "  " + ", ".join(parts)


def retry_line(run: dict[str, Any] | None, attempt: int) -> str:
    """``↻ attempt 1 FAILED: <why>; retrying as attempt 2``: the line between an attempt's steps and its retry's
    (``run``: the run as read then, for the record of the attempt that ended; None when it could not be read)."""
    ended = attempt - 1
    record = next((a for a in (run or {}).get("attempts") or [] if a.get("attempt") == ended), None)
    if record is None:
        return f"  [yellow]↻ attempt {ended} did not pass; trying again as attempt {attempt}[/]"
    status = str(record.get("status"))
    why = f": {safe(_clipped(str(record['error'])))}" if record.get("error") else ""
    again = "running it again" if status == "interrupted" else "retrying"
    shown = "[yellow]interrupted[/]" if status == "interrupted" else status_text(status)
    return f"  [yellow]↻ attempt {ended}[/] {shown}{why}; [yellow]{again} as attempt {attempt}[/]"


def print_run(console: Console, run: dict[str, Any], artifacts: list[dict[str, Any]] | None = None) -> None:
    summary = attempts_line(run)
    console.print(run_headline(run, flaky=summary is None))  # the attempts line says flaky
    waited = queue_line(run)
    if waited:
        console.print(waited)
    if summary is not None:  # interruptions are among the attempts
        console.print(summary)
    else:
        for line in interruption_lines(run):
            console.print(line)
    if run.get("iterations"):
        for it in run["iterations"]:
            for step in it.get("steps", []):
                console.print(step_line(step, prefix=row_prefix(it.get("index"))))
    else:
        for step in all_steps(run):
            console.print(step_line(step))
    if run.get("error"):
        console.print(f"  [red]error:[/] {safe(run['error'])}")
    if artifacts:
        console.print("  [bold]artifacts[/]")
        for line in artifact_lines(artifacts):
            console.print(line, soft_wrap=True)


def timestamp(value: str | None, *, now: datetime | None = None) -> str:
    """``2026-01-01T12:34:56.789Z`` -> ``01-01 12:34`` this year, ``2025-01-01 12:34`` before (UTC, as
    the API gives it): short enough for a table on an 80-column terminal; ``--json`` has the exact time."""
    text = (value or "")[:16].replace("T", " ")
    year = (now or datetime.now(UTC)).strftime("%Y-")
    return text.removeprefix(year)


def table(columns: list[str], rows: list[list[Any]], *, wrap: dict[str, int] | None = None) -> Table:
    """Columns in ``wrap`` (names, tags; name -> share of the room left) fold to fit the terminal; the
    others (ids, timestamps, statuses) stay on one line, whole, so they can be copied. Cells are plain text
    (:func:`safe`: no markup, no control characters)."""
    wrap = wrap or {}
    out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, header_style="bold")
    for column in columns:
        if column in wrap:
            out.add_column(column, overflow="fold", ratio=wrap[column])
        else:
            out.add_column(column, no_wrap=True)
    for row in rows:
        out.add_row(*("" if cell is None else safe(cell) for cell in row))
    return out
