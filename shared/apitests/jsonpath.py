"""A small JSONPath subset, enough for extraction and assertions on API responses.

Supported: ``$`` (the document), ``.name`` and ``['name']`` (a member), ``[0]`` / ``[-1]`` (an array
index), ``[*]`` / ``.*`` (every element or member) and ``..name`` (a member at any depth).
Filters, slices and unions are not supported and are reported as errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput

_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_WILD_BRACKET = re.compile(r"\[\s*\*\s*\]")


@dataclass(frozen=True)
class _Seg:
    kind: str  # "member" | "index" | "wild" | "descend"
    value: Any = None


class JsonPathError(InvalidInput):
    code = "invalid_jsonpath"


def parse(path: str) -> list[_Seg]:
    text = path.strip()
    if not text.startswith("$"):
        raise JsonPathError(f"JSONPath {path!r} must start with '$'", details={"jsonpath": path})
    pos, segs = 1, []
    while pos < len(text):
        rest = text[pos:]
        if rest.startswith(".."):
            m = _NAME.match(text, pos + 2)
            if not m:
                raise _error(path, pos, "expected a member name after '..'")
            segs.append(_Seg("descend", m.group(0)))
            pos = m.end()
        elif rest.startswith(".*"):
            segs.append(_Seg("wild"))
            pos += 2
        elif rest.startswith("."):
            m = _NAME.match(text, pos + 1)
            if not m:
                raise _error(path, pos, "expected a member name after '.'")
            segs.append(_Seg("member", m.group(0)))
            pos = m.end()
        elif m := _INDEX.match(text, pos):
            segs.append(_Seg("index", int(m.group(1))))
            pos = m.end()
        elif m := _QUOTED.match(text, pos):
            raw = m.group(1) if m.group(1) is not None else m.group(2)
            segs.append(_Seg("member", re.sub(r"\\(.)", r"\1", raw)))
            pos = m.end()
        elif m := _WILD_BRACKET.match(text, pos):
            segs.append(_Seg("wild"))
            pos = m.end()
        else:
            raise _error(path, pos, "unsupported syntax (supported: .name ['name'] [0] [*] ..name)")
    return segs


def _error(path: str, pos: int, what: str) -> JsonPathError:
    return JsonPathError(f"JSONPath {path!r} at position {pos}: {what}", details={"jsonpath": path})


def query(document: Any, path: str) -> list[Any]:
    """Every value ``path`` selects in ``document`` (an empty list when nothing matches)."""
    current = [document]
    for seg in parse(path):
        nxt: list[Any] = []
        for node in current:
            if seg.kind == "member":
                if isinstance(node, dict) and seg.value in node:
                    nxt.append(node[seg.value])
            elif seg.kind == "index":
                if isinstance(node, list) and -len(node) <= seg.value < len(node):
                    nxt.append(node[seg.value])
            elif seg.kind == "wild":
                if isinstance(node, list):
                    nxt.extend(node)
                elif isinstance(node, dict):
                    nxt.extend(node.values())
            else:
                nxt.extend(_descend(node, seg.value))
        current = nxt
    return current


def _descend(node: Any, name: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, dict):
        if name in node:
            found.append(node[name])
        for value in node.values():
            found.extend(_descend(value, name))
    elif isinstance(node, list):
        for value in node:
            found.extend(_descend(value, name))
    return found


def is_definite(path: str) -> bool:
    """True when ``path`` selects at most one value (no wildcards, no recursive descent)."""
    return all(seg.kind in ("member", "index") for seg in parse(path))
