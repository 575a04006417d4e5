"""The FastAPI app. ``create_app()`` builds no clients: services are resolved per request through
``deps.services_dep`` (cached per process), or handed in by the caller (local mode, tests)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from fastapi_offline import FastAPIOffline

from functions.api import errors, ui
from functions.api.deps import services_dep
from functions.api.middleware import AuditHeaderMiddleware, BodyLimitMiddleware, CorrelationIdMiddleware
from functions.api.routes import (
    artifacts,
    audit,
    events,
    failures,
    github,
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


#: routes that take no API key: an artifact's link carries its own signed token; GitHub signs its webhook
KEYLESS_ROUTES = frozenset(
    {("GET", "/v1/artifacts/{token}/{name:path}"), ("POST", "/v1/integrations/github/webhook/{project_id}")}
)


def _roles_of(dependant: Dependant) -> set[str]:
    found = set()
    for sub in dependant.dependencies:
        role = getattr(sub.call, "required_role", None)
        if role:
            found.add(role)
        found |= _roles_of(sub)
    return found


def declare_roles(router: APIRouter) -> None:
    """Every ``/v1`` route needs exactly one role (``deps.ViewerDep`` ... ``AdminDep``, ``BootstrapDep``), shown in
    its OpenAPI operation as ``x-required-role`` and in its description; a route with none or two is a bug found
    here, when the app is built, not by a caller."""
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/v1/"):
            continue
        methods = sorted(route.methods or ())
        keyless = all((method, route.path) in KEYLESS_ROUTES for method in methods)
        roles = _roles_of(route.dependant)
        if keyless:
            if roles:
                raise RuntimeError(f"{route.path} takes no key but declares the role {roles}")
            continue
        if len(roles) != 1:
            raise RuntimeError(f"{methods} {route.path} must declare exactly one role, not {roles}")
        (role,) = roles
        if (route.openapi_extra or {}).get("x-required-role") == role:
            continue  # declared by an app built before
        route.openapi_extra = {**(route.openapi_extra or {}), "x-required-role": role}
        needs = f"Needs a key with the role `{role}` or above." if role != "bootstrap" else "Needs the bootstrap key."
        route.description = f"{route.description}\n\n{needs}".strip() if route.description else needs


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
        audit.router,
        failures.router,
        github.router,
    )
    for router in routers:
        declare_roles(router)
        app.include_router(router, responses=errors.ERROR_RESPONSES)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    settings = get_settings()
    ui.install(app, settings, session_key=ui_session_key)
    if services is not None:
        app.dependency_overrides[services_dep] = lambda: services
    limit = max_body_bytes if max_body_bytes is not None else settings.max_body_bytes
    webhook_limit = max(limit, settings.github_max_body_bytes)  # a push's payload can be larger than a test
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=limit,
        path_limits={
            "/v1/integrations/github/webhook/": webhook_limit,
            "/v1/imports/": max(limit, settings.import_max_body_bytes),  # whole OpenAPI documents, collections
        },
    )
    app.add_middleware(AuditHeaderMiddleware)
    app.add_middleware(CorrelationIdMiddleware)
    return app
