"""The ``autotest`` command: client commands for any deployment, and ``autotest local``."""

from __future__ import annotations

from typing import Any

import click

from cli.client import CliError
from cli.commands.audit import audit
from cli.commands.failures import failures
from cli.commands.github import github_group
from cli.commands.imports import import_group
from cli.commands.keys import keys_group
from cli.commands.notifications import notifications_group
from cli.commands.plan import plan
from cli.commands.plans import heals_group, plans_group
from cli.commands.runs import artifacts, cancel, run, runs_group, status
from cli.commands.schedules import schedules_group
from cli.commands.secrets import secrets_group
from cli.commands.stats import stats
from cli.commands.suites import suites_group
from cli.commands.tests import tests_group
from cli.demo import demo
from cli.local.command import local
from cli.output import visible
from cli.state import CliState, add_api_options, api_options


class AutotestGroup(click.Group):
    """Turns a CliError into one line on stderr and its exit code (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            click.secho(f"error: {visible(exc.message, multiline=True)}", err=True, fg="red")
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=AutotestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="autotest", prog_name="autotest")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """autotest: browser and API tests run on AWS primitives, or all on this machine (`autotest local`).

    \b
    The API URL and key come from, in order:
      --api-url / --api-key (before or after the subcommand),
      AUTOTEST_API_URL / AUTOTEST_API_KEY,
      the config file `autotest local` writes into its data directory: $AUTOTEST_CONFIG, else
      .autotest/config.json here or in a parent directory, else the last `autotest local` started.
    """
    state = ctx.ensure_object(CliState)
    ctx.call_on_close(state.close)


cli.params.extend(api_options(read_env=True))
#: the commands that talk to a deployment: each takes --api-url / --api-key after its name too
CLIENT_COMMANDS = (
    tests_group,
    run,
    status,
    artifacts,
    cancel,
    runs_group,
    plans_group,
    heals_group,
    secrets_group,
    keys_group,
    suites_group,
    stats,
    schedules_group,
    notifications_group,
    import_group,
    audit,
    failures,
    github_group,
)
for command in CLIENT_COMMANDS:
    add_api_options(command)
    cli.add_command(command)
cli.add_command(local)
cli.add_command(demo)
cli.add_command(plan)


def main() -> None:
    cli(prog_name="autotest")


if __name__ == "__main__":
    main()
