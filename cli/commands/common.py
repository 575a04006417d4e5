"""Helpers the client commands share."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from cli.client import CliError
from cli.output import visible
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


def parse_labels(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--label KEY=VALUE`` (repeatable)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--label {pair!r}: write it as KEY=VALUE")
        out[key.strip()] = value
    return out


class ObjectId(click.ParamType):
    """A test's or run's id as the API spells them (letters, digits, ``_``, ``-``), checked before it goes
    into a URL: anything else (a path like ``../tests``, a terminal escape) is refused with a one-line error."""

    name = "id"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not _ID.fullmatch(text):
            self.fail(
                f"{visible(text)!r} is not a {self.what} id (letters, digits, _ and -, as in {_EXAMPLE[self.what]})"
            )
        return text


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EXAMPLE = {
    "test": "tst_01J...",
    "run": "run_01J...",
    "plan proposal": "pln_01J...",
    "suite run": "srn_01J...",
    "schedule": "sch_01J...",
}
TEST_ID_ARG = ObjectId("test")
RUN_ID_ARG = ObjectId("run")
PLAN_ID_ARG = ObjectId("plan proposal")


#: ``--priority`` of the commands that start runs: CI runs the CLI, so its runs go first unless told otherwise
priority_option = click.option(
    "--priority",
    type=click.Choice(["high", "normal", "low"]),
    default="high",
    show_default=True,
    help="Workers take high before normal before low (a plain API call's default is normal).",
)
