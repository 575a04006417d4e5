"""``autotest keys ...``: create, list and revoke the API keys of the calling project (an admin key's work).

A new key is printed once (only its SHA-256 is stored); the list shows names, roles and last use, never keys.
"""

from __future__ import annotations

from typing import Any

import click

from cli.commands.common import json_option, print_json
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state

ROLE_CHOICES = ("viewer", "runner", "editor", "admin")


@click.group("keys")
def keys_group() -> None:
    """API keys of your project: viewer (read), runner (CI: start and cancel runs), editor (write tests), admin."""


@keys_group.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLE_CHOICES),
    default="viewer",
    show_default=True,
    help="What the key may do; CI needs only runner.",
)
@json_option
@pass_state
def create_key(state: CliState, name: str, role: str, as_json: bool) -> None:
    """Create a key called NAME (shown this once: keep it in your CI's secret store).

    \b
      autotest keys create github-actions --role runner
    """
    made = state.client().post("/v1/keys", {"name": name, "role": role})
    if as_json:
        print_json(state, made)
        return
    state.console.print(
        f"created key [bold]{safe(str(made['key_id']))}[/] ({safe(role)}): {safe(str(made['api_key']))}"
    )
    state.console.print("[dim]shown this once: only its SHA-256 is kept[/]")


@keys_group.command("list")
@json_option
@pass_state
def list_keys(state: CliState, as_json: bool) -> None:
    """List your project's keys: id, name, role, created and last used (never the keys)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = state.client().get("/v1/keys", limit=200, **({"cursor": cursor} if cursor else {}))
        items += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if as_json:
        print_json(state, {"items": items})
        return
    rows = [
        [
            k["key_id"],
            k["name"],
            k["role"],
            timestamp(k.get("created_at")) or "-",
            timestamp(k.get("last_used_at")) or "-",
        ]
        for k in items
    ]
    state.console.print(table(["id", "name", "role", "created", "last used"], rows, wrap={"name": 1}))


@keys_group.command("revoke")
@click.argument("key_id")
@pass_state
def revoke_key(state: CliState, key_id: str) -> None:
    """Revoke the key KEY_ID at once (its next request is refused). The project's last admin key is kept."""
    revoked = state.client().delete(f"/v1/keys/{key_id}")
    name = revoked.get("name", "") if isinstance(revoked, dict) else ""
    state.console.print(f"revoked key [bold]{safe(key_id)}[/] {safe(str(name))}")
