"""Fakes of the two APIs a runner process calls, served on loopback for a test's lifetime: AWS (SQS and DynamoDB,
both JSON protocol) and Lambda's runtime API, the one ``python -m awslambdaric`` polls for invocations."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeAws:
    """SQS with one queue that holds ``body`` until it is received once; DynamoDB with no item in it. Every call's
    operation (``GetQueueUrl``, ``ReceiveMessage``, ``GetItem``, ...) is kept in ``calls``."""

    def __init__(self, body: str | None = None) -> None:
        self.body = body
        self.calls: list[str] = []
        self.url = ""

    def answer(self, operation: str) -> dict[str, Any]:
        self.calls.append(operation)
        if operation == "GetQueueUrl":
            return {"QueueUrl": f"{self.url}/000000000000/autotest-runs"}
        if operation == "ReceiveMessage" and self.body is not None:
            body, self.body = self.body, None
            message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body}
            return {"Messages": [{**message, "Attributes": {"ApproximateReceiveCount": "1"}}]}
        return {}  # DynamoDB GetItem: no Item; ReceiveMessage: no Messages; DeleteMessage: done

    @contextmanager
    def serving(self) -> Iterator[FakeAws]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                _reply(self, 200, fake.answer(operation), "application/x-amz-json-1.0")

            def log_message(self, *args: Any) -> None:
                pass

        with _serve(Handler) as url:
            self.url = url
            yield self


class FakeRuntimeApi:
    """Lambda's runtime API with one invocation (``event``); what the runtime client posts back (the response or
    an error) lands in ``posted`` by path. Later polls for the next invocation wait until the test ends."""

    REQUEST_ID = "req-1"

    def __init__(self, event: dict[str, Any]) -> None:
        self.event: dict[str, Any] | None = event
        self.posted: dict[str, Any] = {}
        self.answered = threading.Event()
        self.address = ""

    @contextmanager
    def serving(self) -> Iterator[FakeRuntimeApi]:
        fake = self
        ended = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # /2018-06-01/runtime/invocation/next
                event, fake.event = fake.event, None
                if event is None:  # the next invocation: none comes (the client is stopped meanwhile)
                    ended.wait(60)
                    return
                _reply(
                    self,
                    200,
                    event,
                    headers={
                        "Lambda-Runtime-Aws-Request-Id": fake.REQUEST_ID,
                        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60_000),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:runner",
                    },
                )

            def do_POST(self) -> None:  # .../invocation/<id>/response, .../invocation/<id>/error, .../init/error
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.posted[self.path] = json.loads(body or b"null")
                _reply(self, 202, {})
                fake.answered.set()

            def log_message(self, *args: Any) -> None:
                pass

        with _serve(Handler) as url:
            self.address = url.removeprefix("http://")
            try:
                yield self
            finally:
                ended.set()


def _reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: object,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    for name, value in {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="loopback-fake", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
