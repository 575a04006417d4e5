"""``autotest tests ...``: create and list saved tests."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from cli.commands.common import json_option, print_json
from cli.output import table
from cli.state import CliState, pass_state
from cli.testfile import load_test_file


@click.group("tests")
def tests_group() -> None:
    """Saved tests."""


@tests_group.command("create")
@click.option(
    "-f",
    "--file",
    "files",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A test file (YAML or JSON, the shape of POST /v1/tests). Repeatable.",
)
@json_option
@pass_state
def create(state: CliState, files: tuple[Path, ...], as_json: bool) -> None:
    """Create tests from test files."""
    bodies = [(path, load_test_file(path)) for path in files]  # check every file before creating any
    created = [state.client().post("/v1/tests", body) for _, body in bodies]
    if as_json:
        print_json(state, created if len(created) > 1 else created[0])
        return
    for (path, _), test in zip(bodies, created, strict=True):
        state.console.print(
            f"created [bold]{escape(test['id'])}[/]  {escape(test['name'])}  "
            f"({test['kind']}, revision {test['revision']})  [dim]from {escape(str(path))}[/]"
        )


@tests_group.command("list")
@click.option("--tag", help="Only tests with this tag.")
@click.option("--kind", type=click.Choice(["browser", "api"]), help="Only this kind of test.")
@click.option("-q", "--query", "q", help="Name contains (case-insensitive).")
@click.option("--archived", is_flag=True, help="Archived tests instead of active ones.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@json_option
@pass_state
def list_tests(
    state: CliState, tag: str | None, kind: str | None, q: str | None, archived: bool, limit: int, as_json: bool
) -> None:
    """List saved tests, most recently updated first."""
    page = state.client().get(
        "/v1/tests", tag=tag, kind=kind, q=q, status="archived" if archived else "active", limit=limit
    )
    if as_json:
        print_json(state, page)
        return
    rows = [
        [t["id"], t["name"], t["kind"], ",".join(t.get("tags") or []), t["revision"], t["updated_at"][:19]]
        for t in page["items"]
    ]
    if not rows:
        state.console.print("no tests yet: create one with `autotest tests create -f FILE`")
        return
    state.console.print(table(["id", "name", "kind", "tags", "rev", "updated"], rows))
    if page.get("next_cursor"):
        state.console.print(f"[dim]showing the first {limit}; use --limit for more[/]")
