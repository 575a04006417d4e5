"""Inputs that once reached DynamoDB or the response encoder and came back as a 5xx (found by
fuzzing the API with schemathesis): each is now a clear 4xx, or simply works."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.aws.factory import build_services
from shared.models.queries import RunQuery
from shared.pagination import scope_of
from shared.settings import Settings
from tests.conftest import BOOTSTRAP_KEY

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
STEPS = [{"action": "goto", "url": "http://127.0.0.1:1/"}]


@pytest.fixture
def api(aws_settings: Settings) -> TestClient:
    return TestClient(create_app(build_services(aws_settings), max_body_bytes=2_000_000))


def error(response: Any) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    return dict(response.json()["error"])


def a_test(api: TestClient, **extra: Any) -> dict[str, Any]:
    created = api.post("/v1/tests", json={"name": "t", "steps": STEPS} | extra, headers=ADMIN)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_patch_with_null_fields_is_refused_and_the_test_stays_whole(api: TestClient) -> None:
    test = a_test(api, tags=["a"])
    for body in ({"tags": None}, {"status": None}, {"name": None}):
        response = api.patch(f"/v1/tests/{test['id']}", json=body, headers=ADMIN)
        assert response.status_code == 422 and "cannot be null" in error(response)["message"]
    assert api.get(f"/v1/tests/{test['id']}", headers=ADMIN).json()["tags"] == ["a"]
    cleared = api.patch(f"/v1/tests/{test['id']}", json={"description": None}, headers=ADMIN)
    assert cleared.status_code == 200
    assert api.get("/v1/tests", headers=ADMIN).status_code == 200


def test_numbers_dynamodb_cannot_hold_are_stored_as_json(api: TestClient) -> None:
    test = a_test(api, variables={"big": 1e300, "tiny": 1e-300, "huge": 10**40, "neg": -1e40})
    assert test["spec"]["variables"] == {"big": 1e300, "tiny": 1e-300, "huge": 10**40, "neg": -1e40}
    run = api.post("/v1/runs", json={"test_id": test["id"], "variables": {"more": 1e308}}, headers=ADMIN)
    assert run.status_code == 202 and run.json()["variables"]["big"] == 1e300


def test_nan_and_infinity_are_refused(api: TestClient) -> None:
    raw = b'{"name": "n", "steps": [{"action": "goto", "url": "u"}], "variables": {"a": NaN}}'
    response = api.post("/v1/tests", content=raw, headers=ADMIN | {"content-type": "application/json"})
    assert response.status_code == 422 and "variables.a" in error(response)["message"]
    raw = b'{"spec": {"steps": [{"action": "goto", "url": "u"}]}, "variables": {"a": Infinity}}'
    response = api.post("/v1/runs", content=raw, headers=ADMIN | {"content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("bad", [None, 1, "x", True, []])
def test_an_expectation_that_is_not_an_object_is_a_422(api: TestClient, bad: Any) -> None:
    steps = [{"action": "request", "url": "http://x", "expect": [bad]}]
    response = api.post("/v1/tests", json={"name": "e", "steps": steps}, headers=ADMIN)
    assert response.status_code == 422 and "body.steps[0].expect[0]" in error(response)["message"]


def test_a_status_expectation_is_an_http_status(api: TestClient) -> None:
    steps = [{"action": "request", "url": "http://x", "expect": [{"status": [False]}]}]
    assert api.post("/v1/tests", json={"name": "e", "steps": steps}, headers=ADMIN).status_code == 422


def test_non_ascii_text_fills_the_body_not_six_times_the_item(api: TestClient) -> None:
    # 240 KB of UTF-8 (80,000 x 3 bytes): once stored as \\uXXXX escapes it overflowed DynamoDB's 400 KB
    steps = [{"action": "fill", "target": {"label": "x"}, "value": "中" * 6_666} for _ in range(12)]
    test = a_test(api, steps=steps)
    assert api.post("/v1/runs", json={"test_id": test["id"]}, headers=ADMIN).status_code == 202


def test_a_run_does_not_store_its_variables_twice(api: TestClient) -> None:
    test = a_test(api, variables={f"v{i}": "x" * 1_200 for i in range(200)})  # 240 KB of variables
    assert api.post("/v1/runs", json={"test_id": test["id"]}, headers=ADMIN).status_code == 202


def test_what_is_too_large_to_store_is_a_413(api: TestClient) -> None:
    steps = [{"action": "fill", "target": {"label": "x"}, "value": "y" * 20_000} for _ in range(25)]
    response = api.post("/v1/tests", json={"name": "big", "steps": steps}, headers=ADMIN)
    assert response.status_code == 413
    assert "too large to store" in error(response)["message"]


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_since_at_the_ends_of_time(api: TestClient, since: str) -> None:
    response = api.get("/v1/runs", params={"since": since}, headers=ADMIN)
    assert response.status_code == 200


def test_a_forged_cursor_is_a_422(api: TestClient) -> None:
    project = api.get("/v1/project", headers=ADMIN).json()["id"]
    scope = scope_of("runs", RunQuery(project_id=project).model_dump(exclude={"cursor", "limit"}))
    for position in (
        {"gsi2pk": {"S": f"PROJECT#{project}#RUNS"}, "PK": "x"},
        {"gsi2pk": {"N": "1"}, "gsi2sk": {"S": "a"}, "PK": {"S": "a"}, "SK": {"S": "b"}},
    ):
        cursor = base64.urlsafe_b64encode(json.dumps({"p": position, "s": scope}).encode()).decode()
        response = api.get("/v1/runs", params={"cursor": cursor}, headers=ADMIN)
        assert response.status_code == 422 and error(response)["code"] == "invalid_input"


def test_listing_another_projects_test_runs_reveals_nothing(api: TestClient) -> None:
    test = a_test(api)
    for _ in range(3):
        api.post("/v1/runs", json={"test_id": test["id"]}, headers=ADMIN)
    other = {"X-API-Key": api.post("/v1/projects", json={"name": "b"}, headers=ADMIN).json()["api_key"]}
    listed = api.get("/v1/runs", params={"test_id": test["id"], "limit": 1}, headers=other).json()
    assert listed == {"items": [], "next_cursor": None}


def test_unpaired_surrogates_are_a_422_wherever_they_are(api: TestClient) -> None:
    for body in (
        {"name": "s", "steps": STEPS, "variables": {"v": "\udfff"}},
        {"name": "s", "steps": STEPS, "dataset": [{"v": "\udfff"}]},
        {"name": "s", "steps": [{"action": "request", "url": "http://x", "json": {"k": "\ud800"}}]},
    ):
        raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as a \\udfff escape
        response = api.post("/v1/tests", content=raw, headers=ADMIN | {"content-type": "application/json"})
        assert response.status_code == 422 and "surrogate" in error(response)["message"]
    assert api.get("/v1/tests", headers=ADMIN).json()["items"] == []  # nothing half-stored


def test_ids_in_paths_are_bounded(api: TestClient) -> None:
    for path in (f"/v1/tests/{'a' * 3000}", f"/v1/runs/{'a' * 3000}", f"/v1/runs/{'a' * 3000}/cancel"):
        method = api.post if path.endswith("cancel") else api.get
        assert method(path, headers=ADMIN).status_code == 422
    response = api.post("/v1/runs", json={"test_id": "a" * 3000}, headers=ADMIN)
    assert response.status_code == 422
