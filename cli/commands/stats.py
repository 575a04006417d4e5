"""``autotest stats TEST_ID`` (a test's pass rate, flakiness, durations) and ``autotest stats --flaky``."""

from __future__ import annotations

from typing import Any

import click

from cli.client import CliError
from cli.commands.common import TEST_ID_ARG, json_option, print_json
from cli.output import duration, safe, status_text, table, timestamp
from cli.state import CliState, pass_state


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


@click.command("stats")
@click.argument("test_id", type=TEST_ID_ARG, required=False)
@click.option("--flaky", is_flag=True, help="List the project's flakiest tests instead.")
@click.option(
    "--window",
    type=click.IntRange(1, 500),
    help="How many of the newest ended runs to count (a test's: default 50; the project's with --flaky: 500).",
)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="With --flaky: tests.")
@json_option
@pass_state
def stats(state: CliState, test_id: str | None, flaky: bool, window: int | None, limit: int, as_json: bool) -> None:
    """A test's recent runs: pass rate, flaky runs, p50/p95 duration, the last failure; or, with --flaky,
    the project's flakiest tests (those that passed only on a retry)."""
    if (test_id is None) == (not flaky):
        raise CliError("give a TEST_ID, or --flaky for the project's flakiest tests")
    client = state.client()
    if flaky:
        data = client.get("/v1/stats/flaky", window=window, limit=limit)
        if as_json:
            print_json(state, data)
        else:
            _print_flaky(state, data)
        return
    data = client.get(f"/v1/tests/{test_id}/stats", window=window)
    if as_json:
        print_json(state, data)
    else:
        _print_test_stats(state, data)


def _print_test_stats(state: CliState, s: dict[str, Any]) -> None:
    console = state.console
    console.print(f"[bold]{safe(s['name'])}[/]  [dim]{safe(s['test_id'])}[/]  the last {s['runs']} ended runs")
    if not s["runs"]:
        console.print("  no ended runs yet")
        return
    counted = s["runs"] - s["cancelled"]
    cancelled = f" ({s['cancelled']} cancelled, not counted)" if s["cancelled"] else ""
    console.print(f"  pass rate  {_percent(s['pass_rate'])}  {s['passed']} of {counted} passed{cancelled}")
    console.print(f"  flaky      {_percent(s['flaky_rate'])}  {s['flaky']} passed only on a retry")
    by_status = sorted(s.get("by_status", {}).items())
    others = ", ".join(f"{n} {k}" for k, n in by_status if k not in ("passed", "cancelled"))
    if others:
        console.print(f"  not passed {s['failed']}: {safe(others)}")
    console.print(f"  duration   p50 {duration(s['duration_p50_ms'])}  p95 {duration(s['duration_p95_ms'])}")
    last = s.get("last_failure")
    if last:
        console.print(
            f"  last failure  {status_text(last['status'])}  [dim]{safe(last['run_id'])}[/]  "
            f"{safe(timestamp(last.get('at')))}  {safe(last.get('error') or '')}"
        )
    console.print(f"  last run   {safe(timestamp(s.get('last_run_at')))}")


def _print_flaky(state: CliState, data: dict[str, Any]) -> None:
    if not data["items"]:
        state.console.print(f"no flaky tests in the last {data['runs']} ended runs")
        return
    rows = [
        [t["test_id"], t.get("name") or "", t["flaky"], t["runs"], _percent(t["flaky_rate"]), _percent(t["pass_rate"])]
        for t in data["items"]
    ]
    state.console.print(table(["id", "test", "flaky", "runs", "flaky rate", "pass rate"], rows, wrap={"test": 1}))
    state.console.print(f"[dim]over the project's last {data['runs']} ended runs[/]")
