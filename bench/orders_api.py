"""A small orders API on loopback for the Newman benchmark (``bench/newman_throughput.py``): every answer
waits ``latency_ms`` (a real API is not instant; the default 10 ms is a fast one), and it answers many
requests at once (a thread per connection, HTTP/1.1 keep-alive), as a real service would.

- ``POST /auth`` ``{"user": U}`` -> ``{"token": "tok-U"}``
- ``POST /orders`` (``Authorization: Bearer tok-...``) ``{"sku": S, "qty": N}`` -> 201 ``{"id", "sku",
  "qty", "total"}`` (``total`` is ``qty`` times the SKU's price; 404 for an unknown SKU)
- ``GET /orders/{id}`` (the same token) -> ``{"id", "sku", "qty", "total", "status": "open"}``
- ``GET /stock/{sku}`` -> ``{"sku", "available"}``

    .venv/bin/python -m bench.orders_api 8300
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PRICES = {"APL": 3, "BRD": 2, "CHS": 7, "EGG": 4, "MLK": 1}


class OrdersServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int = 0, *, latency_ms: float = 10.0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.latency_s = latency_ms / 1000
        self.orders: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body in one write
    server: OrdersServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/auth":
            user = str(body.get("user") or "")
            if not user:
                return self._json({"error": "user is required"}, HTTPStatus.BAD_REQUEST)
            return self._json({"token": f"tok-{user}"})
        if self.path == "/orders":
            if not self._authorized():
                return self._json({"error": "unauthorized"}, HTTPStatus.UNAUTHORIZED)
            sku, qty = str(body.get("sku")), int(body.get("qty") or 0)
            if sku not in PRICES:
                return self._json({"error": f"unknown sku {sku}"}, HTTPStatus.NOT_FOUND)
            with self.server.lock:
                order_id = next(self.server.ids)
                order = {"id": order_id, "sku": sku, "qty": qty, "total": qty * PRICES[sku]}
                self.server.orders[order_id] = order
            return self._json(order, HTTPStatus.CREATED)
        self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "orders":
            if not self._authorized():
                return self._json({"error": "unauthorized"}, HTTPStatus.UNAUTHORIZED)
            order = self.server.orders.get(int(parts[1])) if parts[1].isdigit() else None
            if order is None:
                return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
            return self._json({**order, "status": "open"})
        if len(parts) == 2 and parts[0] == "stock" and parts[1] in PRICES:
            return self._json({"sku": parts[1], "available": 100})
        self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _authorized(self) -> bool:
        return (self.headers.get("Authorization") or "").startswith("Bearer tok-")

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        time.sleep(self.server.latency_s)
        with self.server.lock:
            self.server.requests += 1
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(latency_ms: float = 10.0) -> Iterator[OrdersServer]:
    server = OrdersServer(latency_ms=latency_ms)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    OrdersServer(int(sys.argv[1]) if len(sys.argv) > 1 else 8300).serve_forever()
