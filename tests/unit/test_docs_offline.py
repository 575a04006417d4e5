"""``/docs`` needs nothing but the app: Swagger UI's script, stylesheet and icon are served by the API itself
(from an installed package), so the page renders with no internet, in local mode and behind API Gateway."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from tests.conftest import FakeServices

#: every URL the page names: attributes, and the string literals of its inline script
URL_ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
SCRIPT_URL = re.compile(r"""\burl\s*:\s*["']([^"']+)["']""")


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


def referenced_urls(html: str) -> list[str]:
    return URL_ATTRIBUTE.findall(html) + SCRIPT_URL.findall(html)


def test_docs_names_only_the_apps_own_urls(client: TestClient) -> None:
    html = client.get("/docs").text

    urls = referenced_urls(html)

    assert len(urls) >= 4  # stylesheet, icon, script, the OpenAPI document
    assert not re.search(r"(?:https?:)?//", html.replace("window.location.origin + '", "")), html
    for url in urls:
        assert urlsplit(url).netloc == "" and url.startswith("/"), url


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [(".js", "javascript"), (".css", "text/css"), (".png", "image/png"), ("/openapi.json", "application/json")],
)
def test_docs_assets_are_served_by_the_app(client: TestClient, suffix: str, content_type: str) -> None:
    html = client.get("/docs").text
    [url] = [u for u in referenced_urls(html) if u.endswith(suffix)]

    response = client.get(urljoin("http://testserver/docs", url))

    assert response.status_code == 200, url
    assert content_type in response.headers["content-type"], response.headers["content-type"]
    assert len(response.content) > 1000  # the asset itself, not an error page


def test_docs_urls_follow_the_root_path(fakes: FakeServices) -> None:
    """Behind API Gateway with a stage or a base path, the page names its assets under that prefix."""
    client = TestClient(create_app(fakes.services), root_path="/prod")

    urls = referenced_urls(client.get("/docs").text)

    assert urls and all(u.startswith("/prod/") for u in urls), urls
