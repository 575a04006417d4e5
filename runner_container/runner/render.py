"""Placeholders: checking a plan's references and rendering its steps.

``{{name}}`` is a variable (run variables, the dataset row, values extracted by earlier steps);
``{{secret:NAME}}`` is a secret of the run's project (:class:`~shared.services.secrets.Secrets`). Secret values
are known to a :class:`~runner_container.runner.masking.Masker` as soon as they are loaded, and everything the
runner records (step results, errors, logs, variables, traces) goes through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from runner_container.runner.masking import Masker
from shared.errors import InvalidInput
from shared.models.common import MAX_RENDERED_CHARS, RENDERED
from shared.models.plans import Step
from shared.placeholders import PLACEHOLDER, placeholders, produced, step_data
from shared.services.secrets import Secrets

__all__ = ["PLACEHOLDER", "RenderError", "Renderer", "load_secrets", "placeholders", "produced"]

_STEP = TypeAdapter[Step](Step)


class RenderError(InvalidInput):
    """A placeholder that cannot be filled (unknown variable, undefined secret) or renders to an invalid step."""

    code = "render_error"


def load_secrets(names: Iterable[str], secrets: Secrets, *, project_id: str) -> dict[str, str]:
    """Fetch every named secret of the run's project; one error names all the missing ones and how to set them."""
    names = set(names)
    if not names:
        return {}
    try:
        return secrets.resolve(project_id, names)
    except InvalidInput as exc:  # not defined in this project, or cannot be read
        raise RenderError(exc.message, details=exc.details) from exc


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


class Renderer:
    def __init__(self, variables: dict[str, Any], secrets: dict[str, str], masker: Masker) -> None:
        self.variables = dict(variables)
        self._secrets = secrets
        self.masker = masker
        for value in secrets.values():
            masker.add(value)

    def _lookup(self, secret: bool, name: str) -> Any:
        if secret:
            if name not in self._secrets:
                raise RenderError(f"secret {name!r} was not loaded for this run")
            return self._secrets[name]
        if name not in self.variables:
            defined = ", ".join(sorted(self.variables)) or "none"
            raise RenderError(
                f"undefined variable {{{{{name}}}}}: neither the test, the run, its dataset row nor an earlier "
                f"step's extract defines it (defined: {defined})"
            )
        return self.variables[name]

    def render(self, text: str) -> str:
        """``text`` with its placeholders filled in. What it would grow to is counted before it is built: past
        :data:`MAX_RENDERED_CHARS` it is an error, not gigabytes (a large extracted value used many times)."""
        pieces: list[str] = []
        pos = size = 0
        for match in PLACEHOLDER.finditer(text):
            value = as_text(self._lookup(bool(match.group(1)), match.group(2)))
            size += match.start() - pos + len(value)
            if size > MAX_RENDERED_CHARS:
                raise RenderError(
                    f"the text would be over {MAX_RENDERED_CHARS // 1024} KB once its placeholders are filled in "
                    f"({{{{{match.group(2)}}}}} and those before it); use smaller values or fewer of them"
                )
            pieces += [text[pos : match.start()], value]
            pos = match.end()
        pieces.append(text[pos:])
        return "".join(pieces)

    def render_data(self, value: Any, *, typed: bool) -> Any:
        """Render every string in ``value``. With ``typed``, a string that is exactly one variable
        placeholder takes the variable's own type (``"{{count}}"`` -> ``3``)."""
        if isinstance(value, str):
            match = PLACEHOLDER.fullmatch(value.strip()) if typed else None
            if match and not match.group(1):
                return self._lookup(False, match.group(2))
            return self.render(value)
        if isinstance(value, dict):
            return {k: self.render_data(v, typed=typed) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render_data(v, typed=typed) for v in value]
        return value

    def render_step(self, step: Step) -> Step:
        data = step_data(step)
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "action":
                out[key] = value
            elif key == "json":
                out[key] = self.render_data(value, typed=True)
            elif key == "expect":
                out[key] = [
                    {k: self.render_data(v, typed=k in ("equals", "contains")) for k, v in item.items()}
                    for item in value
                ]
            else:
                out[key] = self.render_data(value, typed=False)
        try:
            return _STEP.validate_python(out, context=RENDERED)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_input=False)
            )
            raise RenderError(self.masker.text(f"step {step.action} is invalid after rendering: {problems}")) from exc
