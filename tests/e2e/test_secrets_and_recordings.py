"""Secrets in every spelling, pictures of the page that would show one, the browser's own trace files, and
UDP past the network guard, in real Chromium."""

from __future__ import annotations

import asyncio
import base64
import html
import io
import json
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from examples.webapp import WebApp
from runner_container.runner.browser import BrowserPool
from shared.models.runs import Run, RunStatus
from tests import png, secretscan
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


async def test_an_idle_browser_and_its_driver_close_and_the_next_run_starts_them_again(webapp: WebApp) -> None:
    pool = BrowserPool(concurrency=2, idle_close_s=0.3)
    try:
        h = make_harness(pool, webapp.url)
        first = await h.run([{"action": "goto", "url": "{{base_url}}/login"}])
        assert first.status == RunStatus.passed and pool.running
        await asyncio.sleep(0.1)
        assert pool.running  # not idle long enough yet
        # a run that starts before the idle time is up keeps the browser (its timer starts again after it)
        again = await h.run([{"action": "goto", "url": "{{base_url}}/login"}])
        assert again.status == RunStatus.passed and pool.running
        for _ in range(50):
            if pool._playwright is None:
                break
            await asyncio.sleep(0.05)
        assert not pool.running and pool._playwright is None and pool.traces_dir is None  # the driver stopped too

        later = await h.run(
            [{"action": "goto", "url": "{{base_url}}/login"}, {"action": "expect_text", "text": "Log in"}]
        )
        assert later.status == RunStatus.passed and later.browser_version and pool.running
    finally:
        await pool.close()
    assert not pool.running


async def test_a_single_process_browser_pool_never_closes_on_a_timer() -> None:
    from runner_container.runner.browser import LAMBDA_ARGS

    pool = BrowserPool(extra_args=LAMBDA_ARGS, idle_close_s=5)
    assert pool._idle_close_s is None  # it closes after its one context anyway
    assert BrowserPool(idle_close_s=0)._idle_close_s is None


# ----------------------------------------------------------------------- a page that shows the secret

SHOWN = 'Kx7&q "w <z9'  # '&', '"', '<' and a space: every encoder treats them differently
MAGENTA = (255, 0, 255)  # Playwright's mask
#: where the test's pages put what shows the secret (CSS pixels; the runner's viewport has scale 1)
MIRROR = (20, 200, 400, 40)
CANVAS = (20, 300, 400, 40)
ECHO = (20, 200, 400, 40)
FRAME_TEXT = (20, 300, 300, 30)  # the span inside the iframe, which is at (20, 300)


class _ShowingPages(BaseHTTPRequestHandler):
    """A form whose script mirrors the typed password into a div and a canvas, and a response page that
    echoes the posted password (split over elements, and again inside an iframe)."""

    def _page(self, body: str) -> None:
        data = f"<!doctype html><html><head><style>body{{margin:0;font:16px sans-serif}}</style></head>{body}"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data.encode())))
        self.end_headers()
        self.wfile.write(data.encode())

    def do_GET(self) -> None:
        box = "position:absolute;left:{}px;top:{}px;width:{}px;height:{}px"
        self._page(
            "<body><form method=post action=/echo><label>User <input name=user value=admin></label>"
            "<label>Password <input type=password name=password id=pw></label><button>Send</button></form>"
            f'<div id=mirror style="{box.format(*MIRROR)};font-size:24px"></div>'
            f'<canvas id=drawn width={CANVAS[2]} height={CANVAS[3]} style="{box.format(*CANVAS)}"></canvas>'
            "<script>document.getElementById('pw').addEventListener('input', (e) => {"
            " document.getElementById('mirror').textContent = e.target.value;"
            " const ctx = document.getElementById('drawn').getContext('2d');"
            " ctx.font = '24px sans-serif'; ctx.fillText(e.target.value, 0, 30); });</script></body>"
        )

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode(), keep_blank_values=True)
        secret = form["password"][0]
        box = "position:absolute;left:{}px;top:{}px;width:{}px;height:{}px"
        inner = f'<body style="margin:0"><span style="display:block;{box.format(0, 0, *FRAME_TEXT[2:])}">'
        inner += f"{html.escape(secret)}</span></body>"
        self._page(
            f'<body><h1>Posted</h1><p id=echo style="{box.format(*ECHO)};margin:0">Your password is '
            f"<b>{html.escape(secret[:4])}</b>{html.escape(secret[4:])}</p>"
            f'<iframe srcdoc="{html.escape(inner)}" style="{box.format(20, 300, 400, 60)};border:0"></iframe>'
            f"<script>const posted = {json.dumps({'password': secret})};</script></body>"
        )

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def showing_pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShowingPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


async def test_a_secret_the_page_shows_is_masked_in_every_picture_and_absent_from_every_artifact(
    pool: BrowserPool, showing_pages: str
) -> None:
    # Given a runner taking screenshots at every step, recording video and a trace, and pages that show
    # the secret typed into a password field: mirrored by a script, then echoed by the server
    h = make_harness(pool, showing_pages, screenshots="every_step", record_video=True, record_trace=True)
    h.set_secret("PASSWORD", SHOWN)
    steps: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}/form"},
        {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:PASSWORD}}"},
        {"action": "screenshot", "name": "mirrored"},
        {"action": "click", "target": {"role": "button", "name": "Send"}},
        {"action": "expect_text", "text": "Your password is"},
        {"action": "expect_text", "text": "a text the page does not show", "timeout_s": 1},  # fails: full page
    ]

    # When it runs
    run = await h.run(steps)

    # Then every picture masks what shows the secret, and only that
    assert run.status == RunStatus.failed and [s.status for s in run.steps][-1] == "failed", run.error
    shots = {key.rsplit("/", 1)[1]: data for key, (data, _) in h.artifacts.objects.items() if key.endswith(".png")}
    assert set(shots) == {f"step-00{i}.png" for i in (1, 2, 4, 5)} | {"mirrored.png", "step-006-failure.png"}
    before = png.decode(shots["step-001.png"])
    assert MAGENTA not in before.colours(*MIRROR) and MAGENTA not in before.colours(*CANVAS)  # nothing to hide yet
    for name in ("step-002.png", "mirrored.png"):
        image = png.decode(shots[name])
        assert image.colours(*MIRROR) == {MAGENTA} and image.colours(*CANVAS) == {MAGENTA}, name
    for name in ("step-004.png", "step-005.png", "step-006-failure.png"):
        image = png.decode(shots[name])
        assert image.colours(*ECHO) == {MAGENTA} and image.colours(*FRAME_TEXT) == {MAGENTA}, name
        assert MAGENTA not in image.colours(0, 0, 400, 40), name  # the heading is not masked

    # ... the report embeds the masked failure screenshot
    report = next(data for key, (data, _) in h.artifacts.objects.items() if key.endswith("report.html"))
    assert f"data:image/png;base64,{base64.b64encode(shots['step-006-failure.png']).decode()}".encode() in report

    # ... the video and the screencast are not kept, and the run says why; the trace is kept, cleaned
    assert "video" not in {a.kind for a in run.artifacts} and "trace" in {a.kind for a in run.artifacts}
    assert any(e.startswith("video.webm: video not kept: the page showed a secret") for e in run.artifact_errors)
    assert any(
        e.startswith("trace.zip: screencast frames removed: the page showed a secret") for e in run.artifact_errors
    )
    with _trace(h) as trace:
        assert not [n for n in trace.namelist() if n.startswith("screencast/")]
        posts = [
            r["snapshot"]["request"]["postData"]
            for r in map(json.loads, trace.read("trace.network").decode().splitlines())
            if r.get("type") == "resource-snapshot" and r["snapshot"]["request"]["method"] == "POST"
        ]
        assert posts and {"name": "password", "value": "***"} in posts[0]["params"]

    # ... and no text anywhere holds the secret: not as typed, not encoded, escaped or split
    texts = {name: data for name, data in _everything(h, run).items() if not name.endswith((".png", ".jpeg"))}
    found = {name: where for name, data in texts.items() if (where := secretscan.leaks(data, SHOWN))}
    assert found == {}
    assert pool.traces_dir is not None and list(pool.traces_dir.iterdir()) == []


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


async def test_an_undefined_secret_skips_every_step_and_an_undefined_variable_fails_its_step(harness: Harness) -> None:
    steps: list[dict[str, Any]] = [
        {"action": "request", "url": "{{base_url}}/api/items?x={{nope}}"},
        {"action": "request", "url": "{{base_url}}/api/items", "headers": {"X-A": "{{secret:MISSING}}"}},
    ]
    # a secret the project does not have: nothing runs, the secret is named
    run = await harness.run(steps, spec={"kind": "api"})
    assert run.status == RunStatus.error
    assert [s.status for s in run.steps] == ["skipped", "skipped"]
    assert "MISSING" in (run.error or "")

    # a variable nothing defines: the step that needs it fails, naming it; the steps before it ran
    run = await harness.run([{"action": "request", "url": "{{base_url}}/api/items"}, steps[0]], spec={"kind": "api"})
    assert run.status == RunStatus.error
    assert [s.status for s in run.steps] == ["passed", "error"]
    assert "{{nope}}" in (run.steps[1].error or "") and "{{nope}}" in (run.error or "")


async def test_a_header_beyond_latin_1_fails_its_step_clearly(harness: Harness) -> None:
    steps = [{"action": "request", "url": "{{base_url}}/api/items", "headers": {"X-Name": "☃"}}]
    run = await harness.run(steps, spec={"kind": "api"})

    assert run.status == RunStatus.failed and run.steps[0].status == "failed"
    assert "header 'X-Name'" in (run.steps[0].error or "")
