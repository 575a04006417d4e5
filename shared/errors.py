"""Domain errors. Adapters translate AWS errors into these; the API maps them to status codes."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state (e.g. an illegal status transition)."""

    code = "conflict"


class InvalidInput(DomainError):
    """Input that parsed but makes no sense (a bad cursor, a revision that doesn't exist yet...)."""

    code = "invalid_input"


class PayloadTooLarge(InvalidInput):
    """Valid, but too large to store (DynamoDB items are limited to 400 KB)."""

    code = "payload_too_large"


class InvalidPlan(InvalidInput):
    code = "invalid_plan"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class Throttled(DomainError):
    """Too much at once from one caller (too many open event streams): refused until some end."""

    code = "throttled"

    def __init__(self, message: str, *, details: Any = None, retry_after_s: int = 5) -> None:
        super().__init__(message, details=details)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """A dependency (queue, bus) failed after retries; the caller may try again."""

    code = "unavailable"


class NotAllQueued(Unavailable):
    """Some runs of a batch were sent, the rest could not be (they were recorded as ``error``): ``unsent``."""

    def __init__(self, message: str, *, unsent: frozenset[str]) -> None:
        super().__init__(message)
        self.unsent = unsent
