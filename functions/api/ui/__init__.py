"""The web dashboard at ``/ui``: server-rendered pages (Jinja2, autoescaped) over the same services as the JSON
API, a little JavaScript of our own for live updates (``static/ui.js``), and Playwright's trace viewer served
from the installed package (``trace.py``). :func:`install` adds it to the API app.

Every ``/ui`` response carries a Content-Security-Policy that allows scripts, styles and fetches from this
origin only (no inline script at all), and images and video also from the artifact bucket (large artifacts are
a redirect to their presigned link); errors on these pages are HTML pages with the JSON API's status codes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.api import errors
from functions.api.ui import pages
from functions.api.ui.session import Sessions, session_key_of
from shared.errors import DomainError
from shared.models.validation import describe_errors
from shared.observability import logger
from shared.settings import Settings

STATIC = Path(__file__).parent / "static"
#: the trace viewer sets its own policy (it needs workers and frames)
_OWN_POLICY = ("/ui/trace/",)


def artifact_origins(settings: Settings) -> list[str]:
    """Where a presigned artifact link points (the bucket's origins), for the pages' image and media sources."""
    if settings.aws_endpoint_url:
        parts = urlsplit(settings.aws_endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}"]
    bucket, region = settings.artifact_bucket, settings.aws_region
    return [f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com"]


def content_security_policy(settings: Settings) -> str:
    media = " ".join(["'self'", *artifact_origins(settings)])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src {media} data:; media-src {media}; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    )


class SecurityHeadersMiddleware:
    """Adds the dashboard's CSP and the usual hardening headers to ``/ui`` responses that set none."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/ui" or path.startswith("/ui/")) or path.startswith(_OWN_POLICY):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.headers if name not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_ui(request: Request) -> bool:
    path = request.url.path
    return path == "/ui" or path.startswith("/ui/")


def _wants_html(request: Request) -> bool:
    return request.headers.get("x-requested-with") != "fetch"


def _error_page(request: Request, status: int, message: str) -> Response:
    if not _wants_html(request):
        return errors.error_response(status, "error", message)
    return pages.render("error.html.j2", status_code=status, status=status, message=message)


def install(app: FastAPI, settings: Settings, *, session_key: bytes | None = None) -> None:
    """Add the dashboard to ``app``: its pages, its static files, the trace viewer, its headers and error pages.
    ``session_key``: the cookie signing key (default: the settings', read when first needed)."""
    from functions.api.ui import failures, trace

    app.state.ui_sessions = Sessions(session_key or session_key_of(settings), ttl_s=settings.ui_session_ttl_s)
    app.state.ui_inline_artifact_bytes = settings.ui_inline_artifact_bytes
    app.include_router(pages.router)
    app.include_router(failures.router)
    app.include_router(trace.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_middleware(SecurityHeadersMiddleware, policy=content_security_policy(settings))

    def login_required(request: Request, exc: Exception) -> Response:
        if not _wants_html(request):
            return errors.error_response(401, "unauthorized", "log in again: the dashboard's session has ended")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/ui/runs"
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)

    def domain(request: Request, exc: Exception) -> Response:
        if not _is_ui(request):
            return errors._domain(request, exc)
        assert isinstance(exc, DomainError)
        status = next((code for cls, code in errors._STATUS if isinstance(exc, cls)), 400)
        return _error_page(request, status, exc.message)

    def validation(request: Request, exc: Exception) -> Response:
        if not _is_ui(request):
            return errors._validation(request, exc)
        assert isinstance(exc, RequestValidationError)
        details = describe_errors(exc.errors())
        shown = "; ".join(f"{d['loc']}: {d['msg']}" for d in details[:5])
        return _error_page(request, 422, shown)

    def http(request: Request, exc: Exception) -> Response:
        if not _is_ui(request):
            return errors._http(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"there is no page {request.url.path}"
        return _error_page(request, exc.status_code, message)

    def unexpected(request: Request, exc: Exception) -> Response:
        if not _is_ui(request):
            return errors._unexpected(request, exc)
        logger.exception("unhandled error", path=request.url.path)
        correlation = getattr(request.state, "correlation_id", None)
        return _error_page(request, 500, f"internal error (correlation id {correlation}); this is a bug")

    app.add_exception_handler(pages.LoginRequired, login_required)
    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, unexpected)
