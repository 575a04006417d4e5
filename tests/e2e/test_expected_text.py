"""No check passes on nothing: expected text or a target name that is blank once its placeholders are filled
in (whitespace and invisible characters, which Playwright's comparison ignores) is an error naming the step,
on a 0-byte page and on a page with one button, in real Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from runner_container.runner.browser import BrowserPool
from shared.models.runs import RunStatus
from tests.e2e.conftest import make_harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

BLANK = [" ", "\u200b", "\n\t", "\u00a0", " \u200b "]


class _Pages(BaseHTTPRequestHandler):
    """``/empty``: a 0-byte HTML page; ``/button``: a page whose one element is a button."""

    def do_GET(self) -> None:
        body = (
            b"<button onclick=\"document.title='clicked'\">Delete everything</button>"
            if self.path == "/button"
            else b""
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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


@pytest.mark.parametrize("blank", BLANK, ids=repr)
@pytest.mark.parametrize(
    ("page", "step"),
    [
        ("/empty", {"action": "expect_text", "text": "{{blank}}"}),
        ("/empty", {"action": "expect_title", "text": "{{blank}}"}),
        ("/button", {"action": "click", "target": {"role": "button", "name": "{{blank}}"}}),
        ("/button", {"action": "click", "target": {"text": "{{blank}}"}}),
    ],
    ids=["expect_text", "expect_title", "role name", "text target"],
)
async def test_a_check_of_blank_text_fails_instead_of_passing_on_anything(
    pool: BrowserPool, pages: str, page: str, step: dict[str, Any], blank: str
) -> None:
    # Given a page with nothing to see (or one button), and a step whose text a variable makes blank
    h = make_harness(pool, pages)
    steps = [{"action": "goto", "url": "{{base_url}}" + page}, step]

    # When it runs
    run = await h.run(steps, spec={"variables": {"base_url": pages, "blank": blank}})

    # Then the step is an error that says why, and the run names it
    assert run.status == RunStatus.error, run.error
    assert [s.status for s in run.steps] == ["passed", "error"]
    assert "holds only whitespace or invisible characters" in (run.steps[1].error or "")
    assert (run.error or "").startswith(f"step 2 ({step['action']}")


@pytest.mark.parametrize("blank", BLANK, ids=repr)
async def test_blank_text_written_into_the_test_is_refused_before_it_runs(
    pool: BrowserPool, pages: str, blank: str
) -> None:
    h = make_harness(pool, pages)
    with pytest.raises(ValidationError, match="holds only whitespace or invisible characters"):
        h.start([{"action": "goto", "url": "{{base_url}}/empty"}, {"action": "expect_text", "text": blank}])


async def test_text_with_something_to_see_still_passes_and_fails_as_before(pool: BrowserPool, pages: str) -> None:
    h = make_harness(pool, pages)
    passed = await h.run(
        [{"action": "goto", "url": "{{base_url}}/button"}, {"action": "expect_text", "text": " Delete  everything "}]
    )
    failed = await h.run(
        [{"action": "goto", "url": "{{base_url}}/empty"}, {"action": "expect_text", "text": "x", "timeout_s": 0.5}]
    )

    assert passed.status == RunStatus.passed, passed.error
    assert failed.status == RunStatus.failed and "it has no text" in (failed.error or "")
