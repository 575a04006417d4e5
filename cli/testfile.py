"""Test files: YAML or JSON, the same shape as ``POST /v1/tests`` (see ``shared.models.tests.TestCreate``).

Files are checked locally before anything is sent, so a typo is reported with its file and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cli.client import CliError
from shared.models.tests import TestCreate

SUFFIXES = (".yaml", ".yml", ".json")


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_test_file(path: Path) -> dict[str, Any]:
    """The test file as a dict ready to send (validated against ``TestCreate``)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(f"{path}: not valid {kind}: {first}") from exc
    if not isinstance(data, dict):
        raise CliError(f"{path}: a test file is a mapping with 'name' and 'steps' (or 'goal')")
    try:
        TestCreate.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CliError(f"{path}: {_where(error['loc']) or 'file'}: {error['msg']}{more}") from exc
    return data


def looks_like_file(arg: str) -> bool:
    return Path(arg).suffix.lower() in SUFFIXES or Path(arg).is_file()
