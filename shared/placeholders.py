"""``{{name}}`` and ``{{secret:NAME}}`` placeholders: which a test uses, and which of its variables nothing defines.

The same reading serves the API, which warns when a test is saved with a variable nothing defines (it may still
come from the run: ``--var``, ``--data``, a suite's or a schedule's variables), and the runner, which fails the
step that needs a variable no one gave (``runner_container/runner/render.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from shared.models.secrets import NAME_CHARS

if TYPE_CHECKING:  # (the step models check JSONPaths, which import PLACEHOLDER from here)
    from shared.models.plans import Step

#: ``{{name}}`` or ``{{secret:NAME}}``; the names secrets may have are the ones this accepts
PLACEHOLDER = re.compile(rf"\{{\{{\s*(secret\s*:\s*)?({NAME_CHARS})\s*\}}\}}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def placeholders(value: Any) -> tuple[set[str], set[str]]:
    """``(variable names, secret names)`` referenced anywhere in ``value`` (a step dump, a string...)."""
    variables: set[str] = set()
    secrets: set[str] = set()
    for text in _strings(value):
        for match in PLACEHOLDER.finditer(text):
            (secrets if match.group(1) else variables).add(match.group(2))
    return variables, secrets


def step_data(step: Step) -> dict[str, Any]:
    """A step as its JSON form (the fields given), with its action."""
    data = step.model_dump(by_alias=True, exclude_unset=True, mode="json")
    data["action"] = step.action
    return data


def produced(step: Step) -> set[str]:
    """Variables a step defines for the steps after it."""
    if step.action == "extract":
        return {step.var}
    if step.action == "request":
        return set(step.extract)
    return set()


def undefined(steps: list[Step], variables: Iterable[str], *, start_url: str | None = None) -> list[str]:
    """Where a variable is used before anything defines it (``variables``: those defined before the first step),
    one sentence each, in order: ``step 2 (request) uses {{token}}``."""
    known = set(variables)
    problems: list[str] = []
    if start_url:
        names, _ = placeholders(start_url)
        problems += [f"start_url uses {{{{{n}}}}}" for n in sorted(names - known)]
    for index, step in enumerate(steps):
        names, _ = placeholders(step_data(step))
        problems += [f"step {index + 1} ({step.action}) uses {{{{{n}}}}}" for n in sorted(names - known)]
        known |= produced(step)
    return problems


def secrets_used(steps: list[Step], *, start_url: str | None = None) -> set[str]:
    """The names of the secrets the steps (and the start URL) use."""
    needed: set[str] = set(placeholders(start_url)[1]) if start_url else set()
    for step in steps:
        needed |= placeholders(step_data(step))[1]
    return needed


def given(variables: Iterable[str], dataset: list[dict[str, Any]] | None) -> set[str]:
    """The variables a run of a test has before its first step: ``variables`` and the keys every row has."""
    known = set(variables)
    if dataset:
        every_row = set(dataset[0])
        for row in dataset[1:]:
            every_row &= set(row)
        known |= every_row
    return known


def save_warnings(steps: list[Step] | None, variables: Iterable[str], dataset: list[dict[str, Any]] | None, *,
                  start_url: str | None = None) -> list[str]:  # fmt: skip
    """What to tell someone saving a test whose steps use variables it does not define: its ``variables`` and
    the keys every dataset row has count as defined. A warning, not an error: a run may bring them (``--var``,
    ``--data``, a suite's or a schedule's variables); a run that does not fails at the step that needs one."""
    if not steps:
        return []
    known = given(variables, dataset)
    return [
        f"{problem}, which nothing in the test defines: give it in `variables` (or every dataset row), or when "
        "the test runs (`--var`, `--data`), or the step fails then"
        for problem in undefined(steps, known, start_url=start_url)
    ]
