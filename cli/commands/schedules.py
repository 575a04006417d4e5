"""``autotest schedules ...``: create, list, update, pause, resume and delete the schedules of your project. A
schedule is named by its id (``sch_...``) or its name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import ApiClient, CliError
from cli.commands.common import ObjectId, json_option, parse_labels, parse_vars, print_json
from cli.commands.suites import resolve_suite
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state
from cli.testfile import read_test_file

SCHEDULE_ID = ObjectId("schedule")
_SCHEDULE_ARG = "SCHEDULE"


@click.group("schedules")
def schedules_group() -> None:
    """Schedules: a suite or a test started on a cron or rate expression."""


def _all_schedules(client: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = client.get("/v1/schedules", limit=200, **({"cursor": cursor} if cursor else {}))
        items += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def resolve_schedule(client: ApiClient, name_or_id: str) -> str:
    """A schedule's id, from its id (``sch_...``) or its name (looked up through ``GET /v1/schedules``)."""
    if name_or_id.startswith("sch_"):
        return SCHEDULE_ID.convert(name_or_id, None, None)
    named = [s for s in _all_schedules(client) if s.get("name") == name_or_id]
    if not named:
        raise CliError(f"no schedule is named {name_or_id!r}: `autotest schedules list` shows them")
    if len(named) > 1:
        ids = ", ".join(str(s["id"]) for s in named)
        raise CliError(f"{len(named)} schedules are named {name_or_id!r} ({ids}): give its id")
    return str(named[0]["id"])


def _check(body: dict[str, Any], where: str, *, update: bool = False) -> None:
    """The body as the API will check it, before it is sent (a bad cron expression names what is wrong)."""
    from pydantic import ValidationError

    from shared.models.schedules import ScheduleCreate, ScheduleUpdate
    from shared.models.validation import describe_errors

    try:
        (ScheduleUpdate if update else ScheduleCreate).model_validate(body)
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
    "--priority",
    type=click.Choice(["high", "normal", "low"]),
    help="The priority of the runs it starts (default normal): workers take high before normal before low.",
)
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
    priority: str | None,
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
        if suite or test or cron or rate or timezone or var_pairs or label_pairs or name or paused or priority:
            raise CliError("give a schedule file (-f) or the options, not both")
        body = read_test_file(file)
        where = str(file)
        suite_id = body.get("suite_id") if isinstance(body, dict) else None
        if isinstance(suite_id, str) and not suite_id.startswith("ste_"):
            raise CliError(
                f"{where}: suite_id {suite_id!r} is not a suite id (ste_...); pass its id, or use --suite NAME"
            )
    else:
        body = {"suite_id": suite, "test_id": test, "cron": cron, "rate": rate, "timezone": timezone, "name": name}
        body = {k: v for k, v in body.items() if v is not None}
        if var_pairs:
            body["variables"] = parse_vars(var_pairs)
        if label_pairs:
            body["labels"] = parse_labels(label_pairs)
        if paused:
            body["enabled"] = False
        if priority is not None:
            body["priority"] = priority
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


def _target(schedule: dict[str, Any]) -> str:
    """``suite Nightly (ste_...)`` / ``test Home (tst_...)``; the id alone when the name is not known."""
    kind, target_id = (
        ("suite", schedule.get("suite_id")) if schedule.get("suite_id") else ("test", schedule.get("test_id"))
    )
    name = schedule.get("target_name")
    return f"{kind} {name} ({target_id})" if name else f"{kind} {target_id}"


def _when(schedule: dict[str, Any]) -> str:
    what = _target(schedule)
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
    """List your project's schedules, with what each starts and the next time it fires."""
    items = _all_schedules(state.client())
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
        rows.append(
            [s["id"], s.get("name") or "", _target(s), s.get("cron") or s.get("rate"), s["timezone"], following]
        )
    state.console.print(
        table(["id", "name", "starts", "when", "timezone", "next"], rows, wrap={"name": 1, "starts": 2})
    )


@schedules_group.command("update")
@click.argument("schedule", metavar=_SCHEDULE_ARG)
@click.option("--suite", "suite", metavar="SUITE", help="Start this suite instead: its name or id (ste_...).")
@click.option("--test", "test", type=ObjectId("test"), help="Start this test instead (its id, tst_...).")
@click.option("--cron", help="Fire on this cron expression instead (replaces a rate).")
@click.option("--rate", help="Fire at this rate instead (replaces a cron expression).")
@click.option("--timezone", "timezone", help="Read the cron expression in this IANA time zone.")
@click.option("--name", help="A new name ('' for none).")
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Replace its variables (repeatable).")
@click.option("--label", "label_pairs", multiple=True, metavar="KEY=VALUE", help="Replace its labels (repeatable).")
@click.option("--enable/--disable", "enabled", default=None, help="Resume or pause it.")
@click.option(
    "--priority",
    type=click.Choice(["high", "normal", "low"]),
    help="The priority of the runs it starts from its next firing: workers take high before normal before low.",
)
@json_option
@pass_state
def update(
    state: CliState,
    schedule: str,
    suite: str | None,
    test: str | None,
    cron: str | None,
    rate: str | None,
    timezone: str | None,
    name: str | None,
    var_pairs: tuple[str, ...],
    label_pairs: tuple[str, ...],
    enabled: bool | None,
    priority: str | None,
    as_json: bool,
) -> None:
    """Change a schedule (SCHEDULE: its id or its name): only what is given changes.

    \b
      autotest schedules update Nightly --cron '0 5 * * *' --timezone Europe/Berlin
      autotest schedules update sch_123 --rate 'rate(15 minutes)' --var base_url=http://127.0.0.1:8001
      autotest schedules update sch_123 --suite Smoke --enable
    """
    if suite is not None and test is not None:
        raise CliError("give one of --suite SUITE or --test TEST_ID, not both")
    if cron is not None and rate is not None:
        raise CliError("give one of --cron EXPR or --rate EXPR, not both")
    body: dict[str, Any] = {k: v for k, v in (("cron", cron), ("rate", rate), ("timezone", timezone)) if v is not None}
    if name is not None:
        body["name"] = name or None
    if test is not None:
        body["test_id"] = test
    if var_pairs:
        body["variables"] = parse_vars(var_pairs)
    if label_pairs:
        body["labels"] = parse_labels(label_pairs)
    if enabled is not None:
        body["enabled"] = enabled
    if priority is not None:
        body["priority"] = priority
    if not body and suite is None:
        raise CliError(
            "nothing to change: give --cron, --rate, --timezone, --name, --var, --label, --suite, --test, "
            "--priority, --enable or --disable"
        )
    client = state.client()
    if suite is not None:
        body["suite_id"] = resolve_suite(client, suite)["id"]
    _check(body, "the change", update=True)
    schedule_id = resolve_schedule(client, schedule)
    changed = client.patch(f"/v1/schedules/{schedule_id}", body)
    if as_json:
        print_json(state, changed)
        return
    state.console.print(f"updated schedule [bold]{safe(changed['id'])}[/]  {safe(_when(changed))}")
    _print_next(state, changed)


def _set_enabled(state: CliState, schedule: str, enabled: bool, as_json: bool) -> None:
    client = state.client()
    changed = client.patch(f"/v1/schedules/{resolve_schedule(client, schedule)}", {"enabled": enabled})
    if as_json:
        print_json(state, changed)
        return
    state.console.print(f"{'resumed' if enabled else 'paused'} schedule [bold]{safe(changed['id'])}[/]")
    _print_next(state, changed)


@schedules_group.command("pause")
@click.argument("schedule", metavar=_SCHEDULE_ARG)
@json_option
@pass_state
def pause(state: CliState, schedule: str, as_json: bool) -> None:
    """Pause a schedule (SCHEDULE: its id or its name): it fires no more until resumed."""
    _set_enabled(state, schedule, False, as_json)


@schedules_group.command("resume")
@click.argument("schedule", metavar=_SCHEDULE_ARG)
@json_option
@pass_state
def resume(state: CliState, schedule: str, as_json: bool) -> None:
    """Resume a paused schedule (SCHEDULE: its id or its name), from its next fire time (what fell due while
    paused does not fire)."""
    _set_enabled(state, schedule, True, as_json)


@schedules_group.command("delete")
@click.argument("schedule", metavar=_SCHEDULE_ARG)
@pass_state
def delete(state: CliState, schedule: str) -> None:
    """Delete a schedule (SCHEDULE: its id or its name); the runs it started stay."""
    client = state.client()
    schedule_id = resolve_schedule(client, schedule)
    client.delete(f"/v1/schedules/{schedule_id}")
    state.console.print(f"deleted schedule [bold]{safe(schedule_id)}[/]")
