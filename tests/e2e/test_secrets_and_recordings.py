"""Secrets in every spelling, pictures of the page that would show one, the browser's own trace files, and
UDP past the network guard, in real Chromium."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from examples.webapp import WebApp
from runner_container.runner.browser import BrowserPool
from shared.models.runs import Run, RunStatus
from tests.e2e.conftest import Harness, make_harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SECRET = 'p@ss w0rd!"x'
#: spellings of SECRET seen in the wild (Chromium's query encoding, JSON in traces, form encoding)
SPELLINGS = (SECRET, "p@ss%20w0rd!%22x", "p%40ss%20w0rd%21%22x", "p%40ss+w0rd%21%22x", 'w0rd!\\"x', "p@ss w0rd!")


def _everything(h: Harness, run: Run) -> dict[str, bytes]:
    """Every piece of text the run left: the run, its events, every artifact and every trace entry."""
    found = {"run": run.model_dump_json().encode()}
    found |= {f"event {i}": e.model_dump_json().encode() for i, e in enumerate(h.events.events)}
    for key, (data, _) in h.artifacts.objects.items():
        found[key] = data
        if key.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as trace:
                found |= {f"{key}!{name}": trace.read(name) for name in trace.namelist()}
    return found


def _trace(h: Harness) -> zipfile.ZipFile:
    data = next(data for key, (data, _) in h.artifacts.objects.items() if key.endswith("trace.zip"))
    return zipfile.ZipFile(io.BytesIO(data))


async def test_no_spelling_of_a_secret_reaches_results_events_or_artifacts(pool: BrowserPool, webapp: WebApp) -> None:
    # Given a secret with characters every encoder treats differently, in a page URL, a field and a request
    h = make_harness(pool, webapp.url, record_trace=True)
    h.set_secret("TOKEN", SECRET)
    steps: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}/login?token={{secret:TOKEN}}"},
        {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:TOKEN}}"},
        {"action": "request", "url": "{{base_url}}/api/items?token={{secret:TOKEN}}", "expect": [{"status": 201}]},
    ]

    # When the run fails on the request (its error shows the URL)
    run = await h.run(steps)

    # Then no spelling of the secret is anywhere
    assert run.status == RunStatus.failed and "token=***" in (run.error or "")
    leaks = {(where, s) for where, data in _everything(h, run).items() for s in SPELLINGS if s.encode() in data}
    assert leaks == set()


async def test_a_secret_typed_into_a_visible_field_keeps_no_video_or_screencast(
    pool: BrowserPool, webapp: WebApp
) -> None:
    # Given a runner recording video and traces, and a secret typed into a field that shows what is typed
    h = make_harness(pool, webapp.url, record_video=True, record_trace=True)
    h.set_secret("TOKEN", "VISIBLE-SECRET-123")
    steps: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "fill", "target": {"label": "Username"}, "value": "{{secret:TOKEN}}"},
        {"action": "wait_for", "ms": 300},
    ]

    # When it runs
    run = await h.run(steps)

    # Then the video is not kept, the trace has no screencast, and the run and its report say so
    assert run.status == RunStatus.passed, run.error
    assert "video" not in {a.kind for a in run.artifacts}
    with _trace(h) as trace:
        assert not [n for n in trace.namelist() if n.startswith("screencast/")]
        assert b"screencast-frame" not in trace.read("trace.trace")
    assert any("video not kept: a secret was typed into a visible field" in e for e in run.artifact_errors)
    assert any("trace.zip: screencast frames removed" in e for e in run.artifact_errors)
    report = next(data for key, (data, _) in h.artifacts.objects.items() if key.endswith("report.html"))
    assert b"video not kept: a secret was typed into a visible field" in report
    assert all(b"VISIBLE-SECRET-123" not in data for data in _everything(h, run).values())
    # ... and the browser kept none of the trace's files (no other context was open)
    assert pool.traces_dir is not None and list(pool.traces_dir.iterdir()) == []


async def test_concurrent_traces_stay_whole_while_each_cleans_up(pool: BrowserPool, webapp: WebApp) -> None:
    # Given two runs of the same pages at once (their traces share content-addressed resources)
    h = make_harness(pool, webapp.url, record_trace=True)
    plan = [{"action": "goto", "url": "{{base_url}}/list"}, {"action": "goto", "url": "{{base_url}}/login"}]

    # When one ends while the other is still tracing
    short, long = await asyncio.gather(h.run(plan), h.run([*plan, {"action": "wait_for", "ms": 800}]))

    # Then both traces hold every resource they refer to, and the browser's copies are gone
    assert short.status == long.status == RunStatus.passed
    traces = [data for key, (data, _) in h.artifacts.objects.items() if key.endswith("trace.zip")]
    assert len(traces) == 2
    for data in traces:
        with zipfile.ZipFile(io.BytesIO(data)) as trace:
            names = set(trace.namelist())
            wanted = set(re.findall(r'"_file":"([^"]+)"', trace.read("trace.network").decode()))
            assert wanted and wanted <= names
    assert pool.traces_dir is not None and list(pool.traces_dir.iterdir()) == []


async def test_the_browser_is_relaunched_when_idle_after_enough_contexts(webapp: WebApp) -> None:
    pool = BrowserPool(concurrency=1, recycle_after=1)
    try:
        h = make_harness(pool, webapp.url, record_trace=True)
        first = await h.run([{"action": "goto", "url": "{{base_url}}/login"}])
        assert first.status == RunStatus.passed
        assert pool.traces_dir is None  # closed, and its traces folder removed

        second = await h.run([{"action": "goto", "url": "{{base_url}}/login"}])
        assert second.status == RunStatus.passed and second.browser_version
    finally:
        await pool.close()


# ------------------------------------------------------------------------------------------- WebRTC


class _RtcPage(BaseHTTPRequestHandler):
    stun = ""

    def do_GET(self) -> None:
        script = (
            f"const pc = new RTCPeerConnection({{iceServers: [{{urls: '{self.stun}'}}]}});"
            "pc.createDataChannel('x'); pc.createOffer().then(o => pc.setLocalDescription(o));"
        )
        body = f"<html><title>rtc</title><body>rtc<script>{script}</script></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stun_listener() -> Iterator[tuple[str, list[Any]]]:
    """A UDP socket on 127.0.0.2 (not allow-listed) that records every packet, and a page that asks WebRTC
    to reach it (STUN)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.2", 0))
    udp.settimeout(0.2)
    packets: list[Any] = []
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                packets.append(udp.recvfrom(4096))
            except TimeoutError:
                continue

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    _RtcPage.stun = f"stun:127.0.0.2:{udp.getsockname()[1]}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RtcPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", packets
    finally:
        server.shutdown()
        stop.set()
        listener.join()
        udp.close()


async def test_webrtc_sends_no_udp_past_the_guard(pool: BrowserPool, stun_listener: tuple[str, list[Any]]) -> None:
    # Given a page that starts WebRTC towards a STUN server on an address the guard refuses
    url, packets = stun_listener
    h = make_harness(pool, url, network_allowlist="127.0.0.1/32")

    # When it runs long enough for ICE gathering
    run = await h.run([{"action": "goto", "url": "{{base_url}}/"}, {"action": "wait_for", "ms": 1500}])

    # Then not a single packet arrived
    assert run.status == RunStatus.passed, run.error
    assert packets == []


# ------------------------------------------------------------------------- runs without a browser


async def test_a_short_secret_leaves_timestamps_and_the_reports_alone(harness: Harness) -> None:
    # Given a secret that is also part of every timestamp (the year)
    year = str(date.today().year)
    harness.set_secret("PIN", year)
    steps = [{"action": "request", "url": "{{base_url}}/api/items", "headers": {"X-Pin": "{{secret:PIN}}"}}]

    # When an API run uses it
    run = await harness.run(steps, spec={"kind": "api"})

    # Then the reports are built and stored, with their timestamps whole
    assert run.status == RunStatus.passed, run.error
    assert {"report.html", "junit.xml"} <= {a.name for a in run.artifacts} and run.artifact_errors == []
    report = harness.artifacts.objects[next(a.key for a in run.artifacts if a.name == "report.html")][0]
    assert run.started_at is not None and run.started_at.isoformat(timespec="milliseconds").encode() in report


async def test_a_report_that_cannot_be_built_is_recorded(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr("runner_container.runner.executor.html_report", broken)
    run = await harness.run([{"action": "request", "url": "{{base_url}}/api/items"}], spec={"kind": "api"})

    assert run.status == RunStatus.passed
    assert run.artifact_errors == ["report.html: could not be built: RuntimeError: boom"]
    assert "junit.xml" in {a.name for a in run.artifacts}


async def test_undefined_names_skip_every_step_and_are_named(harness: Harness) -> None:
    steps: list[dict[str, Any]] = [
        {"action": "request", "url": "{{base_url}}/api/items?x={{nope}}"},
        {"action": "request", "url": "{{base_url}}/api/items", "headers": {"X-A": "{{secret:MISSING}}"}},
    ]
    run = await harness.run(steps, spec={"kind": "api"})

    assert run.status == RunStatus.error
    assert [s.status for s in run.steps] == ["skipped", "skipped"]
    assert "{{nope}}" in (run.error or "")

    run = await harness.run(steps[1:], spec={"kind": "api"})
    assert [s.status for s in run.steps] == ["skipped"] and "MISSING" in (run.error or "")


async def test_a_header_beyond_latin_1_fails_its_step_clearly(harness: Harness) -> None:
    steps = [{"action": "request", "url": "{{base_url}}/api/items", "headers": {"X-Name": "☃"}}]
    run = await harness.run(steps, spec={"kind": "api"})

    assert run.status == RunStatus.failed and run.steps[0].status == "failed"
    assert "header 'X-Name'" in (run.steps[0].error or "")
