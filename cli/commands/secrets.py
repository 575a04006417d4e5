"""``autotest secrets ...``: set, list and delete the secrets of the calling project (``{{secret:NAME}}``).

A value is never a command-line argument (shell history, ``ps``) and never printed: it comes from a hidden
prompt, or from standard input with ``--from-stdin``.
"""

from __future__ import annotations

import sys

import click

from cli.client import CliError
from cli.commands.common import json_option, print_json
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state


@click.group("secrets")
def secrets_group() -> None:
    """Secrets of your project, for {{secret:NAME}} in tests (write-only: values are never shown)."""


def _check_name(name: str) -> None:
    from shared.models.secrets import name_problem  # pydantic: only when a command runs (--help stays fast)

    problem = name_problem(name)
    if problem:
        raise CliError(f"{name!r}: {problem}")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_value(name: str, from_stdin: bool) -> str:
    from shared.models.secrets import value_problem

    if from_stdin:
        value = sys.stdin.read()
        # what `echo` or a here-string adds; a value with its own trailing newline keeps the rest
        value = value.removesuffix("\n").removesuffix("\r")
    elif not _interactive():
        raise CliError(f"no terminal to ask for the value of {name}: pipe it in with --from-stdin")
    else:
        value = click.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True, err=True)
    problem = value_problem(value)
    if problem:
        raise CliError(problem)
    return value


@secrets_group.command("set")
@click.argument("name")
@click.option(
    "--from-stdin",
    is_flag=True,
    help="Read the value from standard input (one trailing newline dropped) instead of a hidden prompt.",
)
@json_option
@pass_state
def set_secret(state: CliState, name: str, from_stdin: bool, as_json: bool) -> None:
    """Create or replace the secret NAME of your project.

    \b
      autotest secrets set ADMIN_PASSWORD                 # asks twice, shows nothing
      printf %s "$PASSWORD" | autotest secrets set ADMIN_PASSWORD --from-stdin
    """
    _check_name(name)  # before asking for a value that could not be stored
    value = _read_value(name, from_stdin)
    saved = state.client().put(f"/v1/secrets/{name}", {"value": value})
    if as_json:
        print_json(state, saved)
        return
    state.console.print(
        f"saved secret [bold]{safe(str(saved['name']))}[/]  [dim]updated {timestamp(saved.get('updated_at'))}; "
        f"tests of this project use it as {{{{secret:{safe(str(saved['name']))}}}}}[/]"
    )


@secrets_group.command("list")
@json_option
@pass_state
def list_secrets(state: CliState, as_json: bool) -> None:
    """List your project's secrets: names and when they were set, never values."""
    listed = state.client().get("/v1/secrets")
    if as_json:
        print_json(state, listed)
        return
    items = listed.get("items") or []
    if not items:
        state.console.print("no secrets yet: set one with `autotest secrets set NAME`")
        return
    rows = [[s["name"], timestamp(s.get("updated_at")) or "-", s.get("source") or ""] for s in items]
    state.console.print(table(["name", "updated", "source"], rows, wrap={"name": 1}))


@secrets_group.command("delete")
@click.argument("name")
@pass_state
def delete_secret(state: CliState, name: str) -> None:
    """Delete the secret NAME of your project (runs that use it then end in error)."""
    _check_name(name)
    state.client().delete(f"/v1/secrets/{name}")
    state.console.print(f"deleted secret [bold]{safe(name)}[/]")
