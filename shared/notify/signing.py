"""Webhook signatures: ``X-Autotest-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with the target's secret (its text, UTF-8), of ``f"{t}.{body}"`` (the raw request body).

A receiver checks the signature with :func:`verify_signature` (or the five lines it holds: see the README) and
refuses a timestamp older than its tolerance, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Autotest-Signature"
EVENT_HEADER = "X-Autotest-Event"
DELIVERY_HEADER = "X-Autotest-Delivery"
SECRET_PREFIX = "nsec_"  # noqa: S105 (the prefix of generated secrets, not a secret)
DEFAULT_TOLERANCE_S = 300


def new_secret() -> str:
    """A random signing secret: 32 bytes, base64url, with a prefix that says what it is."""
    return SECRET_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: str | bytes, *, timestamp: int | None = None) -> str:
    """The ``X-Autotest-Signature`` header value for ``body`` sent at ``timestamp`` (default: now)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_mac(secret, t, raw)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: str | bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (the ``X-Autotest-Signature`` value) signs ``body`` (the raw request body) with
    ``secret``, at a time within ``tolerance_s`` seconds of ``now`` (either side: clocks drift). Compares in
    constant time; any malformed header is simply not valid."""
    if not header:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
