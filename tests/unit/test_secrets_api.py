"""``/v1/secrets`` over in-memory services: write-only, scoped to the caller's project, 422s with the field's
location, and described for OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.models.secrets import MAX_VALUE_BYTES
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
VALUE = "correct-horse-battery-staple"


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=256 * 1024))


def new_project(client: TestClient, name: str) -> tuple[str, dict[str, str]]:
    made = client.post("/v1/projects", json={"name": name}, headers=ADMIN).json()
    return made["project"]["id"], {"X-API-Key": made["api_key"]}


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    return dict(body["error"])


def test_put_list_delete_never_answer_with_the_value(client: TestClient, fakes: FakeServices) -> None:
    put = client.put("/v1/secrets/ADMIN_PASSWORD", json={"value": VALUE}, headers=ADMIN)
    again = client.put("/v1/secrets/ADMIN_PASSWORD", json={"value": VALUE + "2"}, headers=ADMIN)
    listed = client.get("/v1/secrets", headers=ADMIN)

    assert put.status_code == 200, put.text
    assert set(put.json()) == {"name", "updated_at", "source"}
    assert put.json()["name"] == "ADMIN_PASSWORD" and put.json()["source"] == "project"
    assert again.status_code == 200 and again.json()["updated_at"] >= put.json()["updated_at"]
    assert listed.status_code == 200
    assert [(s["name"], s["source"]) for s in listed.json()["items"]] == [("ADMIN_PASSWORD", "project")]
    for response in (put, again, listed):
        assert VALUE not in response.text
    assert fakes.secret_store.get("default", "ADMIN_PASSWORD") == VALUE + "2"

    deleted = client.delete("/v1/secrets/ADMIN_PASSWORD", headers=ADMIN)
    missing = client.delete("/v1/secrets/ADMIN_PASSWORD", headers=ADMIN)

    assert deleted.status_code == 204 and deleted.content == b""
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert "ADMIN_PASSWORD" in error_of(missing)["message"]
    assert client.get("/v1/secrets", headers=ADMIN).json() == {"items": []}


def test_no_route_reads_a_value(client: TestClient) -> None:
    client.put("/v1/secrets/ADMIN_PASSWORD", json={"value": VALUE}, headers=ADMIN)

    read = client.get("/v1/secrets/ADMIN_PASSWORD", headers=ADMIN)

    assert read.status_code == 405 and VALUE not in read.text


def test_another_project_cannot_list_read_overwrite_or_delete_a_projects_secrets(
    client: TestClient, fakes: FakeServices
) -> None:
    # Given project A with a secret, and project B with a key of its own
    a, key_a = new_project(client, "team a")
    b, key_b = new_project(client, "team b")
    assert client.put("/v1/secrets/ADMIN_PASSWORD", json={"value": VALUE}, headers=key_a).status_code == 200

    # When B lists, deletes and "overwrites" that name
    listed = client.get("/v1/secrets", headers=key_b)
    deleted = client.delete("/v1/secrets/ADMIN_PASSWORD", headers=key_b)
    overwritten = client.put("/v1/secrets/ADMIN_PASSWORD", json={"value": "b-value"}, headers=key_b)

    # Then B saw nothing of A's, and its PUT made B's own secret: A's is as it was
    assert listed.status_code == 200 and listed.json() == {"items": []}
    assert deleted.status_code == 404
    assert overwritten.status_code == 200
    assert fakes.secret_store.get(a, "ADMIN_PASSWORD") == VALUE
    assert fakes.secret_store.get(b, "ADMIN_PASSWORD") == "b-value"
    assert [s["name"] for s in client.get("/v1/secrets", headers=key_a).json()["items"]] == ["ADMIN_PASSWORD"]
    # and B deleting its own leaves A's alone
    assert client.delete("/v1/secrets/ADMIN_PASSWORD", headers=key_b).status_code == 204
    assert fakes.secret_store.get(a, "ADMIN_PASSWORD") == VALUE
    # no key, no secrets
    assert client.get("/v1/secrets").status_code == 401
    assert client.put("/v1/secrets/X", json={"value": "v"}).status_code == 401


@pytest.mark.parametrize(
    ("name", "body", "loc", "says"),
    [
        ("1ABC", {"value": "v"}, "path.name", "starts with a letter or '_'"),
        ("with%20space", {"value": "v"}, "path.name", "the names {{secret:NAME}} accepts"),
        ("x" * 129, {"value": "v"}, "path.name", "at most 128"),
        ("OK", {}, "body.value", "Field required"),
        ("OK", {"value": ""}, "body.value", "cannot be empty"),
        ("OK", {"value": "x" * (MAX_VALUE_BYTES + 1)}, "body.value", f"at most {MAX_VALUE_BYTES} bytes"),
        ("OK", {"value": 5}, "body.value", "valid string"),
        ("OK", {"value": "v", "name": "OTHER"}, "body.name", "Extra inputs are not permitted"),
    ],
    ids=["digit-first", "space", "too-long-name", "no-value", "empty", "too-large", "not-text", "extra-field"],
)
def test_bad_names_and_values_are_422_with_their_location(
    client: TestClient, fakes: FakeServices, name: str, body: dict[str, Any], loc: str, says: str
) -> None:
    response = client.put(f"/v1/secrets/{name}", json=body, headers=ADMIN)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert loc in [d["loc"] for d in error["details"]], error
    assert says in error["message"], error["message"]
    assert fakes.secret_store.stored == {}


def test_a_value_that_is_not_valid_unicode_is_422(client: TestClient) -> None:
    response = client.put(
        "/v1/secrets/OK", content=b'{"value": "\\udfff"}', headers=ADMIN | {"Content-Type": "application/json"}
    )

    assert response.status_code == 422 and "surrogate" in error_of(response)["message"]


def test_a_bad_name_on_delete_is_422(client: TestClient) -> None:
    response = client.delete("/v1/secrets/1ABC", headers=ADMIN)

    assert response.status_code == 422 and error_of(response)["details"][0]["loc"] == "path.name"


def test_the_secrets_api_is_described_for_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]

    for model in ("SecretPut", "SecretPublic", "SecretList"):
        assert components[model].get("description"), model
        for field, spec in components[model]["properties"].items():
            assert spec.get("description"), f"{model}.{field}"
    assert components["SecretPut"]["examples"] == [{"value": "correct-horse-battery-staple"}]
    paths = schema["paths"]
    assert set(paths["/v1/secrets/{name}"]) == {"put", "delete"} and set(paths["/v1/secrets"]) == {"get"}
    [param] = paths["/v1/secrets/{name}"]["put"]["parameters"]
    assert param["name"] == "name" and "{{secret:NAME}}" in param["description"]
    for operation in (paths["/v1/secrets/{name}"]["put"], paths["/v1/secrets"]["get"]):
        assert operation["summary"]
