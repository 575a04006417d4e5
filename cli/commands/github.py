"""``autotest github ...``: the calling project's GitHub integration (which pushes and pull requests run which
suites; commit statuses back) and the statuses it sent.

The webhook secret is never a command-line argument (shell history, ``ps``): ``--secret`` asks for it at a
hidden prompt, or reads it from standard input with ``--from-stdin``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cli.client import CliError
from cli.commands.common import json_option, print_json
from cli.output import safe, table, timestamp
from cli.state import CliState, pass_state

PATH = "/v1/integrations/github"


@click.group("github")
def github_group() -> None:
    """GitHub: pushes and pull requests run suites; each suite run shows on the commit as a status."""


def _rules(path: Path) -> list[Any]:
    """The rules of a JSON or YAML file: a list, or a mapping holding ``rules``."""
    import json

    import yaml

    from shared import safeyaml

    try:
        text = path.read_text()
        data: Any = json.loads(text) if path.suffix == ".json" else safeyaml.load(text)
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except (ValueError, yaml.YAMLError, safeyaml.AliasLimitExceeded, RecursionError) as exc:
        raise CliError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data = data["rules"]
    if not isinstance(data, list) or not data:
        raise CliError(f"{path}: give a list of rules ([{{repo, branches or events, suite, labels}}, ...])")
    return data


def _secret(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the webhook secret: pipe it in with --from-stdin")
    return str(click.prompt("Webhook secret", hide_input=True, confirmation_prompt=True, err=True))


@github_group.command("set")
@click.option(
    "--rules",
    "rules_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A JSON (or YAML) file: the list of rules, or {rules: [...]}.",
)
@click.option("--secret", "ask_secret", is_flag=True, help="Set the webhook secret (asked for, hidden).")
@click.option("--from-stdin", is_flag=True, help="With --secret: read it from standard input instead.")
@click.option("--token-secret", default=None, help="The project secret holding the token (default GITHUB_TOKEN).")
@click.option("--github-api-url", "github_api_url", default=None, help="GitHub's API (default https://api.github.com).")
@click.option("--context", default=None, help="The start of each status's context (default autotest).")
@json_option
@pass_state
def set_github(
    state: CliState,
    rules_file: Path,
    ask_secret: bool,
    from_stdin: bool,
    token_secret: str | None,
    github_api_url: str | None,
    context: str | None,
    as_json: bool,
) -> None:
    """Set the project's GitHub integration (replacing it). Without --secret the stored webhook secret is kept;
    the first time, one is made and printed once.

    \b
      autotest github set --rules rules.json --secret
      printf %s "$WEBHOOK_SECRET" | autotest github set --rules rules.json --secret --from-stdin
    """
    if from_stdin and not ask_secret:
        raise CliError("--from-stdin reads the webhook secret: give --secret too")
    body: dict[str, Any] = {"rules": _rules(rules_file)}
    if ask_secret:
        body["secret"] = _secret(from_stdin)
    for key, value in (("token_secret", token_secret), ("api_url", github_api_url), ("context", context)):
        if value is not None:
            body[key] = value
    saved = state.client().put(PATH, body)
    if as_json:
        print_json(state, saved)
        return
    _show(state, saved)
    if "secret" in saved:
        state.console.print(
            f"webhook secret (shown once, keep it): [bold]{safe(str(saved['secret']))}[/]\n"
            "[dim]type it into the webhook's Secret field in GitHub[/]"
        )


def _show(state: CliState, shown: dict[str, Any]) -> None:
    token = "set" if shown.get("token_set") else "NOT SET: autotest secrets set " + str(shown["token_secret"])
    state.console.print(
        f"payload URL   [bold]{safe(str(shown['webhook_url']))}[/]  (content type application/json; events: "
        "Pushes, Pull requests)\n"
        f"secret        ...{safe(str(shown['secret_hint']))}\n"
        f"token         {safe(str(shown['token_secret']))} ({safe(token)})\n"
        f"api           {safe(str(shown['api_url']))}"
    )
    rows = [
        [
            str(i),
            r["repo"],
            ",".join(r.get("events") or ["push"]),
            ",".join(r.get("branches") or []) or "*",
            r["suite"],
            ",".join(f"{k}={v}" for k, v in (r.get("labels") or {}).items()),
        ]
        for i, r in enumerate(shown.get("rules") or [])
    ]
    state.console.print(table(["rule", "repo", "events", "branches", "suite", "labels"], rows, wrap={"labels": 1}))


@github_group.command("show")
@json_option
@pass_state
def show_github(state: CliState, as_json: bool) -> None:
    """The project's GitHub integration: the payload URL, the rules, whether the token is set."""
    shown = state.client().get(PATH)
    if as_json:
        print_json(state, shown)
        return
    _show(state, shown)


@github_group.command("delete")
@pass_state
def delete_github(state: CliState) -> None:
    """Remove the project's GitHub integration (its webhook is refused from now on)."""
    state.client().delete(PATH)
    state.console.print("deleted the GitHub integration")


@github_group.command("deliveries")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@json_option
@pass_state
def list_github_deliveries(state: CliState, limit: int, as_json: bool) -> None:
    """The commit statuses sent to GitHub, newest first, with their last attempt."""
    listed = state.client().get(f"{PATH}/deliveries", limit=limit)
    if as_json:
        print_json(state, listed)
        return
    items = listed.get("items") or []
    if not items:
        state.console.print("no statuses sent yet")
        return
    rows = [
        [
            timestamp(d.get("created_at")) or "-",
            d["event"]["id"],
            d["event"].get("detail") or "",
            d["event"]["status"],
            d["status"],
            str(d["attempt"]),
            str(d.get("http_status") or "-"),
            d.get("error") or "",
        ]
        for d in items
    ]
    columns = ["created", "suite run", "commit", "state", "delivery", "attempts", "http", "error"]
    state.console.print(table(columns, rows, wrap={"error": 1}))
