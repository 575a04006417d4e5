"""``autotest notifications ...``: the calling project's notification targets (webhooks, Slack) and their
deliveries."""

from __future__ import annotations

from typing import Any

import click

from cli.client import CliError
from cli.commands.common import json_option, print_json
from cli.commands.suites import resolve_suite
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state

ON_CHOICES = ("failure", "recovery", "always")


@click.group("notifications")
def notifications_group() -> None:
    """Webhooks and Slack messages when runs and suite runs fail, recover or end."""


def _on(text: str) -> list[str]:
    rules = [part.strip() for part in text.split(",") if part.strip()]
    bad = [r for r in rules if r not in ON_CHOICES]
    if not rules or bad:
        raise CliError(
            f"--on: {', '.join(bad) or 'nothing given'}: give a comma-separated list of {', '.join(ON_CHOICES)}"
        )
    return rules


@notifications_group.command("create")
@click.option("--webhook", "webhook_url", metavar="URL", help="A webhook URL: it gets a signed JSON body.")
@click.option("--slack", "slack_url", metavar="URL", help="A Slack incoming webhook URL: it gets a readable message.")
@click.option("--on", "on", default="failure,recovery", show_default=True, help="When: failure, recovery, always.")
@click.option("--name", default=None, help="A name to recognise it by.")
@click.option("--scope", type=click.Choice(["runs", "suite_runs", "all"]), default=None, help="Default: all.")
@click.option("--test", "test_id", default=None, help="Only the runs of this test (id).")
@click.option(
    "--suite",
    "suite",
    default=None,
    metavar="SUITE",
    help="Only the suite runs of this suite: its name or id (ste_...).",
)
@click.option("--suite-children", is_flag=True, help="Also notify for each run of a suite run on its own.")
@json_option
@pass_state
def create_notification(
    state: CliState,
    webhook_url: str | None,
    slack_url: str | None,
    on: str,
    name: str | None,
    scope: str | None,
    test_id: str | None,
    suite: str | None,
    suite_children: bool,
    as_json: bool,
) -> None:
    """Create a notification target; its signing secret is printed once.

    \b
      autotest notifications create --webhook https://ci.example.com/hook --on failure,recovery
      autotest notifications create --slack https://hooks.slack.com/services/... --on always --suite Nightly
      autotest notifications create --webhook https://ci.example.com/hook --suite ste_...
    """
    if (webhook_url is None) == (slack_url is None):
        raise CliError("give one of --webhook URL or --slack URL")
    body: dict[str, Any] = {
        "kind": "webhook" if webhook_url else "slack",
        "url": webhook_url or slack_url,
        "on": _on(on),
        "suite_children": suite_children,
    }
    client = state.client()
    suite_id = resolve_suite(client, suite)["id"] if suite is not None else None
    for key, value in (("name", name), ("scope", scope), ("test_id", test_id), ("suite_id", suite_id)):
        if value is not None:
            body[key] = value
    made = client.post("/v1/notifications", body)
    if as_json:
        print_json(state, made)
        return
    state.console.print(f"created notification target [bold]{safe(str(made['id']))}[/] ({safe(str(made['kind']))})")
    if made["kind"] == "webhook":
        state.console.print(
            f"signing secret (shown once, keep it): [bold]{safe(str(made['secret']))}[/]\n"
            "[dim]verify the X-Autotest-Signature header with it (see the README)[/]"
        )


@notifications_group.command("list")
@json_option
@pass_state
def list_notifications(state: CliState, as_json: bool) -> None:
    """List your project's notification targets."""
    listed = state.client().get("/v1/notifications", limit=200)
    if as_json:
        print_json(state, listed)
        return
    items = listed.get("items") or []
    if not items:
        state.console.print("no notification targets yet: `autotest notifications create --webhook URL`")
        return
    rows = [[t["id"], t["kind"], ",".join(t["on"]), t["scope"], t.get("name") or "", t["url"]] for t in items]
    state.console.print(table(["id", "kind", "on", "scope", "name", "url"], rows, wrap={"name": 1, "url": 2}))


@notifications_group.command("delete")
@click.argument("target_id")
@pass_state
def delete_notification(state: CliState, target_id: str) -> None:
    """Delete the notification target TARGET_ID."""
    state.client().delete(f"/v1/notifications/{target_id}")
    state.console.print(f"deleted notification target [bold]{safe(target_id)}[/]")


@notifications_group.command("deliveries")
@click.argument("target_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@json_option
@pass_state
def list_deliveries(state: CliState, target_id: str, limit: int, as_json: bool) -> None:
    """The deliveries of TARGET_ID, newest first, with their last attempt."""
    listed = state.client().get(f"/v1/notifications/{target_id}/deliveries", limit=limit)
    if as_json:
        print_json(state, listed)
        return
    items = listed.get("items") or []
    if not items:
        state.console.print("no deliveries yet")
        return
    rows = [
        [
            d["id"],
            timestamp(d.get("created_at")) or "-",
            f"{d['event']['kind']} {d['event']['id']}",
            d["event"]["trigger"],
            d["status"],
            str(d["attempt"]),
            str(d.get("http_status") or "-"),
            d.get("error") or "",
        ]
        for d in items
    ]
    columns = ["id", "created", "event", "trigger", "status", "attempts", "http", "error"]
    state.console.print(table(columns, rows, wrap={"error": 1}))
