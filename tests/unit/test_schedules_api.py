"""``/v1/schedules`` over in-memory services: CRUD, 422s that say what is wrong and where, next fire times on
read, and another project's key getting 404."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=256 * 1024))


def make_test(client: TestClient, headers: dict[str, str] = ADMIN) -> str:
    body = {"name": "Home", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    created = client.post("/v1/tests", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def error_of(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"])


def test_create_read_pause_resume_delete(client: TestClient, fakes: FakeServices) -> None:
    test_id = make_test(client)
    created = client.post(
        "/v1/schedules",
        json={"name": "Every 5", "test_id": test_id, "rate": "rate(5 minutes)", "labels": {"env": "ci"}},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert created.headers["Location"] == f"/v1/schedules/{schedule['id']}"
    assert schedule["target"] == "test" and schedule["enabled"] is True and schedule["timezone"] == "UTC"
    assert len(schedule["next_fire_times"]) == 3
    assert {"at", "local"} == set(schedule["next_fire_times"][0])

    listed = client.get("/v1/schedules", headers=ADMIN).json()
    assert [s["id"] for s in listed["items"]] == [schedule["id"]] and listed["next_cursor"] is None

    paused = client.patch(f"/v1/schedules/{schedule['id']}", json={"enabled": False}, headers=ADMIN)
    assert paused.status_code == 200 and paused.json()["enabled"] is False and paused.json()["next_fire_times"] == []
    resumed = client.patch(
        f"/v1/schedules/{schedule['id']}", json={"enabled": True, "cron": "0 6 * * *"}, headers=ADMIN
    )
    assert resumed.json()["cron"] == "0 6 * * *" and resumed.json()["rate"] is None
    assert resumed.json()["next_fire_times"][0]["at"].endswith("T06:00:00Z")

    deleted = client.delete(f"/v1/schedules/{schedule['id']}", headers=ADMIN)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/v1/schedules/{schedule['id']}", headers=ADMIN).status_code == 404
    assert fakes.scheduler.schedules == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"cron": "61 * * * *"},
            "body.cron: '61 * * * *' is not a valid cron expression: minute 61 is out of range 0-59",
        ),
        (
            {"rate": "rate(1 hour)", "timezone": "Mars/Base"},
            "body.timezone: 'Mars/Base' is not an IANA time zone",
        ),
        ({"rate": "rate(30 seconds)"}, "a schedule fires at most once a minute"),
        ({"cron": "* * * * * *"}, "a schedule fires at most once a minute"),
        ({"cron": "* * * * *", "rate": "rate(1 hour)"}, "body: give exactly one of 'cron'"),
        ({"cron": "* * * * *", "timezone": "localtime"}, "body.timezone: 'localtime' is not an IANA time zone"),
        ({"cron": "* * * * *", "timezone": "Factory"}, "body.timezone: 'Factory' is not an IANA time zone"),
        ({"rate": "rate(\u0661 minute)"}, "('\u0661' is not an ASCII digit: write numbers with 0-9)"),
        ({"cron": "*/² * * * *"}, "('²' is not an ASCII digit: write numbers with 0-9)"),
        ({"cron": "*/61 * * * *"}, "body.cron: '*/61 * * * *' is not a valid cron expression: the step in minute"),
        ({"cron": "* *\n* * *"}, "character 4 is U+000A"),
    ],
)
def test_invalid_expressions_are_422s_that_say_what_is_wrong(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    response = client.post("/v1/schedules", json={"test_id": make_test(client), **body}, headers=ADMIN)
    assert response.status_code == 422
    assert message in error_of(response)["message"]


def test_a_missing_target_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post("/v1/schedules", json={"suite_id": "ste_nope", "cron": "0 6 * * *"}, headers=ADMIN)
    assert response.status_code == 422
    assert error_of(response)["message"] == "suite_id: the project has no suite ste_nope"


def test_another_projects_key_gets_404(client: TestClient) -> None:
    made = client.post("/v1/projects", json={"name": "other"}, headers=ADMIN).json()
    other = {"X-API-Key": made["api_key"]}
    test_id = make_test(client)
    schedule = client.post("/v1/schedules", json={"test_id": test_id, "cron": "0 6 * * *"}, headers=ADMIN).json()

    assert client.get(f"/v1/schedules/{schedule['id']}", headers=other).status_code == 404
    assert client.patch(f"/v1/schedules/{schedule['id']}", json={"enabled": False}, headers=other).status_code == 404
    assert client.delete(f"/v1/schedules/{schedule['id']}", headers=other).status_code == 404
    assert client.get("/v1/schedules", headers=other).json()["items"] == []
    # nor can it schedule the first project's test
    refused = client.post("/v1/schedules", json={"test_id": test_id, "cron": "0 6 * * *"}, headers=other)
    assert refused.status_code == 422 and test_id in error_of(refused)["message"]
    assert client.get(f"/v1/schedules/{schedule['id']}", headers=ADMIN).json()["enabled"] is True
