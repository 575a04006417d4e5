"""``autotest demo`` (``make demo``): start ``autotest local``, run the example tests against the example
app, print each result with links to its report and artifacts, and stop local mode again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing, suppress
from pathlib import Path

import click
import httpx

from cli.client import CliError
from cli.commands.runs import run
from cli.config import CONFIG_NAME, read_config_file
from cli.state import CliState

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "tests"


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise CliError(f"`autotest local` exited with code {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise CliError(f"`autotest local` did not answer on {url} within {timeout_s:.0f} s (log: {log})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@click.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".autotest") / "demo",
    show_default=True,
    help="Local mode's data directory for the demo.",
)
@click.option("--junit", "junit_path", type=click.Path(path_type=Path, dir_okay=False), help="Also write JUnit XML.")
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Keep local mode (and its dashboard) up after the results until Enter is pressed. Default: when the "
    "input is a terminal.",
)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def demo(
    ctx: click.Context, data_dir: Path, junit_path: Path | None, serve: bool | None, files: tuple[Path, ...]
) -> None:
    """Start local mode, run the example tests (or FILES), print the results and the dashboard's URL, stop."""
    if serve is None:
        serve = sys.stdin.isatty()
    # the examples, then the same browser tests written in plain English (examples/tests/plain: goals)
    examples = [*sorted(EXAMPLES.glob("*.yaml")), *sorted((EXAMPLES / "plain").glob("*.yaml"))]
    tests = [str(f) for f in files] or [str(p) for p in examples]
    if not tests:
        raise CliError(f"no example tests in {EXAMPLES}")
    data_dir.mkdir(parents=True, exist_ok=True)
    api_port, example_port = _free_port(), _free_port()
    api_url, example_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{example_port}"
    log = data_dir / "local.log"
    click.echo(f"starting autotest local on {api_url} (example app on {example_url}; log: {log})")
    command = [sys.executable, "-m", "cli.main", "local", "--data-dir", str(data_dir)]
    command += ["--port", str(api_port), "--example-port", str(example_port)]
    env = {k: v for k, v in os.environ.items() if k != "AUTOTEST_API_KEY"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    code = 2
    try:
        _wait_healthy(api_url, process, log, timeout_s=90)
        api_key = read_config_file(data_dir / CONFIG_NAME).get("api_key")
        state = CliState(api_url=api_url, api_key=api_key if isinstance(api_key, str) else None)
        click.echo(f"running {len(tests)} example tests\n")
        try:
            ctx.obj = state  # the run command below talks to this local mode
            ctx.invoke(
                run,
                targets=tuple(tests),
                var_pairs=(f"base_url={example_url}",),
                wait=True,
                junit_path=junit_path,
                timeout_s=600,
                revision=None,
                retries=None,
                quiet=False,
                download_dir=data_dir / "artifacts",
                as_json=False,
            )
            code = 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        finally:
            state.close()
        click.echo(f"\ndashboard: {api_url}/ui   (log in with the API key {api_key})")
        if serve:
            click.echo("local mode stays up for the dashboard: press Enter (or Ctrl-C) to stop it")
            with suppress(EOFError, KeyboardInterrupt):
                input()
    finally:
        click.echo("\nstopping autotest local")
        _stop(process)
    click.echo(f"demo {'passed' if code == 0 else 'finished with failures'}; local mode's data is in {data_dir}")
    click.echo(
        f"to look at these results again: autotest local --data-dir {data_dir}, then open http://127.0.0.1:8000/ui"
    )
    if code:
        raise click.exceptions.Exit(code)
