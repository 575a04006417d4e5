"""``json_schema`` expectations never fetch a ``$ref``: a schema refers only to itself, checked at save time;
a stored one that refers elsewhere fails its check without any request or file read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.apitests.expectations import check
from shared.apitests.response import HttpResult
from shared.models.common import STORED
from shared.models.plans import ExpectSchema
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            seen.append(self.path)
            body = json.dumps({"type": "string"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()


def result(document: Any) -> HttpResult:
    return HttpResult(
        method="GET",
        url="http://127.0.0.1/x",
        status=200,
        headers=httpx.Headers({"content-type": "application/json"}),
        content=json.dumps(document).encode(),
        latency_ms=1,
        redirects=[],
    )


@pytest.mark.parametrize(
    "ref", ["file:///etc/passwd#/x", "http://127.0.0.1:8000/healthz#/x", "other.json", "https://example.com/s"]
)
def test_a_schema_that_refers_outside_itself_is_a_422_at_save(ref: str) -> None:
    client = TestClient(create_app(FakeServices().services, max_body_bytes=64 * 1024))
    step = {"action": "request", "url": "http://127.0.0.1:5000/", "expect": [{"json_schema": {"$ref": ref}}]}

    response = client.post("/v1/tests", json={"name": "x", "steps": [step]}, headers=ADMIN)

    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "body.steps[0].expect[0]" in message and "may refer only to itself" in message, message


def test_a_schema_referring_to_itself_works() -> None:
    own = {"$defs": {"name": {"type": "string"}}, "properties": {"name": {"$ref": "#/$defs/name"}}}
    exp = ExpectSchema(json_schema=own)
    assert check(result({"name": "ann"}), [exp]) == []
    assert "at $['name']: 3 is not of type 'string'" in check(result({"name": 3}), [exp])[0]


def test_a_stored_schema_that_refers_elsewhere_fetches_nothing(
    counting_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    # Given schemas saved before this check existed, referring to a server and to a local file
    url, seen = counting_server
    secret_file = tmp_path / "config.json"
    secret_file.write_text(json.dumps({"api_key": "atk_do_not_show"}))
    for ref in (f"{url}/schema.json", f"{secret_file.as_uri()}#/nope"):
        exp = ExpectSchema.model_validate({"json_schema": {"$ref": ref}}, context=STORED)

        # When a response is checked against them
        failures = check(result({"a": 1}), [exp])

        # Then the check fails saying why, and nothing was fetched or read
        assert len(failures) == 1 and "which it does not hold (nothing is fetched)" in failures[0], failures
        assert "atk_do_not_show" not in failures[0]
    assert seen == []


def test_a_schema_nested_too_deep_is_a_422_not_a_500() -> None:
    client = TestClient(create_app(FakeServices().services, max_body_bytes=256 * 1024))
    deep = "{" + '"not":{' * 300 + "}" * 300 + "}"
    step = '{"action": "request", "url": "http://127.0.0.1:5000/", "expect": [{"json_schema": ' + deep + "}]}"
    response = client.post(
        "/v1/tests",
        content='{"name": "x", "steps": [' + step + "]}",
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "the schema nests deeper than 48 levels" in response.json()["error"]["message"]
