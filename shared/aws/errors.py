"""Translate botocore errors into domain errors (by error code, never by message text)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import Conflict, NotFound, Unavailable

_CONFLICT = {
    "ConditionalCheckFailedException",
    "TransactionCanceledException",
    "TransactionConflictException",
}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translate(what: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in _CONFLICT:
            raise Conflict(f"{what}: the item changed meanwhile", details={"aws_code": code}) from exc
        if code in _NOT_FOUND:
            raise NotFound(f"{what}: not found") from exc
        raise Unavailable(f"{what}: AWS error {code}", details={"aws_code": code}) from exc
    except BotoCoreError as exc:
        raise Unavailable(f"{what}: {type(exc).__name__}") from exc
