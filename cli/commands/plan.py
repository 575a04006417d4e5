"""``autotest plan FILE``: how the sentence grammar reads a plain-English test, line by line, with no server and no
browser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.client import CliError
from cli.output import safe
from cli.state import CliState, pass_state
from cli.testfile import SUFFIXES, read_test_file


@click.command("plan")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON steps (what a test file's steps hold).")
@pass_state
def plan(state: CliState, file: Path, as_json: bool) -> None:
    """Show the steps the rule planner reads from FILE: a test file (YAML or JSON) with a `goal`, or a text file
    of sentences, one step per line. Each line is printed with the step it became; a line the grammar cannot
    read is an error naming it (exit code 1). Nothing is sent anywhere, nothing runs."""
    from shared.models.planning import PlanFailed
    from shared.planning.grammar import parse_lines

    goal, note, offset = _goal_of(file)
    try:
        parsed = parse_lines(goal)
    except PlanFailed as exc:
        problems = exc.details.get("lines", [])
        if offset is not None and problems:
            message = "\n".join(f'line {p["line"] + offset}: "{p["text"]}": {p["error"]}' for p in problems)
        else:
            message = exc.message
        of = " of the goal (numbered from its first line)" if offset is None and file.suffix.lower() in SUFFIXES else ""
        raise CliError(f"{file}: the grammar cannot read {_lines(exc)}{of}:\n{message}", exit_code=1) from exc
    if as_json:
        steps = [_compact(line.step.model_dump(mode="json", exclude_none=True)) for line in parsed]
        click.echo(json.dumps(steps, indent=2, ensure_ascii=True).replace("\x7f", "\\u007f"))
        return
    if note:
        state.console.print(f"[yellow]note[/]: {safe(note)}")
    shift = offset or 0
    width = len(str(parsed[-1].line + shift))
    shown_line = 0
    for line in parsed:
        if line.line != shown_line:  # several sentences of one line: the line once, each step under it
            state.console.print(f"[dim]{line.line + shift:>{width}}[/]  {safe(line.text)}")
            shown_line = line.line
        state.console.print(f"{'':>{width}}  [green]->[/] {_step(line.step)}")
    state.console.print(f"[dim]{len(parsed)} step{'s' if len(parsed) != 1 else ''}[/]")


def _goal_of(file: Path) -> tuple[str, str | None, int | None]:
    """The sentences of ``file``, a note about them, and what to add to a goal's line number to make it the
    file's (None when the goal's lines are not the file's, as in JSON, or a folded YAML string): a test file's
    ``goal``, or a text file's lines."""
    if file.suffix.lower() not in SUFFIXES:
        try:
            return file.read_text(), None, 0
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{file}: cannot read it ({exc})") from exc
    data = read_test_file(file)
    goal = data.get("goal")
    if not isinstance(goal, str) or not goal.strip():
        raise CliError(f"{file}: it has no 'goal' to plan (the plain-English sentences, one step per line)")
    note = None
    if data.get("steps"):
        note = "this test has steps: its runs use them, not the goal; the goal reads as follows"
    return goal, note, _block_offset(file) if file.suffix.lower() != ".json" else None


def _block_offset(file: Path) -> int | None:
    """For a goal written as a YAML literal block (``goal: |``), whose lines are the file's lines from the one
    after the ``|``: what to add to a goal's line number to make it the file's."""
    import yaml

    try:  # the file parsed already (with alias expansion bounded); composing it expands nothing
        root = yaml.compose(file.read_text(), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "goal" and isinstance(value, yaml.ScalarNode) and value.style == "|":
            return int(value.start_mark.line) + 1
    return None


def _compact(step: dict[str, Any]) -> dict[str, Any]:
    """A step's JSON without its empty lists and maps (``allow_status: []``, ``headers: {}``)."""
    return {key: value for key, value in step.items() if value != [] and value != {}}


def _lines(exc: Any) -> str:
    count = len(exc.details.get("lines", []))
    return f"{count} line{'s' if count != 1 else ''}" if count else "it"


def _step(step: Any) -> str:
    """``click  Log in``, ``fill  Username = "admin"``, ``goto  /login``: the action, then its target in short
    form, then its value, URL or detail."""
    from shared.models.plans import Fill, Request, describe_step, describe_target

    parts = [f"[bold]{safe(step.action)}[/]"]
    target = getattr(step, "target", None)
    if target is not None:
        parts.append(
            safe(json.dumps(target, ensure_ascii=False) if isinstance(target, str) else describe_target(target))
        )
    if isinstance(step, Fill):
        parts.append(f"= {safe(json.dumps(step.value, ensure_ascii=False))}")
    else:
        detail = describe_step(step)
        if detail:
            parts.append(safe(detail))
    if isinstance(step, Request):
        if step.json_body is not None:
            parts.append(safe(f"json {json.dumps(step.json_body, ensure_ascii=False)}"))
        if step.body is not None:
            parts.append(safe(f"body {json.dumps(step.body, ensure_ascii=False)}"))
        statuses = [e.status for e in step.expect if hasattr(e, "status")]
        if statuses:
            parts.append(safe(f"expecting {statuses[0]}"))
    if step.timeout_s is not None:
        parts.append(safe(f"within {step.timeout_s:g}s"))
    return "  ".join(parts)
