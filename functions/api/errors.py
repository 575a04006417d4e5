"""Every error leaves the API as ``{"error": {"code", "message", "details"}}`` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Throttled,
    Unauthorized,
    Unavailable,
)
from shared.models.common import Model
from shared.models.validation import describe_errors
from shared.observability import logger

_STATUS: list[tuple[type[DomainError], int]] = [
    (PayloadTooLarge, 413),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Throttled, 429),
    (Unavailable, 503),
]
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "throttled",
}


class ErrorDetail(Model):
    """What went wrong."""

    code: str
    """Machine-readable, one per kind of error: `malformed_json` (400), `unauthorized` (401), `forbidden` (403),
    `not_found` (404), `conflict` (409), `payload_too_large` (413), `validation_error` and `invalid_input`
    (422), `throttled` (429), `unavailable` (503), `internal` (500: a bug), ..."""
    message: str
    """What went wrong and where, for a person (a 422 names the field: `body.steps[2].url: Field required`)."""
    details: Any = None
    """More, where there is more: for a 400 or 422, every failing field as `[{"loc", "msg", "type"}]`
    (`loc` like `body.steps[2].url`, `query.limit`, `path.name`); for some others an object about the error
    (a 409's `{"status": "passed"}`); else null."""


class ErrorBody(Model):
    """Every error response has this body, whatever its status (FastAPI's `{"detail": ...}` is never sent)."""

    error: ErrorDetail
    """The error."""


#: documented on every /v1 route (OpenAPI)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed JSON"),
        (401, "Missing or invalid API key"),
        (403, "The key may not do this"),
        (404, "Not found in the key's project"),
        (409, "Conflicts with the current state (e.g. an illegal status change)"),
        (413, "The body (or what it would store) is too large"),
        (422, "Invalid input: the message and details say which field and why"),
        (503, "A dependency (queue, store) is unavailable: try again"),
    )
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int, code: str, message: str, details: Any = None, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = describe_errors(exc.errors())
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "malformed_json", "the request body is not valid JSON", details)
    shown = "; ".join(f"{d['loc']}: {d['msg']}" for d in details[:5])
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return error_response(422, "validation_error", shown + more, details)


def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, Throttled) else None
    return error_response(status, exc.code, exc.message, exc.details, headers=headers)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = str(exc.detail)
    if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
        message = f"no route {request.method} {request.url.path}"
    return error_response(exc.status_code, code, message)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", path=request.url.path)
    correlation = getattr(request.state, "correlation_id", None)
    return error_response(
        500,
        "internal",
        f"internal error (correlation id {correlation}); this is a bug",
        # this response leaves through Starlette's outermost middleware, past CorrelationIdMiddleware
        headers={"X-Correlation-Id": correlation} if correlation else None,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
