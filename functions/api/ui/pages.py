"""The dashboard's pages (``/ui/...``): server-rendered HTML over the same services as the JSON API.

Each route is thin: it reads the session's project (:func:`viewer_dep`), asks a service, and renders a template.
Form posts (re-run, cancel, accept heals, run now, pause and resume) need the CSRF token (:func:`form_dep`);
after one, the browser is sent on to what it made (303). Errors on these pages are HTML pages with the same
status the JSON API would give (``functions/api/ui/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator

from functions.api.deps import ServicesDep, label_filters, recorder_of
from functions.api.ui import views
from functions.api.ui.session import COOKIE_PATH, CSRF_COOKIE, SESSION_COOKIE, Sessions, new_csrf_cookie
from shared.errors import Forbidden, InvalidInput, NotFound, Unauthorized, Unavailable
from shared.models.notifications import DeliveryPublic, NotificationPublic
from shared.models.projects import Principal, Role, role_allows
from shared.models.queries import RunQuery, TestQuery
from shared.models.runs import RunStatus, Trigger
from shared.models.suites import SuiteRunCreate
from shared.models.tests import TestKind, TestStatus
from shared.services.audit import AuditRecorder
from shared.services.container import Services

if TYPE_CHECKING:
    import jinja2

router = APIRouter(prefix="/ui", include_in_schema=False)

_ID = r"^[A-Za-z0-9_-]{1,64}$"
IdPath = Annotated[str, Path(pattern=_ID)]
TRIGGERS: tuple[Trigger, ...] = ("api", "cli", "suite", "schedule")
#: a run page with more than this many characters of a log shows the rest as a download only
LOG_SHOWN_BYTES = 64_000
#: a run's requests and responses are shown on its page up to this size of ``exchanges.json`` (else: its report)
EXCHANGES_SHOWN_BYTES = 2_000_000


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


#: a filter form's select left at "any" is sent as an empty value (a GET form sends every field): no filter
BlankIsNone = BeforeValidator(_blank_is_none)


class LoginRequired(Exception):
    """No session, or its key no longer authenticates: to the login page (a fetch gets a 401)."""


@cache
def _templates() -> jinja2.Environment:
    import jinja2  # (loaded by the first page rendered, not at the API's cold start)

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("functions.api.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = views.duration
    env.filters["when"] = views.when
    env.globals["artifact_path"] = views.artifact_path
    return env


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("viewer", None)
    html = _templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


def sessions_dep(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.ui_sessions
    return sessions


SessionsDep = Annotated[Sessions, Depends(sessions_dep)]


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the session key's project, and the CSRF token its forms post."""

    principal: Principal
    project_name: str
    csrf: str

    @property
    def project_id(self) -> str:
        return self.principal.project_id

    def can(self, role: Role) -> bool:
        """Whether the session's key may do what needs ``role`` (the pages show only the buttons it may use)."""
        return role_allows(self.principal.role, role)

    def require(self, role: Role) -> None:
        """A 403 naming the role, for a form posted by a key that may not (the API routes answer the same)."""
        if not self.can(role):
            raise Forbidden(
                f"this needs a key with the role {role!r} or above; this key is {self.principal.role!r}",
                details={"role_required": role, "role": self.principal.role},
            )


def viewer_dep(request: Request, services: ServicesDep, sessions: SessionsDep) -> Viewer:
    key = sessions.open(request.cookies.get(SESSION_COOKIE))
    csrf_cookie = request.cookies.get(CSRF_COOKIE)
    if key is None or not csrf_cookie:
        raise LoginRequired
    try:
        principal = services.projects.authenticate(key)
    except (Unauthorized, Forbidden):
        raise LoginRequired from None
    try:
        name = services.projects.get_project(principal.project_id).name
    except NotFound:
        name = principal.project_id
    return Viewer(principal=principal, project_name=name, csrf=sessions.csrf_token(csrf_cookie))


ViewerDep = Annotated[Viewer, Depends(viewer_dep)]


def audit_dep(request: Request, viewer: ViewerDep, services: ServicesDep) -> AuditRecorder:
    """The audit log bound to the session's key and this request: the dashboard's form posts write through the
    services directly, so each records its change as the API's routes do."""
    return recorder_of(services, viewer.principal, request)


AuditDep = Annotated[AuditRecorder, Depends(audit_dep)]


def _same_origin(request: Request) -> bool:
    """Whether a post's ``Origin`` (or, without one, its ``Referer``) is this host; a post with neither passes
    on its CSRF token alone."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def form_dep(request: Request, sessions: SessionsDep) -> dict[str, str]:
    """A form post's fields, once its CSRF token and origin are checked (a 403 otherwise)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise InvalidInput("this form takes application/x-www-form-urlencoded fields")
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
    if not _same_origin(request) or not sessions.csrf_ok(request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
        raise Forbidden("this form's CSRF token is missing or does not match: reload the page and try again")
    return fields


FormDep = Annotated[dict[str, str], Depends(form_dep)]


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a dashboard path of this site, else the runs page."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/runs"


# ------------------------------------------------------------------------------------------- login


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return _see("/ui/runs")


def _login_page(request: Request, sessions: Sessions, *, next_path: str, error: str | None, status: int) -> Response:
    csrf_cookie = request.cookies.get(CSRF_COOKIE) or new_csrf_cookie()
    response = render(
        "login.html.j2",
        status_code=status,
        csrf=sessions.csrf_token(csrf_cookie),
        next_path=_safe_next(next_path),
        error=error,
    )
    _set_cookie(request, response, CSRF_COOKIE, csrf_cookie, max_age=sessions.ttl_s)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, sessions: SessionsDep, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return _login_page(request, sessions, next_path=next or "", error=None, status=200)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, fields: FormDep, services: ServicesDep, sessions: SessionsDep) -> Response:
    key = fields.get("api_key", "").strip()
    next_path = fields.get("next", "")
    if not key:
        return _login_page(request, sessions, next_path=next_path, error="Paste an API key.", status=422)
    try:
        services.projects.authenticate(key)
    except (Unauthorized, Forbidden):
        return _login_page(
            request, sessions, next_path=next_path, error="That API key is not valid for this deployment.", status=401
        )
    response = _see(_safe_next(next_path))
    _set_cookie(request, response, SESSION_COOKIE, sessions.seal(key), max_age=sessions.ttl_s)
    return response


@router.post("/logout")
def logout(request: Request, fields: FormDep) -> Response:
    response = _see("/ui/login")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# -------------------------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunFilters:
    status: RunStatus | None
    test_id: str | None
    suite_run_id: str | None
    trigger: Trigger | None
    since: str | None
    labels: list[str]
    limit: int
    cursor: str | None

    def query(self, project_id: str) -> RunQuery:
        return RunQuery(
            project_id=project_id,
            status=self.status,
            test_id=self.test_id,
            suite_run_id=self.suite_run_id,
            trigger=self.trigger,
            since=views.since_of(self.since, datetime.now(UTC)),
            labels=label_filters(self.labels),
            limit=self.limit,
            cursor=self.cursor,
        )

    def params(self, **changes: Any) -> str:
        """The query string of these filters (with ``changes``), for links and the live refresh."""
        values: dict[str, Any] = {
            "status": self.status.value if self.status else None,
            "test_id": self.test_id,
            "suite_run_id": self.suite_run_id,
            "trigger": self.trigger,
            "since": self.since,
            "label": self.labels,
            "limit": self.limit if self.limit != 50 else None,
            "cursor": self.cursor,
        } | changes
        pairs = [(k, v) for k, v in values.items() if v not in (None, "", [])]
        return urlencode(pairs, doseq=True)


def run_filters(
    status: Annotated[RunStatus | None, Query(), BlankIsNone] = None,
    test_id: Annotated[str | None, Query(max_length=64)] = None,
    suite_run_id: Annotated[str | None, Query(max_length=64)] = None,
    trigger: Annotated[Trigger | None, Query(), BlankIsNone] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    label: Annotated[list[str] | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> RunFilters:
    return RunFilters(
        status=status,
        test_id=test_id or None,
        suite_run_id=suite_run_id or None,
        trigger=trigger,
        since=since or None,
        labels=[text for text in label or [] if text],
        limit=limit,
        cursor=cursor or None,
    )


RunFiltersDep = Annotated[RunFilters, Depends(run_filters)]


@router.get("/runs", response_class=HTMLResponse)
def runs_page(viewer: ViewerDep, services: ServicesDep, filters: RunFiltersDep) -> Response:
    page = services.runs.list_run_rows(filters.query(viewer.project_id))
    tests = services.catalog.list_tests(TestQuery(project_id=viewer.project_id, sort="name", limit=200)).items
    return render(
        "runs.html.j2",
        viewer=viewer,
        runs=page.items,
        next_cursor=page.next_cursor,
        filters=filters,
        statuses=[s.value for s in RunStatus],
        triggers=TRIGGERS,
        since_choices=list(views.SINCE_CHOICES),
        tests=tests,
        live=filters.cursor is None,
    )


@router.get("/runs/rows", response_class=HTMLResponse)
def run_rows(viewer: ViewerDep, services: ServicesDep, filters: RunFiltersDep) -> Response:
    """The runs table's rows alone: what the runs page's live refresh fetches."""
    page = services.runs.list_run_rows(filters.query(viewer.project_id))
    return render("_run_rows.html.j2", viewer=viewer, runs=page.items)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: IdPath, viewer: ViewerDep, services: ServicesDep) -> Response:
    run = services.runs.get_run(viewer.project_id, run_id)
    attempts = sorted({attempt for attempt in (_attempt_of(ref.key) for ref in run.artifacts) if attempt})
    latest = attempts[-1] if attempts else run.attempt
    files = [
        {
            "name": ref.name,
            "kind": ref.kind,
            "size": ref.size,
            "attempt": _attempt_of(ref.key),
            "href": views.artifact_path(run.id, ref.key),
        }
        for ref in run.artifacts
    ]
    latest_files = {f["name"]: f for f in files if f["attempt"] == latest}
    logs = {}
    for name in ("console.log", "network.log"):
        ref = next((r for r in run.artifacts if r.name == name and _attempt_of(r.key) == latest), None)
        if ref is not None:
            data = services.runs.read_artifact(ref).data
            logs[name] = {
                "text": data[:LOG_SHOWN_BYTES].decode("utf-8", errors="replace"),
                "cut": len(data) > LOG_SHOWN_BYTES,
                "href": views.artifact_path(run.id, ref.key),
            }
    steps = views.step_results(run)
    failure = views.first_failure(run)
    exchanges: dict[int, Any] = {}
    shown_ref = next((r for r in run.artifacts if r.name == "exchanges.json" and _attempt_of(r.key) == latest), None)
    if shown_ref is not None and shown_ref.size <= EXCHANGES_SHOWN_BYTES:
        exchanges = views.exchanges_of(services.runs.read_artifact(shown_ref).data, row=bool(run.iterations))
    trace = latest_files.get("trace.zip")
    trace_url = f"/ui/trace/index.html?trace={quote(str(trace['href']), safe='/')}" if trace else None
    return render(
        "run.html.j2",
        viewer=viewer,
        run=run,
        steps=steps,
        failure=failure,
        failure_shot=views.artifact_path(run.id, failure.screenshot) if failure else None,
        files=files,
        video=latest_files.get("video.webm"),
        report=latest_files.get("report.html"),
        trace_url=trace_url,
        logs=logs,
        exchanges=exchanges,
        live=run.status.value not in views.FINAL,
        can_accept_heals=views.has_heals(run) and run.test_id is not None and run.status.value in views.FINAL,
    )


def _attempt_of(key: str) -> int | None:
    from shared.models.runs import split_artifact_key

    parts = split_artifact_key(key)
    return parts[2] if parts else None


@router.get("/runs/{run_id}/files/{attempt}/{name:path}")
def run_file(
    run_id: IdPath,
    attempt: Annotated[int, Path(ge=1, le=1000)],
    name: Annotated[str, Path(max_length=500)],
    viewer: ViewerDep,
    services: ServicesDep,
    request: Request,
) -> Response:
    """One artifact of the session's project: served here when small, else a redirect to its own link."""
    ref = services.runs.artifact(viewer.project_id, run_id, attempt, name)
    limit = request.app.state.ui_inline_artifact_bytes
    if ref.size > limit:
        return RedirectResponse(services.runs.artifact_url(ref), status_code=307)
    artifact = services.runs.read_artifact(ref)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}
    media = artifact.content_type.split(";", 1)[0].strip().lower()
    if not (media.startswith(("image/png", "image/jpeg", "image/webp", "video/")) or media == "application/zip"):
        # reports, logs, anything else: shown as a sandboxed document that runs no script on this origin
        headers["Content-Security-Policy"] = "sandbox"
    return Response(content=artifact.data, media_type=artifact.content_type, headers=headers)


@router.post("/runs/{run_id}/rerun")
def rerun(
    run_id: IdPath, viewer: ViewerDep, services: ServicesDep, fields: FormDep, request: Request, audit: AuditDep
) -> Response:
    viewer.require("runner")
    run = services.runs.rerun(viewer.project_id, run_id, correlation_id=_correlation(request))
    details = {"test_id": run.test_id, "rerun_of": run_id}
    audit.record("run.start", "run", run.id, revision=run.revision, details=details)
    return _see(f"/ui/runs/{run.id}")


@router.post("/runs/{run_id}/cancel")
def cancel(run_id: IdPath, viewer: ViewerDep, services: ServicesDep, fields: FormDep, audit: AuditDep) -> Response:
    viewer.require("runner")
    run = services.runs.cancel(viewer.project_id, run_id)
    audit.record("run.cancel", "run", run.id, revision=run.revision)
    return _see(f"/ui/runs/{run_id}")


@router.post("/runs/{run_id}/heals/accept")
def accept_heals(
    run_id: IdPath, viewer: ViewerDep, services: ServicesDep, fields: FormDep, audit: AuditDep
) -> Response:
    viewer.require("editor")
    if services.planning is None:
        raise Unavailable("accepting heals is not available in this deployment")
    revision = services.planning.accept_heals(viewer.project_id, run_id)
    audit.record("heal.accept", "test", revision.test_id, revision=revision.revision, details={"run_id": run_id})
    return _see(f"/ui/tests/{revision.test_id}?saved={revision.revision}")


def _correlation(request: Request) -> str | None:
    return getattr(request.state, "correlation_id", None)


# ------------------------------------------------------------------------------------------- tests


@router.get("/tests", response_class=HTMLResponse)
def tests_page(
    viewer: ViewerDep,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[TestKind | None, Query(), BlankIsNone] = None,
    status: Annotated[TestStatus | None, Query()] = TestStatus.active,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    page = services.catalog.list_tests(
        TestQuery(
            project_id=viewer.project_id, q=q or None, tag=tag or None, kind=kind, status=status, cursor=cursor or None
        )
    )
    # the last status and the sparkline of each test: from the project's newest 200 runs (one query, not one a
    # test); a test with no run among them shows none
    recent = services.runs.list_run_rows(RunQuery(project_id=viewer.project_id, limit=200)).items
    by_test: dict[str, list[Any]] = {}
    for run in recent:
        if run.test_id:
            by_test.setdefault(run.test_id, []).append(run)
    rows = [
        {
            "test": test,
            "last": (by_test.get(test.id) or [None])[0],
            "spark": views.sparkline(by_test.get(test.id, [])),
        }
        for test in page.items
    ]
    params = {
        "q": q or "",
        "tag": tag or "",
        "kind": kind.value if kind else "",
        "status": status.value if status else "",
    }
    return render(
        "tests.html.j2",
        viewer=viewer,
        rows=rows,
        next_cursor=page.next_cursor,
        params=params,
        next_query=urlencode({**{k: v for k, v in params.items() if v}, "cursor": page.next_cursor or ""}),
    )


@router.get("/tests/{test_id}", response_class=HTMLResponse)
def test_page(
    test_id: IdPath,
    viewer: ViewerDep,
    services: ServicesDep,
    a: Annotated[int | None, Query(ge=1)] = None,
    b: Annotated[int | None, Query(ge=1)] = None,
    saved: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    test, latest = services.catalog.get_test_with_spec(viewer.project_id, test_id)
    revisions = services.catalog.list_revisions(viewer.project_id, test_id, limit=50, cursor=None).items
    runs = services.runs.list_run_rows(RunQuery(project_id=viewer.project_id, test_id=test_id, limit=50)).items
    stats = services.stats.test_stats(viewer.project_id, test_id) if services.stats else None
    new_number = b or latest.revision
    old_number = a or max(1, new_number - 1)
    diff = None
    if old_number != new_number:
        old = services.catalog.get_revision(viewer.project_id, test_id, old_number)
        new = (
            latest
            if new_number == latest.revision
            else services.catalog.get_revision(viewer.project_id, test_id, new_number)
        )
        diff = views.revision_diff(old, new)
    return render(
        "test.html.j2",
        viewer=viewer,
        test=test,
        latest=latest,
        spec_text=views.revision_text(latest),
        revisions=revisions,
        runs=runs,
        stats=stats,
        chart=views.duration_chart(runs),
        diff=diff,
        old_number=old_number,
        new_number=new_number,
        saved=saved if saved and any(r.revision == saved for r in revisions) else None,
    )


@router.post("/tests/{test_id}/run")
def run_test(
    test_id: IdPath, viewer: ViewerDep, services: ServicesDep, fields: FormDep, request: Request, audit: AuditDep
) -> Response:
    viewer.require("runner")
    from shared.models.runs import RunCreate

    run = services.runs.start_run(viewer.project_id, RunCreate(test_id=test_id), correlation_id=_correlation(request))
    audit.record("run.start", "run", run.id, revision=run.revision, details={"test_id": run.test_id})
    return _see(f"/ui/runs/{run.id}")


# ------------------------------------------------------------------------------------------ suites


def _suites(services: Services) -> Any:
    if services.suites is None:
        raise Unavailable("suites are not available in this deployment")
    return services.suites


@router.get("/suites", response_class=HTMLResponse)
def suites_page(viewer: ViewerDep, services: ServicesDep) -> Response:
    suites = _suites(services)
    return render(
        "suites.html.j2",
        viewer=viewer,
        suites=suites.list_suites(viewer.project_id, limit=100).items,
        suite_runs=suites.list_runs(viewer.project_id, limit=50).items,
    )


@router.get("/suite-runs/{suite_run_id}", response_class=HTMLResponse)
def suite_run_page(suite_run_id: IdPath, viewer: ViewerDep, services: ServicesDep) -> Response:
    suite_run = _suites(services).get_run(viewer.project_id, suite_run_id)
    return render(
        "suite_run.html.j2", viewer=viewer, suite_run=suite_run, live=suite_run.status.value not in views.FINAL
    )


@router.post("/suites/{suite_id}/run")
def run_suite(
    suite_id: IdPath, viewer: ViewerDep, services: ServicesDep, fields: FormDep, request: Request, audit: AuditDep
) -> Response:
    viewer.require("runner")
    suite_run = _suites(services).start(
        viewer.project_id, suite_id, SuiteRunCreate(), correlation_id=_correlation(request)
    )
    audit.record("suite_run.start", "suite_run", suite_run.id, details={"suite_id": suite_id})
    return _see(f"/ui/suite-runs/{suite_run.id}")


@router.post("/suite-runs/{suite_run_id}/cancel")
def cancel_suite_run(
    suite_run_id: IdPath, viewer: ViewerDep, services: ServicesDep, fields: FormDep, audit: AuditDep
) -> Response:
    viewer.require("runner")
    suite_run = _suites(services).cancel(viewer.project_id, suite_run_id)
    audit.record("suite_run.cancel", "suite_run", suite_run_id, details={"suite_id": suite_run.suite_id})
    return _see(f"/ui/suite-runs/{suite_run_id}")


# --------------------------------------------------------------------------- schedules, notifications


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(viewer: ViewerDep, services: ServicesDep) -> Response:
    if services.schedules is None:
        raise Unavailable("schedules are not available in this deployment")
    schedules = services.schedules
    items = schedules.list_schedules(viewer.project_id, limit=100).items
    return render("schedules.html.j2", viewer=viewer, schedules=[schedules.public(s) for s in items])


@router.post("/schedules/{schedule_id}/{action}")
def set_schedule(
    schedule_id: IdPath,
    action: Annotated[str, Path(pattern=r"^(pause|resume)$")],
    viewer: ViewerDep,
    services: ServicesDep,
    fields: FormDep,
    audit: AuditDep,
) -> Response:
    viewer.require("editor")
    if services.schedules is None:
        raise Unavailable("schedules are not available in this deployment")
    enabled = action == "resume"
    services.schedules.set_enabled(viewer.project_id, schedule_id, enabled)
    audit.record("schedule.update", "schedule", schedule_id, details={"fields": ["enabled"], "enabled": enabled})
    return _see("/ui/schedules")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    viewer: ViewerDep, services: ServicesDep, target: Annotated[str | None, Query(pattern=_ID)] = None
) -> Response:
    if services.notifications is None:
        raise Unavailable("notifications are not available in this deployment")
    notifications = services.notifications
    targets = [NotificationPublic.of(t) for t in notifications.list_targets(viewer.project_id, limit=100).items]
    chosen = target or (targets[0].id if targets else None)
    deliveries = []
    if chosen:
        page = notifications.deliveries(viewer.project_id, chosen, limit=50)
        deliveries = [DeliveryPublic.of(d) for d in page.items]
    return render("notifications.html.j2", viewer=viewer, targets=targets, chosen=chosen, deliveries=deliveries)
