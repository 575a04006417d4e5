"""Stats and label filters through the HTTP API over in-memory services."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.models.runs import RunStatus, StepResult
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
TEST = {"name": "Checkout works", "steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=64 * 1024))


def _attempt(fakes: FakeServices, status: RunStatus, error: str | None = None) -> Any:
    runs = fakes.services.runs
    taken = runs.take(fakes.queue.sent[-1][0])
    assert taken is not None
    step = StepResult(index=0, action="goto", status="passed" if status == RunStatus.passed else "failed", error=error)
    return runs.end_attempt(taken, status, steps=[step], error=error)


def test_a_flaky_run_shows_in_the_stats(client: TestClient, fakes: FakeServices) -> None:
    # Given a test whose run fails once and passes on its retry
    test_id = client.post("/v1/tests", json=TEST, headers=ADMIN).json()["id"]
    run = client.post("/v1/runs", json={"test_id": test_id, "retries": 1}, headers=ADMIN).json()
    _attempt(fakes, RunStatus.failed, "the cart was empty")
    _attempt(fakes, RunStatus.passed)
    # and one more run that passes straight away
    client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN)
    _attempt(fakes, RunStatus.passed)

    # Then the run is a flaky pass with both attempts
    shown = client.get(f"/v1/runs/{run['id']}", headers=ADMIN).json()
    assert (shown["status"], shown["flaky"]) == ("passed", True)
    assert [(a["attempt"], a["status"], a["error"]) for a in shown["attempts"]] == [
        (1, "failed", "the cart was empty"),
        (2, "passed", None),
    ]
    # and the test's stats count it
    stats = client.get(f"/v1/tests/{test_id}/stats", headers=ADMIN)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert (body["runs"], body["passed"], body["flaky"], body["pass_rate"], body["flaky_rate"]) == (2, 2, 1, 1.0, 0.5)
    assert body["last_failure"] is None and body["window"] == 50
    # and the flaky list has it
    flaky = client.get("/v1/stats/flaky", headers=ADMIN).json()
    assert [(t["test_id"], t["name"], t["flaky"], t["runs"]) for t in flaky["items"]] == [
        (test_id, "Checkout works", 1, 2)
    ]


def test_stats_errors(client: TestClient) -> None:
    test_id = client.post("/v1/tests", json=TEST, headers=ADMIN).json()["id"]
    assert client.get("/v1/tests/tst_nope/stats", headers=ADMIN).status_code == 404
    other = {"X-API-Key": client.post("/v1/projects", json={"name": "b"}, headers=ADMIN).json()["api_key"]}
    assert client.get(f"/v1/tests/{test_id}/stats", headers=other).status_code == 404
    for window in (0, 501, "x"):
        response = client.get(f"/v1/tests/{test_id}/stats?window={window}", headers=ADMIN)
        assert response.status_code == 422 and "window" in response.text
    assert client.get("/v1/stats/flaky?window=501", headers=ADMIN).status_code == 422
    assert client.get("/v1/stats/flaky?limit=0", headers=ADMIN).status_code == 422
    assert client.get("/v1/stats/flaky").status_code == 401


def test_runs_filtered_by_labels(client: TestClient) -> None:
    test_id = client.post("/v1/tests", json=TEST, headers=ADMIN).json()["id"]
    labels = [{"app_version": "1.4.2", "environment": "staging"}, {"app_version": "1.4.2"}, {}]
    made = [
        client.post("/v1/runs", json={"test_id": test_id, "labels": lb}, headers=ADMIN).json()["id"] for lb in labels
    ]

    def ids(query: str) -> list[str]:
        response = client.get(f"/v1/runs?{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids("label=app_version:1.4.2") == [made[1], made[0]]
    assert ids("label=app_version:1.4.2&label=environment:staging") == [made[0]]
    assert ids("label=environment:prod") == []


@pytest.mark.parametrize(
    ("label", "says"),
    [("app_version", "not key:value"), ("bad key!:1", "not a label key"), (":1", "not a label key")],
)
def test_a_malformed_label_filter_is_a_422(client: TestClient, label: str, says: str) -> None:
    response = client.get("/v1/runs", params={"label": label}, headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert says in error["message"] and "label" in error["message"]
