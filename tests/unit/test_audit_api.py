"""The audit log through the real routes over in-memory services: a record for each kind of write (with who,
from where and the correlation id), none for any read, the filters and pages of ``GET /v1/audit``, project
isolation, admin only, what happens when a record cannot be stored, and the dashboard's form posts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.errors import Unavailable
from shared.models.runs import Heal, StepResult
from shared.services import audit as audit_service
from tests.conftest import BOOTSTRAP_KEY, FakeServices

AGENT = "audit-test/1.0 (+loopback)"
STEPS = [{"action": "goto", "url": "http://127.0.0.1:9/login"}]
GOAL = 'Go to http://127.0.0.1:9/login\nClick "Log in"\nExpect to see "Welcome"'
SECRET_VALUE = "hunter2-never-in-the-log"


class Caller:
    """Requests with one key, a User-Agent and a fresh correlation id each; ``new()`` gives the audit records
    appended since it was last asked."""

    def __init__(self, client: TestClient, fakes: FakeServices, key: str) -> None:
        self.client, self.fakes, self.key = client, fakes, key
        self.seen = len(fakes.audit_store.records)
        self.count = 0
        self.correlation = ""

    def __call__(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        self.count += 1
        self.correlation = f"cor-audit-{self.count}"
        headers = {"X-API-Key": self.key, "User-Agent": AGENT, "X-Correlation-Id": self.correlation}
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def new(self) -> list[Any]:
        records = self.fakes.audit_store.all()
        fresh, self.seen = records[self.seen :], len(records)
        return fresh


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


def a_project(client: TestClient, name: str = "Team A") -> tuple[str, str]:
    """A new project: its id and its first (admin) key, named ``default``."""
    created = client.post("/v1/projects", json={"name": name}, headers={"X-API-Key": BOOTSTRAP_KEY})
    assert created.status_code == 201, created.text
    return created.json()["project"]["id"], created.json()["api_key"]


def a_key(client: TestClient, admin_key: str, name: str, role: str) -> tuple[str, str]:
    made = client.post("/v1/keys", json={"name": name, "role": role}, headers={"X-API-Key": admin_key})
    assert made.status_code == 201, made.text
    return made.json()["key_id"], made.json()["api_key"]


def test_every_kind_of_write_appends_one_record_saying_who_what_where(client: TestClient, fakes: FakeServices) -> None:
    project_id, default_key = a_project(client)
    by_default = Caller(client, fakes, default_key)
    made = by_default("POST", "/v1/keys", 201, json={"name": "alice", "role": "admin"})
    alice_id, alice = made["key_id"], made["api_key"]
    (key_record,) = by_default.new()
    assert (key_record.action, key_record.resource_kind, key_record.resource_id) == ("key.create", "key", alice_id)
    assert key_record.details == {"name": "alice", "role": "admin"} and key_record.key_name == "default"
    assert alice not in key_record.model_dump_json()  # the key itself is never recorded

    call = Caller(client, fakes, alice)
    expected: list[tuple[str, str, str, int | None]] = []

    def wrote(*records: tuple[str, str, str, int | None]) -> None:
        new = call.new()
        assert [(r.action, r.resource_kind, r.resource_id, r.revision) for r in new] == list(records)
        for r in new:
            assert (r.project_id, r.key_id, r.key_name, r.role) == (project_id, alice_id, "alice", "admin")
            assert (r.source_ip, r.user_agent, r.correlation_id) == ("testclient", AGENT, call.correlation)
            assert r.expires_at - r.at.timestamp() == pytest.approx(365 * 86400, abs=2)
        expected.extend(records)

    # tests and revisions
    test_id = call("POST", "/v1/tests", 201, json={"name": "Login", "steps": STEPS})["id"]
    wrote(("test.create", "test", test_id, 1))
    call("PATCH", f"/v1/tests/{test_id}", 200, json={"tags": ["smoke"], "description": "x"})
    wrote(("test.update", "test", test_id, None))
    assert call.new() == [] and fakes.audit_store.all()[-1].details == {"fields": ["description", "tags"]}
    call("POST", f"/v1/tests/{test_id}/revisions", 201, json={"steps": STEPS * 2})
    wrote(("revision.create", "test", test_id, 2))

    # plans
    goal_id = call("POST", "/v1/tests", 201, json={"name": "Plain", "goal": GOAL})["id"]
    wrote(("test.create", "test", goal_id, 1))
    plan_id = call("POST", f"/v1/tests/{goal_id}/plans", 202)["id"]
    wrote(("plan.request", "plan", plan_id, 1))
    call("POST", f"/v1/plans/{plan_id}/accept", 201)
    wrote(("plan.accept", "test", goal_id, 2))

    # runs, heals
    run_id = call("POST", "/v1/runs", 202, json={"test_id": test_id})["id"]
    wrote(("run.start", "run", run_id, 2))
    call("POST", f"/v1/runs/{run_id}/cancel", 202)
    wrote(("run.cancel", "run", run_id, 2))
    healed = call("POST", "/v1/runs", 202, json={"test_id": goal_id})["id"]
    wrote(("run.start", "run", healed, 2))
    heal = Heal(
        before='"Log in"',
        after='role=button name="Sign in"',
        replacement={"role": "button", "name": "Sign in"},
        locator='get_by_role("button", name="Sign in")',
        score=0.74,
        source="fuzzy",
        reason="matched nothing",
    )
    step = StepResult(index=1, action="click", status="passed", heal=heal, healed=True)
    fakes.store.update_run(healed, {"status": "passed", "steps": [step.model_dump(mode="json")]})
    call("POST", f"/v1/runs/{healed}/heals/accept", 201)
    wrote(("heal.accept", "test", goal_id, 3))

    # suites and suite runs
    suite_id = call("POST", "/v1/suites", 201, json={"name": "Smoke", "selector": {"tags": ["smoke"]}})["id"]
    wrote(("suite.create", "suite", suite_id, None))
    call("PATCH", f"/v1/suites/{suite_id}", 200, json={"max_parallel": 2})
    wrote(("suite.update", "suite", suite_id, None))
    suite_run_id = call("POST", f"/v1/suites/{suite_id}/runs", 202)["id"]
    wrote(("suite_run.start", "suite_run", suite_run_id, None))
    call("POST", f"/v1/suite-runs/{suite_run_id}/cancel", 202)
    wrote(("suite_run.cancel", "suite_run", suite_run_id, None))
    call("DELETE", f"/v1/suites/{suite_id}", 204)
    wrote(("suite.delete", "suite", suite_id, None))

    # schedules
    schedule_id = call("POST", "/v1/schedules", 201, json={"test_id": test_id, "rate": "rate(1 hour)"})["id"]
    wrote(("schedule.create", "schedule", schedule_id, None))
    call("PATCH", f"/v1/schedules/{schedule_id}", 200, json={"enabled": False})
    wrote(("schedule.update", "schedule", schedule_id, None))
    call("DELETE", f"/v1/schedules/{schedule_id}", 204)
    wrote(("schedule.delete", "schedule", schedule_id, None))

    # secrets: the name, never the value
    call("PUT", "/v1/secrets/ADMIN_PASSWORD", 200, json={"value": SECRET_VALUE})
    wrote(("secret.put", "secret", "ADMIN_PASSWORD", None))
    call("DELETE", "/v1/secrets/ADMIN_PASSWORD", 204)
    wrote(("secret.delete", "secret", "ADMIN_PASSWORD", None))

    # notifications
    target_id = call("POST", "/v1/notifications", 201, json={"kind": "webhook", "url": "http://127.0.0.1:9/hook"})["id"]
    wrote(("notification.create", "notification", target_id, None))
    call("DELETE", f"/v1/notifications/{target_id}", 204)
    wrote(("notification.delete", "notification", target_id, None))

    # imports: one record per test saved; nothing for a translation only
    postman = {
        "collection": {
            "info": {"name": "Shop", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "item": [
                {
                    "name": "Items",
                    "item": [{"name": "List", "request": {"method": "GET", "url": "http://127.0.0.1:9/a"}}],
                },
                {
                    "name": "Users",
                    "item": [{"name": "List", "request": {"method": "GET", "url": "http://127.0.0.1:9/u"}}],
                },
            ],
        }
    }
    imported = call("POST", "/v1/imports/postman", 200, json=postman)
    ids = [t["created"]["id"] for t in imported["tests"]]
    assert len(ids) == 2
    wrote(*[("import.postman", "test", i, 1) for i in ids])
    call("POST", "/v1/imports/postman", 200, json=postman | {"save": False})
    wrote()
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "1"},
        "paths": {"/healthz": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    imported = call("POST", "/v1/imports/openapi", 200, json={"document": document, "base_url": "http://127.0.0.1:9"})
    wrote(*[("import.openapi", "test", t["created"]["id"], 1) for t in imported["tests"]])

    call("DELETE", f"/v1/tests/{test_id}", 200)
    wrote(("test.archive", "test", test_id, None))

    spare = call("POST", "/v1/keys", 201, json={"name": "spare", "role": "viewer"})["key_id"]
    wrote(("key.create", "key", spare, None))
    call("DELETE", f"/v1/keys/{spare}", 200)
    wrote(("key.delete", "key", spare, None))

    # the log lists them all, newest first, and no secret value is anywhere in it
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = call("GET", "/v1/audit", 200, params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        listed += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert call.new() == []  # reading the log appends nothing
    mine = [r for r in listed if r["key_id"] == alice_id]
    assert [(r["action"], r["resource_kind"], r["resource_id"], r["revision"]) for r in reversed(mine)] == expected
    assert listed[-1]["action"] == "key.create" and len(listed) == len(expected) + 1
    assert "project_id" not in listed[0] and "expires_at" not in listed[0]
    assert SECRET_VALUE not in json.dumps(listed) and SECRET_VALUE not in str(fakes.audit_store.records)


def test_creating_a_project_is_in_the_bootstrap_projects_log(client: TestClient, fakes: FakeServices) -> None:
    project_id, _ = a_project(client, "Team B")
    (record,) = fakes.audit_store.all()
    assert (record.action, record.resource_kind, record.resource_id) == ("project.create", "project", project_id)
    assert (record.project_id, record.key_id, record.key_name) == ("default", "bootstrap", "bootstrap")
    assert list(record.details) == ["key_id"]


def _ids(spec: dict[str, Any], values: dict[str, str]) -> Iterator[str]:
    for path, item in spec["paths"].items():
        if "get" in item:
            yield re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: values.get(m.group(1), "x"), path)


def test_no_read_appends_a_record(client: TestClient, fakes: FakeServices) -> None:
    # Given a project with one of everything
    _, key = a_project(client)
    call = Caller(client, fakes, key)
    test_id = call("POST", "/v1/tests", 201, json={"name": "Login", "steps": STEPS, "tags": ["smoke"]})["id"]
    goal_id = call("POST", "/v1/tests", 201, json={"name": "Plain", "goal": GOAL})["id"]
    plan_id = call("POST", f"/v1/tests/{goal_id}/plans", 202)["id"]
    run_id = call("POST", "/v1/runs", 202, json={"test_id": test_id})["id"]
    call("POST", f"/v1/runs/{run_id}/cancel", 202)  # ended: its event stream closes at once
    suite_id = call("POST", "/v1/suites", 201, json={"name": "Smoke", "selector": {"tags": ["smoke"]}})["id"]
    suite_run_id = call("POST", f"/v1/suites/{suite_id}/runs", 202)["id"]
    call("POST", f"/v1/suite-runs/{suite_run_id}/cancel", 202)
    schedule_id = call("POST", "/v1/schedules", 201, json={"test_id": test_id, "rate": "rate(1 hour)"})["id"]
    target_id = call("POST", "/v1/notifications", 201, json={"kind": "webhook", "url": "http://127.0.0.1:9/h"})["id"]
    call.new()
    values = {
        "test_id": test_id,
        "number": "1",
        "plan_id": plan_id,
        "run_id": run_id,
        "suite_id": suite_id,
        "suite_run_id": suite_run_id,
        "schedule_id": schedule_id,
        "target_id": target_id,
        "token": "x",
        "name": "report.html",
    }

    # When every GET route of the API is called with the project's admin key
    paths = list(_ids(client.get("/openapi.json").json(), values))
    statuses = {}
    for path in paths:
        statuses[path] = client.get(path, headers={"X-API-Key": key}).status_code

    # Then they answered (no 5xx) and none appended a record
    assert len(paths) > 20 and "/v1/audit" in paths
    assert all(status < 500 for status in statuses.values()), statuses
    assert statuses[f"/v1/tests/{test_id}"] == 200 and statuses[f"/v1/runs/{run_id}/events"] == 200
    assert call.new() == []


def test_filters_pages_and_bad_queries(client: TestClient, fakes: FakeServices) -> None:
    _, admin = a_project(client)
    editor_id, editor = a_key(client, admin, "ci", "editor")
    as_admin, as_editor = Caller(client, fakes, admin), Caller(client, fakes, editor)
    first = as_editor("POST", "/v1/tests", 201, json={"name": "One", "steps": STEPS})["id"]
    second = as_admin("POST", "/v1/tests", 201, json={"name": "Two", "steps": STEPS})["id"]
    as_editor("POST", f"/v1/tests/{first}/revisions", 201, json={"steps": STEPS})
    as_admin("PUT", "/v1/secrets/TOKEN", 200, json={"value": "v"})
    middle = next(r.at for r in fakes.audit_store.all() if r.action == "revision.create").isoformat()

    def listed(**params: Any) -> list[tuple[str, str]]:
        page = as_admin("GET", "/v1/audit", 200, params=params)
        return [(r["action"], r["resource_id"]) for r in page["items"]]

    assert listed(resource="test") == [("revision.create", first), ("test.create", second), ("test.create", first)]
    assert listed(resource=f"test:{first}") == [("revision.create", first), ("test.create", first)]
    assert listed(resource="secret:TOKEN") == [("secret.put", "TOKEN")]
    assert listed(actor=editor_id) == [("revision.create", first), ("test.create", first)]
    assert listed(actor=editor_id, resource=f"test:{second}") == []
    assert listed(resource="test", actor=editor_id, since=middle) == [("revision.create", first)]
    assert listed(since=middle) == [("secret.put", "TOKEN"), ("revision.create", first)]
    assert listed(since="2999-01-01T00:00:00Z") == []
    # a time without a zone is UTC (as the table's keys are), however far back: never a 500
    assert listed(since=middle.removesuffix("+00:00")) == listed(since=middle)
    assert len(listed(since="0001-01-01T00:00:00")) == len(listed()) == len(listed(since="0001-01-01T00:00:00+14:00"))

    page = as_admin("GET", "/v1/audit", 200, params={"resource": "test", "limit": 2})
    rest = as_admin("GET", "/v1/audit", 200, params={"resource": "test", "limit": 2, "cursor": page["next_cursor"]})
    assert len(page["items"]) == 2 and [r["resource_id"] for r in rest["items"]] == [first]
    assert rest["next_cursor"] is None

    for params, field in (
        ({"since": "yesterday"}, "since"),
        ({"resource": "widget"}, "resource"),
        ({"resource": "test:"}, "resource"),
        ({"resource": "test:a b"}, "resource"),
        ({"actor": "key id"}, "actor"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"resource": "secret", "cursor": page["next_cursor"]}, "cursor"),  # another query's cursor
        ({"limit": 0}, "limit"),
    ):
        bad = client.get("/v1/audit", params=params, headers={"X-API-Key": admin})
        assert bad.status_code == 422, (params, bad.text)
        assert field in bad.json()["error"]["message"], bad.text


def test_only_an_admin_reads_the_log_and_only_its_own_projects(client: TestClient, fakes: FakeServices) -> None:
    _, admin_a = a_project(client, "A")
    _, admin_b = a_project(client, "B")
    for role in ("viewer", "runner", "editor"):
        _, key = a_key(client, admin_a, role, role)
        refused = client.get("/v1/audit", headers={"X-API-Key": key})
        assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    call_a = Caller(client, fakes, admin_a)
    for n in range(3):
        call_a("POST", "/v1/tests", 201, json={"name": f"T{n}", "steps": STEPS})

    seen_a = client.get("/v1/audit", params={"limit": 2}, headers={"X-API-Key": admin_a}).json()
    seen_b = client.get("/v1/audit", headers={"X-API-Key": admin_b}).json()
    a_cursor_in_b = client.get(
        "/v1/audit", params={"limit": 2, "cursor": seen_a["next_cursor"]}, headers={"X-API-Key": admin_b}
    )

    assert len(seen_a["items"]) == 2 and seen_a["next_cursor"]
    assert seen_b == {"items": [], "next_cursor": None}  # B's own log: nothing of A's (not even A's key.create)
    assert a_cursor_in_b.status_code == 422


def test_a_record_that_cannot_be_stored_leaves_the_change_and_says_so(
    client: TestClient, fakes: FakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an audit store that is down
    _, key = a_project(client)
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(audit_service.logger, "error", lambda message, **keys: logged.append((message, keys)))
    fakes.audit_store.fail = Unavailable("the table is unavailable")

    # When a test is created
    created = client.post(
        "/v1/tests", json={"name": "Login", "steps": STEPS}, headers={"X-API-Key": key, "X-Correlation-Id": "cor-down"}
    )

    # Then the change stands and its answer is the usual one, the header names the record, and the record is
    # in the error log in full
    assert created.status_code == 201, created.text
    test_id = created.json()["id"]
    assert client.get(f"/v1/tests/{test_id}", headers={"X-API-Key": key}).status_code == 200
    ((message, keys),) = logged
    assert message == "audit record not stored" and keys["audit_unrecorded"] is True
    record = keys["audit_record"]
    assert (record["action"], record["resource_id"], record["correlation_id"]) == ("test.create", test_id, "cor-down")
    assert created.headers["x-audit-unrecorded"] == record["id"] and "Unavailable" in keys["error"]
    assert [r.action for r in fakes.audit_store.all()] == ["project.create"]  # from before it went down

    # and once the store is back, the next write is recorded and answers no such header
    fakes.audit_store.fail = None
    again = client.post("/v1/tests", json={"name": "Two", "steps": STEPS}, headers={"X-API-Key": key})
    assert again.status_code == 201 and "x-audit-unrecorded" not in again.headers
    assert [r.action for r in fakes.audit_store.all()] == ["project.create", "test.create"]


def test_the_dashboards_form_posts_are_recorded_too(fakes: FakeServices) -> None:
    client = TestClient(create_app(fakes.services, ui_session_key=b"u" * 32), base_url="http://127.0.0.1")
    _, key = a_project(client)
    editor_id, editor = a_key(client, key, "dashboard user", "editor")
    page = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf
    logged_in = client.post(
        "/ui/login", data={"api_key": editor, "csrf": csrf.group(1), "next": "/ui/runs"}, follow_redirects=False
    )
    assert logged_in.status_code == 303
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/ui/runs").text)
    assert token
    form = {"csrf": token.group(1)}
    api = Caller(client, fakes, editor)
    test_id = api("POST", "/v1/tests", 201, json={"name": "Login", "steps": STEPS, "tags": ["smoke"]})["id"]
    suite_id = api("POST", "/v1/suites", 201, json={"name": "Smoke", "selector": {"tags": ["smoke"]}})["id"]
    schedule_id = api("POST", "/v1/schedules", 201, json={"test_id": test_id, "rate": "rate(1 hour)"})["id"]
    api.new()
    agent = {"User-Agent": AGENT, "X-Correlation-Id": "cor-ui"}

    def post(path: str) -> str:
        response = client.post(path, data=form, headers=agent, follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    run_id = post(f"/ui/tests/{test_id}/run").rsplit("/", 1)[1]
    post(f"/ui/runs/{run_id}/cancel")
    rerun_id = post(f"/ui/runs/{run_id}/rerun").rsplit("/", 1)[1]
    suite_run_id = post(f"/ui/suites/{suite_id}/run").rsplit("/", 1)[1]
    post(f"/ui/suite-runs/{suite_run_id}/cancel")
    post(f"/ui/schedules/{schedule_id}/pause")

    records = api.new()
    assert [(r.action, r.resource_id) for r in records] == [
        ("run.start", run_id),
        ("run.cancel", run_id),
        ("run.start", rerun_id),
        ("suite_run.start", suite_run_id),
        ("suite_run.cancel", suite_run_id),
        ("schedule.update", schedule_id),
    ]
    assert all(
        (r.key_id, r.key_name, r.user_agent, r.correlation_id) == (editor_id, "dashboard user", AGENT, "cor-ui")
        for r in records
    )
    assert records[2].details["rerun_of"] == run_id and records[-1].details["enabled"] is False
