"""Every route of ``/openapi.json`` against every role: each key gets exactly the 2xx or the 403 it should.

The roles a route needs are written out here, not read from the app, so a route that changes its role, or a new
route that nobody placed, fails by name. Each (route, role) pair is tried in a world of its own (a project with
one of everything, made through the API), so an allowed DELETE cannot starve the next role of its target.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from string import Formatter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api import examples
from functions.api.app import KEYLESS_ROUTES, create_app
from functions.api.deps import services_dep
from shared.models.projects import ROLES, role_allows
from shared.models.runs import Heal, StepResult
from tests.conftest import BOOTSTRAP_KEY, FakeServices

#: the role each operation needs; ``bootstrap``: only the deployment's bootstrap key
EXPECTED: dict[str, str] = {
    "GET /v1/project": "viewer",
    "POST /v1/projects": "bootstrap",
    "POST /v1/keys": "admin",
    "GET /v1/keys": "admin",
    "DELETE /v1/keys/{key_id}": "admin",
    "GET /v1/audit": "admin",
    "GET /v1/failures": "viewer",
    "PUT /v1/integrations/github": "admin",
    "GET /v1/integrations/github": "viewer",
    "DELETE /v1/integrations/github": "admin",
    "GET /v1/integrations/github/deliveries": "viewer",
    "GET /v1/runs/{run_id}/compare/{other_id}": "viewer",
    "POST /v1/tests": "editor",
    "GET /v1/tests": "viewer",
    "GET /v1/tests/{test_id}": "viewer",
    "PATCH /v1/tests/{test_id}": "editor",
    "DELETE /v1/tests/{test_id}": "editor",
    "POST /v1/tests/{test_id}/revisions": "editor",
    "GET /v1/tests/{test_id}/revisions": "viewer",
    "GET /v1/tests/{test_id}/revisions/{number}": "viewer",
    "POST /v1/tests/{test_id}/plans": "editor",
    "GET /v1/plans/{plan_id}": "viewer",
    "POST /v1/plans/{plan_id}/accept": "editor",
    "POST /v1/runs/{run_id}/heals/accept": "editor",
    "POST /v1/runs": "runner",
    "GET /v1/runs": "viewer",
    "GET /v1/runs/{run_id}": "viewer",
    "POST /v1/runs/{run_id}/cancel": "runner",
    "GET /v1/runs/{run_id}/artifacts": "viewer",
    "GET /v1/runs/{run_id}/events": "viewer",
    "PUT /v1/secrets/{name}": "admin",
    "GET /v1/secrets": "viewer",
    "DELETE /v1/secrets/{name}": "admin",
    "POST /v1/suites": "editor",
    "GET /v1/suites": "viewer",
    "GET /v1/suites/{suite_id}": "viewer",
    "PATCH /v1/suites/{suite_id}": "editor",
    "DELETE /v1/suites/{suite_id}": "editor",
    "POST /v1/suites/{suite_id}/runs": "runner",
    "GET /v1/suite-runs": "viewer",
    "GET /v1/suite-runs/{suite_run_id}": "viewer",
    "POST /v1/suite-runs/{suite_run_id}/cancel": "runner",
    "GET /v1/tests/{test_id}/stats": "viewer",
    "GET /v1/stats/flaky": "viewer",
    "POST /v1/schedules": "editor",
    "GET /v1/schedules": "viewer",
    "GET /v1/schedules/{schedule_id}": "viewer",
    "PATCH /v1/schedules/{schedule_id}": "editor",
    "DELETE /v1/schedules/{schedule_id}": "editor",
    "POST /v1/notifications": "admin",
    "GET /v1/notifications": "viewer",
    "GET /v1/notifications/{target_id}": "viewer",
    "DELETE /v1/notifications/{target_id}": "admin",
    "GET /v1/notifications/{target_id}/deliveries": "viewer",
    "POST /v1/imports/postman": "editor",
    "POST /v1/imports/openapi": "editor",
}

CALLERS = (*ROLES, "bootstrap")
#: a target on loopback: the example's host is not resolved here (no DNS in tests)
NOTIFICATION = {"kind": "webhook", "url": "http://127.0.0.1:9/hook", "on": ["failure"]}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _operations() -> dict[str, dict[str, Any]]:
    spec = create_app(FakeServices().services).openapi()
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            name = f"{method.upper()} {path}"
            if method in HTTP_METHODS and path.startswith("/v1/") and not _keyless(method, path):
                found[name] = operation
    return found


def _keyless(method: str, path: str) -> bool:
    return any(m == method.upper() and p.replace("{name:path}", "{name}") == path for m, p in KEYLESS_ROUTES)


OPERATIONS = _operations()
APP = create_app(max_body_bytes=256 * 1024)
# entered: one event-loop portal for every request (a request outside one starts its own, ~50 ms)
CLIENT = TestClient(APP).__enter__()


def test_every_route_is_placed_and_shows_its_role() -> None:
    assert set(OPERATIONS) == set(EXPECTED)
    shown = {name: op["x-required-role"] for name, op in OPERATIONS.items()}
    assert shown == EXPECTED


def _first(table: dict[str, Any]) -> dict[str, Any]:
    return dict(next(iter(table.values()))["value"])


class World:
    """A project with one of everything a route may need (each made, through the API, when first asked for),
    and a key of each role."""

    def __init__(self) -> None:
        self.fakes = FakeServices()
        self.keys = _LazyKeys(self)

    @property
    def client(self) -> TestClient:
        """The module's one app and client (an app and an entered client per world took 0.2 s), serving this
        world's services."""
        APP.dependency_overrides[services_dep] = lambda: self.fakes.services
        return CLIENT

    @cached_property
    def spare_key(self) -> str:
        return str(self.post("/v1/keys", {"name": "spare", "role": "viewer"}, 201)["key_id"])

    @cached_property
    def tests(self) -> dict[str, str]:
        return {key: self.post("/v1/tests", e["value"], 201)["id"] for key, e in examples.TEST_CREATE.items()}

    @property
    def test_id(self) -> str:
        return self.tests["browser"]

    @property
    def plain_english(self) -> str:
        return self.tests["plain_english"]

    @cached_property
    def plan_id(self) -> str:
        return str(self.post(f"/v1/tests/{self.plain_english}/plans", {}, 202)["id"])

    @cached_property
    def suite_id(self) -> str:
        return str(self.post("/v1/suites", dict(_first(examples.SUITE_CREATE), tests=[self.test_id]), 201)["id"])

    @cached_property
    def suite_run_id(self) -> str:
        return str(self.post(f"/v1/suites/{self.suite_id}/runs", {}, 202)["id"])

    @cached_property
    def queued_run(self) -> str:
        return str(self.post("/v1/runs", {"test_id": self.test_id}, 202)["id"])

    @cached_property
    def done_run(self) -> str:
        run_id = str(self.post("/v1/runs", {"test_id": self.test_id}, 202)["id"])
        self.post(f"/v1/runs/{run_id}/cancel", None, 202)
        return run_id

    @cached_property
    def schedule_id(self) -> str:
        return str(self.post("/v1/schedules", self.schedule_body(), 201)["id"])

    @cached_property
    def target_id(self) -> str:
        return str(self.post("/v1/notifications", NOTIFICATION, 201)["id"])

    def github_body(self) -> dict[str, Any]:
        rules = [{"repo": "acme/shop", "suite": self.suite_id}]
        return {"secret": "a-long-random-webhook-secret", "rules": rules, "api_url": "http://127.0.0.1:9"}

    @cached_property
    def github(self) -> str:
        self.request("PUT", "/v1/integrations/github", "bootstrap", self.github_body(), 200)
        return "github"

    @cached_property
    def secret(self) -> str:
        self.request("PUT", "/v1/secrets/ADMIN_PASSWORD", "bootstrap", {"value": "s3cret-value"}, 200)
        return "ADMIN_PASSWORD"

    def close(self) -> None:
        APP.dependency_overrides.pop(services_dep, None)

    @cached_property
    def healed_run(self) -> str:
        run_id = self.post("/v1/runs", {"test_id": self.plain_english}, 202)["id"]
        heal = Heal(
            before='"Log in"',
            after='role=button name="Sign in"',
            replacement={"role": "button", "name": "Sign in"},
            locator='get_by_role("button", name="Sign in")',
            score=0.74,
            source="fuzzy",
            reason="matched nothing",
        )
        step = StepResult(index=2, action="click", status="passed", heal=heal, healed=True)
        self.fakes.store.update_run(run_id, {"status": "passed", "steps": [step.model_dump(mode="json")]})
        return run_id

    def schedule_body(self) -> dict[str, Any]:
        return dict(_first(examples.SCHEDULE_CREATE), suite_id=self.suite_id)

    def post(self, url: str, body: Any, status: int) -> dict[str, Any]:
        return self.request("POST", url, "bootstrap", body, status)

    def request(self, method: str, url: str, caller: str, body: Any, status: int | None = None) -> Any:
        response = self.client.request(method, url, json=body, headers={"Authorization": f"Bearer {self.keys[caller]}"})
        if status is not None:
            assert response.status_code == status, (method, url, response.text)
            return response.json() if response.content else None
        return response

    def url(self, name: str) -> str:
        method, path = name.split(" ", 1)
        makers: dict[str, Callable[[], str]] = {
            "test_id": lambda: self.test_id,
            "number": lambda: "1",
            "plan_id": lambda: self.plan_id,
            "run_id": lambda: self.queued_run,
            "name": lambda: self.secret,
            "suite_id": lambda: self.suite_id,
            "suite_run_id": lambda: self.suite_run_id,
            "schedule_id": lambda: self.schedule_id,
            "target_id": lambda: self.target_id,
            "key_id": lambda: self.spare_key,
            "other_id": lambda: self.done_run,
        }
        if path.endswith("/plans"):  # plans are made from a goal
            makers["test_id"] = lambda: self.plain_english
        if path.endswith("/heals/accept"):
            makers["run_id"] = lambda: self.healed_run
        elif method == "GET":  # a finished run: its event stream ends at once
            makers["run_id"] = lambda: self.done_run
        if path.startswith("/v1/secrets/") and method == "PUT":
            makers["name"] = lambda: "NEW_SECRET"
        if path.startswith("/v1/integrations/github") and method != "PUT":
            _ = self.github  # the integration to read or delete
        wanted = {field for _, field, _, _ in Formatter().parse(path) if field}
        return path.format(**{field: makers[field]() for field in wanted})

    def body(self, name: str, operation: dict[str, Any]) -> Any:
        if "requestBody" not in operation:
            return None
        special: dict[str, Callable[[], Any]] = {
            "POST /v1/runs": lambda: {"test_id": self.test_id},
            "POST /v1/schedules": self.schedule_body,
            "POST /v1/keys": lambda: {"name": "another", "role": "viewer"},
            "POST /v1/notifications": lambda: NOTIFICATION,
            "PUT /v1/integrations/github": self.github_body,
            "POST /v1/suites/{suite_id}/runs": dict,
            "POST /v1/tests/{test_id}/plans": dict,
        }
        if name in special:
            return special[name]()
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        table = next(t for model, t in examples.REQUEST_EXAMPLES.items() if model.__name__ == ref)
        value = _first(table)
        if "tests" in value:
            value["tests"] = [self.test_id]
        return value


def _allowed(caller: str, needed: str) -> bool:
    if needed == "bootstrap":
        return caller == "bootstrap"
    return caller == "bootstrap" or role_allows(caller, needed)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_gets_exactly_what_it_should(name: str) -> None:
    needed = EXPECTED[name]
    method = name.split(" ", 1)[0]
    refused = World()  # a refused call changes nothing: the refused callers share one world
    for caller in CALLERS:
        world = refused if not _allowed(caller, needed) else World()
        try:
            response = world.request(method, world.url(name), caller, world.body(name, OPERATIONS[name]))
        finally:
            if world is not refused:
                world.close()
        if _allowed(caller, needed):
            assert 200 <= response.status_code < 300, (caller, name, response.status_code, response.text)
        else:
            assert response.status_code == 403, (caller, name, response.status_code, response.text)
            error = response.json()["error"]
            assert error["details"]["role_required"] == needed, (caller, name, error)
            assert needed in error["message"], error["message"]
    refused.close()


def test_a_refused_write_changes_nothing() -> None:
    world = World()
    world.close()
    world = World()
    before = world.request("GET", f"/v1/tests/{world.test_id}", "viewer", None, 200)
    for caller in ("viewer", "runner"):
        response = world.request("PATCH", f"/v1/tests/{world.test_id}", caller, {"name": "renamed"})
        assert response.status_code == 403
        response = world.request("DELETE", f"/v1/suites/{world.suite_id}", caller, None)
        assert response.status_code == 403
    assert world.request("GET", f"/v1/tests/{world.test_id}", "viewer", None, 200) == before
    world.request("GET", f"/v1/suites/{world.suite_id}", "viewer", None, 200)


class _LazyKeys(dict[str, str]):
    """A world's keys by caller, each made when first used."""

    def __init__(self, world: World) -> None:
        super().__init__(bootstrap=BOOTSTRAP_KEY)
        self._world = world

    def __missing__(self, role: str) -> str:
        key = str(self._world.post("/v1/keys", {"name": role, "role": role}, 201)["api_key"])
        self[role] = key
        return key


def test_a_webhooks_token_in_its_url_is_not_shown_to_readers() -> None:
    world = World()
    body = {"kind": "webhook", "url": "http://user:pw@127.0.0.1:9/hook?token=tok-123", "on": ["failure"]}
    made = world.post("/v1/notifications", body, 201)
    for caller in ("viewer", "admin"):
        shown = world.request("GET", f"/v1/notifications/{made['id']}", caller, None, 200)
        assert shown["url"] == "http://127.0.0.1:9/hook?...", shown
    assert "tok-123" not in world.client.get("/v1/notifications", headers={"X-API-Key": world.keys["viewer"]}).text
    world.close()
