"""A fake GitHub REST API on 127.0.0.1 for the commit-status tests: it records every request and answers as
GitHub does, checking what GitHub checks (the path, the token, the headers, the body), so a test sees both what
was sent and whether GitHub would have taken it.

``POST /repos/{owner}/{repo}/statuses/{sha}`` answers 201 with the status when the token is the one given, the
headers are GitHub's and the body is a valid status; 401 for another token, 400/422 for a bad request, 404 for
another path. ``fail_next(n, status)`` makes the next ``n`` requests answer ``status`` (a 5xx, say) first.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATUS_PATH = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/statuses/(?P<sha>[0-9a-fA-F]{7,64})$")
STATES = {"pending", "success", "failure", "error"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeGithub:
    url: str
    token: str
    requests: list[Received] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, n: int, status: int = 502) -> None:
        with self.lock:
            self.failures += [status] * n

    def statuses(self) -> list[Received]:
        """The statuses GitHub took (201), in order."""
        with self.lock:
            return [r for r in self.requests if r.answered == 201]

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.failures:
                return self.failures.pop(0), {"message": "Server Error"}
        lower = {k.lower(): v for k, v in headers.items()}
        if method != "POST" or not STATUS_PATH.match(path):
            return 404, {"message": "Not Found"}
        if lower.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}
        if lower.get("accept") != "application/vnd.github+json" or lower.get("x-github-api-version") != "2022-11-28":
            return 400, {"message": "Accept and X-GitHub-Api-Version must be GitHub's"}
        if not lower.get("user-agent"):
            return 403, {"message": "Request forbidden by administrative rules: a User-Agent is required"}
        try:
            document = json.loads(body)
        except ValueError:
            return 400, {"message": "Problems parsing JSON"}
        if document.get("state") not in STATES or len(document.get("description", "")) > 140:
            return 422, {"message": "Validation Failed"}
        return 201, {"id": len(self.requests) + 1, **document}


@contextmanager
def fake_github(token: str = "ghp_fake_token_1234567890") -> Iterator[FakeGithub]:  # noqa: S107 (a fake)
    fake: FakeGithub

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            status, document = fake.answer(self.command, self.path, headers, body)
            with fake.lock:
                fake.requests.append(Received(self.command, self.path, headers, body, status))
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake = FakeGithub(url=f"http://127.0.0.1:{server.server_address[1]}", token=token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
