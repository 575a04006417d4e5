"""Helpers the client commands share."""

from __future__ import annotations

import json
from typing import Any

import click

from cli.client import CliError
from cli.state import CliState

json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")


def print_json(state: CliState, data: Any) -> None:
    """The API's JSON, pretty-printed. ``ensure_ascii`` writes every control and bidi character as a ``\\u``
    escape except DEL, which is ASCII; it is escaped too (it can only occur inside a string)."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=True).replace("\x7f", "\\u007f"))


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str | int | float | bool]:
    """``--var k=v`` (repeatable). Values stay strings unless they are JSON numbers or booleans."""
    out: dict[str, str | int | float | bool] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--var {pair!r}: write it as NAME=VALUE")
        parsed: str | int | float | bool = value
        if value in ("true", "false"):
            parsed = value == "true"
        else:
            try:
                number = json.loads(value)
            except ValueError:
                number = None
            if isinstance(number, int | float) and not isinstance(number, bool):
                parsed = number
        out[key.strip()] = parsed
    return out
