"""A secret the page shows in another spelling (encoded, split by invisible characters, reversed under a
bidi override) is masked in every screenshot and keeps the video and the screencast out, in real Chromium.
The spellings are written here with the standard library, apart from the runner's list of them."""

from __future__ import annotations

import base64
import html
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from runner_container.runner.browser import BrowserPool
from shared.models.runs import Run, RunStatus
from tests import png, secretscan
from tests.e2e.conftest import Harness, make_harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

#: "&", "~" and "?" are encoded differently by every encoder, its base64 holds "+" and "/" one and two bytes
#: in (so the URL-safe alphabet differs), and no character of it is mirrored when shown right to left
SECRET = "Vq7Lm&Zr4~?x"
MAGENTA = (255, 0, 255)  # Playwright's mask
BOX = (20, 200, 460, 40)  # where each page shows the spelling (CSS pixels; the runner's viewport has scale 1)
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
RAW = SECRET.encode()


def _split(text: str, between: str) -> str:
    """``text`` with the characters of ``between`` put between its letters, in turn."""
    return "".join(ch + between[i % len(between)] for i, ch in enumerate(text[:-1])) + text[-1]


#: name -> (HTML of the element that shows it, its style)
SHOWN: dict[str, tuple[str, str]] = {
    "percent-encoded": (quote(SECRET, safe=""), ""),
    "form-encoded, echoed": (html.escape(urlencode({"p": SECRET})), ""),
    "percent-encoded twice": (quote(quote(SECRET, safe=""), safe=""), ""),
    "base64": (base64.b64encode(RAW).decode(), ""),
    "base64, one byte in": (base64.b64encode(b"u" + RAW).decode(), ""),
    "base64, two bytes in": (base64.b64encode(b"u:" + RAW).decode(), ""),
    "base64 URL-safe, one byte in": (base64.urlsafe_b64encode(b"u" + RAW).decode(), ""),
    "base64 URL-safe, two bytes in": (base64.urlsafe_b64encode(b"u:" + RAW).decode(), ""),
    "hex": (RAW.hex(), ""),
    "HEX": (RAW.hex().upper(), ""),
    "JSON with HTML-safe escapes (Go)": (
        html.escape(json.dumps({"p": SECRET}).replace("&", "\\u0026")),
        "",
    ),
    "JavaScript-escaped": (html.escape("".join(f"\\x{ord(c):02x}" for c in SECRET)), ""),
    "HTML-escaped, shown as entities": (html.escape(html.escape(SECRET)), ""),
    "split by zero-width characters": (html.escape(_split(SECRET, ZERO_WIDTH)), ""),
    "reversed under U+202E": (html.escape("\u202e" + SECRET[::-1] + "\u202c"), ""),
    "reversed under CSS bidi-override": (html.escape(SECRET[::-1]), "direction:rtl;unicode-bidi:bidi-override;"),
}


class _Pages(BaseHTTPRequestHandler):
    """``/show/<n>``: a password field and, at ``BOX``, the ``n``-th spelling of ``SHOWN`` (``/show/none``:
    nothing secret). ``/form/<type>``: a form with a password field that posts to ``/echo/<type>``, which
    answers with the posted body, as JSON (``{"got": "p=..."}``) or as plain text."""

    def _send(self, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        head = "<!doctype html><html><head><style>body{margin:0;font:16px monospace}</style></head><body>"
        kind, name = self.path.split("/")[-2:]
        if kind == "form":
            form = f"<form method=post action=/echo/{name}><label>Password <input type=password name=p></label>"
            self._send(f"{head}{form}<button>Send</button></form></body></html>", "text/html; charset=utf-8")
            return
        shown, style = ("nothing to hide here", "") if name == "none" else list(SHOWN.values())[int(name)]
        left, top, width, height = BOX
        self._send(
            f"{head}<label>Password <input type=password id=pw></label>"
            f'<div id=shown style="position:absolute;left:{left}px;top:{top}px;width:{width}px;height:{height}px;'
            f'{style}">{shown}</div></body></html>',
            "text/html; charset=utf-8",
        )

    def do_POST(self) -> None:
        posted = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.path.endswith("/json"):
            self._send(json.dumps({"got": posted}), "application/json")
        else:
            self._send(posted, "text/plain; charset=utf-8")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _shots(h: Harness) -> dict[str, png.Image]:
    return {
        key.rsplit("/", 1)[1]: png.decode(data)
        for key, (data, _) in h.artifacts.objects.items()
        if key.endswith(".png")
    }


def _texts(h: Harness, run: Run) -> dict[str, bytes]:
    """Every text the run left: the run, and every artifact and trace entry that is not a picture."""
    found = {"run": run.model_dump_json().encode()}
    for key, (data, _) in h.artifacts.objects.items():
        if key.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as trace:
                found |= {f"{key}!{n}": trace.read(n) for n in trace.namelist() if not n.endswith((".jpeg", ".png"))}
        elif not key.endswith((".png", ".webm")):
            found[key] = data
    return found


async def _run(pool: BrowserPool, url: str) -> tuple[Harness, Run]:
    # A password field keeps video by itself: only what the page shows can drop it
    h = make_harness(pool, url, screenshots="every_step", record_video=True, record_trace=True)
    h.set_secret("PASSWORD", SECRET)
    steps: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}"},
        {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:PASSWORD}}"},
        {"action": "screenshot", "name": "shown"},
    ]
    return h, await h.run(steps)


@pytest.mark.parametrize("index", range(len(SHOWN)), ids=list(SHOWN))
async def test_a_secret_shown_in_another_spelling_is_masked_and_keeps_no_video(
    pool: BrowserPool, pages: str, index: int
) -> None:
    # Given a page that shows the secret in one spelling, and a run that types the secret into a password field
    # When it runs, with screenshots, video and a trace
    h, run = await _run(pool, f"{pages}/show/{index}")

    # Then every screenshot covers what shows it
    assert run.status == RunStatus.passed, run.error
    shots = _shots(h)
    assert set(shots) == {"step-001.png", "step-002.png", "shown.png"}
    for name, image in shots.items():
        assert image.colours(*BOX) == {MAGENTA}, name
        assert MAGENTA not in image.colours(0, 0, 60, 16), name  # the label's text is not masked

    # ... the video and the screencast are not kept, and the run says why
    assert "video" not in {a.kind for a in run.artifacts}
    assert any(e.startswith("video.webm: video not kept: the page showed a secret") for e in run.artifact_errors)
    assert any(
        e.startswith("trace.zip: screencast frames removed: the page showed a secret") for e in run.artifact_errors
    )

    # ... and no text the run left holds it (the trace's DOM snapshots included)
    found = {name: where for name, data in _texts(h, run).items() if (where := secretscan.leaks(data, SECRET))}
    assert found == {}


async def test_a_page_that_shows_no_secret_keeps_its_video(pool: BrowserPool, pages: str) -> None:
    # (the same run on a page that shows nothing secret: what drops the video above is the page alone)
    h, run = await _run(pool, f"{pages}/show/none")

    assert run.status == RunStatus.passed, run.error
    assert all(MAGENTA not in image.colours(*BOX) for image in _shots(h).values())
    assert "video" in {a.kind for a in run.artifacts} and run.artifact_errors == []


@pytest.mark.parametrize("kind", ["json", "text"])
async def test_a_secret_a_server_echoes_percent_encoded_is_masked_and_keeps_no_video(
    pool: BrowserPool, pages: str, kind: str
) -> None:
    # Given a form that posts the password to a server that answers with the body it got ("p=Vq7Lm%26Zr42x")
    h = make_harness(pool, pages, screenshots="every_step", record_video=True, record_trace=True)
    h.set_secret("PASSWORD", "Vq7Lm&Zr42x")
    steps: list[dict[str, Any]] = [
        {"action": "goto", "url": f"{{{{base_url}}}}/form/{kind}"},
        {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:PASSWORD}}"},
        {"action": "click", "target": {"role": "button", "name": "Send"}},
        {"action": "expect_text", "text": "p="},
        {"action": "screenshot", "name": "echo"},
    ]

    # When it runs
    run = await h.run(steps)

    # Then the pictures of the answer cover its one line of text (Chromium shows it in a <pre> at the top)
    assert run.status == RunStatus.passed, run.error
    shots = _shots(h)
    for name in ("step-004.png", "echo.png"):  # (the click's picture may be of the form still)
        assert shots[name].colours(8, 14, 1264, 13) == {MAGENTA}, name

    # ... and the video and the screencast are not kept, and the run says why
    assert "video" not in {a.kind for a in run.artifacts}
    assert any(e.startswith("video.webm: video not kept: the page showed a secret") for e in run.artifact_errors)
    assert any(
        e.startswith("trace.zip: screencast frames removed: the page showed a secret") for e in run.artifact_errors
    )
    found = {name: where for name, data in _texts(h, run).items() if (where := secretscan.leaks(data, "Vq7Lm&Zr42x"))}
    assert found == {}
