"""The trace viewer's files under ``/ui/trace/`` (``functions/api/ui/trace.py``): what is served, with which
headers, that nothing outside the viewer's directory is, and where the directory comes from."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from functions.api import errors
from functions.api.app import create_app
from functions.api.ui import trace
from shared.settings import Settings, get_settings
from tests.conftest import FakeServices

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = "\n      if (!/^https?:/.test(location.protocol)) document.body.append('use http');\n    "
SNAPSHOT_STYLE = "position:absolute;top:0;width:100%"
#: a viewer as the playwright package lays it out, hashed names and all (file: content)
FILES = {
    "index.html": f'<!DOCTYPE html><html><head><script type="module" src="./index.BY2vkw8A.js"></script></head>'
    f"<body><div id=root></div><script>{INLINE_SCRIPT}</script></body></html>",
    "snapshot.html": f'<!DOCTYPE html><html><body><iframe src="about:blank" style="{SNAPSHOT_STYLE}"></iframe></body>',
    "index.BY2vkw8A.js": "export {};",
    "sw.bundle.js": "self.addEventListener('fetch', () => {});",
    "assets/xtermModule-Cv6bi7od.js": "export const x = 1;",
    "defaultSettingsView.C8BeHuxd.css": "body { margin: 0 }",
    "codicon.DCmgc-ay.ttf": "\x00\x01\x00\x00",
    "manifest.webmanifest": "{}",
    "playwright-logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "zip.worker.wasm": "\x00asm",
}


@pytest.fixture
def viewer(tmp_path: Path) -> Path:
    root = tmp_path / "traceViewer"
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    (tmp_path / "secret.txt").write_text("not for the viewer")
    return root


def app_for(settings: Settings) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.include_router(trace.router)
    app.dependency_overrides[get_settings] = lambda: settings
    return app


@pytest.fixture
def client(viewer: Path) -> TestClient:
    return TestClient(app_for(Settings(trace_viewer_dir=viewer)))


def directives(response: Any) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def raw_get(app: FastAPI, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (an HTTP client would resolve its dot segments first)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), body


# --- what is served


def test_the_index_is_served_at_the_root_and_by_name(client: TestClient) -> None:
    for path in ("/ui/trace/", "/ui/trace/index.html"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.text == FILES["index.html"]
        assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_the_viewer_without_its_slash_is_a_redirect_to_it(client: TestClient) -> None:
    # (its files are named relative to the page: ./index.BY2vkw8A.js)
    response = client.get("/ui/trace", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/ui/trace/")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("index.BY2vkw8A.js", "text/javascript; charset=utf-8"),
        ("sw.bundle.js", "text/javascript; charset=utf-8"),
        ("assets/xtermModule-Cv6bi7od.js", "text/javascript; charset=utf-8"),
        ("defaultSettingsView.C8BeHuxd.css", "text/css; charset=utf-8"),
        ("snapshot.html", "text/html; charset=utf-8"),
        ("playwright-logo.svg", "image/svg+xml"),
        ("codicon.DCmgc-ay.ttf", "font/ttf"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("zip.worker.wasm", "application/wasm"),
    ],
)
def test_each_file_has_its_content_type_and_is_not_sniffed(client: TestClient, name: str, content_type: str) -> None:
    response = client.get(f"/ui/trace/{name}")
    assert response.status_code == 200
    assert response.content == FILES[name].encode()
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "name",
    ["index.BY2vkw8A.js", "assets/xtermModule-Cv6bi7od.js", "defaultSettingsView.C8BeHuxd.css", "codicon.DCmgc-ay.ttf"],
)
def test_a_file_with_the_builds_hash_in_its_name_is_cached_for_good(client: TestClient, name: str) -> None:
    assert client.get(f"/ui/trace/{name}").headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("name", ["", "index.html", "sw.bundle.js", "snapshot.html", "manifest.webmanifest"])
def test_the_page_and_the_service_worker_are_revalidated(client: TestClient, name: str) -> None:
    response = client.get(f"/ui/trace/{name}")
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    assert client.get(f"/ui/trace/{name}", headers={"If-None-Match": etag}).status_code == 304


# --- the policy


def test_every_file_has_the_policy_that_allows_the_viewer_and_no_more(client: TestClient) -> None:
    for name in ("index.html", "sw.bundle.js", "assets/xtermModule-Cv6bi7od.js"):
        found = directives(client.get(f"/ui/trace/{name}"))
        assert found["default-src"] == ["'none'"]
        assert found["script-src"][0] == "'self'" and "'unsafe-inline'" not in found["script-src"]
        assert "'unsafe-eval'" not in found["script-src"]
        assert found["worker-src"] == ["'self'"]
        assert found["frame-src"] == ["'self'", "data:"]
        assert found["frame-ancestors"] == ["'self'"]
        assert found["object-src"] == ["'none'"] and found["base-uri"] == ["'none'"]
        assert found["connect-src"][:2] == ["'self'", "blob:"]
        assert "'unsafe-inline'" not in found["style-src"]


def test_the_index_allows_its_own_inline_script_by_hash_and_no_other(client: TestClient) -> None:
    assert directives(client.get("/ui/trace/index.html"))["script-src"] == ["'self'", sha256(INLINE_SCRIPT)]
    assert directives(client.get("/ui/trace/index.BY2vkw8A.js"))["script-src"] == ["'self'"]


def test_snapshot_html_allows_its_own_style_attribute_by_hash(client: TestClient) -> None:
    styles = directives(client.get("/ui/trace/snapshot.html"))["style-src"]
    assert styles[-2:] == ["'unsafe-hashes'", sha256(SNAPSHOT_STYLE)]
    assert "'unsafe-hashes'" not in directives(client.get("/ui/trace/index.html"))["style-src"]


def test_the_service_worker_may_fetch_from_the_artifact_buckets_s3_origins(viewer: Path) -> None:
    client = TestClient(app_for(Settings(trace_viewer_dir=viewer, artifact_bucket="arts-1", aws_region="eu-west-1")))
    connect = directives(client.get("/ui/trace/sw.bundle.js"))["connect-src"]
    assert connect == [
        "'self'",
        "blob:",
        "https://arts-1.s3.eu-west-1.amazonaws.com",
        "https://arts-1.s3.amazonaws.com",
    ]


def test_with_an_endpoint_url_the_service_worker_may_fetch_from_it_instead(viewer: Path) -> None:
    settings = Settings(trace_viewer_dir=viewer, aws_endpoint_url="http://127.0.0.1:4566/")
    connect = directives(TestClient(app_for(settings)).get("/ui/trace/sw.bundle.js"))["connect-src"]
    assert connect == ["'self'", "blob:", "http://127.0.0.1:4566"]


# --- nothing else is


@pytest.mark.parametrize(
    "path",
    [
        "/ui/trace/%2e%2e/secret.txt",
        "/ui/trace/%2E%2E%2Fsecret.txt",
        "/ui/trace/assets/..%2f..%2fsecret.txt",
        "/ui/trace//etc/passwd",
        "/ui/trace/%2Fetc%2Fpasswd",
        "/ui/trace/assets",
        "/ui/trace/missing.js",
        "/ui/trace/index.html%00.js",
        "/ui/trace/..%5csecret.txt",
        "/ui/trace/file?path=/etc/passwd",
    ],
)
def test_anything_but_a_file_of_the_viewer_is_a_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "not for the viewer" not in response.text


@pytest.mark.parametrize("path", ["/ui/trace/../secret.txt", "/ui/trace/assets/../../secret.txt"])
def test_dot_segments_sent_as_they_are_are_a_404(viewer: Path, path: str) -> None:
    status, body = raw_get(app_for(Settings(trace_viewer_dir=viewer)), path)
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


def test_a_link_out_of_the_viewer_is_a_404(client: TestClient, viewer: Path) -> None:
    (viewer / "out.txt").symlink_to(viewer.parent / "secret.txt")
    assert client.get("/ui/trace/out.txt").status_code == 404


# --- where the viewer comes from


def test_without_a_viewer_every_path_is_a_404_saying_how_to_get_one(tmp_path: Path) -> None:
    client = TestClient(app_for(Settings(trace_viewer_dir=tmp_path / "nowhere")))
    for path in ("/ui/trace/", "/ui/trace/index.html", "/ui/trace/sw.bundle.js"):
        response = client.get(path)
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "not_found"
        assert "trace viewer is not installed" in error["message"]
        assert "AUTOTEST_TRACE_VIEWER_DIR" in error["message"] and "playwright" in error["message"]


def test_the_setting_comes_first_then_the_bundled_copy_then_the_installed_package(
    viewer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled, installed = tmp_path / "bundled", tmp_path / "installed"
    for root in (bundled, installed):
        root.mkdir()
        (root / "index.html").write_text("<!DOCTYPE html>")
    monkeypatch.setattr(trace, "BUNDLED", bundled)
    monkeypatch.setattr(trace, "installed_viewer", lambda: installed)

    assert trace.viewer_dir(Settings(trace_viewer_dir=viewer)) == viewer.resolve()
    assert trace.viewer_dir(Settings()) == bundled.resolve()
    (bundled / "index.html").unlink()
    assert trace.viewer_dir(Settings()) == installed.resolve()
    monkeypatch.setattr(trace, "installed_viewer", lambda: None)
    assert trace.viewer_dir(Settings()) is None


def test_the_installed_packages_viewer_is_found_without_importing_playwright() -> None:
    script = (
        "import sys; from functions.api.ui.trace import installed_viewer; found = installed_viewer(); "
        "print(found); assert 'playwright' not in sys.modules, 'playwright was imported'"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = Path(done.stdout.strip())
    assert found.parts[-5:] == ("driver", "package", "lib", "vite", "traceViewer")
    assert (found / "index.html").is_file() and (found / "sw.bundle.js").is_file()


def test_the_api_app_serves_the_installed_viewer_with_its_own_policy(fakes: FakeServices) -> None:
    # Given the API app as deployed (the dashboard's headers are for its own pages)
    client = TestClient(create_app(fakes.services, ui_session_key=b"u" * 32))

    # When the viewer and its service worker are asked for, with no session
    page, worker = client.get("/ui/trace/index.html"), client.get("/ui/trace/sw.bundle.js")

    # Then both come from the playwright package, with the viewer's policy
    assert page.status_code == worker.status_code == 200
    assert "Playwright Trace Viewer" in page.text
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    assert directives(page)["worker-src"] == ["'self'"]
    assert directives(page)["frame-ancestors"] == ["'self'"]
