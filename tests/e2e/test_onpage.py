"""Finding the secrets a page shows (runner_container/runner/onpage.py), in real Chromium: what counts as
shown, which element is marked, and what a second look reports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page

from runner_container.runner.browser import BrowserPool
from runner_container.runner.masking import Masker
from runner_container.runner.onpage import CANVAS_RECORDER, MARK, SecretScanner

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SECRET = 'Kx7&q "w <z9'
SCANNER = SecretScanner(Masker([SECRET]))


@pytest_asyncio.fixture(loop_scope="session")
async def page(pool: BrowserPool) -> AsyncIterator[Page]:
    async with pool.context() as context:
        await context.add_init_script(CANVAS_RECORDER)
        yield await context.new_page()


async def marked(page: Page) -> list[str]:
    """The ids of the elements the last mark marked, in every frame."""
    ids: list[str] = []
    for frame in page.frames:
        ids += await frame.eval_on_selector_all(f"[{MARK}]", "els => els.map(e => e.id || e.localName)")
    return sorted(ids)


@pytest.mark.parametrize(
    ("body", "expected", "shown"),
    [
        # text, split over elements, in another case and spacing: the smallest element holding all of it
        ('<p id=p>Your password is <b>Kx7&amp;</b>q "w &lt;z9.</p>', ["p"], ["p#p"]),
        ("<div id=d><span id=s>KX7&amp;Q  &quot;W\n&lt;Z9</span></div>", ["s"], ["span#s"]),
        ("<ul><li id=a>Kx7&amp;q &quot;w &lt;z9</li><li id=b>and Kx7&amp;q &quot;w &lt;z9</li></ul>", ["a", "b"], None),
        # pieces on two lines (blocks), in a script or the title: not shown
        ('<div>Kx7&amp;q</div><div>"w &lt;z9</div>', [], []),
        ('<script>var s = "Kx7&q \\"w <z9";</script><title>Kx7&amp;q &quot;w &lt;z9</title>', [], []),
        # fields: a password holding it is masked, not counted as shown; a visible field is both
        ('<input id=pw type=password value="Kx7&amp;q &quot;w &lt;z9">', ["pw"], []),
        ('<input id=t value="x Kx7&amp;q &quot;w &lt;z9">', ["t"], ["input#t"]),
        ('<input id=h placeholder="Kx7&amp;q &quot;w &lt;z9">', ["h"], ["input#h"]),
        ("<select id=sel><option>a</option><option selected>Kx7&amp;q &quot;w &lt;z9</option></select>", None, None),
        # an image whose URL asks for the secret, percent-encoded (the server may draw it)
        ('<img id=i alt="x" src="/pic?text=Kx7%26q%20%22w%20%3Cz9">', ["i"], ["img#i"]),
        ('<img id=i alt="Kx7&amp;q &quot;w &lt;z9">', ["i"], ["img#i"]),
    ],
)
async def test_what_shows_a_secret_and_what_is_marked(
    page: Page, body: str, expected: list[str] | None, shown: list[str] | None
) -> None:
    await page.set_content(f"<body>{body}</body>")

    sighting = await SCANNER.mark(page)

    if expected is not None:
        assert await marked(page) == expected
    else:
        assert await marked(page)
    if shown is not None:
        assert sighting.shown == shown
    assert bool(sighting.masks) == bool(await marked(page))


async def test_a_select_showing_the_secret_is_marked(page: Page) -> None:
    await page.set_content(
        "<select id=sel><option>a</option><option id=o selected>Kx7&amp;q &quot;w &lt;z9</option></select>"
    )

    sighting = await SCANNER.mark(page)

    assert await marked(page) == ["o", "sel"] and "select#sel" in sighting.shown


async def test_shadow_roots_frames_and_canvases_are_looked_into(page: Page) -> None:
    await page.set_content(
        "<div id=host></div><canvas id=c width=200 height=40></canvas>"
        '<iframe srcdoc="<p id=inframe>Kx7&amp;amp;q &amp;quot;w &amp;lt;z9</p>"></iframe>'
        "<script>"
        "document.getElementById('host').attachShadow({mode: 'open'}).innerHTML ="
        " '<b id=shadow>Kx7&amp;q &quot;w &lt;z9</b>';"
        "const ctx = document.getElementById('c').getContext('2d');"
        "for (const ch of 'Kx7&q \"w <z9') ctx.fillText(ch, 0, 20);"  # drawn one character at a time
        "</script>"
    )
    await page.wait_for_function("document.querySelector('iframe').contentDocument?.getElementById('inframe')")

    sighting = await SCANNER.mark(page)

    assert await marked(page) == ["c", "inframe", "shadow"]  # (Playwright's CSS pierces open shadow roots)
    assert len(sighting.masks) == 2  # one locator per frame
    assert {"canvas#c", "b#shadow"} <= set(sighting.shown) and any(
        "p#inframe in the frame" in s for s in sighting.shown
    )


async def test_marks_follow_the_page_and_a_second_look_finds_what_appeared_since(page: Page) -> None:
    await page.set_content("<p id=one>Kx7&amp;q &quot;w &lt;z9</p><p id=two>nothing</p>")
    first = await SCANNER.mark(page)
    assert await marked(page) == ["one"] and await SCANNER.uncovered(page, first) == 0

    # When the page moves the secret elsewhere after the look
    await page.evaluate("""() => {
        document.getElementById('one').textContent = 'gone';
        const b = document.createElement('b'); b.id = 'new'; b.textContent = 'Kx7&q "w <z9';
        document.getElementById('two').append(b);
    }""")

    # Then the second look counts it as not covered, and the next mark moves the marks
    assert await SCANNER.uncovered(page, first) == 1
    second = await SCANNER.mark(page)
    assert await marked(page) == ["new"] and await SCANNER.uncovered(page, second) == 0
    assert await SCANNER.shown(page) == ["b#new"]


async def test_without_secrets_nothing_is_evaluated(page: Page) -> None:
    await page.set_content("<p>Kx7&amp;q &quot;w &lt;z9</p>")
    scanner = SecretScanner(Masker())

    sighting = await scanner.mark(page)

    assert not scanner.active and sighting.masks == [] and sighting.shown == [] and await marked(page) == []
