"""Translate botocore errors into domain errors (by error code, never by message text)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import Conflict, InvalidInput, NotFound, Unavailable

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
        if code == "TransactionCanceledException":
            reasons = {str(r.get("Code")) for r in exc.response.get("CancellationReasons", []) if r.get("Code")}
            reasons.discard("None")
            if reasons & {"ConditionalCheckFailed", "TransactionConflict"} or not reasons:
                raise Conflict(f"{what}: the item changed meanwhile", details={"aws_code": code}) from exc
            if "ValidationError" in reasons:
                raise InvalidInput(f"{what}: the data cannot be stored", details={"aws_code": code}) from exc
            raise Unavailable(f"{what}: AWS error {code} ({', '.join(sorted(reasons))})") from exc
        if code in _CONFLICT:
            raise Conflict(f"{what}: the item changed meanwhile", details={"aws_code": code}) from exc
        if code in _NOT_FOUND:
            raise NotFound(f"{what}: not found") from exc
        if code == "ValidationException":  # DynamoDB's: the request cannot be carried out as it is (too large)
            raise InvalidInput(f"{what}: the data cannot be stored", details={"aws_code": code}) from exc
        raise Unavailable(f"{what}: AWS error {code}", details={"aws_code": code}) from exc
    except BotoCoreError as exc:
        raise Unavailable(f"{what}: {type(exc).__name__}") from exc
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else ""
        shown = "".join(f"\\u{ord(c):04x}" for c in bad)
        raise InvalidInput(
            f"{what}: the text holds an unpaired UTF-16 surrogate ({shown}), which cannot be stored"
        ) from exc
