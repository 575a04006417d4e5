"""``autotest failures`` (the failed runs of a window, grouped by failure signature) and ``autotest runs compare A
B`` (two runs step by step). Both print what the API worked out (``GET /v1/failures``, ``GET
/v1/runs/{id}/compare/{other_id}``); nothing is decided here."""

from __future__ import annotations

from typing import Any

import click

from cli.commands.common import RUN_ID_ARG, TEST_ID_ARG, json_option, print_json
from cli.commands.runs import runs_group
from cli.output import duration, safe, status_text, table, timestamp
from cli.state import CliState, pass_state


@click.command("failures")
@click.option(
    "--since",
    default=None,
    metavar="WHEN",
    help="The start of the window: 30m, 24h, 7d, 2w or an ISO 8601 time. Default: 24h.",
)
@click.option("--test-id", type=TEST_ID_ARG, help="Only the runs of this test.")
@click.option("--suite-id", help="Only the runs of this suite's suite runs (ste_...).")
@json_option
@pass_state
def failures(state: CliState, since: str | None, test_id: str | None, suite_id: str | None, as_json: bool) -> None:
    """The failed runs of a window grouped by cause (the failing step, the kind of error, the message without
    ids, numbers and times): the largest group first."""
    data = state.client().get("/v1/failures", since=since, test_id=test_id, suite_id=suite_id)
    if as_json:
        print_json(state, data)
        return
    _print_clusters(state, data)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _print_clusters(state: CliState, data: dict[str, Any]) -> None:
    console = state.console
    clusters = data["clusters"]
    if not clusters:
        console.print(f"no failed runs since {safe(timestamp(data['since']))}")
    rows = []
    for c in clusters:
        tests = ", ".join(f"{t.get('name') or t['test_id']} ({t['count']})" for t in c["tests"])
        if c.get("inline_runs"):
            tests += (", " if tests else "") + f"{c['inline_runs']} inline"
        rows.append([c["count"], c["summary"], tests, timestamp(c["last_seen"]), c["sample_run_id"]])
    if rows:
        columns = ["runs", "failure", "tests", "last seen", "newest run"]
        console.print(table(columns, rows, wrap={"failure": 3, "tests": 1}))
        console.print(
            f"[dim]{_count(data['failures'], 'failed run')} in {_count(len(clusters), 'cluster')} since "
            f"{safe(timestamp(data['since']))}; compare the newest with a passing run: "
            "autotest runs compare PASSING_RUN FAILED_RUN[/]"
        )
    if data.get("truncated"):
        console.print(
            f"[yellow]only the newest {data['scanned']} runs were read (back to "
            f"{safe(timestamp(data.get('covered_since')))}, the limit is {data['scan_limit']}): "
            "use a shorter --since or --test-id[/]"
        )


# registered on ``autotest runs`` (cli/commands/runs.py's group) when this module is imported (cli/main.py)
@runs_group.command("compare")
@click.argument("run_id", type=RUN_ID_ARG)
@click.argument("other_id", type=RUN_ID_ARG)
@click.option("--all-steps", is_flag=True, help="Show every step, not only those that changed.")
@json_option
@pass_state
def compare(state: CliState, run_id: str, other_id: str, all_steps: bool, as_json: bool) -> None:
    """Compare two runs step by step (RUN_ID first, e.g. the one that passed): which steps changed status,
    durations, how targets were found or healed, and for API steps the response status and failing checks."""
    data = state.client().get(f"/v1/runs/{run_id}/compare/{other_id}")
    if as_json:
        print_json(state, data)
        return
    _print_comparison(state, data, all_steps=all_steps)


def _run_line(side: dict[str, Any]) -> str:
    revision = f" rev {side['revision']}" if side.get("revision") is not None else ""
    return (
        f"{status_text(side['status'])}  [bold]{safe(side['id'])}[/]  {safe(side.get('name') or '')}{safe(revision)}  "
        f"{side['steps']} steps  {duration(side.get('duration_ms'))}  {safe(timestamp(side['created_at']))}"
    )


def _diff(ms: int | None) -> str:
    return "" if ms is None else f"{ms:+d} ms"


def _side_cell(side: dict[str, Any] | None) -> str:
    if side is None:
        return "-"
    parts = [side["status"], duration(side["duration_ms"])]
    if side.get("http_status") is not None:
        parts.append(f"HTTP {side['http_status']}")
    if side.get("healed_to"):
        parts.append(f"healed to {side['healed_to']}")
    elif side.get("matched_by"):
        parts.append(f"by {side['matched_by']}")
    return "  ".join(parts)


def _print_comparison(state: CliState, data: dict[str, Any], *, all_steps: bool) -> None:
    console = state.console
    console.print(f"[bold]{safe(data['headline'])}[/]")
    console.print(f"  first   {_run_line(data['base'])}")
    console.print(f"  second  {_run_line(data['other'])}")
    for note in data["notes"]:
        console.print(f"  [yellow]note:[/] {safe(note)}")
    shown = [s for s in data["steps"] if all_steps or s["status_changed"] or s["resolution_changed"]]
    if shown:
        rows = []
        for s in shown:
            step = s["other"] or s["base"]
            what = " ".join(p for p in (step["action"], step.get("target") or step.get("detail") or "") if p)
            rows.append(
                [s["index"] + 1, what, _side_cell(s["base"]), _side_cell(s["other"]), _diff(s["duration_diff_ms"])]
            )
        wrap = {"what": 2, "first": 1, "second": 1}
        console.print(table(["step", "what", "first", "second", "diff"], rows, wrap=wrap))
    for s in shown:
        for label, side in (("first", s["base"]), ("second", s["other"])):
            if side and side.get("error") and side["status"] != "passed":
                console.print(f"  step {s['index'] + 1} ({label}): {safe(side['error'])}", soft_wrap=True)
            for check in (side or {}).get("failing_checks", []):
                console.print(
                    f"    check {safe(check['check'])}: expected {safe(check.get('expected'))}, "
                    f"got {safe(check.get('actual'))}",
                    soft_wrap=True,
                )
    console.print(f"[dim]the second run took {_diff(data.get('duration_diff_ms')) or '-'} against the first[/]")
