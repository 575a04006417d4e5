"""The suites API over fakes: CRUD, 422s that say where, starting and reading suite runs, label filters,
cancelling, and another project's key finding nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"X-API-Key": BOOTSTRAP_KEY}


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=64 * 1024))


def a_test(client: TestClient, name: str, tags: list[str] | None = None) -> str:
    body = {"name": name, "tags": tags or ["smoke"], "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    made = client.post("/v1/tests", json=body, headers=ADMIN)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def test_suite_crud_and_a_suite_run(client: TestClient) -> None:
    first, second = a_test(client, "first"), a_test(client, "second")
    made = client.post(
        "/v1/suites", json={"name": "Smoke", "tests": [first], "selector": {"tags": ["smoke"]}}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    suite = made.json()
    assert made.headers["location"] == f"/v1/suites/{suite['id']}" and "project_id" not in suite
    assert client.get("/v1/suites?name=smoke", headers=ADMIN).json()["items"][0]["id"] == suite["id"]
    patched = client.patch(f"/v1/suites/{suite['id']}", json={"max_parallel": 1}, headers=ADMIN)
    assert patched.status_code == 200 and patched.json()["max_parallel"] == 1

    started = client.post(f"/v1/suites/{suite['id']}/runs", json={"labels": {"app_version": "1.4.2"}}, headers=ADMIN)
    assert started.status_code == 202, started.text
    run = started.json()
    assert [c["test_id"] for c in run["children"]] == [first, second]
    assert [c["status"] for c in run["children"]] == ["queued", "pending"]
    assert run["labels"] == {"app_version": "1.4.2"} and run["counts"]["total"] == 2
    child = client.get(f"/v1/runs/{run['children'][0]['run_id']}", headers=ADMIN).json()
    assert child["suite_run_id"] == run["id"] and child["trigger"] == "suite"
    listed = client.get("/v1/suite-runs?label=app_version:1.4.2", headers=ADMIN).json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert client.get("/v1/suite-runs?label=app_version:9", headers=ADMIN).json()["items"] == []
    assert client.get(f"/v1/suite-runs?suite_id={suite['id']}", headers=ADMIN).json()["items"][0]["id"] == run["id"]

    cancelled = client.post(f"/v1/suite-runs/{run['id']}/cancel", headers=ADMIN)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/v1/suite-runs/{run['id']}/cancel", headers=ADMIN).status_code == 409

    assert client.delete(f"/v1/suites/{suite['id']}", headers=ADMIN).status_code == 204
    assert client.get(f"/v1/suites/{suite['id']}", headers=ADMIN).status_code == 404
    assert client.get(f"/v1/suite-runs/{run['id']}", headers=ADMIN).status_code == 200  # its runs stay


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "x"}, "a suite needs tests"),
        ({"name": "x", "tests": ["tst_nope"]}, "tests[0]: the project has no test tst_nope"),
        ({"name": "x", "selector": {"tags": []}}, "selector.tags"),
        ({"name": "x", "selector": {"tags": ["a"]}, "mode": "random"}, "mode"),
        ({"name": "x", "selector": {"tags": ["a"]}, "max_parallel": 0}, "max_parallel"),
        ({"name": "x", "selector": {"tags": ["a"]}, "labels": {"bad key": "v"}}, "labels"),
        ({"name": "x", "selector": {"tags": ["a"]}, "retries": 9}, "retries"),
    ],
)
def test_bad_suites_are_422_saying_where(client: TestClient, body: dict[str, Any], says: str) -> None:
    response = client.post("/v1/suites", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert says in response.text


def test_duplicate_names_conflict_and_bad_label_filters_are_422(client: TestClient) -> None:
    a_test(client, "t")
    body = {"name": "Nightly", "selector": {"tags": ["smoke"]}}
    assert client.post("/v1/suites", json=body, headers=ADMIN).status_code == 201
    again = client.post("/v1/suites", json={**body, "name": "nightly"}, headers=ADMIN)
    assert again.status_code == 409 and "already" in error_of(again)["message"]
    bad = client.get("/v1/suite-runs?label=novalue", headers=ADMIN)
    assert bad.status_code == 422 and "label" in error_of(bad)["message"]
    empty = client.post("/v1/suites", json={"name": "none", "selector": {"tags": ["zzz"]}}, headers=ADMIN).json()
    refused = client.post(f"/v1/suites/{empty['id']}/runs", headers=ADMIN)
    assert refused.status_code == 422 and "matches no active test" in error_of(refused)["message"]


def test_another_projects_key_finds_nothing(client: TestClient) -> None:
    test_id = a_test(client, "t")
    suite = client.post("/v1/suites", json={"name": "S", "tests": [test_id]}, headers=ADMIN).json()
    run = client.post(f"/v1/suites/{suite['id']}/runs", headers=ADMIN).json()
    key_b = {"X-API-Key": client.post("/v1/projects", json={"name": "b"}, headers=ADMIN).json()["api_key"]}
    assert client.get(f"/v1/suites/{suite['id']}", headers=key_b).status_code == 404
    assert client.patch(f"/v1/suites/{suite['id']}", json={"name": "mine"}, headers=key_b).status_code == 404
    assert client.delete(f"/v1/suites/{suite['id']}", headers=key_b).status_code == 404
    assert client.post(f"/v1/suites/{suite['id']}/runs", headers=key_b).status_code == 404
    assert client.get(f"/v1/suite-runs/{run['id']}", headers=key_b).status_code == 404
    assert client.post(f"/v1/suite-runs/{run['id']}/cancel", headers=key_b).status_code == 404
    assert client.get("/v1/suite-runs", headers=key_b).json()["items"] == []
    assert client.get("/v1/suites", headers=key_b).json()["items"] == []
    # a suite of project B cannot name project A's test
    named = client.post("/v1/suites", json={"name": "S", "tests": [test_id]}, headers=key_b)
    assert named.status_code == 422
