"""The FastAPI app. ``create_app()`` builds no clients: services are resolved per request through
``deps.services_dep`` (cached per process), or handed in by the caller (local mode, tests)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from functions.api import errors, ui
from functions.api.deps import services_dep
from functions.api.middleware import BodyLimitMiddleware, CorrelationIdMiddleware
from functions.api.routes import (
    artifacts,
    events,
    imports,
    notifications,
    plans,
    projects,
    runs,
    schedules,
    secrets,
    stats,
    suites,
    tests,
)
from shared.services.container import Services
from shared.settings import get_settings

DESCRIPTION = """Test-automation job runner on AWS primitives: browser tests (step plans run in
Chromium) and API tests. Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`;
every read and write is scoped to the key's project. Errors are
`{"error": {"code", "message", "details"}}`."""


#: where /docs finds Swagger UI's script, stylesheet and icon: served by this app from the installed
#: fastapi-offline package (not a CDN), so /docs renders with no internet and ships in the Lambda package
DOCS_ASSETS_URL = "/docs/assets"


def create_app(
    services: Services | None = None, *, max_body_bytes: int | None = None, ui_session_key: bytes | None = None
) -> FastAPI:
    """The API app with its dashboard (``/ui``). ``ui_session_key``: the dashboard's cookie signing key (default:
    the settings', read from Secrets Manager when first needed)."""
    app = FastAPIOffline(
        title="autotest",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        static_url=DOCS_ASSETS_URL,
    )
    errors.install(app)
    routers = (
        tests.router,
        plans.router,
        runs.router,
        events.router,
        projects.router,
        secrets.router,
        artifacts.router,
        suites.router,
        stats.router,
        schedules.router,
        notifications.router,
        imports.router,
    )
    for router in routers:
        app.include_router(router, responses=errors.ERROR_RESPONSES)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    settings = get_settings()
    ui.install(app, settings, session_key=ui_session_key)
    if services is not None:
        app.dependency_overrides[services_dep] = lambda: services
    limit = max_body_bytes if max_body_bytes is not None else settings.max_body_bytes
    app.add_middleware(BodyLimitMiddleware, max_bytes=limit)
    app.add_middleware(CorrelationIdMiddleware)
    return app
