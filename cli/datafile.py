"""Data files for ``autotest run --data``: the rows of a data-driven run, from CSV or JSON.

A CSV file's header row names the variables and every later row is one dataset row (values are text: CSV has no
types). A JSON file is an array of objects, as Newman's ``-d`` takes it; values keep their JSON types (strings,
numbers, booleans). Every problem names the file, the line (CSV) or row (JSON) and the column, before anything is
sent.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from cli.client import CliError

#: as the API takes them (``shared/models/common.py`` VarName; the CLI does not import the server's models)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
MAX_ROWS = 1000
MAX_COLUMNS = 200
MAX_BYTES = 50 * 1024 * 1024


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The dataset rows in ``path`` (``.csv``, or ``.json``; another suffix is read as JSON when it parses)."""
    if not path.is_file():
        raise CliError(f"{path}: no such data file")
    if path.stat().st_size > MAX_BYTES:
        raise CliError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB; a run takes up to {MAX_ROWS} rows")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8") from exc
    rows = _csv_rows(path, text) if path.suffix.lower() == ".csv" else _json_rows(path, text)
    if not rows:
        raise CliError(f"{path}: no rows; a data file needs at least one")
    if len(rows) > MAX_ROWS:
        raise CliError(f"{path}: {len(rows)} rows, more than the {MAX_ROWS} a run takes; split the file")
    return rows


def _csv_rows(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CliError(f"{path}: empty; the first line names the variables (id,name,...)")
        names = _header(path, header)
        rows: list[dict[str, Any]] = []
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line (the last one, often)
            if len(cells) != len(names):
                raise CliError(
                    f"{path}: line {line}: {len(cells)} values for {len(names)} columns ({', '.join(names)}); "
                    'quote a value that holds a comma ("a, b")'
                )
            rows.append(dict(zip(names, cells, strict=True)))
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise CliError(f"{path}: line {reader.line_num}: not valid CSV: {exc}") from exc
    return rows


def _header(path: Path, header: list[str]) -> list[str]:
    names = [cell.strip() for cell in header]
    if len(names) > MAX_COLUMNS:
        raise CliError(f"{path}: line 1: {len(names)} columns, more than the {MAX_COLUMNS} variables a row may set")
    seen: set[str] = set()
    for column, name in enumerate(names, start=1):
        if not _VAR_NAME.fullmatch(name):
            raise CliError(
                f"{path}: line 1, column {column}: {name!r} cannot be a variable name (a letter or _, then "
                "letters, digits, _ . -; at most 64)"
            )
        if name in seen:
            raise CliError(f"{path}: line 1, column {column}: {name!r} is named twice")
        seen.add(name)
    return names


def _json_rows(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "" if path.suffix.lower() == ".json" else " (a file not named .csv is read as JSON: name CSV files .csv)"
        raise CliError(f"{path}: not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}") from exc
    except RecursionError as exc:
        raise CliError(f"{path}: nested too deeply to be a data file") from exc
    if not isinstance(data, list):
        raise CliError(f'{path}: a JSON data file is an array of objects ([{{"id": 1}}, ...]), not {_kind(data)}')
    if len(data) > MAX_ROWS:
        raise CliError(f"{path}: {len(data)} rows, more than the {MAX_ROWS} a run takes; split the file")
    rows: list[dict[str, Any]] = []
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise CliError(f"{path}: row {number} is {_kind(row)}; every row is an object of variables")
        if len(row) > MAX_COLUMNS:
            raise CliError(f"{path}: row {number}: {len(row)} variables, more than the {MAX_COLUMNS} a row may set")
        for name, value in row.items():
            if not _VAR_NAME.fullmatch(name):
                raise CliError(
                    f"{path}: row {number}: {name!r} cannot be a variable name (a letter or _, then letters, "
                    "digits, _ . -; at most 64)"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise CliError(f"{path}: row {number}: {name!r} is not a finite number")
            if not isinstance(value, str | int | float | bool):
                raise CliError(
                    f"{path}: row {number}: {name!r} is {_kind(value)}; a variable holds a string, a number or a "
                    "boolean (write a list or object as a JSON string)"
                )
        rows.append(row)
    return rows


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "a string"
