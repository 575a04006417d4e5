"""Opaque cursors: a base64url JSON of a store's resume position, bound to the query it came from,
so a cursor can neither be forged into another project's partition nor reused with other filters."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from shared.errors import InvalidInput


def scope_of(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def encode_cursor(position: dict[str, Any], scope: str) -> str:
    raw = json.dumps({"p": position, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, got_scope = data["p"], data["s"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("cursor: not a cursor this API returned", details={"field": "cursor"}) from exc
    if got_scope != scope or not isinstance(position, dict):
        raise InvalidInput(
            "cursor: this cursor belongs to a different query (filters or sort changed)",
            details={"field": "cursor"},
        )
    return position
