"""Imports: Postman collections (folders, variables, auth, bodies, test scripts) and OpenAPI documents (smoke
tests with inlined schemas) as autotest tests, with every part not translated reported; through the API and
the CLI too."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cli.main import cli
from cli.testfile import load_test_file
from functions.api import examples
from functions.api.app import create_app
from shared.apitests import cel, schema
from shared.errors import InvalidInput
from shared.imports.common import slug
from shared.imports.openapi import import_openapi
from shared.imports.postman import import_collection
from shared.imports.postman_scripts import translate
from shared.models.imports import ImportResult
from tests.conftest import BOOTSTRAP_KEY, FakeServices

DATA = Path(__file__).resolve().parents[1] / "data" / "postman"
COLLECTION = DATA / "example-shop.postman_collection.json"
ENVIRONMENT = DATA / "local.postman_environment.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def shop() -> ImportResult:
    return import_collection(json.loads(COLLECTION.read_text()), json.loads(ENVIRONMENT.read_text()))


def dumped(result: ImportResult, name: str) -> dict[str, Any]:
    test = next(t.test for t in result.tests if t.test.name == name)
    return test.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def checks(script: str) -> list[dict[str, Any]]:
    return [check for check, _, _ in translate(script, lambda n: "{{" + n + "}}").expect]


def dropped(script: str) -> list[tuple[int, str]]:
    return [(d.line, d.text.strip()) for d in translate(script, lambda n: "{{" + n + "}}").dropped]


# ------------------------------------------------------------------------------ test scripts


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("pm.response.to.have.status(201);", {"status": 201}),
        ("pm.expect(pm.response.code).to.eql(204);", {"status": 204}),
        ("pm.expect(pm.response.code).to.be.oneOf([200, 201]);", {"status": [200, 201]}),
        ("pm.response.to.be.ok;", {"status": 200}),
        ("pm.expect(pm.response.json().a.b).to.eql(1);", {"jsonpath": "$.a.b", "equals": 1}),
        ("pm.expect(pm.response.json().a).to.equal('x');", {"jsonpath": "$.a", "equals": "x"}),
        (
            "pm.expect(pm.response.json().a).to.deep.eql({k: [1, -2.5]});",
            {"jsonpath": "$.a", "equals": {"k": [1, -2.5]}},
        ),
        (
            "pm.expect(pm.response.json().items[0].tags).to.include('x');",
            {"jsonpath": "$.items[0].tags", "contains": "x"},
        ),
        ("pm.expect(pm.response.json()['a b']).to.exist;", {"jsonpath": "$['a b']", "exists": True}),
        ("pm.expect(pm.response.json().gone).to.not.exist;", {"jsonpath": "$.gone", "exists": False}),
        ("pm.expect(pm.response.json().ok).to.be.true;", {"jsonpath": "$.ok", "equals": True}),
        ("pm.expect(pm.response.json().name).to.match(/^ab+/i);", {"jsonpath": "$.name", "matches": "(?i)^ab+"}),
        ("pm.expect(pm.response.json()).to.have.property('token');", {"jsonpath": "$.token", "exists": True}),
        ("pm.expect(pm.response.headers.get('X-A')).to.include('b');", {"header": "X-A", "contains": "b"}),
        ("pm.expect(pm.response.headers.get('X-A')).to.eql('b');", {"header": "X-A", "equals": "b"}),
        ("pm.response.to.have.header('X-A');", {"header": "X-A", "exists": True}),
        ("pm.response.to.not.have.header('X-A');", {"header": "X-A", "exists": False}),
        ("pm.response.to.have.header('X-A', 'v');", {"header": "X-A", "equals": "v"}),
        ("pm.expect(pm.response.responseTime).to.be.below(200);", {"max_latency_ms": 199}),
        ("pm.expect(pm.response.text()).to.include('hi');", {"body_contains": "hi"}),
        ("pm.response.to.be.json;", {"json_schema": {}}),
        ("pm.expect(pm.response.json().name).to.be.a('string');", {"expr": 'type(body["name"]) == string'}),
        ("pm.expect(pm.response.json().items).to.be.an('array');", {"expr": 'type(body["items"]) == list'}),
        (
            "pm.expect(pm.response.json()['a-b'][0]).to.be.a('number');",
            {"expr": '(type(body["a-b"][0]) == int || type(body["a-b"][0]) == uint || type(body["a-b"][0]) == double)'},
        ),
        (
            "pm.expect(pm.response.json().id).to.eql(pm.environment.get('id'));",
            {"jsonpath": "$.id", "equals": "{{id}}"},
        ),
    ],
)
def test_each_supported_form_becomes_its_check(script: str, expected: dict[str, Any]) -> None:
    assert checks(script) == [expected]
    assert dropped(script) == []


@pytest.mark.parametrize(
    ("kind", "passes", "fails"),
    [
        ("string", "x", 1),
        ("number", 1.5, "1"),
        ("number", 2, True),
        ("boolean", False, 0),
        ("array", [1], {"a": 1}),
        ("object", {"a": 1}, [1]),
        ("null", None, 0),
    ],
)
def test_a_translated_type_check_passes_and_fails_as_chai_does(kind: str, passes: Any, fails: Any) -> None:
    (check,) = checks(f"pm.expect(pm.response.json().v).to.be.a('{kind}');")
    scope: dict[str, Any] = {"response": {}, "headers": {}, "vars": {}}
    assert bool(cel.evaluate(check["expr"], {**scope, "body": {"v": passes}})) is True
    assert bool(cel.evaluate(check["expr"], {**scope, "body": {"v": fails}})) is False
    with pytest.raises(cel.CelError):  # a value the body does not have fails the check (chai: undefined)
        cel.evaluate(check["expr"], {**scope, "body": {}})


def test_an_eql_of_a_string_that_reads_as_a_number_fails_on_the_number_as_chai_does() -> None:
    # chai's eql("3") fails when the body has the number 3; autotest's equals would take it: the type is checked
    (check,) = checks("pm.expect(pm.response.json().count).to.eql('3');")
    scope: dict[str, Any] = {"response": {}, "headers": {}, "vars": {}}
    assert bool(cel.evaluate(check["expr"], {**scope, "body": {"count": "3"}})) is True
    assert bool(cel.evaluate(check["expr"], {**scope, "body": {"count": 3}})) is False
    assert bool(cel.evaluate(check["expr"], {**scope, "body": {"count": "4"}})) is False


def test_a_type_json_has_not_is_reported() -> None:
    assert checks("pm.expect(pm.response.json().v).to.be.a('function');") == []
    assert dropped("pm.expect(pm.response.json().v).to.be.a('function');")[0][0] == 1


def test_aliases_and_pm_test_functions_of_both_kinds() -> None:
    script = """var jsonData = pm.response.json();
const user = jsonData.user;
pm.test("a", function () {
    pm.expect(jsonData.items[2].name).to.eql("Cheese");
});
pm.test("b", () => pm.expect(user.name).to.eql("admin"));
let legacy = JSON.parse(responseBody);
pm.expect(legacy.count).to.eql(3);"""
    assert checks(script) == [
        {"jsonpath": "$.items[2].name", "equals": "Cheese"},
        {"jsonpath": "$.user.name", "equals": "admin"},
        {"jsonpath": "$.count", "equals": 3},
    ]


def test_variables_set_from_the_body_become_extractions() -> None:
    result = translate(
        """var d = pm.response.json();
pm.environment.set("token", d.token);
pm.collectionVariables.set("first", d.items[0].id);
pm.variables.set("n", pm.response.json().count);""",
        lambda n: n,
    )
    assert result.extract == {"token": "$.token", "first": "$.items[0].id", "n": "$.count"}
    assert result.dropped == []


def test_what_has_no_equivalent_is_reported_with_its_line_and_adds_no_check() -> None:
    script = """pm.test("x", function () {
    pm.expect(pm.response.json().items.length).to.eql(3);
    pm.expect(pm.response.json().a).to.be.above(3);
    pm.expect(pm.response.json().a).to.not.eql(3);
    pm.expect(pm.response.json().a).to.eql(null);
    pm.expect(pm.response.json().a).to.equal({b: 1});
    pm.expect(true).to.be.true;
    pm.expect(pm.response.json().a).to.eql(someVar);
});
if (pm.response.code === 200) {
    postman.setNextRequest("next");
}
postman.setNextRequest(null);
pm.environment.set("fixed", "1");
tests["ok"] = responseCode.code === 200;
pm.expect(pm.response.json().a);
console.log("hi");
pm.expect(pm.response.json().a).to.eql("{{x}}");
pm.test("broken", function () { pm.expect(1).to.eql(; });"""
    assert checks(script) == []
    assert [line for line, _ in dropped(script)] == [2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16, 17, 18, 19]
    reasons = [d.reason for d in translate(script, str).dropped]
    assert "`.length`" in reasons[0] and "lines 10-12" in reasons[7] and "syntax error" in reasons[-1]


# ------------------------------------------------------------------------------ collections


def test_each_top_level_folder_is_a_test_and_loose_requests_make_one_more() -> None:
    result = shop()

    assert [(t.test.name, t.file, len(t.test.steps or [])) for t in result.tests] == [
        ("Example shop", "example-shop.yaml", 1),
        ("Auth", "auth.yaml", 3),
        ("Items", "items.yaml", 4),
        ("Echo", "echo.yaml", 4),
    ]
    items = dumped(result, "Items")
    assert items["tags"] == ["admin"]  # the nested folder
    assert [s["description"] for s in items["steps"]] == [
        "List items",
        "Get an item",
        "Get the first item",  # depth-first: the nested folder's requests where the folder is
        "A missing item",
    ]
    assert all(t.test.resolved_kind() == "api" for t in result.tests)


def test_requests_variables_and_auth_inheritance() -> None:
    result = shop()
    auth, items, echo = dumped(result, "Auth"), dumped(result, "Items"), dumped(result, "Echo")
    login, profile, refused = auth["steps"]

    # the environment's baseUrl over the collection's; only the variables a test uses; a name made fit
    assert auth["variables"] == {"baseUrl": "http://127.0.0.1:8001", "username": "admin"}
    assert items["variables"] == {"baseUrl": "http://127.0.0.1:8001", "item_id": "2"}
    # a secret value of the environment is a secret reference; the JSON body with it is sent as text
    assert login["body"] == '{\n  "username": "{{username}}",\n  "password": "{{secret:password}}"\n}'
    assert login["headers"] == {"Content-Type": "application/json"}  # the disabled header left out, noauth
    assert login["extract"] == {"token": "$.token"}
    # inherited bearer auth from the collection; noauth on the request stops it
    assert profile["headers"] == {"Authorization": "Bearer {{token}}"}
    assert "headers" not in refused
    # structured URL: the disabled query parameter left out; a path variable filled in
    assert items["steps"][0]["url"] == "{{baseUrl}}/api/items?limit=10"
    assert items["steps"][1]["url"] == "{{baseUrl}}/api/items/{{item_id}}"
    # the folder's basic auth, encoded from known values; an API key in a header and in the query
    form, multipart, query, digest = echo["steps"]
    assert form["headers"]["Authorization"] == "Basic YWRtaW46czNjcmV0"
    assert form["body"] == "name=Apple+pie&user={{username}}"
    assert form["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert multipart["headers"]["X-Api-Key"] == "{{apiKey}}"
    assert multipart["headers"]["Content-Type"] == "multipart/form-data; boundary=autotest-form-boundary"
    assert multipart["body"] == (
        '--autotest-form-boundary\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        "--autotest-form-boundary--\r\n"
    )
    assert query["url"] == "{{baseUrl}}/api/echo?api_key={{apiKey}}"
    assert query["body"] == "hello {{username}}" and query["headers"] == {"Content-Type": "text/plain"}
    assert "Authorization" not in digest.get("headers", {})  # digest is reported, not guessed
    # the collection's test script runs for every request: its check is on each step
    assert all(
        {"max_latency_ms": 4999} in step["expect"]
        for t in result.tests
        for step in dumped(result, t.test.name)["steps"]
    )


def test_everything_not_translated_is_reported() -> None:
    report = [(e.kind.value, e.source, e.part, e.line) for e in shop().report]

    assert ("dropped", "collection (runs before every request)", "pre-request script", 1) in report
    assert ("dropped", "request 'Log in'", "pre-request script", 1) in report
    assert ("dropped", "request 'Log in'", "test script", 8) in report  # .length
    assert ("dropped", "request 'Log in'", "test script", 14) in report  # console.log
    assert ("dropped", "request 'List items'", "test script", 7) in report  # forEach
    assert ("dropped", "request 'Get an item'", "test script", 6) in report  # if + setNextRequest
    assert ("dropped", "request 'API key in the query'", "test script", 6) in report  # tests[...]
    assert ("dropped", "request 'Multipart with an API key'", "body", None) in report  # the file field
    assert ("dropped", "request 'Digest auth'", "auth", None) in report
    assert ("needs_value", "request 'Log in'", "body", None) in report  # the secret
    assert ("needs_value", "request 'Form with basic auth'", "header", None) in report  # {{$guid}}
    assert ("needs_value", "Items", "variable", None) in report  # {{token}} comes from the Auth test
    assert ("note", "collection", "variable", None) in report  # 'item id' renamed
    entry = next(e for e in shop().report if e.line == 8)
    assert entry.text == "pm.expect(jsonData.token.length).to.be.above(5);" and entry.test == "Auth"


def test_a_json_body_with_only_static_placeholders_stays_json() -> None:
    collection = {
        "info": {"name": "c", "schema": SCHEMA},
        "variable": [{"key": "name", "value": "x"}],
        "item": [
            {
                "name": "r",
                "request": {
                    "method": "POST",
                    "url": "http://127.0.0.1:1/a",
                    "body": {
                        "mode": "raw",
                        "raw": '{"n": "{{name}}", "k": 1}',
                        "options": {"raw": {"language": "json"}},
                    },
                },
            }
        ],
    }
    (test,) = import_collection(collection).tests
    assert test.test.steps is not None
    assert test.test.steps[0].model_dump(by_alias=True)["json"] == {"n": "{{name}}", "k": 1}


@pytest.mark.parametrize(
    ("collection", "where"),
    [
        ([], "collection"),
        ({"item": []}, "collection.info"),
        ({"info": {"name": "x"}, "item": []}, "collection.info.schema"),
        ({"info": {"schema": SCHEMA.replace("v2.1.0", "v2.0.0")}, "item": []}, "collection.info.schema"),
        ({"info": {"schema": SCHEMA}}, "collection.item"),
        ({"info": {"schema": SCHEMA}, "item": [{"name": "odd"}]}, "collection.item[0]"),
    ],
)
def test_what_is_not_a_v21_collection_is_refused_saying_where(collection: Any, where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        import_collection(collection)
    assert caught.value.message.startswith(f"{where}:")


def test_file_names_are_safe_slugs() -> None:
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("Ünïcode / Folder: (v2)") == "unicode-folder-v2"
    assert slug("...") == "test"


# ------------------------------------------------------------------------------ OpenAPI

OAS30 = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "servers": [{"url": "http://{host}:8001/v1", "variables": {"host": {"default": "127.0.0.1"}}}],
    "components": {
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "example": 1},
                    "name": {"type": "string", "nullable": True, "example": "Apples"},
                    "parent": {"$ref": "#/components/schemas/Item"},
                },
            }
        },
    },
    "security": [{"key": []}],
    "paths": {
        "/items/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "example": 2}}],
            "get": {
                "operationId": "getItem",
                "tags": ["Items"],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
                    }
                },
            },
        },
        "/items": {
            "post": {
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
                },
                "responses": {"201": {"description": "made"}, "400": {"description": "bad"}},
            },
            "put": {
                "parameters": [{"name": "sku", "in": "query", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"default": {"description": "whatever"}},
            },
        },
    },
}


def test_an_openapi_30_document_makes_a_smoke_test_per_operation() -> None:
    result = import_openapi(OAS30)
    tests = {t.test.name: t.test.model_dump(mode="json", by_alias=True, exclude_defaults=True) for t in result.tests}

    assert list(tests) == ["GET /items/{id}", "PUT /items", "POST /items"]  # the document's order
    get = tests["GET /items/{id}"]
    (step,) = get["steps"]
    assert get["variables"] == {"base_url": "http://127.0.0.1:8001/v1"}
    assert get["tags"] == ["smoke", "read-only", "items"]
    assert step["url"] == "{{base_url}}/items/2"
    assert step["headers"] == {"X-API-Key": "{{secret:key}}"}
    status, body_schema = step["expect"]
    assert status == {"status": 200}
    # the reference inlined into $defs (recursive too), 3.0's dialect made JSON Schema 2020-12
    item = body_schema["json_schema"]["$defs"]["Item"]
    assert body_schema["json_schema"]["$ref"] == "#/$defs/Item"
    assert item["properties"]["name"] == {"type": ["string", "null"]}
    assert item["properties"]["id"] == {"type": "integer", "exclusiveMinimum": 0}
    assert item["properties"]["parent"] == {"$ref": "#/$defs/Item"}
    assert schema.problem(body_schema["json_schema"]) is None
    assert schema.failure({"id": 1, "name": None}, body_schema["json_schema"]) is None
    assert schema.failure({"id": 0, "name": "x"}, body_schema["json_schema"]) is not None
    # a body built from the schema's examples; no security on this operation
    post = tests["POST /items"]["steps"][0]
    assert post["json"] == {"id": 1, "name": "Apples"}
    assert "headers" not in post and post["expect"] == [{"status": 201}]
    # no example: placeholders, reported
    put = tests["PUT /items"]["steps"][0]
    assert put["query"] == {"sku": "{{sku}}"} and put["body"] == "{{put_items_body}}"
    needs = {(e.source, e.part) for e in result.report if e.kind.value == "needs_value"}
    assert {("PUT /items", "parameter sku"), ("PUT /items", "body"), ("GET /items/{id}", "security")} <= needs


def test_an_openapi_document_given_as_text_and_refusals() -> None:
    text = (
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /healthz:\n    get:\n      responses:\n        '200': {description: ok}\n"
    )
    (test,) = import_openapi(text, "http://127.0.0.1:9/").tests
    assert test.test.variables == {"base_url": "http://127.0.0.1:9"}
    for document, where in [
        ({"swagger": "2.0", "paths": {}}, "document.swagger"),
        ({"openapi": "2.5", "paths": {}}, "document.openapi"),
        ({"openapi": "3.0.0"}, "document.paths"),
        ("{not: [json", "document"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            import_openapi(document)
        assert caught.value.message.startswith(f"{where}:")
    with pytest.raises(InvalidInput):
        import_openapi(text, "ftp://x")


def test_the_projects_own_openapi_document_imports_with_valid_schemas(fakes: FakeServices) -> None:
    document = create_app(fakes.services, max_body_bytes=64 * 1024).openapi()
    result = import_openapi(document, "http://127.0.0.1:9000")

    names = [t.test.name for t in result.tests]
    assert "GET /v1/tests" in names and "POST /v1/imports/postman" in names
    assert not [e for e in result.report if e.kind.value == "dropped"]
    listed = next(t.test for t in result.tests if t.test.name == "GET /v1/tests")
    step = listed.model_dump(mode="json", by_alias=True)["steps"][0]
    assert step["headers"] == {"Authorization": "Bearer {{secret:HTTPBearer}}"}
    assert any("json_schema" in e for e in step["expect"])


# ------------------------------------------------------------------------------ API and CLI


def test_the_api_imports_and_saves_in_the_callers_project(fakes: FakeServices) -> None:
    client = TestClient(create_app(fakes.services, max_body_bytes=1024 * 1024))
    admin = {"X-API-Key": BOOTSTRAP_KEY}
    headers = {"X-API-Key": client.post("/v1/projects", json={"name": "a"}, headers=admin).json()["api_key"]}
    other = {"X-API-Key": client.post("/v1/projects", json={"name": "b"}, headers=admin).json()["api_key"]}
    body = {"collection": json.loads(COLLECTION.read_text()), "environment": json.loads(ENVIRONMENT.read_text())}

    answer = client.post("/v1/imports/postman", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["saved"] is True and len(data["tests"]) == 4
    ids = [t["created"]["id"] for t in data["tests"]]
    listed = client.get("/v1/tests?limit=50", headers=headers).json()["items"]
    assert set(ids) <= {t["id"] for t in listed}
    assert not set(ids) & {t["id"] for t in client.get("/v1/tests", headers=other).json()["items"]}
    assert any(e["kind"] == "dropped" and e["line"] == 8 for e in data["report"])

    dry = client.post("/v1/imports/openapi", json={"document": OAS30, "save": False}, headers=headers).json()
    assert dry["saved"] is False and all(t["created"] is None for t in dry["tests"])

    for route, documented in (("postman", examples.POSTMAN_IMPORT), ("openapi", examples.OPENAPI_IMPORT)):
        for example in documented.values():
            sent = client.post(f"/v1/imports/{route}", json=example["value"], headers=headers)
            assert sent.status_code == 200, sent.text

    bad = client.post("/v1/imports/postman", json={"collection": {"info": {}, "item": []}}, headers=headers)
    assert bad.status_code == 422 and "collection.info.schema" in str(bad.json()["error"]["message"])
    assert client.post("/v1/imports/openapi", json={"document": "- a\n- b"}, headers=headers).status_code == 422
    assert client.post("/v1/imports/openapi", json={"document": {}}).status_code == 401


def test_the_cli_writes_test_files_and_reports_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["import", "postman", str(COLLECTION), "-e", str(ENVIRONMENT), "-o", str(out)]
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["auth.yaml", "echo.yaml", "example-shop.yaml", "items.yaml"]
    for path in out.iterdir():
        load_test_file(path)  # each file is a valid test file as written
    assert "wrote " in result.stdout and "4 tests" in result.stdout
    assert "test script line 8: pm.expect(jsonData.token.length)" in result.stderr
    assert "dropped: request 'Digest auth', auth" in result.stderr
    assert "# needs_value: Items, variable" in (out / "items.yaml").read_text()

    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "already exists" in again.output
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0

    spec = tmp_path / "spec.yaml"
    spec.write_text("openapi: 2.0\npaths: {}\n")
    refused = CliRunner().invoke(cli, ["import", "openapi", str(spec), "-o", str(tmp_path / "o")])
    assert refused.exit_code != 0 and "document.openapi" in refused.output


# ------------------------------------------------------------------------------ hostile collections


def _one_request(request: dict[str, Any], script: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"name": "r", "request": {"url": "http://127.0.0.1/x", **request}}
    if script is not None:
        item["event"] = [{"listen": "test", "script": {"exec": [script]}}]
    return {"info": {"name": "c", "schema": SCHEMA}, "item": [item]}


def test_deeply_nested_scripts_and_bodies_are_reported_not_a_500(fakes: FakeServices) -> None:
    # Given a script literal nested past Python's recursion limit, one nested past what a test may store, and raw
    # JSON / GraphQL bodies nested past the JSON parser's depth or holding NaN
    client = TestClient(create_app(fakes.services, max_body_bytes=1024 * 1024), raise_server_exceptions=False)
    admin = {"X-API-Key": BOOTSTRAP_KEY}
    headers = {"X-API-Key": client.post("/v1/projects", json={"name": "a"}, headers=admin).json()["api_key"]}
    raw: dict[str, Any] = {"method": "POST", "body": {"mode": "raw", "options": {"raw": {"language": "json"}}}}
    deep_raw = {**raw, "body": {**raw["body"], "raw": "[" * 5000 + "]" * 5000}}
    nan_raw = {**raw, "body": {**raw["body"], "raw": '{"a": NaN, "b": 1e999}'}}
    graphql = {
        "method": "POST",
        "body": {"mode": "graphql", "graphql": {"query": "{a}", "variables": "[" * 5000 + "]" * 5000}},
    }
    cases = [
        _one_request({}, "pm.expect(pm.response.json().a).to.eql(" + "[" * 5000 + "]" * 5000 + ");"),
        _one_request({}, "pm.expect(pm.response.json().a).to.eql(" + "[" * 100 + "]" * 100 + ");"),
        _one_request(deep_raw),
        _one_request(nan_raw),
        _one_request(graphql),
    ]
    # When each is imported
    answers = [
        client.post("/v1/imports/postman", json={"collection": c, "save": False}, headers=headers) for c in cases
    ]

    # Then none is a 5xx or refuses the import: what cannot be translated is reported, the rest kept
    assert [a.status_code for a in answers] == [200] * len(cases), [a.text[:300] for a in answers]
    deep_check, deeper_than_stored, deep_body, nan_body, deep_graphql = (a.json() for a in answers)
    assert deep_check["tests"][0]["test"]["steps"][0]["expect"] == []
    assert any("nested too deeply" in (e["message"]) for e in deep_check["report"])
    assert deeper_than_stored["tests"][0]["test"]["steps"][0]["expect"] == []
    assert any("nests deeper than" in e["message"] for e in deeper_than_stored["report"])
    assert deep_body["tests"][0]["test"]["steps"][0]["body"] == "[" * 5000 + "]" * 5000  # sent as written
    assert nan_body["tests"][0]["test"]["steps"][0]["body"] == '{"a": NaN, "b": 1e999}'  # sent as written
    assert any("GraphQL variables" in e["message"] for e in deep_graphql["report"])


def _oas(paths: dict[str, Any], **parts: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths, **parts}


def _get(**operation: Any) -> dict[str, Any]:
    return {"get": {"responses": {"200": {"description": "ok"}}, **operation}}


@pytest.mark.parametrize(
    "document",
    [
        _oas({"/a": _get(parameters=5)}),
        _oas({"/a": {**_get(), "parameters": 5}}),
        _oas({"/a": _get()}, servers=[{"url": "http://{h}/", "variables": [1]}]),
        _oas({"/a": _get(security=[{"k": []}])}, components=[1]),
        _oas({"/a": _get(security=[{"k": []}])}, components={"securitySchemes": [1]}),
        _oas({"/a": _get(tags=5)}),
        _oas({"/a": {"get": {"responses": {"200": {"content": {"application/json": [1]}}}}}}),
        _oas({"/a": {"post": {"requestBody": {"content": {"application/json": [1]}}, "responses": {}}}}),
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        200:\n"
        "          content:\n            application/json:\n              schema: {properties: {1: {type: string}}}\n",
        "openapi: 3.0.0\ninfo: {title: t, version: 1}\npaths:\n  /a:\n    get:\n      parameters: [{name: d, in: query,"
        " required: true, example: 2020-01-01}]\n      responses: {200: {description: x}}\n",
        "openapi: 3.0.0\ninfo: {title: t, version: 1}\npaths:\n  ~:\n    get: {responses: {200: {description: x}}}\n",
        "openapi: 3.0.0\ninfo: {title: t, version: 1}\npaths:\n  /a:\n    post:\n      requestBody: {content: "
        "{application/json: {example: !!binary aGVsbG8=}}}\n      responses: {200: {description: x}}\n",
    ],
)
def test_an_openapi_document_of_the_wrong_types_is_translated_or_refused_not_a_500(
    fakes: FakeServices, document: Any
) -> None:
    client = TestClient(create_app(fakes.services, max_body_bytes=1024 * 1024), raise_server_exceptions=False)
    admin = {"X-API-Key": BOOTSTRAP_KEY}
    headers = {"X-API-Key": client.post("/v1/projects", json={"name": "a"}, headers=admin).json()["api_key"]}

    answer = client.post("/v1/imports/openapi", json={"document": document, "save": False}, headers=headers)

    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["error"]["message"].startswith("document")


def test_yaml_dates_and_number_keys_become_json_text() -> None:
    text = (
        "openapi: 3.0.0\ninfo: {title: t, version: 1}\npaths:\n  /a:\n    get:\n      parameters: [{name: d, in: query,"
        " required: true, example: 2020-01-01}]\n      responses:\n        200:\n          content:\n"
        "            application/json:\n              schema: {type: object, properties: {1: {type: string}}}\n"
    )
    step = import_openapi(text, "http://127.0.0.1:9").tests[0].test.model_dump(mode="json", by_alias=True)["steps"][0]
    assert step["query"] == {"d": "2020-01-01"}
    assert step["expect"][1]["json_schema"]["properties"] == {"1": {"type": "string"}}


def test_references_thousands_deep_are_reported_and_amplified_schemas_are_bounded() -> None:
    # Given a schema reaching its type through 3,000 references, one after another
    chain = {f"A{i}": {"$ref": f"#/components/schemas/A{i + 1}"} for i in range(3000)}
    chain["A3000"] = {"type": "string"}
    ok = {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A0"}}}}}
    result = import_openapi(_oas({"/a": {"get": {"responses": ok}}}, components={"schemas": chain}), "http://x")
    # Then the operation's test checks its status, and the schema is reported as not checked
    assert result.tests[0].test.model_dump(mode="json", by_alias=True)["steps"][0]["expect"] == [{"status": 200}]
    assert any("nests too deeply" in e.message for e in result.report)

    # Given 1,500 operations that all refer to one 300-property schema (200 KB that would make 12 MB of tests)
    big = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(300)}}
    paths = {
        f"/a{i}": {
            "get": {
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}
            }
        }
        for i in range(1500)
    }
    document = _oas(paths, components={"schemas": {"B": big}})
    # Then with a bound (the API's) the import stops, saying why, in well under a second per operation
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as caught:
        import_openapi(document, "http://x", max_chars=1_000_000)
    assert "more than 1 MB of text" in caught.value.message
    assert time.perf_counter() - started < 10  # (checking each copy of the schema anew took 0.25 s a copy)
    # and without one (the CLI's) every operation has its test
    assert len(import_openapi(_oas(dict(list(paths.items())[:200]), components={"schemas": {"B": big}})).tests) == 200


def test_an_import_may_be_larger_than_the_apis_body_limit(fakes: FakeServices) -> None:
    # Given a whole OpenAPI document of 300 KB (this API's own is 330 KB), over the 256 KiB every other route takes
    client = TestClient(create_app(fakes.services, max_body_bytes=256 * 1024))
    admin = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
    padding = {
        f"/pad{i}": {"get": {"description": "x" * 1000, "responses": {"200": {"description": "ok"}}}}
        for i in range(300)
    }
    document = {"openapi": "3.1.0", "info": {"title": "Big", "version": "1"}, "paths": padding}
    body = {"document": document, "base_url": "http://127.0.0.1:9", "save": False}
    assert len(json.dumps(body)) > 300_000

    # When it is imported, Then it is taken; the same size elsewhere is still a 413
    answer = client.post("/v1/imports/openapi", json=body, headers=admin)
    assert answer.status_code == 200, answer.text[:300]
    big_test = {"name": "x", "description": "y" * 300_000, "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    assert client.post("/v1/tests", json=big_test, headers=admin).status_code == 413
