"""``expect_text`` with ``absent``: passes when the text is not shown, fails when it stays, passes when it goes
away in time; in real Chromium (``Expect not to see "..."`` of the sentence grammar)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner_container.runner.browser import BrowserPool
from shared.models.runs import RunStatus
from tests.e2e.conftest import make_harness
from tests.e2e.pages import serve_pages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PAGES = {
    "/error": (200, '<p id="msg">Something went wrong</p><p>Welcome</p>'),
    "/fine": (200, "<p>Welcome</p>"),
    "/fading": (
        200,
        '<p id="msg">Saving...</p><script>setTimeout(() => document.getElementById("msg").remove(), 400)</script>',
    ),
}


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    with serve_pages(PAGES) as url:
        yield url


def _absent(text: str, **extra: object) -> dict[str, object]:
    return {"action": "expect_text", "text": text, "absent": True, "timeout_s": 1.5, **extra}


async def test_absent_text_passes_when_the_page_does_not_show_it(pool: BrowserPool, pages: str) -> None:
    h = make_harness(pool, pages)
    run = await h.run([{"action": "goto", "url": f"{pages}/fine"}, _absent("went wrong")])
    assert run.status == RunStatus.passed, run.error
    assert run.steps[1].detail == 'not "went wrong"'


async def test_absent_text_fails_when_the_page_shows_it(pool: BrowserPool, pages: str) -> None:
    h = make_harness(pool, pages)
    run = await h.run([{"action": "goto", "url": f"{pages}/error"}, _absent("went wrong")])
    assert run.status == RunStatus.failed
    assert "expected the page not to show the text 'went wrong'" in (run.steps[1].error or "")
    assert "Something went wrong" in (run.steps[1].error or "")


async def test_absent_text_waits_for_the_text_to_go_away(pool: BrowserPool, pages: str) -> None:
    h = make_harness(pool, pages)
    run = await h.run([{"action": "goto", "url": f"{pages}/fading"}, _absent("Saving")])
    assert run.status == RunStatus.passed, run.error


async def test_absent_text_in_a_target_checks_only_that_element(pool: BrowserPool, pages: str) -> None:
    h = make_harness(pool, pages)
    inside = await h.run([{"action": "goto", "url": f"{pages}/error"}, _absent("Welcome", target={"css": "#msg"})])
    shown = await h.run([{"action": "goto", "url": f"{pages}/error"}, _absent("wrong", target={"css": "#msg"})])
    assert inside.status == RunStatus.passed, inside.error
    assert shown.status == RunStatus.failed
