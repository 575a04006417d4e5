"""``autotest local`` in its own process, as a user starts it, for the benchmarks that drive it over HTTP
(``bench/latency.py``, ``bench/memory.py``): free ports, its own data directory, extra options and environment,
and a small HTTP client holding its API key. Also a loopback page server the benchmarks point their tests at.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def autotest_cli() -> list[str]:
    """The ``autotest`` command a user runs (the virtualenv's console script), else the module."""
    script = Path(sys.executable).with_name("autotest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


class LocalProcess:
    """``autotest local --no-example`` on a free port with ``workdir/local`` as its data directory; ``args`` and
    ``env`` are added to its command line and environment; ``root``: the checkout whose code it runs (default
    this one). Started on construction, ready when it returns."""

    def __init__(
        self, workdir: Path, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None, root: Path = ROOT
    ) -> None:
        self.data_dir = workdir / "local"
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [*autotest_cli(), "local", "--port", str(self.port), "--no-example", "--data-dir", str(self.data_dir)]
        self.log_path = workdir / "local.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [*command, *args],
            cwd=root,
            # this checkout's code, whichever checkout the virtualenv was installed from (an editable install)
            env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        config = self.data_dir / "config.json"
        deadline = time.monotonic() + 90
        while not config.exists() or not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"autotest local did not start: see {self.log_path}")
            time.sleep(0.1)
        saved = json.loads(config.read_text())
        self.api_url: str = saved["api_url"]
        self.http = httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"Bearer {saved['api_key']}"}, timeout=60.0
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def submit(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/runs`` with an inline ``spec``; the run as the API answered (202)."""
        response = self.http.post("/v1/runs", json={"spec": spec})
        if response.status_code != 202:
            raise SystemExit(f"POST /v1/runs answered {response.status_code}: {response.text[:500]}")
        run: dict[str, Any] = response.json()
        return run

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/runs/{run_id}")
        response.raise_for_status()
        run: dict[str, Any] = response.json()
        return run

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log (its output), to say why a benchmark stopped."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class _PageHandler(BaseHTTPRequestHandler):
    """``GET /ping`` -> ``{"ok": true}``; any other path -> a small page whose heading is ``Ready``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/ping"):
            body, kind = b'{"ok": true}', "application/json"
        else:
            body, kind = b"<!doctype html><title>Bench</title><h1>Ready</h1><p>A benchmark's page.</p>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def page_server() -> Iterator[str]:
    """A loopback HTTP server (a thread per connection) for the benchmarks' tests; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-pages", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
