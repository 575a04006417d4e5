"""The OpenAPI document describes everything a reader of ``/docs`` meets: every schema and every property of
every schema, every query and path parameter, and every request body has an example that its model accepts.
A new field, parameter or body that lands undocumented fails here, named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from functions.api import examples
from functions.api.app import create_app
from functions.api.examples import REQUEST_EXAMPLES
from shared.models.runs import RunCreate
from shared.models.tests import TestCreate, TestKind
from tests.conftest import BOOTSTRAP_KEY, FakeServices

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def spec(fakes: FakeServices) -> dict[str, Any]:
    return create_app(fakes.services, max_body_bytes=64 * 1024).openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def object_schemas(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema with ``properties`` anywhere under ``node`` (inline objects included), with its place."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield where, node
        for key, value in node.items():
            yield from object_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from object_schemas(value, f"{where}/{index}")


def undocumented(spec: dict[str, Any]) -> list[str]:
    missing = [
        f"schema {name}" for name, schema in spec["components"]["schemas"].items() if not schema.get("description")
    ]
    for where, schema in object_schemas(spec, "#"):
        place = where.removeprefix("#/components/schemas/")
        missing += [
            f"property {place}.{name}" for name, prop in schema["properties"].items() if not prop.get("description")
        ]
    for name, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if not parameter.get("description"):
                missing.append(f"parameter {name} {parameter['in']}.{parameter['name']}")
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            if not content.get("examples"):
                missing.append(f"request body {name} {media}: no example")
    return missing


def test_every_schema_property_parameter_and_request_body_is_documented(spec: dict[str, Any]) -> None:
    assert len(spec["components"]["schemas"]) > 40  # the walk sees the whole document
    assert undocumented(spec) == []


def test_the_walk_finds_what_is_missing(spec: dict[str, Any]) -> None:
    # Given a document with one of each omission
    schemas = spec["components"]["schemas"]
    del schemas["TestCreate"]["description"], schemas["TestCreate"]["properties"]["name"]["description"]
    schemas["Nested"] = {"description": "x", "properties": {"inner": {"type": "object", "properties": {"a": {}}}}}
    schemas["Nested"]["properties"]["inner"]["description"] = "y"
    operation = spec["paths"]["/v1/tests"]["get"]
    del next(p for p in operation["parameters"] if p["name"] == "kind")["description"]
    del spec["paths"]["/v1/tests"]["post"]["requestBody"]["content"]["application/json"]["examples"]

    # Then each is named
    assert sorted(undocumented(spec)) == [
        "parameter GET /v1/tests query.kind",
        "property Nested/properties/inner.a",
        "property TestCreate.name",
        "request body POST /v1/tests application/json: no example",
        "schema TestCreate",
    ]


def body_model(operation: dict[str, Any]) -> type[BaseModel]:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    by_name = {model.__name__: model for model in REQUEST_EXAMPLES}
    name = ref.rsplit("/", 1)[-1]
    assert name in by_name, f"no examples for {name} in functions/api/examples.py"
    return by_name[name]


def test_every_request_body_example_is_accepted_by_its_model(spec: dict[str, Any]) -> None:
    bodies = {name: op for name, op in operations(spec) if "requestBody" in op}
    models = set()

    for name, operation in bodies.items():
        model = body_model(operation)
        models.add(model)
        documented = operation["requestBody"]["content"]["application/json"]["examples"]
        assert documented == REQUEST_EXAMPLES[model], name  # as written (FastAPI drops null values, say)
        for example in documented.values():
            assert example["summary"] and example["description"], name
            model.model_validate(example["value"])  # raises, naming the field, if the example is wrong

    assert set(bodies) >= {
        "POST /v1/tests",
        "PATCH /v1/tests/{test_id}",
        "POST /v1/tests/{test_id}/revisions",
        "POST /v1/runs",
        "POST /v1/projects",
        "POST /v1/keys",
        "PUT /v1/secrets/{name}",
        "POST /v1/tests/{test_id}/plans",
    }
    assert models == set(REQUEST_EXAMPLES)  # no examples of a body the API no longer takes


def test_test_examples_cover_a_browser_test_and_an_api_test() -> None:
    tests = [TestCreate.model_validate(e["value"]) for e in REQUEST_EXAMPLES[TestCreate].values()]
    runs = [RunCreate.model_validate(e["value"]) for e in REQUEST_EXAMPLES[RunCreate].values()]

    assert {t.resolved_kind() for t in tests} == {TestKind.browser, TestKind.api}
    assert any(r.test_id and r.variables for r in runs)  # a run of a saved test with variables
    assert any(r.spec is not None for r in runs)  # an inline spec


def test_fastapis_own_validation_error_shape_is_not_documented(spec: dict[str, Any]) -> None:
    # The API never answers FastAPI's default 422 body ({"detail": [...]}): every 422 is an ErrorBody
    assert not {"HTTPValidationError", "ValidationError"} & set(spec["components"]["schemas"])
    for name, operation in operations(spec):
        if "422" in operation["responses"]:
            schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ErrorBody"), name


def test_the_examples_work_through_the_api(fakes: FakeServices) -> None:
    """Realistic means the API takes them as they are: each example sent to its route (the test id of the run
    examples replaced by one just created) is a success."""
    client = TestClient(create_app(fakes.services, max_body_bytes=256 * 1024))
    admin = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}

    def send(method: str, url: str, value: Any, status: int) -> dict[str, Any]:
        response = client.request(method, url, json=value, headers=admin)
        assert response.status_code == status, (method, url, response.text)
        return dict(response.json())

    created = {key: send("POST", "/v1/tests", e["value"], 201) for key, e in examples.TEST_CREATE.items()}
    login = created["browser"]["id"]
    for example in examples.REVISION_CREATE.values():
        send("POST", f"/v1/tests/{login}/revisions", example["value"], 201)
    run_of = {"saved_test": login, "revision": login, "dataset": created["data_driven"]["id"]}
    for key, example in examples.RUN_CREATE.items():
        value: dict[str, Any] = dict(example.get("value") or {})
        if "test_id" in value:
            value["test_id"] = run_of[key]
        send("POST", "/v1/runs", value, 202)
    for example in examples.TEST_UPDATE.values():
        send("PATCH", f"/v1/tests/{login}", example["value"], 200)
    for example in examples.PROJECT_CREATE.values():
        send("POST", "/v1/projects", example["value"], 201)
    for example in examples.API_KEY_CREATE.values():
        send("POST", "/v1/keys", example["value"], 201)
    for example in examples.SECRET_PUT.values():
        send("PUT", "/v1/secrets/ADMIN_PASSWORD", example["value"], 200)
    suites = {}
    for key, example in examples.SUITE_CREATE.items():
        value = dict(example.get("value") or {})
        if "tests" in value:
            value["tests"] = [login, created["api"]["id"]]
        suites[key] = send("POST", "/v1/suites", value, 201)
    for example in examples.SUITE_UPDATE.values():
        send("PATCH", f"/v1/suites/{suites['sequential']['id']}", example["value"], 200)
    for example in examples.SUITE_RUN_CREATE.values():
        send("POST", f"/v1/suites/{suites['sequential']['id']}/runs", example["value"], 202)
    for example in examples.PLAN_PROPOSAL_CREATE.values():
        proposal = send("POST", f"/v1/tests/{created['plain_english']['id']}/plans", example["value"], 202)
        assert proposal["status"] == "ready", proposal

    assert created["browser"]["kind"] == "browser" and created["api"]["kind"] == "api"
