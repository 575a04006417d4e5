"""Data-driven API runs: rows at once up to ``concurrency``, a rate limit across the whole run, one connection
pool per run (keep-alive), cookies per row. Against a loopback server that records when and on which
connection each request arrived."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.models.runs import RunStatus
from tests.e2e.conftest import NoBrowser, make_harness


@dataclass
class Seen:
    at: float
    path: str
    connection: tuple[str, int]
    cookie: str | None


@dataclass
class Recorder:
    url: str
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()
            self.in_flight = self.most_in_flight = 0


@pytest.fixture(scope="module")
def server() -> Iterator[Recorder]:
    recorder: Recorder

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        wbufsize = -1  # headers and body in one write (no Nagle and delayed-ACK pause between them)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if "n" in query:
                query["n"] = int(query["n"])
            with recorder.lock:
                recorder.seen.append(Seen(time.monotonic(), self.path, self.client_address, self.headers["Cookie"]))
                recorder.in_flight += 1
                recorder.most_in_flight = max(recorder.most_in_flight, recorder.in_flight)
            try:
                time.sleep(int(query.get("ms", "0")) / 1000)
                headers = {}
                if parts.path == "/login":
                    headers["Set-Cookie"] = f"who={query['who']}; Path=/"
                body = json.dumps({"path": parts.path, **query, "cookie": self.headers["Cookie"]}).encode()
                self.send_response(200)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                with recorder.lock:
                    recorder.in_flight -= 1

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    recorder = Recorder(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield recorder
    httpd.shutdown()
    httpd.server_close()


def _step(url: str, **more: Any) -> dict[str, Any]:
    return {"action": "request", "url": url, "expect": [{"status": 200}], **more}


async def test_rows_run_at_once_up_to_the_concurrency_and_report_in_dataset_order(server: Recorder) -> None:
    h = make_harness(NoBrowser(), server.url)
    await h.run([_step("{{base_url}}/item?n={{n}}")], dataset=[{"n": i} for i in range(8)])  # workers started
    server.clear()
    rows = [{"n": i} for i in range(24)]

    run = await h.run(
        [_step("{{base_url}}/item?n={{n}}&ms=100", expect=[{"status": 200}, {"jsonpath": "$.n", "equals": "{{n}}"}])],
        dataset=rows,
        concurrency=8,
    )

    assert run.status == RunStatus.passed, run.error
    assert run.concurrency == 8
    assert 5 <= server.most_in_flight <= 8  # never more than the concurrency, and most of it used
    assert [it.index for it in run.iterations] == list(range(24))
    assert [it.variables["n"] for it in run.iterations] == list(range(24))
    assert all(it.duration_ms is not None and it.duration_ms >= 100 for it in run.iterations)
    # 24 rows of 100 ms, 8 at once: about 300 ms of requests; one at a time could not finish under 2.4 s. (The bound
    # is the serial floor, not a speed target: a loaded CI machine must not turn it red; bench/ measures speed.)
    assert run.duration_ms is not None and run.duration_ms < 2400
    # one pool for the run: connections are kept alive and reused across rows
    assert len({s.connection for s in server.seen}) <= 8


async def test_an_api_test_defaults_to_eight_rows_at_once_and_a_run_may_say_one(server: Recorder) -> None:
    h = make_harness(NoBrowser(), server.url)
    server.clear()
    run = await h.run([_step("{{base_url}}/item?n={{n}}&ms=50")], dataset=[{"n": i} for i in range(12)])
    assert run.status == RunStatus.passed and run.concurrency == 8 and 5 <= server.most_in_flight <= 8

    server.clear()
    run = await h.run([_step("{{base_url}}/item?n={{n}}&ms=20")], dataset=[{"n": i} for i in range(4)], concurrency=1)
    assert run.status == RunStatus.passed and run.concurrency == 1 and server.most_in_flight == 1


async def test_a_rate_limit_holds_across_the_whole_run(server: Recorder) -> None:
    # Given 200 rows at concurrency 8 with a limit of 50 requests per second
    h = make_harness(NoBrowser(), server.url)
    server.clear()
    run = await h.run(
        [_step("{{base_url}}/item?n={{n}}")],
        dataset=[{"n": i} for i in range(200)],
        concurrency=8,
        rate_limit=50,
        timeout_s=60,
    )

    # Then every row passed, and the server saw 50 requests a second (within 10%), however fast it answers
    assert run.status == RunStatus.passed, run.error
    assert run.rate_limit == 50
    times = sorted(s.at for s in server.seen)
    assert len(times) == 200
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 45 <= rate <= 55, rate
    # and in no second did more than the limit (and its small burst) arrive
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 53


async def test_cookies_stay_within_their_row(server: Recorder) -> None:
    h = make_harness(NoBrowser(), server.url)
    server.clear()
    run = await h.run(
        [
            _step("{{base_url}}/login?who={{who}}&ms=30"),
            _step("{{base_url}}/me?ms=30", expect=[{"status": 200}, {"jsonpath": "$.cookie", "equals": "who={{who}}"}]),
        ],
        dataset=[{"who": f"user{i}"} for i in range(10)],
        concurrency=5,
    )
    assert run.status == RunStatus.passed, run.error
    assert {s.cookie for s in server.seen if s.path.startswith("/me")} == {f"who=user{i}" for i in range(10)}


async def test_a_cancel_stops_the_rows_running_and_records_the_rest_as_not_run(server: Recorder) -> None:
    h = make_harness(NoBrowser(), server.url)
    server.clear()
    _, message = h.start(
        [_step("{{base_url}}/item?n={{n}}&ms=150"), _step("{{base_url}}/item?n={{n}}&ms=150")],
        dataset=[{"n": i} for i in range(40)],
        concurrency=4,
    )
    task = asyncio.create_task(h.execute(message))
    for _ in range(300):
        if len(server.seen) >= 4:
            break
        await asyncio.sleep(0.01)
    h.runs.cancel("prj_e2e", message.run_id)
    await task

    run = h.store.get_run(message.run_id)
    assert run.status == RunStatus.cancelled
    assert len(run.iterations) == 40  # every row is accounted for
    assert [it.index for it in run.iterations] == list(range(40))
    not_run = [it for it in run.iterations if all(s.status == "skipped" for s in it.steps)]
    assert len(not_run) >= 20 and all(it.status == RunStatus.cancelled for it in not_run)
    assert len(server.seen) < 80


async def test_a_variable_no_one_gave_fails_the_step_that_needs_it_naming_it(server: Recorder) -> None:
    h = make_harness(NoBrowser(), server.url)
    server.clear()
    run = await h.run(
        [_step("{{base_url}}/first"), _step("{{base_url}}/second?t={{token}}"), _step("{{base_url}}/third")],
    )
    assert run.status == RunStatus.error
    assert [s.status for s in run.steps] == ["passed", "error", "skipped"]  # the step before it ran
    assert "undefined variable {{token}}" in (run.steps[1].error or "")
    assert "step 2 (request)" in (run.error or "") and "{{token}}" in (run.error or "")
    assert [s.path for s in server.seen] == ["/first"]
