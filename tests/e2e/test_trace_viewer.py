"""Playwright's trace viewer from ``/ui/trace/`` in Chromium, under its Content-Security-Policy: a trace.zip recorded
here opens from a path on the viewer's own origin (with the origin's cookie, as a session would be sent) and
shows its actions and snapshots; one that path redirects to another origin, as a presigned S3 URL is in AWS,
opens when the policy names that origin (and goes there without the cookie), and is refused when it does not;
one chosen from disk opens from its blob: URL; and the dashboard's "Open trace" link opens a run's trace through
the login's session. Nothing on the way is a CSP violation."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from playwright.async_api import BrowserContext, Page

from functions.api import errors
from functions.api.app import create_app
from functions.api.ui import trace
from runner_container.runner.browser import BrowserPool
from shared.ids import utcnow
from shared.models.runs import ArtifactRef, RunCreate, RunStatus, artifact_prefix
from shared.settings import Settings, get_settings
from tests.conftest import BOOTSTRAP_KEY, FakeServices

pytestmark = pytest.mark.e2e

PAGE = """<!DOCTYPE html><title>Checkout</title>
<h1 style="color: teal">Checkout</h1>
<button onclick="this.textContent = 'Paid'">Pay now</button>"""
#: reports a violation seen by a page (a frame keeps its own listener) as a console error
REPORT_VIOLATIONS = (
    "addEventListener('securitypolicyviolation', e => console.error("
    "`CSP violation: ${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`))"
)
COOKIE = "session=s3cr3t"


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1, for the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


class Trace:
    """Where the trace is kept, and the cookies each request for it came with."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cookies: list[str | None] = []

    def file(self, request: Request, **headers: str) -> FileResponse:
        self.cookies.append(request.headers.get("cookie"))
        return FileResponse(self.path, media_type="application/zip", headers=headers)


@pytest.fixture(scope="module")
def trace_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trace") / "trace.zip"


@pytest.fixture(scope="module")
def bucket(trace_zip: Path) -> Iterator[tuple[str, Trace]]:
    """Another origin serving the trace as S3 does a presigned URL under the bucket's CORS rule (any origin)."""
    held = Trace(trace_zip)
    app = FastAPI()

    @app.get("/artifacts/trace.zip")
    def presigned(request: Request) -> FileResponse:
        return held.file(request, **{"Access-Control-Allow-Origin": "*"})

    with serving(app) as url:
        yield url, held


@contextmanager
def viewer_site(trace_zip: Path, bucket_url: str, settings: Settings) -> Iterator[tuple[str, Trace]]:
    """The viewer's router (with ``settings``) beside a page to record, its trace at ``/t/trace.zip``, and
    ``/t/big.zip``: a redirect to the bucket's copy."""
    held = Trace(trace_zip)
    app = FastAPI()
    errors.install(app)
    app.include_router(trace.router)
    app.dependency_overrides[get_settings] = lambda: settings

    @app.get("/t/page.html")
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/t/trace.zip")
    def same_origin(request: Request) -> FileResponse:
        return held.file(request)

    @app.get("/t/big.zip")
    def redirected() -> RedirectResponse:
        return RedirectResponse(f"{bucket_url}/artifacts/trace.zip", status_code=307)

    with serving(app) as url:
        yield url, held


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def recorded(trace_zip: Path, bucket: tuple[str, Trace], pool: BrowserPool) -> Path:
    """A real trace: the page opened and its button clicked, with screenshots and snapshots."""
    with viewer_site(trace_zip, bucket[0], Settings()) as (url, _):
        async with pool.context() as context:
            await context.tracing.start(screenshots=True, snapshots=True)
            page = await context.new_page()
            await page.goto(f"{url}/t/page.html")
            await page.get_by_role("button", name="Pay now").click()
            await context.tracing.stop(path=trace_zip)
    return trace_zip


@asynccontextmanager
async def viewer(pool: BrowserPool, url: str) -> AsyncIterator[tuple[BrowserContext, Page, list[str]]]:
    """A fresh context with a cookie on the viewer's host, its CSP violations collected (the page's, its
    frames', the service worker's console)."""
    async with pool.context() as context:
        violations: list[str] = []

        def seen(text: str) -> None:
            if "Content Security Policy" in text or "CSP violation" in text:
                violations.append(text)

        context.on("console", lambda message: seen(message.text))
        await context.add_init_script(REPORT_VIOLATIONS)
        name, value = COOKIE.split("=")
        await context.add_cookies([{"name": name, "value": value, "url": url}])
        yield context, await context.new_page(), violations


async def actions(page: Page) -> list[str]:
    entries = page.get_by_test_id("actions-tree").get_by_role("treeitem")
    await entries.filter(has_text="Click").wait_for(timeout=20_000)
    return [" ".join(text.split()) for text in await entries.all_inner_texts()]


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(120)
async def test_a_trace_on_the_viewers_origin_opens_with_its_actions_and_snapshots(
    recorded: Path, bucket: tuple[str, Trace], pool: BrowserPool
) -> None:
    # Given the viewer and a trace on one origin
    with viewer_site(recorded, bucket[0], Settings()) as (url, held):
        async with viewer(pool, url) as (context, page, violations):
            # When the viewer opens it
            await page.goto(f"{url}/ui/trace/index.html?trace=/t/trace.zip")
            listed = await actions(page)

            # Then its actions are listed, and the click's snapshot shows the page as it was
            await page.get_by_test_id("actions-tree").get_by_role("treeitem").filter(has_text="Click").click()
            snapshot = page.frame_locator("iframe.snapshot-visible[name=snapshot]")
            await snapshot.get_by_role("button", name="Pay now").wait_for(timeout=10_000)
            heading = snapshot.get_by_role("heading", name="Checkout")
            colour = await heading.evaluate("e => getComputedStyle(e).color")
            await page.get_by_role("tab", name="Network").click()
            await page.get_by_text("page.html").first.wait_for(timeout=5_000)
            # and so does it in a tab of its own (snapshot.html)
            async with context.expect_page() as opened:
                await page.get_by_title("Open snapshot in a new tab").click()
            popout = await opened.value
            await popout.frame_locator("iframe").get_by_role("button", name="Pay now").wait_for(timeout=10_000)
            workers = [worker.url for worker in context.service_workers]

    assert any(a.startswith("Navigate") and "/t/page.html" in a for a in listed), listed
    assert any(a.startswith("Click") and "Pay now" in a for a in listed), listed
    assert colour == "rgb(0, 128, 128)"  # the snapshot's own inline style: its policy is the service worker's
    assert popout.url.startswith(f"{url}/ui/trace/snapshot.html?")
    assert workers == [f"{url}/ui/trace/sw.bundle.js"]
    assert held.cookies and all(cookie == COOKIE for cookie in held.cookies)  # as a session cookie would be
    assert violations == []


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(120)
async def test_a_trace_redirected_to_the_artifact_origin_opens_without_the_cookie(
    recorded: Path, bucket: tuple[str, Trace], pool: BrowserPool
) -> None:
    # Given a trace path that redirects to the artifact store's origin, which the settings name
    bucket_url, stored = bucket
    stored.cookies.clear()
    with viewer_site(recorded, bucket_url, Settings(aws_endpoint_url=bucket_url)) as (url, _):
        async with viewer(pool, url) as (_, page, violations):
            # When the viewer opens it
            await page.goto(f"{url}/ui/trace/index.html?trace=/t/big.zip")
            listed = await actions(page)

    # Then the service worker followed the redirect, with no credentials
    assert any(a.startswith("Click") and "Pay now" in a for a in listed), listed
    assert stored.cookies == [None]
    assert violations == []


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(120)
async def test_a_redirect_to_an_origin_the_policy_does_not_name_is_refused(
    recorded: Path, bucket: tuple[str, Trace], pool: BrowserPool
) -> None:
    # Given the same redirect, and a policy that names only the default bucket's S3 origins
    bucket_url, stored = bucket
    stored.cookies.clear()
    with viewer_site(recorded, bucket_url, Settings()) as (url, _):
        async with viewer(pool, url) as (_, page, _violations):
            # When the viewer opens it
            await page.goto(f"{url}/ui/trace/index.html?trace=/t/big.zip")
            error = page.get_by_role("alert")
            await error.filter(has_text="Could not load trace").wait_for(timeout=20_000)

    # Then the service worker never reached the other origin
    assert stored.cookies == []


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(120)
async def test_a_trace_chosen_from_disk_opens_from_its_blob_url(
    recorded: Path, bucket: tuple[str, Trace], pool: BrowserPool
) -> None:
    # Given the viewer with no trace named
    with viewer_site(recorded, bucket[0], Settings()) as (url, held):
        async with viewer(pool, url) as (_, page, violations):
            await page.goto(f"{url}/ui/trace/")

            # When a trace.zip is chosen from disk
            async with page.expect_file_chooser() as chooser:
                await page.get_by_role("button", name="Select file").click()
            await (await chooser.value).set_files(recorded)
            listed = await actions(page)

    # Then the service worker read it from the page's blob: URL
    assert any(a.startswith("Click") and "Pay now" in a for a in listed), listed
    assert "trace=blob" in page.url and held.cookies == []
    assert violations == []


@pytest.fixture
def dashboard(recorded: Path, fakes: FakeServices) -> tuple[FastAPI, str]:
    """The API app (its dashboard) and an ended run of the bootstrap project whose trace is stored."""
    project = fakes.services.projects.authenticate(BOOTSTRAP_KEY).project_id
    spec = {"steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    run = fakes.services.runs.start_run(project, RunCreate.model_validate({"spec": spec}))
    key = f"{artifact_prefix(project, run.id, 1)}/trace.zip"
    fakes.artifacts.put(key, recorded.read_bytes(), content_type="application/zip")
    stored = ArtifactRef(name="trace.zip", kind="trace", key=key, size=recorded.stat().st_size)
    fakes.store.runs[run.id] = run.model_copy(
        update={"status": RunStatus.passed, "ended_at": utcnow(), "duration_ms": 1000, "artifacts": [stored]}
    )
    return create_app(fakes.services, ui_session_key=b"u" * 32), run.id


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(120)
async def test_the_dashboards_open_trace_link_opens_a_runs_trace_through_the_session(
    dashboard: tuple[FastAPI, str], pool: BrowserPool
) -> None:
    # Given the API app and a run with a trace
    app, run_id = dashboard
    with serving(app) as url:
        async with viewer(pool, url) as (_, page, violations):
            # When a user logs in and opens the run's trace from its page
            await page.goto(f"{url}/ui/login")
            await page.locator("#api_key").fill(BOOTSTRAP_KEY)
            await page.get_by_role("button", name="Log in").click()
            await page.wait_for_url(f"{url}/ui/runs**")
            await page.goto(f"{url}/ui/runs/{run_id}")
            await page.get_by_role("link", name="Open trace").click()
            listed = await actions(page)

    # Then the service worker fetched it with the session cookie, and the viewer shows it
    assert page.url.startswith(f"{url}/ui/trace/index.html?trace=/ui/runs/{run_id}/files/1/trace.zip")
    assert any(a.startswith("Click") and "Pay now" in a for a in listed), listed
    assert violations == []
