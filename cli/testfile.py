"""Test files: YAML or JSON, the same shape as ``POST /v1/tests`` (see ``shared.models.tests.TestCreate``).

Files are checked locally before anything is sent, so a typo is reported with its file and field. YAML is
read by ``shared.safeyaml`` (the safe loader, with alias expansion bounded: no "billion laughs").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cli.client import CliError

SUFFIXES = (".yaml", ".yml", ".json")
#: validation problems shown for one file (all of them are fixed before it is sent)
MAX_PROBLEMS = 20


def load_test_file(path: Path) -> dict[str, Any]:
    """The test file as a dict ready to send (validated against ``TestCreate``)."""
    # imported here: the models take a quarter of a second to build, and most commands read no file
    from pydantic import ValidationError

    from shared.models.tests import TestCreate
    from shared.models.validation import describe_errors

    data = read_test_file(path)
    try:
        TestCreate.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc.errors())
        lines = [f"{_where(p['loc'])}: {p['msg']}" for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"... and {len(problems) - MAX_PROBLEMS} more")
        where = f"{path}: " if len(lines) == 1 else f"{path}: {len(problems)} problems\n  "
        raise CliError(where + "\n  ".join(lines)) from exc
    return data


def read_test_file(path: Path) -> dict[str, Any]:
    """The test file's mapping, parsed (YAML or JSON by its suffix) but not yet validated."""
    import yaml

    from shared import safeyaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else safeyaml.load(text)
    except safeyaml.AliasLimitExceeded as exc:
        raise CliError(f"{path}: refused: {_parse_problem(exc)}") from exc
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise CliError(f"{path}: not valid {kind}: {_parse_problem(exc)}") from exc
    except RecursionError as exc:  # the parsers recurse once per level of nesting
        raise CliError(f"{path}: refused: it nests too deep to be a test file") from exc
    if not isinstance(data, dict):
        raise CliError(f"{path}: a test file is a mapping with 'name' and 'steps' (or 'goal')")
    return data


def _where(loc: str) -> str:
    """A location as the file's reader counts: ``steps[1].target`` is step 2, as the run's output calls it."""
    match = re.match(r"steps\[(\d+)\]", loc)
    if match is None:
        return loc or "the file"
    return f"{loc} (step {int(match.group(1)) + 1})"


def _parse_problem(exc: Exception) -> str:
    """The parser's complaint with its line and column, on one line."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f" ({exc.context})" if exc.context else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}{context}"
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def looks_like_file(arg: str) -> bool:
    return Path(arg).suffix.lower() in SUFFIXES or Path(arg).is_file()
