"""What every client command gets: the resolved config, a console, and an API client made on demand;
and the ``--api-url`` / ``--api-key`` options every client command accepts, before or after its name."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import click
import httpx
from click.core import ParameterSource
from rich.console import Console

from cli.client import ApiClient
from cli.config import OPTIONS, resolve
from cli.output import SafeConsole


@dataclass
class CliState:
    api_url: str | None = None
    api_key: str | None = None
    #: where api_url / api_key came from ("--api-key", "AUTOTEST_API_KEY"...), for error messages
    api_url_source: str = OPTIONS
    api_key_source: str = OPTIONS
    #: tests hand in a transport (httpx.MockTransport, a FastAPI TestClient's) instead of the network
    transport: httpx.BaseTransport | None = None
    console: Console = field(default_factory=lambda: SafeConsole(highlight=False, soft_wrap=True, width=_width()))
    _client: ApiClient | None = None

    def client(self) -> ApiClient:
        if self._client is None:
            config = resolve(self.api_url, self.api_key, url_source=self.api_url_source, key_source=self.api_key_source)
            self._client = ApiClient(config, transport=self.transport)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


pass_state = click.make_pass_decorator(CliState)

#: how wide tables are when the output is not a terminal (a CI log), unless COLUMNS says
LOG_WIDTH = 160


def _width() -> int | None:
    """None on a terminal (its own width); in a log, room for a table's names on one line."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return LOG_WIDTH


def _store(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Put an ``--api-url`` / ``--api-key`` value into the state, with where it came from. Given at several
    levels (``autotest --api-key A tests --api-key B list``), the last one wins."""
    if not value:
        return
    from_env = ctx.get_parameter_source(str(param.name)) == ParameterSource.ENVIRONMENT
    source = str(param.envvar) if from_env else param.opts[0]
    state = ctx.ensure_object(CliState)
    if param.name == "api_url":
        state.api_url, state.api_url_source = value, source
    else:
        state.api_key, state.api_key_source = value, source


def api_options(*, read_env: bool) -> list[click.Option]:
    """``--api-url`` and ``--api-key``. Only the top level reads the environment: a subcommand's copy
    would otherwise put the variable back over an option given before the subcommand."""
    return [
        click.Option(
            ["--api-url"],
            envvar="AUTOTEST_API_URL" if read_env else None,
            expose_value=False,
            callback=_store,
            help="The API's base URL [env AUTOTEST_API_URL].",
        ),
        click.Option(
            ["--api-key"],
            envvar="AUTOTEST_API_KEY" if read_env else None,
            expose_value=False,
            callback=_store,
            help="An API key [env AUTOTEST_API_KEY].",
        ),
    ]


def add_api_options(command: click.Command) -> None:
    """Let ``command`` and, for a group, every command under it take ``--api-url`` / ``--api-key``."""
    command.params.extend(api_options(read_env=False))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_api_options(sub)
