"""``autotest local``: run the whole system on this machine until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

from cli.client import CliError
from cli.config import CONFIG_ENV, CONFIG_NAME, DEFAULT_DATA_DIR, forget_last_local, locate, record_last_local
from shared.wording import count

if TYPE_CHECKING:  # the local mode imports moto, uvicorn, FastAPI, boto3: only when it starts
    from cli.local.mode import LocalInfo, LocalOptions

EXAMPLE_PORT = 8001


def banner(console: Console, info: LocalInfo, warnings: tuple[str, ...] = ()) -> None:
    console.print(f"[bold green]autotest local[/] is running  [dim](data in {escape(str(info.data_dir))})[/]")
    console.print(f"  dashboard [bold]{info.api_url}/ui[/]   [dim](log in with the API key)[/]")
    console.print(f"  API       [bold]{info.api_url}[/]   docs: {info.api_url}/docs")
    console.print(f"  API key   [bold]{escape(info.api_key)}[/]")
    if info.example_url:
        console.print(f"  example   {info.example_url}  [dim](the example tests' base_url)[/]")
    console.print("  AWS       emulated in this process (moto); every write journaled in the data directory")
    console.print(f"  workers   {', '.join(info.workers) or 'none'}")
    if info.restored_items or info.requeued_runs:
        replayed = f" ({info.replayed} writes from the journal)" if info.replayed else ""
        console.print(
            f"  restored  {info.restored_items} items, {info.restored_objects} artifacts{replayed}; "
            f"{count(info.requeued_runs, 'run')} back in the queue"
        )
    for line in (*info.damaged, *info.notes, *warnings):
        console.print(f"  [bold yellow]warning[/]   {escape(line)}")
    for line in cli_lines(info.data_dir / CONFIG_NAME, info.api_url):
        console.print(line)
    if info.example_url:  # the example tests need the example app
        var = "" if info.example_url.endswith(f":{EXAMPLE_PORT}") else f" --var base_url={info.example_url}"
        console.print(f"  try:      autotest run examples/tests/login.yaml{var} --wait  [dim](from the repository)[/]")
    console.print("[dim]Ctrl-C stops it (running tests finish first; Ctrl-C again to stop at once)[/]")


def cli_lines(config: Path, api_url: str, cwd: Path | None = None) -> list[str]:
    """How the CLI, run here in this environment, finds this deployment; where it would not, the exact
    line that points it here."""
    export = f"export {CONFIG_ENV}={config.resolve()}"
    try:
        found, problem = locate(cwd).file, None
    except CliError as exc:  # AUTOTEST_CONFIG names a file that does not exist
        found, problem = None, exc.message
    if found is not None and found.path.resolve() == config.resolve():
        how = {
            "env": f"finds it through {CONFIG_ENV}",
            "cwd": "finds it from this directory and the ones below it",
            "last": "finds it from any directory without a .autotest/ of its own (the last local mode started)",
        }[found.kind]
        lines = [f"  CLI       {how}", f"            [dim]elsewhere: {escape(export)}[/]"]
    else:
        why = problem or (f"from here it would read {found}" if found is not None else "it finds none from here")
        lines = [f"  CLI       [bold]{escape(export)}[/]", f"            [dim]({escape(why)})[/]"]
    url = os.environ.get("AUTOTEST_API_URL")
    if url and url.rstrip("/") != api_url:
        lines.append(f"  [bold yellow]warning[/]   AUTOTEST_API_URL={escape(url)} is set: the CLI goes there instead")
    return lines


def _record(config: Path) -> tuple[str, ...]:
    """Tell this user's CLI that this is the last local mode started; a warning when that failed (a
    read-only home: the banner then prints the AUTOTEST_CONFIG line)."""
    try:
        record_last_local(config)
    except (OSError, RuntimeError) as exc:
        return (f"could not record this local mode for the CLI: {exc}",)
    return ()


async def _serve(options: LocalOptions, console: Console) -> None:
    loop = asyncio.get_running_loop()
    stop, force = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            force.set()
            console.print("[yellow]stopping now: unfinished runs go back to the queue on the next start[/]")
        else:
            stop.set()
            console.print("[yellow]stopping: waiting for running tests to finish...[/]")

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    from cli.local.mode import LocalMode

    mode = LocalMode(options)
    config: Path | None = None
    try:
        info = await mode.start()
        config = info.data_dir / CONFIG_NAME
        banner(console, info, _record(config))
        await mode.run(stop, force=force)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if config is not None:
            with contextlib.suppress(OSError, RuntimeError):
                forget_last_local(config)
    console.print(f"autotest local stopped; {escape(mode.outcome or 'nothing to save')}")
    if force.is_set():
        # Runs stopped at once may still have a blocking call in a thread, ending in log lines about uploads and
        # traces that no longer matter (those runs go back to the queue): the user asked to stop, so be quiet.
        from shared.observability import logger

        logger.setLevel("CRITICAL")


@click.command("local")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface of the API and the example app.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="The API's port.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where tests, runs and artifacts are kept across restarts.",
)
@click.option(
    "--concurrency", type=click.IntRange(1, 32), help="Runs at a time [default: AUTOTEST_RUNNER_CONCURRENCY, else 2]."
)
@click.option(
    "--example-port",
    type=click.IntRange(0, 65535),
    default=EXAMPLE_PORT,
    show_default=True,
    help="Port of the example web app (0: any free port).",
)
@click.option("--aws-port", type=click.IntRange(0, 65535), hidden=True,
              help="Deprecated, ignored: AWS is emulated in-process, with no port.")  # fmt: skip
@click.option("--no-example", is_flag=True, help="Do not serve the example web app.")
@click.option("--snapshot-interval", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds between snapshots (compactions of the journal) when the state changed.")  # fmt: skip
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="Structured (JSON) log lines at this level and above.",
)
def local(
    host: str,
    port: int,
    data_dir: Path,
    concurrency: int | None,
    example_port: int,
    aws_port: int | None,
    no_example: bool,
    snapshot_interval: float,
    log_level: str,
) -> None:
    """Run autotest on this machine: AWS emulated in-process, the API, the runner, the example app.

    The API key is AUTOTEST_API_KEY when set, else generated once and kept in DATA_DIR/config.json,
    where the other commands find it: from the directory above DATA_DIR when it is called .autotest, from
    anywhere while this is the last local mode started, or through AUTOTEST_CONFIG=DATA_DIR/config.json
    (the banner says which).
    """
    from cli.local.mode import LocalModeError, LocalOptions
    from shared.observability import logger

    options = LocalOptions(
        host=host,
        port=port,
        data_dir=data_dir,
        concurrency=concurrency,
        example_port=None if no_example else example_port,
        snapshot_interval_s=snapshot_interval,
        notes=(
            ("--aws-port is ignored: AWS is emulated inside this process now, and the API serves artifact links",)
            if aws_port is not None
            else ()
        ),
    )
    logger.setLevel(log_level.upper())
    console = Console(highlight=False, soft_wrap=True)
    try:
        asyncio.run(_serve(options, console))
    except LocalModeError as exc:
        raise CliError(str(exc)) from exc
