"""The ``autotest`` command: client commands for any deployment, and ``autotest local``."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from cli.client import CliError
from cli.commands.runs import artifacts, cancel, run, runs_group, status
from cli.commands.tests import tests_group
from cli.demo import demo
from cli.local.command import local
from cli.output import visible
from cli.state import CliState


class AutotestGroup(click.Group):
    """Turns a CliError into one line on stderr and its exit code (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            click.secho(f"error: {visible(exc.message)}", err=True, fg="red")
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


def _source(ctx: click.Context, param: str, option: str, envvar: str) -> str:
    """Which of the option and its environment variable gave ``param`` its value."""
    return envvar if ctx.get_parameter_source(param) == ParameterSource.ENVIRONMENT else option


@click.group(cls=AutotestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--api-url", envvar="AUTOTEST_API_URL", help="The API's base URL [env AUTOTEST_API_URL].")
@click.option("--api-key", envvar="AUTOTEST_API_KEY", help="An API key [env AUTOTEST_API_KEY].")
@click.version_option(package_name="autotest", prog_name="autotest")
@click.pass_context
def cli(ctx: click.Context, api_url: str | None, api_key: str | None) -> None:
    """autotest: browser and API tests run on AWS primitives, or all on this machine (`autotest local`).

    The API URL and key come from --api-url / --api-key, the environment, or the config file
    `autotest local` writes (.autotest/config.json here or in a parent directory, or $AUTOTEST_CONFIG).
    """
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    if api_url:
        state.api_url, state.api_url_source = api_url, _source(ctx, "api_url", "--api-url", "AUTOTEST_API_URL")
    if api_key:
        state.api_key, state.api_key_source = api_key, _source(ctx, "api_key", "--api-key", "AUTOTEST_API_KEY")
    ctx.obj = state
    ctx.call_on_close(state.close)


cli.add_command(tests_group)
cli.add_command(run)
cli.add_command(status)
cli.add_command(artifacts)
cli.add_command(cancel)
cli.add_command(runs_group)
cli.add_command(local)
cli.add_command(demo)


def main() -> None:
    cli(prog_name="autotest")


if __name__ == "__main__":
    main()
