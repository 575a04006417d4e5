"""``autotest audit``: the project's audit log, newest first (an admin key: ``GET /v1/audit``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from cli.client import CliError
from cli.commands.common import json_option, print_json
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state

_AGO = re.compile(r"(\d{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since_of(text: str | None, *, now: datetime | None = None) -> str | None:
    """``--since``: a time ago (``30m``, ``12h``, ``7d``) as the ISO time it names; any other text is passed on
    as it is (an ISO 8601 time: the API says what is wrong with one it cannot read)."""
    if not text:
        return None
    ago = _AGO.fullmatch(text.strip())
    if ago is None:
        return text
    delta = timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    return ((now or datetime.now(UTC)) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.command("audit")
@click.option(
    "--resource",
    metavar="KIND[:ID]",
    help="Only records of this resource: a kind (test, run, suite, schedule, secret, key, ...) or KIND:ID.",
)
@click.option("--actor", metavar="KEY_ID", help="Only the writes made with this API key (its id: key_...).")
@click.option("--since", metavar="TIME", help="Only records at or after this time: ISO 8601, or ago as 30m, 12h, 7d.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--cursor", help="The next page: the cursor the previous page printed.")
@json_option
@pass_state
def audit(
    state: CliState,
    resource: str | None,
    actor: str | None,
    since: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Who changed what in your project, and when (an admin key), newest first.

    \b
      autotest audit --since 1d
      autotest audit --resource test:tst_01J... --actor key_01J...
    """
    if resource is not None and not resource.strip():
        raise CliError("--resource: give a kind (test, run, ...) or KIND:ID")
    page = state.client().get(
        "/v1/audit", resource=resource, actor=actor, since=since_of(since), limit=limit, cursor=cursor
    )
    if as_json:
        print_json(state, page)
        return
    items = page.get("items") or []
    if not items:
        state.console.print("no audit records match" if resource or actor or since else "no audit records yet")
        return
    rows = [
        [
            timestamp(r.get("at")),
            r["action"],
            f"{r['resource_kind']}:{r['resource_id']}",
            "" if r.get("revision") is None else r["revision"],
            r.get("key_name") or r["key_id"],
            r["key_id"],
            r.get("source_ip") or "",
        ]
        for r in items
    ]
    columns = ["at", "action", "resource", "rev", "key", "key id", "from"]
    state.console.print(table(columns, rows, wrap={"key": 1}))
    if page.get("next_cursor"):
        state.console.print(f"[dim]more: autotest audit ... --cursor {safe(page['next_cursor'])}[/]")
