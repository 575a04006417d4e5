"""The dashboard (``/ui``) over the in-memory fakes: login and its cookie, CSRF, the project boundary, escaping,
error pages, the security headers, and the actions (re-run, cancel, accept heals, run now, pause)."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from functions.api.ui.session import CSRF_COOKIE, SESSION_COOKIE, Sessions
from shared.ids import utcnow
from shared.models.runs import ArtifactRef, CheckResult, Heal, RunStatus, StepResult, artifact_prefix
from tests.conftest import BOOTSTRAP_KEY, FakeServices

UI_KEY = b"u" * 32
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, ui_session_key=UI_KEY), base_url="http://127.0.0.1")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(client: TestClient, key: str = BOOTSTRAP_KEY) -> str:
    """Log in with ``key``; the CSRF token of the session's forms."""
    page = client.get("/ui/login")
    response = client.post(
        "/ui/login", data={"api_key": key, "csrf": csrf_of(page.text), "next": "/ui/runs"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/ui/runs").text)


def api(client: TestClient, method: str, path: str, key: str = BOOTSTRAP_KEY, **kwargs: Any) -> Any:
    response = client.request(method, path, headers={"X-API-Key": key}, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def saved_test(client: TestClient, name: str = "Admin can log in", key: str = BOOTSTRAP_KEY) -> dict[str, Any]:
    body = {"name": name, "steps": [{"action": "goto", "url": "http://127.0.0.1:9/login"}]}
    return dict(api(client, "POST", "/v1/tests", key, json=body))


def ended_run(fakes: FakeServices, run_id: str, status: RunStatus, **changes: Any) -> None:
    run = fakes.store.runs[run_id]
    fakes.store.runs[run_id] = run.model_copy(
        update={"status": status, "ended_at": utcnow(), "duration_ms": 1234, **changes}
    )


def test_pages_need_a_login_and_send_you_back_after_it(client: TestClient) -> None:
    response = client.get("/ui/tests?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Ftests%3Fq%3Dx"
    assert client.get("/ui/runs/rows", headers={"X-Requested-With": "fetch"}).status_code == 401
    page = client.get("/ui/login?next=/ui/tests")
    response = client.post(
        "/ui/login",
        data={"api_key": BOOTSTRAP_KEY, "csrf": csrf_of(page.text), "next": "/ui/tests"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui/tests"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/ui" in cookie and BOOTSTRAP_KEY not in cookie  # encrypted, not only signed
    assert client.get("/ui/tests").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui/", "/v1/runs", "/ui\\..\\x"])
def test_login_sends_you_only_to_dashboard_pages(client: TestClient, target: str) -> None:
    page = client.get("/ui/login")
    response = client.post(
        "/ui/login", data={"api_key": BOOTSTRAP_KEY, "csrf": csrf_of(page.text), "next": target}, follow_redirects=False
    )
    assert response.headers["location"] == "/ui/runs"


def test_a_wrong_key_is_a_401_page_that_says_so(client: TestClient) -> None:
    page = client.get("/ui/login")
    response = client.post("/ui/login", data={"api_key": "atk_nope", "csrf": csrf_of(page.text)})
    assert response.status_code == 401
    assert "not valid" in response.text and SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_posts_without_the_csrf_token_or_from_another_origin_are_refused(client: TestClient) -> None:
    csrf = login(client)
    test = saved_test(client)
    assert client.post(f"/ui/tests/{test['id']}/run", data={"other": "1"}).status_code == 403
    assert client.post(f"/ui/tests/{test['id']}/run", data={"csrf": "0" * 64}).status_code == 403
    evil = client.post(f"/ui/tests/{test['id']}/run", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "CSRF" in evil.text
    assert api(client, "GET", "/v1/runs")["items"] == []  # nothing started
    json_post = client.post(f"/ui/tests/{test['id']}/run", json={"csrf": csrf})
    assert json_post.status_code == 422
    ok = client.post(f"/ui/tests/{test['id']}/run", data={"csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/ui/runs/run_")


def test_a_tampered_or_expired_session_is_a_new_login(fakes: FakeServices) -> None:
    sessions = Sessions(UI_KEY, ttl_s=60)
    sealed = sessions.seal(BOOTSTRAP_KEY)
    assert sessions.open(sealed) == BOOTSTRAP_KEY
    assert sessions.open(sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")) is None
    assert Sessions(b"v" * 32, ttl_s=60).open(sealed) is None  # another deployment's key
    assert sessions.open("garbage") is None and sessions.open("") is None and sessions.open("x" * 5000) is None
    later = Sessions(UI_KEY, ttl_s=1)
    old = later.seal(BOOTSTRAP_KEY)
    time.sleep(2.1)
    assert later.open(old) is None


def test_a_revoked_key_logs_the_dashboard_out(client: TestClient, fakes: FakeServices) -> None:
    created = api(client, "POST", "/v1/projects", json={"name": "second"})
    login(client, created["api_key"])
    assert client.get("/ui/runs").status_code == 200
    fakes.store.keys.clear()  # every project key gone
    response = client.get("/ui/runs", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")


def test_another_projects_runs_tests_and_artifacts_are_not_found(client: TestClient, fakes: FakeServices) -> None:
    test = saved_test(client, "Bootstrap project's test")
    run = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    key = f"{artifact_prefix('default', run['id'], 1)}/screenshots/step-001.png"
    fakes.artifacts.put(key, b"\x89PNG fake", content_type="image/png")
    ref = ArtifactRef(name="screenshots/step-001.png", kind="screenshot", key=key, size=10, content_type="image/png")
    ended_run(fakes, run["id"], RunStatus.passed, artifacts=[ref])
    other = api(client, "POST", "/v1/projects", json={"name": "other"})
    login(client, other["api_key"])
    runs = client.get("/ui/runs")
    assert run["id"] not in runs.text and "Bootstrap project" not in runs.text
    assert "Bootstrap project" not in client.get("/ui/tests").text
    for path in (
        f"/ui/runs/{run['id']}",
        f"/ui/tests/{test['id']}",
        f"/ui/runs/{run['id']}/files/1/screenshots/step-001.png",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<html" in response.text
    login(client)
    shot = client.get(f"/ui/runs/{run['id']}/files/1/screenshots/step-001.png")
    assert shot.status_code == 200 and shot.content == b"\x89PNG fake"
    assert shot.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/ui/runs/{run['id']}/files/1/../../other/x").status_code == 404
    assert client.get(f"/ui/runs/{run['id']}/files/2/screenshots/step-001.png").status_code == 404


def test_hostile_names_steps_and_errors_render_as_text(client: TestClient, fakes: FakeServices) -> None:
    test = saved_test(client, HOSTILE)
    run = api(client, "POST", "/v1/runs", json={"test_id": test["id"], "labels": {"env": "x"}})
    step = StepResult(index=0, action="expect_text", detail=HOSTILE, target=HOSTILE, status="failed", error=HOSTILE)
    ended_run(fakes, run["id"], RunStatus.failed, steps=[step], error=HOSTILE)
    login(client)
    for path in ("/ui/runs", "/ui/runs/rows", f"/ui/runs/{run['id']}", "/ui/tests", f"/ui/tests/{test['id']}"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_every_page_has_the_security_headers_and_no_inline_script(client: TestClient) -> None:
    login(client)
    test = saved_test(client)
    for path in ("/ui/login", "/ui/runs", "/ui/tests", f"/ui/tests/{test['id']}", "/ui/suites", "/ui/nope"):
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), path  # every script is a file of ours
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", response.text), path  # no inline event handler either


def test_run_page_shows_the_failing_step_its_screenshot_and_heals(client: TestClient, fakes: FakeServices) -> None:
    test = saved_test(client)
    run = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    shot = f"{artifact_prefix('default', run['id'], 1)}/screenshots/step-001-failure.png"
    heal = Heal(
        before='role=button name="Sign in"',
        after='role=button name="Log in"',
        replacement={"role": "button", "name": "Log in"},
        locator='get_by_role("button", name="Log in")',
        score=0.8,
        source="fuzzy",
        reason="matched nothing",
    )
    steps = [
        StepResult(index=0, action="click", target='role=button name="Sign in"', status="passed", heal=heal),
        StepResult(
            index=1, action="expect_text", status="failed", error="the page never said Welcome", screenshot=shot
        ),
    ]
    ref = ArtifactRef(name="screenshots/step-001-failure.png", kind="screenshot", key=shot, size=4)
    ended_run(fakes, run["id"], RunStatus.failed, steps=steps, error="the page never said Welcome", artifacts=[ref])
    login(client)
    html = client.get(f"/ui/runs/{run['id']}").text
    assert "What failed" in html and "Step 2" in html and "the page never said Welcome" in html
    assert f'src="/ui/runs/{run["id"]}/files/1/screenshots/step-001-failure.png"' in html
    assert "Healed (fuzzy" in html and "Accept heals" in html and "Re-run" in html
    assert "data-refresh" not in html  # it has ended: no live refresh


def test_rerun_starts_the_same_test_with_the_variables_it_was_given(client: TestClient, fakes: FakeServices) -> None:
    csrf = login(client)
    test = saved_test(client)
    first = api(
        client,
        "POST",
        "/v1/runs",
        json={"test_id": test["id"], "variables": {"base_url": "http://127.0.0.1:5001"}, "labels": {"pr": "7"}},
    )
    ended_run(fakes, first["id"], RunStatus.failed)
    response = client.post(f"/ui/runs/{first['id']}/rerun", data={"csrf": csrf}, follow_redirects=False)
    again = fakes.store.runs[response.headers["location"].rsplit("/", 1)[1]]
    assert again.id != first["id"] and again.test_id == test["id"] and again.revision == 1
    assert again.variables["base_url"] == "http://127.0.0.1:5001" and again.labels == {"pr": "7"}


def test_cancel_and_a_second_cancel_says_why_not(client: TestClient, fakes: FakeServices) -> None:
    csrf = login(client)
    run = api(client, "POST", "/v1/runs", json={"test_id": saved_test(client)["id"]})
    assert client.post(f"/ui/runs/{run['id']}/cancel", data={"csrf": csrf}).status_code == 200
    assert fakes.store.runs[run["id"]].status == RunStatus.cancelled
    again = client.post(f"/ui/runs/{run['id']}/cancel", data={"csrf": csrf})
    assert again.status_code == 409 and "cancelled" in again.text and "<html" in again.text


def test_accept_heals_writes_a_revision_and_says_so(client: TestClient, fakes: FakeServices) -> None:
    csrf = login(client)
    body = {"name": "Healed", "steps": [{"action": "click", "target": {"role": "button", "name": "Sign in"}}]}
    test = api(client, "POST", "/v1/tests", json=body)
    run = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    heal = Heal(
        before='role=button name="Sign in"',
        after='role=button name="Log in"',
        replacement={"role": "button", "name": "Log in"},
        locator='get_by_role("button", name="Log in")',
        score=0.9,
        source="fuzzy",
        reason="matched nothing",
    )
    steps = [StepResult(index=0, action="click", status="passed", heal=heal, healed=True)]
    ended_run(fakes, run["id"], RunStatus.passed, steps=steps)
    response = client.post(f"/ui/runs/{run['id']}/heals/accept", data={"csrf": csrf})
    assert response.status_code == 200 and "Revision 2 was saved" in response.text
    assert "+    name: Log in" in response.text  # the diff of revision 1 and 2 is on the page
    assert api(client, "GET", f"/v1/tests/{test['id']}")["revision"] == 2


def test_runs_filters(client: TestClient, fakes: FakeServices) -> None:
    login(client)
    test = saved_test(client)
    by_cli = api(client, "POST", "/v1/runs", json={"test_id": test["id"], "trigger": "cli", "labels": {"env": "qa"}})
    by_api = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    ended_run(fakes, by_api["id"], RunStatus.failed)

    def shown(query: str) -> set[str]:
        html = client.get(f"/ui/runs?{query}").text
        return set(re.findall(r'href="/ui/runs/(run_[A-Z0-9]+)"', html))

    assert shown("") == {by_cli["id"], by_api["id"]}
    assert shown("status=failed") == {by_api["id"]}
    assert shown("trigger=cli") == {by_cli["id"]}
    assert shown("label=env:qa") == {by_cli["id"]}
    assert shown(f"test_id={test['id']}&since=1h") == {by_cli["id"], by_api["id"]}
    assert shown("since=2099-01-01T00:00:00") == set()
    bad = client.get("/ui/runs?since=yesterday")
    assert bad.status_code == 422 and "query.since" in bad.text
    assert client.get("/ui/runs?label=nocolon").status_code == 422
    assert client.get("/ui/runs?status=bogus").status_code == 422
    rows = client.get("/ui/runs/rows?status=failed", headers={"X-Requested-With": "fetch"})
    assert rows.status_code == 200 and by_api["id"] in rows.text and "<html" not in rows.text


def test_tests_page_and_test_page(client: TestClient, fakes: FakeServices) -> None:
    login(client)
    test = saved_test(client)
    api(
        client,
        "POST",
        f"/v1/tests/{test['id']}/revisions",
        json={"steps": [{"action": "goto", "url": "http://127.0.0.1:9/x"}]},
    )
    for i, status in enumerate((RunStatus.passed, RunStatus.failed, RunStatus.passed)):
        run = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
        ended_run(fakes, run["id"], status, created_at=utcnow() - timedelta(minutes=10 - i))
    listing = client.get("/ui/tests?q=admin").text
    assert "Admin can log in" in listing and 'role="img"' in listing and "last 3 runs: 2 passed" in listing
    assert "Admin can log in" not in client.get("/ui/tests?q=zzz").text
    page = client.get(f"/ui/tests/{test['id']}").text
    assert "Run now" in page and "Revision 2" in page
    assert "-  url: http://127.0.0.1:9/login" in page and "+  url: http://127.0.0.1:9/x" in page
    assert "67%" in page  # pass rate of 2 of 3
    assert client.get(f"/ui/tests/{test['id']}?a=1&b=9").status_code == 404


def test_suites_schedules_and_notifications_pages(client: TestClient) -> None:
    csrf = login(client)
    test = saved_test(client)
    suite = api(client, "POST", "/v1/suites", json={"name": "smoke", "tests": [test["id"]]})
    assert "smoke" in client.get("/ui/suites").text
    started = client.post(f"/ui/suites/{suite['id']}/run", data={"csrf": csrf}, follow_redirects=False)
    assert started.status_code == 303
    suite_run = client.get(started.headers["location"]).text
    assert "smoke" in suite_run and "Admin can log in" in suite_run
    schedule = api(client, "POST", "/v1/schedules", json={"suite_id": suite["id"], "cron": "0 6 * * *"})
    page = client.get("/ui/schedules").text
    assert "0 6 * * *" in page and "Pause" in page
    client.post(f"/ui/schedules/{schedule['id']}/pause", data={"csrf": csrf})
    assert api(client, "GET", f"/v1/schedules/{schedule['id']}")["enabled"] is False
    assert "Resume" in client.get("/ui/schedules").text
    assert client.post(f"/ui/schedules/{schedule['id']}/explode", data={"csrf": csrf}).status_code == 422
    assert client.get("/ui/notifications").status_code == 200


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client)
    response = client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303 and f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    client.cookies.delete(SESSION_COOKIE, path="/ui")
    assert client.get("/ui/runs", follow_redirects=False).status_code == 303


def test_without_a_signing_key_the_dashboard_says_it_is_not_set_up(fakes: FakeServices) -> None:
    client = TestClient(create_app(fakes.services))
    response = client.get("/ui/login")
    assert response.status_code == 503 and "signing key" in response.text
    assert client.get("/healthz").status_code == 200


def test_the_csrf_cookie_is_needed_too(client: TestClient) -> None:
    login(client)
    client.cookies.delete(CSRF_COOKIE, path="/ui")
    assert client.get("/ui/runs", follow_redirects=False).status_code == 303


def test_an_api_runs_requests_and_responses_are_on_its_page(client: TestClient, fakes: FakeServices) -> None:
    body = {"name": "Items", "steps": [{"action": "request", "url": "http://127.0.0.1:9/api/items"}]}
    test = api(client, "POST", "/v1/tests", json=body)
    run = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    exchange = {
        "row": "",
        "index": 0,
        "method": "GET",
        "url": "http://127.0.0.1:9/api/items",
        "request": {"headers": [["Authorization", "***"]], "body": None, "size": 0, "note": ""},
        "response": {"headers": [["Content-Type", "application/json"]], "body": HOSTILE, "size": 9, "note": ""},
        "status": 500,
        "latency": "12 ms",
        "redirects": [],
        "tries": 1,
        "error": "",
    }
    key = f"{artifact_prefix('default', run['id'], 1)}/exchanges.json"
    data = json.dumps({"exchanges": [exchange]}).encode()
    fakes.artifacts.put(key, data, content_type="application/json")
    ref = ArtifactRef(name="exchanges.json", kind="log", key=key, size=len(data), content_type="application/json")
    check = CheckResult(check="status below 400", passed=False, expected="below 400", actual="500")
    steps = [StepResult(index=0, action="request", status="failed", checks=[check], error="status 500")]
    ended_run(fakes, run["id"], RunStatus.failed, steps=steps, error="status 500", artifacts=[ref])
    login(client)
    html = client.get(f"/ui/runs/{run['id']}").text
    assert "GET http://127.0.0.1:9/api/items → 500 in 12 ms" in html
    assert "<td>below 400</td><td>500</td>" in html and "Authorization" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html


def test_the_filter_forms_are_accepted_as_a_browser_submits_them(client: TestClient, fakes: FakeServices) -> None:
    # A GET form sends every field: a select left at "any" (or "both") as an empty value, which is no filter
    login(client)
    test = saved_test(client)
    failed = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    ended_run(fakes, failed["id"], RunStatus.failed)
    queued = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    form = "test_id=&trigger=&since=&label=&suite_run_id="

    only_failed = client.get(f"/ui/runs?status=failed&{form}")
    assert only_failed.status_code == 200, only_failed.text
    assert failed["id"] in only_failed.text and queued["id"] not in only_failed.text
    every = client.get(f"/ui/runs?status=&{form}")
    assert every.status_code == 200 and failed["id"] in every.text and queued["id"] in every.text
    rows = client.get(f"/ui/runs/rows?status=&{form}", headers={"X-Requested-With": "fetch"})
    assert rows.status_code == 200 and queued["id"] in rows.text
    tests = client.get("/ui/tests?q=&tag=&kind=&status=active")
    assert tests.status_code == 200 and "Admin can log in" in tests.text


def test_a_viewer_sees_no_buttons_and_cannot_post_them(client: TestClient, fakes: FakeServices) -> None:
    # Given a test, a finished run of it and a suite, and a viewer's and a runner's key
    test = saved_test(client)
    run = api(client, "POST", "/v1/runs", json={"test_id": test["id"]})
    ended_run(fakes, run["id"], RunStatus.failed)
    api(client, "POST", "/v1/suites", json={"name": "Smoke", "tests": [test["id"]]})
    viewer = api(client, "POST", "/v1/keys", json={"name": "dashboard", "role": "viewer"})["api_key"]
    runner = api(client, "POST", "/v1/keys", json={"name": "ci", "role": "runner"})["api_key"]

    # When the viewer looks, Then it sees the pages without their buttons, and a post is a 403 naming the role
    csrf = login(client, viewer)
    for page in (f"/ui/tests/{test['id']}", f"/ui/runs/{run['id']}", "/ui/suites"):
        html = client.get(page).text
        assert test["name"] in html or "Smoke" in html, page
        assert "Run now" not in html and "Re-run" not in html, page
    refused = client.post(f"/ui/tests/{test['id']}/run", data={"csrf": csrf}, follow_redirects=False)
    assert refused.status_code == 403 and "the role &#39;runner&#39; or above" in refused.text
    assert len(fakes.queue.sent) == 1  # only the run made above

    # And a runner sees and may use them
    client.cookies.clear()
    csrf = login(client, runner)
    assert "Run now" in client.get(f"/ui/tests/{test['id']}").text
    assert "Re-run" in client.get(f"/ui/runs/{run['id']}").text
    started = client.post(f"/ui/tests/{test['id']}/run", data={"csrf": csrf}, follow_redirects=False)
    assert started.status_code == 303 and len(fakes.queue.sent) == 2
