"""Pure ASGI middleware: request body limit (413) and correlation ids."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.api.errors import error_body
from shared.ids import new_id


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int] | None = None) -> None:
        """``path_limits``: other limits for the paths that start with a key (GitHub's webhook)."""
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        max_bytes = next((n for prefix, n in self.path_limits.items() if path.startswith(prefix)), self.max_bytes)
        too_large = error_body("payload_too_large", f"the request body is larger than the limit of {max_bytes} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await _send_json(send, 413, too_large)
                return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > max_bytes:
                await _send_json(send, 413, too_large)
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class CorrelationIdMiddleware:
    """Carry ``X-Correlation-Id`` (or a new one) into request state and back in the response."""

    header = b"x-correlation-id"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(self.header, b"").decode("latin-1")[:64]
        plain = incoming.isascii() and incoming.replace("-", "").replace("_", "").isalnum()
        correlation_id = incoming if plain else new_id("cor")
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (self.header, correlation_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


#: the request state's key under which the ids of audit records not stored are noted (``deps.recorder_of``)
UNRECORDED_STATE = "audit_unrecorded"


class AuditHeaderMiddleware:
    """Answer ``X-Audit-Unrecorded: <record ids>`` when a write's audit record could not be stored (the change
    was made; the record is in the error log: ``shared/services/audit.py``)."""

    header = b"x-audit-unrecorded"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                ids = scope.get("state", {}).get(UNRECORDED_STATE)
                if ids:
                    message["headers"] = [*message.get("headers", []), (self.header, ",".join(ids).encode())]
            await send(message)

        await self.app(scope, receive, send_with_note)
