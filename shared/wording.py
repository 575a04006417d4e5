"""Small pieces of the wording of messages people read: durations, counts, why a connection failed."""

from __future__ import annotations

import errno
import os
import ssl


def seconds(value: float) -> str:
    """``9.9999`` -> ``10s``, ``0.25`` -> ``0.25s``, ``1.5`` -> ``1.5s``: a time limit as people write it, not
    as a clock left it (a step's budget is what remained of the run's time, to the microsecond)."""
    shown = round(value, 2) if value < 1 else round(value, 1)
    return f"{shown:g}s"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def connect_error(exc: BaseException | None, *, timeout_s: float | None = None) -> str:
    """Why a connection failed, in the words of the system (``connection refused``, ``no route to host``), found
    in ``exc`` or what caused it (httpx and anyio wrap the OSError, several attempts in an exception group); a
    TLS failure in OpenSSL's words (a certificate that was not accepted, and why)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc] if exc is not None else []
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, TimeoutError):
            return f"no answer within {seconds(timeout_s)}" if timeout_s else "no answer in time"
        if isinstance(current, ssl.SSLCertVerificationError):
            why = getattr(current, "verify_message", None) or "certificate verify failed"
            return f"the server's TLS certificate was not accepted: {why}"
        if isinstance(current, ssl.SSLError):  # its errno is an SSL error code, not the system's (1 is not EPERM)
            return f"TLS failed: {getattr(current, 'reason', None) or current}"
        code = getattr(current, "errno", None)
        if isinstance(code, int) and code in errno.errorcode:
            return os.strerror(code).lower()
        if isinstance(current, BaseExceptionGroup):
            todo += list(current.exceptions)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return (str(exc) or type(exc).__name__) if exc is not None else "unknown error"
