"""``/v1/notifications`` over in-memory services: the secret shown once, hidden after, 422s saying why, 404 across
projects, deliveries newest first and paginated."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.models.events import RunStatusChanged
from shared.models.messages import RunMessage
from shared.models.runs import RunCreate, RunStatus
from shared.models.tests import TestCreate
from shared.notify.signing import SIGNATURE_HEADER, verify_signature
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
HOOK = "http://127.0.0.1:9999/hook"


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=256 * 1024))


def test_create_shows_the_secret_once_and_get_and_list_hide_it(client: TestClient, fakes: FakeServices) -> None:
    made = client.post("/v1/notifications", json={"kind": "webhook", "url": HOOK, "name": "ci"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    body = made.json()
    secret = body["secret"]
    assert secret.startswith("nsec_") and body["secret_hint"] == secret[-4:]
    assert (body["on"], body["scope"], body["suite_children"]) == (["failure", "recovery"], "all", False)

    got = client.get(f"/v1/notifications/{body['id']}", headers=ADMIN)
    listed = client.get("/v1/notifications", headers=ADMIN)
    assert got.status_code == 200 and listed.status_code == 200
    assert got.json()["secret_hint"] == secret[-4:] and "secret" not in got.json()
    assert [t["id"] for t in listed.json()["items"]] == [body["id"]]
    for response in (got, listed):
        assert secret not in response.text

    # the secret signs what is sent
    test, _ = fakes.services.catalog.create_test(
        "default", TestCreate.model_validate({"name": "t", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]})
    )
    run = fakes.services.runs.start_run("default", RunCreate(test_id=test.id))
    taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id="default", attempt=1))
    assert taken is not None
    ended = fakes.services.runs.end_attempt(taken, RunStatus.failed)
    assert fakes.services.notifications is not None
    fakes.services.notifications.on_event(RunStatusChanged.of(ended, previous=RunStatus.running))
    fakes.services.notifications.deliver(fakes.notification_queue.sent.pop(0))
    _, sent, headers = fakes.sender.posts[0]
    assert verify_signature(secret, headers[SIGNATURE_HEADER], sent)

    deliveries = client.get(f"/v1/notifications/{body['id']}/deliveries", headers=ADMIN)
    assert deliveries.status_code == 200
    [delivery] = deliveries.json()["items"]
    assert (delivery["status"], delivery["attempt"], delivery["http_status"]) == ("delivered", 1, 200)
    assert delivery["event"]["id"] == run.id and delivery["event"]["trigger"] == "failure"
    assert len(delivery["attempts"]) == 1

    deleted = client.delete(f"/v1/notifications/{body['id']}", headers=ADMIN)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/v1/notifications/{body['id']}", headers=ADMIN).status_code == 404
    assert client.delete(f"/v1/notifications/{body['id']}", headers=ADMIN).status_code == 404


def test_slack_urls_are_shown_cut_short(client: TestClient) -> None:
    url = "https://127.0.0.1/services/T000/B000/very-secret-part"
    made = client.post("/v1/notifications", json={"kind": "slack", "url": url}, headers=ADMIN).json()
    got = client.get(f"/v1/notifications/{made['id']}", headers=ADMIN).json()
    assert got["url"] == "https://127.0.0.1/services/..." and "very-secret-part" not in str(got)


def test_another_projects_key_gets_404(client: TestClient) -> None:
    made = client.post("/v1/notifications", json={"kind": "webhook", "url": HOOK}, headers=ADMIN).json()
    other = client.post("/v1/projects", json={"name": "other"}, headers=ADMIN).json()
    theirs = {"X-API-Key": other["api_key"]}
    for path in (f"/v1/notifications/{made['id']}", f"/v1/notifications/{made['id']}/deliveries"):
        response = client.get(path, headers=theirs)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert client.delete(f"/v1/notifications/{made['id']}", headers=theirs).status_code == 404
    assert client.get("/v1/notifications", headers=theirs).json()["items"] == []
    assert client.get(f"/v1/notifications/{made['id']}", headers=ADMIN).status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/"}, "the cloud metadata endpoint"),
        ({"kind": "webhook", "url": "gopher://127.0.0.1/"}, "is not an http or https URL"),
        ({"kind": "slack", "url": "http://127.0.0.1/services/x"}, "https"),
        ({"kind": "webhook", "url": HOOK, "on": ["sometimes"]}, "body.on"),
        ({"kind": "email", "url": HOOK}, "body.kind"),
        ({"kind": "webhook", "url": "http://127.0.0.1:18790/\r\nHost: evil"}, "character 24 is U+000D"),
        ({"kind": "webhook", "url": "http://127.0.0.1:18790/\x00"}, "character 24 is U+0000 (NUL)"),
        ({"kind": "webhook", "url": "http://127.0.0.1:18790/a b"}, "character 25 is U+0020 (space)"),
        ({"kind": "webhook", "url": "http://127.0.0.1:0/"}, "port 0"),
    ],
)
def test_bad_targets_are_422_saying_why(client: TestClient, body: dict[str, object], says: str) -> None:
    response = client.post("/v1/notifications", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]["message"]


def test_deliveries_are_paginated_newest_first(client: TestClient, fakes: FakeServices) -> None:
    made = client.post("/v1/notifications", json={"kind": "webhook", "url": HOOK, "on": ["always"]}, headers=ADMIN)
    target_id = made.json()["id"]
    test, _ = fakes.services.catalog.create_test(
        "default", TestCreate.model_validate({"name": "t", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]})
    )
    assert fakes.services.notifications is not None
    ids = []
    for _ in range(3):
        run = fakes.services.runs.start_run("default", RunCreate(test_id=test.id))
        taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id="default", attempt=1))
        assert taken is not None
        ended = fakes.services.runs.end_attempt(taken, RunStatus.passed)
        fakes.services.notifications.on_event(RunStatusChanged.of(ended, previous=RunStatus.running))
        ids.append(run.id)
        time.sleep(0.002)  # deliveries sort by their event's millisecond
    first = client.get(f"/v1/notifications/{target_id}/deliveries?limit=2", headers=ADMIN).json()
    second = client.get(
        f"/v1/notifications/{target_id}/deliveries?limit=2&cursor={first['next_cursor']}", headers=ADMIN
    ).json()
    assert [d["event"]["id"] for d in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert {d["status"] for d in first["items"]} == {"pending"}
