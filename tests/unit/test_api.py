"""The v1 HTTP API over in-memory services: status codes, error shapes, auth, tenancy."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
LOGIN_TEST: dict[str, Any] = {
    "name": "Admin can log in",
    "kind": "browser",
    "tags": ["smoke"],
    "variables": {"base_url": "http://127.0.0.1:5000"},
    "steps": [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
        {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
        {"action": "click", "target": {"role": "button", "name": "Log in"}},
        {"action": "expect_text", "text": "Welcome, admin"},
    ],
}


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=64 * 1024))


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return dict(body["error"])


def test_create_get_and_revise_a_test(client: TestClient) -> None:
    created = client.post("/v1/tests", json=LOGIN_TEST, headers=ADMIN)
    assert created.status_code == 201, created.text
    test = created.json()
    assert test["id"].startswith("tst_") and test["revision"] == 1
    assert created.headers["location"] == f"/v1/tests/{test['id']}"
    assert test["spec"]["steps"][3]["target"] == {"role": "button", "name": "Log in", "exact": False}

    revised = client.post(
        f"/v1/tests/{test['id']}/revisions",
        json={"steps": [{"action": "goto", "url": "{{base_url}}/"}], "variables": {"base_url": "http://x"}},
        headers=ADMIN,
    )
    assert revised.status_code == 201 and revised.json()["revision"] == 2
    assert client.get(f"/v1/tests/{test['id']}", headers=ADMIN).json()["revision"] == 2
    first = client.get(f"/v1/tests/{test['id']}/revisions/1", headers=ADMIN).json()
    assert len(first["steps"]) == 5  # revision 1 is immutable
    listed = client.get(f"/v1/tests/{test['id']}/revisions", headers=ADMIN).json()
    assert [r["revision"] for r in listed["items"]] == [1, 2]


def test_patch_and_archive(client: TestClient) -> None:
    test_id = client.post("/v1/tests", json=LOGIN_TEST, headers=ADMIN).json()["id"]
    patched = client.patch(f"/v1/tests/{test_id}", json={"name": "Renamed", "tags": ["a"]}, headers=ADMIN)
    assert patched.status_code == 200 and patched.json()["name"] == "Renamed"
    archived = client.delete(f"/v1/tests/{test_id}", headers=ADMIN)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert client.get("/v1/tests", headers=ADMIN).json()["items"] == []
    assert [t["id"] for t in client.get("/v1/tests?status=archived", headers=ADMIN).json()["items"]] == [test_id]
    assert client.get(f"/v1/tests/{test_id}", headers=ADMIN).status_code == 200  # nothing is lost
    blocked = client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN)
    assert blocked.status_code == 409 and "archived" in error_of(blocked)["message"]
    empty = client.patch(f"/v1/tests/{test_id}", json={}, headers=ADMIN)
    assert empty.status_code == 422 and "nothing to update" in error_of(empty)["message"]


def test_runs_start_get_list_cancel(client: TestClient, fakes: FakeServices) -> None:
    test_id = client.post("/v1/tests", json=LOGIN_TEST, headers=ADMIN).json()["id"]
    started = client.post(
        "/v1/runs", json={"test_id": test_id, "variables": {"base_url": "http://127.0.0.1:5001"}}, headers=ADMIN
    )
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] == "queued" and run["trigger"] == "api" and run["revision"] == 1
    assert run["variables"]["base_url"] == "http://127.0.0.1:5001"
    assert len(fakes.queue.sent) == 1 and fakes.events.events[0].detail_type == "Run Status Changed"

    got = client.get(f"/v1/runs/{run['id']}", headers=ADMIN).json()
    for field in ("id", "test_id", "revision", "status", "attempt", "trigger", "steps", "variables", "stats", "flaky"):
        assert field in got
    listed = client.get(f"/v1/runs?test_id={test_id}&status=queued&limit=50", headers=ADMIN).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]] and listed["next_cursor"] is None

    cancelled = client.post(f"/v1/runs/{run['id']}/cancel", headers=ADMIN)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/runs/{run['id']}/cancel", headers=ADMIN)
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"
    assert client.get(f"/v1/runs/{run['id']}/artifacts", headers=ADMIN).json() == {"artifacts": []}


def test_inline_spec_run(client: TestClient) -> None:
    spec = {"steps": [{"action": "request", "url": "http://127.0.0.1:1/health", "expect": [{"status": 200}]}]}
    response = client.post("/v1/runs", json={"spec": spec, "trigger": "cli"}, headers=ADMIN)
    assert response.status_code == 202
    assert response.json()["kind"] == "api" and response.json()["test_id"] is None


def test_pagination_through_the_api(client: TestClient) -> None:
    for i in range(5):
        client.post("/v1/tests", json=LOGIN_TEST | {"name": f"test {i}"}, headers=ADMIN)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/tests?sort=name&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=ADMIN).json()
        seen += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"test {i}" for i in range(5)]
    bad = client.get("/v1/tests?cursor=garbage", headers=ADMIN)
    assert bad.status_code == 422 and "cursor" in error_of(bad)["message"]
    first = client.get("/v1/tests?sort=name&limit=2", headers=ADMIN).json()["next_cursor"]
    swapped = client.get(f"/v1/tests?sort=-updated&limit=2&cursor={first}", headers=ADMIN)
    assert swapped.status_code == 422 and "different query" in error_of(swapped)["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "x", "steps": [{"action": "goto"}]}, "body.steps[0].url"),
        (
            {"name": "x", "steps": [{"action": "goto", "url": "u", "allow_status": [404, 200]}]},
            "body.steps[0].allow_status[1]",
        ),
        ({"name": "x", "steps": [{"action": "goto", "url": "u", "allow_status": 404}]}, "body.steps[0].allow_status"),
        ({"name": "x", "steps": [{"action": "click", "target": {"rol": "b"}}]}, "body.steps[0].target"),
        ({"name": "x", "steps": [{"action": "fly"}]}, "body.steps[0]"),
        ({"steps": [{"action": "goto", "url": "u"}]}, "body.name"),
        ({"name": "x", "steps": [{"action": "goto", "url": "u"}], "retries": 9}, "body.retries"),
        ({"name": "x", "steps": [{"action": "goto", "url": "u"}], "colour": 1}, "body.colour"),
        ({"name": "x"}, "body"),
    ],
)
def test_bad_input_says_what_and_where(client: TestClient, body: dict[str, Any], where: str) -> None:
    response = client.post("/v1/tests", json=body, headers=ADMIN)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert where in [d["loc"] for d in error["details"]], error
    assert where in error["message"]


def test_malformed_json_and_wrong_types(client: TestClient) -> None:
    raw = client.post("/v1/tests", content=b"{not json", headers=ADMIN | {"content-type": "application/json"})
    assert raw.status_code == 400 and error_of(raw)["code"] == "malformed_json"
    wrong = client.get("/v1/runs?limit=0", headers=ADMIN)
    assert wrong.status_code == 422 and "query.limit" in error_of(wrong)["message"]
    status = client.get("/v1/runs?status=sleeping", headers=ADMIN)
    assert status.status_code == 422 and "query.status" in error_of(status)["message"]


def test_oversized_body_is_413(client: TestClient) -> None:
    big = LOGIN_TEST | {"goal": "x" * 70_000}
    response = client.post("/v1/tests", json=big, headers=ADMIN)
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"


def test_not_found(client: TestClient) -> None:
    assert error_of(client.get("/v1/nothing", headers=ADMIN))["message"] == "no route GET /v1/nothing"
    for path in ("/v1/tests/tst_nope", "/v1/runs/run_nope", "/v1/tests/tst_nope/revisions/1", "/v1/nothing"):
        response = client.get(path, headers=ADMIN)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_auth(client: TestClient) -> None:
    missing = client.get("/v1/tests")
    assert missing.status_code == 401 and "missing API key" in error_of(missing)["message"]
    wrong = client.get("/v1/tests", headers={"Authorization": "Bearer atk_wrong"})
    assert wrong.status_code == 401 and error_of(wrong)["message"] == "invalid API key"
    assert client.get("/v1/tests", headers={"X-API-Key": BOOTSTRAP_KEY}).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}


def test_keys_are_scoped_to_their_project(client: TestClient, fakes: FakeServices) -> None:
    # Given two projects, each with its own key
    made = client.post("/v1/projects", json={"name": "team b"}, headers=ADMIN)
    assert made.status_code == 201
    key_b = {"X-API-Key": made.json()["api_key"]}
    assert made.json()["api_key"] not in str(fakes.store.keys)  # stored hashed
    assert client.get("/v1/project", headers=key_b).json()["name"] == "team b"
    # and a test and a run in project A (the bootstrap project)
    test_a = client.post("/v1/tests", json=LOGIN_TEST, headers=ADMIN).json()["id"]
    run_a = client.post("/v1/runs", json={"test_id": test_a}, headers=ADMIN).json()["id"]

    # When project B's key reaches for them, Then they do not exist for it
    assert client.get(f"/v1/tests/{test_a}", headers=key_b).status_code == 404
    assert client.get(f"/v1/tests/{test_a}/revisions", headers=key_b).status_code == 404
    assert client.patch(f"/v1/tests/{test_a}", json={"name": "hijack"}, headers=key_b).status_code == 404
    assert client.delete(f"/v1/tests/{test_a}", headers=key_b).status_code == 404
    assert client.post(f"/v1/tests/{test_a}/revisions", json={"goal": "x"}, headers=key_b).status_code == 404
    assert client.post("/v1/runs", json={"test_id": test_a}, headers=key_b).status_code == 404
    assert client.get(f"/v1/runs/{run_a}", headers=key_b).status_code == 404
    assert client.get(f"/v1/runs/{run_a}/artifacts", headers=key_b).status_code == 404
    assert client.post(f"/v1/runs/{run_a}/cancel", headers=key_b).status_code == 404
    assert client.get("/v1/tests", headers=key_b).json()["items"] == []
    assert client.get("/v1/runs", headers=key_b).json()["items"] == []
    # and project A's test is untouched
    assert client.get(f"/v1/tests/{test_a}", headers=ADMIN).json()["name"] == LOGIN_TEST["name"]
    # only the bootstrap key creates projects
    assert client.post("/v1/projects", json={"name": "c"}, headers=key_b).status_code == 403


def test_correlation_id_round_trips(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Correlation-Id": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"
    assert client.get("/healthz").headers["x-correlation-id"].startswith("cor_")


def test_openapi_describes_every_model(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("TestCreate", "TestPublic", "RevisionPublic", "RunCreate", "RunPublic", "StepResult", "Goto"):
        assert any(key.startswith(name) for key in schemas), name
    for path in ("/v1/tests", "/v1/tests/{test_id}/revisions", "/v1/runs", "/v1/runs/{run_id}/cancel"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_a_bug_is_a_500_with_the_error_shape_and_correlation_id(
    client: TestClient, fakes: FakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(fakes.store, "list_tests", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get("/v1/tests", headers=ADMIN | {"X-Correlation-Id": "cor-42"})
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal" and "cor-42" in error_of(response)["message"]
    assert response.headers["x-correlation-id"] == "cor-42"


def test_openapi_documents_the_error_responses(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/tests/{test_id}"]["get"]
    for status in ("401", "404", "422"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorBody")


REQUEST_STEP = {"action": "request", "url": "http://127.0.0.1:5000/health", "expect": [{"status": 200}]}


def test_a_revision_must_fit_its_tests_kind(client: TestClient) -> None:
    # Given a browser test and an API test
    browser = client.post("/v1/tests", json=LOGIN_TEST, headers=ADMIN).json()
    api = client.post("/v1/tests", json={"name": "health", "steps": [REQUEST_STEP]}, headers=ADMIN).json()
    assert api["kind"] == "api"

    # When the browser test is revised with request steps only, and the API test with a browser step
    to_api = client.post(f"/v1/tests/{browser['id']}/revisions", json={"steps": [REQUEST_STEP]}, headers=ADMIN)
    to_browser = client.post(
        f"/v1/tests/{api['id']}/revisions",
        json={"steps": [REQUEST_STEP, {"action": "goto", "url": "http://127.0.0.1:5000/"}]},
        headers=ADMIN,
    )

    # Then both are refused, saying why, and neither test changed
    assert to_api.status_code == 422 and "is a browser test" in error_of(to_api)["message"]
    assert "every step is a request step" in error_of(to_api)["message"]
    assert to_browser.status_code == 422 and "step 2 (goto) is a browser step" in error_of(to_browser)["message"]
    for test in (browser, api):
        assert client.get(f"/v1/tests/{test['id']}", headers=ADMIN).json()["revision"] == 1


@pytest.mark.parametrize(("path", "wrap"), [("/v1/tests", False), ("/v1/runs", True)])
def test_an_explicit_kind_must_fit_the_steps(client: TestClient, path: str, wrap: bool) -> None:
    spec = {"name": "x", "kind": "api", "steps": [{"action": "goto", "url": "http://127.0.0.1:5000/"}]}
    response = client.post(path, json={"spec": spec} if wrap else spec, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "an API test runs without a browser" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ('{"a": 1e400}', "numbers must be finite"),
        ('{"a": -1e400}', "numbers must be finite"),
        ("[" * 100 + "]" * 100, "nests deeper than 64 levels"),
    ],
)
def test_a_body_that_cannot_be_stored_as_given_is_a_422(client: TestClient, raw: str, says: str) -> None:
    # Given a request step whose JSON body JSON cannot hold (infinity), or that nests too deep to store
    step = '{"action": "request", "method": "POST", "url": "http://127.0.0.1:5000/", "json": ' + raw + "}"
    body = '{"name": "x", "steps": [' + step + "]}"

    # When it is saved, or run inline
    for path, text in (("/v1/tests", body), ("/v1/runs", '{"spec": ' + body + "}")):
        response = client.post(path, content=text, headers={**ADMIN, "content-type": "application/json"})

        # Then it is refused saying where, never stored to come back different (or to answer 500 later)
        assert response.status_code == 422, response.text
        assert says in error_of(response)["message"] and "steps[0].json" in error_of(response)["message"]


def test_saving_a_test_warns_of_variables_nothing_defines(client: TestClient) -> None:
    body = {
        "name": "Items",
        "variables": {"base_url": "http://127.0.0.1:1"},
        "dataset": [{"id": 1}, {"id": 2, "name": "Bread"}],
        "steps": [
            {"action": "request", "url": "{{base_url}}/login", "extract": {"token": "$.token"}},
            {"action": "request", "url": "{{base_url}}/items/{{id}}?t={{token}}&n={{name}}&k={{api_key}}"},
        ],
    }
    created = client.post("/v1/tests", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text  # saved: a run may still give them
    warnings = created.json()["warnings"]
    assert [w.split(",")[0] for w in warnings] == [
        "step 2 (request) uses {{api_key}}",
        "step 2 (request) uses {{name}}",
    ]
    test_id = created.json()["id"]
    assert client.get(f"/v1/tests/{test_id}", headers=ADMIN).json()["warnings"] == []  # said when saved

    revised = client.post(
        f"/v1/tests/{test_id}/revisions",
        json={"steps": [{"action": "request", "url": "{{base_url}}/x"}], "variables": {"base_url": "http://x"}},
        headers=ADMIN,
    )
    assert revised.status_code == 201 and revised.json()["warnings"] == []
    revised = client.post(
        f"/v1/tests/{test_id}/revisions", json={"steps": [{"action": "request", "url": "{{host}}/x"}]}, headers=ADMIN
    )
    assert revised.json()["warnings"][0].startswith("step 1 (request) uses {{host}}, which nothing in the test")


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [("concurrency", 0, "concurrency"), ("concurrency", 65, "concurrency"), ("rate_limit", 0, "rate_limit"),
     ("rate_limit", -1, "rate_limit"), ("rate_limit", 20000, "rate_limit"),
     ("rate_limit", 5e-324, "rate_limit")],  # (accepted, it made the run's limiter divide by zero)
)  # fmt: skip
def test_concurrency_and_rate_limit_are_bounded(client: TestClient, field: str, value: float, where: str) -> None:
    body = {"name": "T", "steps": [{"action": "request", "url": "http://127.0.0.1:1/"}], field: value}
    refused = client.post("/v1/tests", json=body, headers=ADMIN)
    assert refused.status_code == 422 and where in refused.text
    run = client.post("/v1/runs", json={"spec": {"steps": body["steps"]}, field: value}, headers=ADMIN)
    assert run.status_code == 422 and where in run.text


def test_a_run_takes_its_concurrency_and_rate_limit_from_the_run_then_the_test(client: TestClient) -> None:
    steps = [{"action": "request", "url": "http://127.0.0.1:1/"}]
    spec = {"steps": steps, "dataset": [{"n": 1}], "concurrency": 3, "rate_limit": 5}
    run = client.post("/v1/runs", json={"spec": spec}, headers=ADMIN).json()
    assert (run["concurrency"], run["rate_limit"]) == (3, 5)
    run = client.post("/v1/runs", json={"spec": spec, "concurrency": 20, "rate_limit": 0.5}, headers=ADMIN).json()
    assert (run["concurrency"], run["rate_limit"]) == (20, 0.5)
    api = client.post("/v1/runs", json={"spec": {"steps": steps}}, headers=ADMIN).json()
    assert (api["concurrency"], api["rate_limit"]) == (8, None)  # an API test's default
    browser = client.post("/v1/runs", json={"spec": {"steps": [{"action": "goto", "url": "http://x/"}]}}, headers=ADMIN)
    assert browser.json()["concurrency"] == 1  # a browser test's
