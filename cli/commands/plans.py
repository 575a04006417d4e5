"""``autotest plans request|show|accept`` (plan proposals of a test's goal) and ``autotest heals accept``."""

from __future__ import annotations

import time
from typing import Any

import click

from cli.client import CliError
from cli.commands.common import PLAN_ID_ARG, RUN_ID_ARG, TEST_ID_ARG, json_option, print_json
from cli.output import safe, visible
from cli.state import CliState, pass_state

#: seconds between polls of a pending proposal with --wait
POLL_S = 1.0


@click.group("plans")
def plans_group() -> None:
    """Plans of plain-English goals: ask for one, look at it, accept it as a new revision."""


def _target(target: Any) -> str:
    if isinstance(target, str):
        return repr(target)
    if isinstance(target, dict):
        shown = " ".join(f"{k}={v!r}" for k, v in target.items() if v not in (None, False) and k != "exact")
        return shown or "?"
    return str(target)


def step_text(step: dict[str, Any]) -> str:
    """One step of a plan, in short: its action, then its target and values."""
    parts = [str(step.get("action"))]
    if "target" in step and step["target"] is not None:
        parts.append(_target(step["target"]))
    # every other field the step sets (absent=True, timeout_s=5.0, expect=[...]): none may be left unsaid
    for field, value in step.items():
        if field in ("action", "target", "description") or value in (None, "", False, [], {}):
            continue
        parts.append(f"{field}={value!r}")
    return " ".join(parts)


def print_proposal(state: CliState, proposal: dict[str, Any]) -> None:
    status = str(proposal.get("status"))
    colour = {"ready": "green", "accepted": "green", "failed": "red"}.get(status, "yellow")
    state.console.print(
        f"[bold]{safe(proposal['id'])}[/]  [{colour}]{safe(status)}[/]  test {safe(proposal['test_id'])} "
        f"revision {safe(proposal['revision'])}  ({safe(proposal['planner'])} planner)"
    )
    if proposal.get("error"):
        state.console.print(f"  [red]{safe(proposal['error'], multiline=True)}[/]")
    for number, step in enumerate(proposal.get("steps") or [], 1):
        state.console.print(f"  {number:>3}. {safe(step_text(step))}")
    for note in proposal.get("notes") or []:
        state.console.print(f"  [dim]note: {safe(note)}[/]")
    usage = proposal.get("usage") or {}
    if usage.get("model_calls"):
        state.console.print(
            f"  [dim]{safe(usage.get('input_tokens'))} tokens in, {safe(usage.get('output_tokens'))} out, "
            f"{safe(usage.get('latency_ms'))} ms, ~${float(usage.get('cost_usd') or 0):.4f}[/]"
        )
    if status == "ready":
        state.console.print(f"  accept it: [bold]autotest plans accept {safe(proposal['id'])}[/]")
    elif status == "accepted" and proposal.get("accepted_revision"):
        state.console.print(f"  accepted as revision {safe(proposal['accepted_revision'])}")


@plans_group.command("request")
@click.argument("test_id", type=TEST_ID_ARG)
@click.option("--revision", type=click.IntRange(min=1), help="Plan this revision's goal (default: the latest).")
@click.option("--wait", is_flag=True, help="Wait until the planner answers (ready or failed).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds to wait with --wait.")  # fmt: skip
@json_option
@pass_state
def request_plan(
    state: CliState, test_id: str, revision: int | None, wait: bool, timeout_s: float, as_json: bool
) -> None:
    """Ask the planner for a plan of a test's goal (a plan proposal). Exit 1 when it failed."""
    client = state.client()
    body = {"revision": revision} if revision is not None else {}
    proposal = client.post(f"/v1/tests/{test_id}/plans", body)
    if wait:
        deadline = time.monotonic() + timeout_s
        while proposal.get("status") == "pending":
            if time.monotonic() > deadline:
                raise CliError(f"plan proposal {visible(proposal['id'])} is still pending after {timeout_s:g}s")
            time.sleep(POLL_S)
            proposal = client.get(f"/v1/plans/{proposal['id']}")
    if as_json:
        print_json(state, proposal)
    else:
        print_proposal(state, proposal)
    if proposal.get("status") == "failed":
        raise click.exceptions.Exit(1)


@plans_group.command("show")
@click.argument("plan_id", type=PLAN_ID_ARG)
@json_option
@pass_state
def show_plan(state: CliState, plan_id: str, as_json: bool) -> None:
    """A plan proposal: its status and steps (or why it failed)."""
    proposal = state.client().get(f"/v1/plans/{plan_id}")
    if as_json:
        print_json(state, proposal)
    else:
        print_proposal(state, proposal)


def _print_revision(state: CliState, revision: dict[str, Any], what: str) -> None:
    state.console.print(
        f"saved revision {safe(revision['revision'])} of {safe(revision['test_id'])}  [dim]({safe(what)})[/]"
    )
    if revision.get("note"):
        state.console.print(f"  [dim]{safe(revision['note'])}[/]")


@plans_group.command("accept")
@click.argument("plan_id", type=PLAN_ID_ARG)
@json_option
@pass_state
def accept_plan(state: CliState, plan_id: str, as_json: bool) -> None:
    """Accept a ready plan proposal: the test's next revision holds its steps."""
    revision = state.client().post(f"/v1/plans/{plan_id}/accept")
    if as_json:
        print_json(state, revision)
    else:
        _print_revision(state, revision, f"{len(revision.get('steps') or [])} steps")


@click.group("heals")
def heals_group() -> None:
    """Targets a run healed (found again after the page changed)."""


@heals_group.command("accept")
@click.argument("run_id", type=RUN_ID_ARG)
@json_option
@pass_state
def accept_heals(state: CliState, run_id: str, as_json: bool) -> None:
    """Write a run's healed targets into a new revision of its test."""
    revision = state.client().post(f"/v1/runs/{run_id}/heals/accept")
    if as_json:
        print_json(state, revision)
    else:
        _print_revision(state, revision, f"the heals of {run_id}")
