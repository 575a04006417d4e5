"""``autotest schedules ...``: create, list, pause, resume and delete the schedules of your project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import CliError
from cli.commands.common import ObjectId, json_option, parse_vars, print_json
from cli.commands.suites import resolve_suite
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state
from cli.testfile import read_test_file

SCHEDULE_ID_ARG = ObjectId("schedule")


@click.group("schedules")
def schedules_group() -> None:
    """Schedules: a suite or a test started on a cron or rate expression."""


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--label {pair!r}: write it as KEY=VALUE")
        out[key.strip()] = value
    return out


def _check(body: dict[str, Any], where: str) -> None:
    """The body as the API will check it, before it is sent (a bad cron expression names what is wrong)."""
    from pydantic import ValidationError

    from shared.models.schedules import ScheduleCreate
    from shared.models.validation import describe_errors

    try:
        ScheduleCreate.model_validate(body)
    except ValidationError as exc:
        problems = [f"{p['loc'] or 'the schedule'}: {p['msg']}" for p in describe_errors(exc.errors())]
        raise CliError(f"{where}: " + "\n  ".join(problems)) from exc


@schedules_group.command("create")
@click.option("--suite", "suite", metavar="SUITE", help="The suite to start: its name or id (ste_...).")
@click.option("--test", "test", type=ObjectId("test"), help="The test to start (its id, tst_...).")
@click.option("--cron", help="When, as 5 cron fields: '0 6 * * MON-FRI' (06:00 on weekdays).")
@click.option("--rate", help="How often: 'rate(5 minutes)', 'rate(1 hour)', 'rate(1 day)'.")
@click.option("--timezone", "timezone", help="The IANA time zone cron is read in (default UTC).")
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="A run variable (repeatable).")
@click.option("--label", "label_pairs", multiple=True, metavar="KEY=VALUE", help="A run label (repeatable).")
@click.option("--name", help="A name to tell it by.")
@click.option("--paused", is_flag=True, help="Create it paused (resume it with `autotest schedules resume`).")
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A schedule file (YAML or JSON, the shape of POST /v1/schedules) instead of the options.",
)
@json_option
@pass_state
def create(
    state: CliState,
    suite: str | None,
    test: str | None,
    cron: str | None,
    rate: str | None,
    timezone: str | None,
    var_pairs: tuple[str, ...],
    label_pairs: tuple[str, ...],
    name: str | None,
    paused: bool,
    file: Path | None,
    as_json: bool,
) -> None:
    """Create a schedule of a suite or a test.

    \b
      autotest schedules create --suite Smoke --cron '0 6 * * MON-FRI' --timezone Europe/Berlin
      autotest schedules create --test tst_123 --rate 'rate(1 minute)' --var base_url=http://127.0.0.1:8001
      autotest schedules create -f nightly.yaml
    """
    if file is not None:
        if suite or test or cron or rate or timezone or var_pairs or label_pairs or name or paused:
            raise CliError("give a schedule file (-f) or the options, not both")
        body = read_test_file(file)
        where = str(file)
    else:
        body = {"suite_id": suite, "test_id": test, "cron": cron, "rate": rate, "timezone": timezone, "name": name}
        body = {k: v for k, v in body.items() if v is not None}
        if var_pairs:
            body["variables"] = parse_vars(var_pairs)
        if label_pairs:
            body["labels"] = _labels(label_pairs)
        if paused:
            body["enabled"] = False
        where = "the schedule"
        if (suite is None) == (test is None):
            raise CliError("give one of --suite SUITE or --test TEST_ID")
        if (cron is None) == (rate is None):
            raise CliError("give one of --cron EXPR or --rate EXPR")
        if suite is not None:
            body["suite_id"] = resolve_suite(state.client(), suite)["id"]
    _check(body, where)
    created = state.client().post("/v1/schedules", body)
    if as_json:
        print_json(state, created)
        return
    state.console.print(f"created schedule [bold]{safe(created['id'])}[/]  {safe(_when(created))}")
    _print_next(state, created)


def _when(schedule: dict[str, Any]) -> str:
    what = f"suite {schedule.get('suite_id')}" if schedule.get("suite_id") else f"test {schedule.get('test_id')}"
    expression = schedule.get("cron") or schedule.get("rate") or ""
    zone = f" ({schedule.get('timezone')})" if schedule.get("cron") else ""
    return f"{what}: {expression}{zone}"


def _print_next(state: CliState, schedule: dict[str, Any]) -> None:
    times = schedule.get("next_fire_times") or []
    if not schedule.get("enabled"):
        state.console.print("[dim]paused: it fires again once resumed[/]")
    elif times:
        shown = ", ".join(safe(str(t.get("local"))) for t in times)
        state.console.print(f"[dim]next: {shown}[/]")


@schedules_group.command("list")
@json_option
@pass_state
def list_schedules(state: CliState, as_json: bool) -> None:
    """List your project's schedules, with the next time each fires."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    client = state.client()
    while True:
        page = client.get("/v1/schedules", limit=200, **({"cursor": cursor} if cursor else {}))
        items += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if as_json:
        print_json(state, {"items": items})
        return
    if not items:
        state.console.print("no schedules yet: create one with `autotest schedules create`")
        return
    rows = []
    for s in items:
        times = s.get("next_fire_times") or []
        following = timestamp(times[0]["at"]) + " UTC" if times else "paused" if not s.get("enabled") else "-"
        target = s.get("suite_id") or s.get("test_id")
        rows.append([s["id"], s.get("name") or "", target, s.get("cron") or s.get("rate"), s["timezone"], following])
    state.console.print(table(["id", "name", "starts", "when", "timezone", "next"], rows, wrap={"name": 1}))


def _set_enabled(state: CliState, schedule_id: str, enabled: bool, as_json: bool) -> None:
    changed = state.client().patch(f"/v1/schedules/{schedule_id}", {"enabled": enabled})
    if as_json:
        print_json(state, changed)
        return
    state.console.print(f"{'resumed' if enabled else 'paused'} schedule [bold]{safe(changed['id'])}[/]")
    _print_next(state, changed)


@schedules_group.command("pause")
@click.argument("schedule_id", type=SCHEDULE_ID_ARG)
@json_option
@pass_state
def pause(state: CliState, schedule_id: str, as_json: bool) -> None:
    """Pause a schedule: it fires no more until resumed."""
    _set_enabled(state, schedule_id, False, as_json)


@schedules_group.command("resume")
@click.argument("schedule_id", type=SCHEDULE_ID_ARG)
@json_option
@pass_state
def resume(state: CliState, schedule_id: str, as_json: bool) -> None:
    """Resume a paused schedule, from its next fire time (what fell due while paused does not fire)."""
    _set_enabled(state, schedule_id, True, as_json)


@schedules_group.command("delete")
@click.argument("schedule_id", type=SCHEDULE_ID_ARG)
@pass_state
def delete(state: CliState, schedule_id: str) -> None:
    """Delete a schedule (the runs it started stay)."""
    state.client().delete(f"/v1/schedules/{schedule_id}")
    state.console.print(f"deleted schedule [bold]{safe(schedule_id)}[/]")
