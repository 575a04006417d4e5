"""Validation errors for people: where (``steps[2].url``) and what, without pydantic's internals.

Used by the API's 422 responses and by the CLI when it checks a test file before sending it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.controlchars import escape_controls
from shared.models.plans import BROWSER_ACTIONS

_STEP_TAGS = BROWSER_ACTIONS | {"request"}
_TARGET_TAGS = frozenset({"role", "label", "text", "placeholder", "test_id", "css", "description"})
_EXPECT_TAGS = frozenset({"status", "jsonpath", "header", "body", "schema", "latency", "expr"})
#: the names pydantic gives the members of a union in an error's location
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})
_TYPE_TAG_PREFIXES = (
    "constrained-",
    "function-",
    "list[",
    "dict[",
    "tagged-union[",
    "json-or-python[",
    "lax-or-strict[",
    "nullable[",
    "union[",
)


def _is_type_tag(part: str) -> bool:
    return part in _TYPE_TAGS or part.startswith(_TYPE_TAG_PREFIXES)


def format_loc(loc: Iterable[Any]) -> str:
    """``("body", "steps", 2, "goto", "url")`` -> ``body.steps[2].url``: the tags pydantic adds for
    unions (the step's action, the target's kind, ``constrained-int``...) are noise for a reader."""
    out = ""
    trail: list[Any] = []
    for part in loc:
        before = trail[-1] if trail else None
        before2 = trail[-2] if len(trail) > 1 else None
        trail.append(part)
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = escape_controls(str(part))  # a dict key from the request (labels) is shown in messages
        if (
            (isinstance(before, int) and text in _STEP_TAGS and before2 in ("steps", None, "body"))
            or (before == "target" and text in _TARGET_TAGS)
            or (isinstance(before, int) and before2 == "expect" and text in _EXPECT_TAGS)
            or _is_type_tag(text)
        ):
            continue
        out += f".{text}" if out else text
    return out


def describe_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """``{loc, msg, type}`` per failing place; the alternatives of one union field become one entry
    (``variables.a: Input should be a valid string / ... a finite number``)."""
    merged: dict[str, dict[str, str]] = {}
    for error in errors:
        where = format_loc(error.get("loc", ()))
        msg = str(error.get("msg", ""))
        if where in merged:
            if msg not in merged[where]["msg"]:
                merged[where]["msg"] += f" / {msg}"
            continue
        merged[where] = {"loc": where, "msg": msg, "type": str(error.get("type", ""))}
    return list(merged.values())
