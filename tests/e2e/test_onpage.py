"""Finding the secrets a page shows (runner_container/runner/onpage.py), in real Chromium: what counts as
shown, which element is marked, and what a second look reports."""

from __future__ import annotations

import asyncio
import html
import unicodedata
from collections.abc import AsyncIterator
from urllib.parse import quote

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


S1, S2 = "Kx7&amp;q", " &quot;w &lt;z9"  # the secret in two pieces, as HTML


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # pieces in elements that lay out inline, whatever their tag: joined (the smallest holder is marked)
        (f"<p id=p><x-a>{S1}</x-a><x-a>{S2}</x-a></p>", ["p"]),
        (f"<p id=p><big>{S1}</big><big>{S2}</big></p>", ["p"]),
        (
            f'<section id=p><div style="display:inline">{S1}</div><div style="display:inline">{S2}</div></section>',
            ["p"],
        ),
        (f'<section id=p><div style="display:inline-block">{S1}</div><i>{S2}</i></section>', ["p"]),
        (
            f'<section id=p><div style="display:inline-flex">{S1}</div>'
            f'<div style="display:inline-table">{S2}</div></section>',
            ["p"],
        ),
        (f'<section id=p><div style="display:contents">{S1}</div>{S2}</section>', ["p"]),
        # the items of a row flex container or of a grid are side by side: joined
        (f'<div id=p style="display:flex"><div>{S1}</div><div>{S2}</div></div>', ["p"]),
        (f'<div id=p style="display:grid;grid-template-columns:auto auto"><p>{S1}</p><p>{S2}</p></div>', ["p"]),
        (f'<div id=p style="display:inline-flex"><div>{S1}</div><div>{S2}</div></div>', ["p"]),
        # pieces the page does not show between them do not break the join
        (f'<p id=p>{S1}<span style="display:none">x</span>{S2}</p>', ["p"]),
        (f'<section id=p>{S1}<span style="display:none"><div>x</div></span>{S2}</section>', ["p"]),
        (f'<section id=p>{S1}<div style="display:none">x</div>{S2}</section>', ["p"]),
        (f'<p id=p>{S1}<span style="visibility:hidden">x</span>{S2}</p>', ["p"]),
        (f'<p id=p>{S1}<span style="font-size:0">x</span>{S2}</p>', ["p"]),
        (f'<p id=p>{S1}<span style="color:transparent">x</span>{S2}</p>', ["p"]),
        (f'<p id=p>{S1}<span style="opacity:0">x</span>{S2}</p>', ["p"]),
        (f'<p id=p>{S1}<span style="display:inline-block;width:0;overflow:hidden">x</span>{S2}</p>', ["p"]),
        # a block, a list item, a column of flex items, table cells, a line break: on separate lines
        (f"<div>{S1}</div><div>{S2}</div>", []),
        (f'<x-a style="display:block">{S1}</x-a><x-a style="display:block">{S2}</x-a>', []),
        (f'<div style="display:flex;flex-direction:column"><div>{S1}</div><div>{S2}</div></div>', []),
        (f"<table><tr><td>{S1}</td></tr><tr><td>{S2}</td></tr></table>", []),
        (f"<p>{S1}<br>{S2}</p>", []),
    ],
)
async def test_text_joins_across_elements_by_how_they_are_laid_out(page: Page, body: str, expected: list[str]) -> None:
    await page.set_content(f"<body>{body}</body>")

    await SCANNER.mark(page)

    assert await marked(page) == expected


URL = "http://127.0.0.1:9/pic?t=Kx7%26q%20%22w%20%3Cz9"  # a picture asked for with the secret (nothing listens)


@pytest.mark.parametrize(
    "body",
    [
        f"<div id=x style=\"width:20px;height:20px;background-image:url('{URL}')\"></div>",
        f'<svg width=20 height=20><image id=x href="{URL}" width=20 height=20 /></svg>',
        f'<svg width=20 height=20><image id=x xlink:href="{URL}" width=20 height=20 /></svg>',
        f'<input id=x type=image src="{URL}">',
        f'<video id=x poster="{URL}"></video>',
        '<object id=x data="data:text/html,ok?t=Kx7%26q%20%22w%20%3Cz9"></object>',
        f'<embed id=x src="{URL}">',
        '<iframe id=x src="data:text/html,ok?t=Kx7%26q%20%22w%20%3Cz9"></iframe>',
    ],
)
async def test_a_picture_or_frame_whose_url_holds_the_secret_is_marked(page: Page, body: str) -> None:
    await page.set_content(f"<body>{body}</body>")

    sighting = await SCANNER.mark(page)

    assert await marked(page) == ["x"]
    assert sighting.shown and sighting.shown[0].endswith("#x")


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("Kx7 \u00e9t\u00e9", unicodedata.normalize("NFD", "Kx7 \u00e9t\u00e9")),  # "é" as e + U+0301
        (unicodedata.normalize("NFD", "Kx7 \u00e9t\u00e9"), "Kx7 \u00e9t\u00e9"),
        (SECRET, "\uff2b\uff58\uff17\uff06\uff51\u3000\uff02\uff57\u3000\uff1c\uff5a\uff19"),  # fullwidth forms
        ("stra\u00dfe9", "STRASSE9"),  # case folded, not only lower-cased
    ],
)
async def test_a_secret_shown_in_another_unicode_form_is_found(page: Page, secret: str, shown: str) -> None:
    await page.set_content(f"<body><p id=p>{html.escape(shown)}</p></body>")

    await SecretScanner(Masker([secret])).mark(page)

    assert await marked(page) == ["p"]


async def test_an_svg_object_showing_the_secret_is_masked_whole_and_the_screenshot_taken(page: Page) -> None:
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='300' height='40'>"
        "<text id='t' x='0' y='20'>Kx7&amp;q &quot;w &lt;z9</text></svg>"
    )
    await page.set_content(
        f'<body><object id=o type="image/svg+xml" width=300 height=40 data="data:image/svg+xml,{quote(svg)}">'
        "</object></body>"
    )
    for _ in range(100):  # the SVG document is a frame of its own (cross-origin: a data URL)
        if len(page.frames) > 1 and await page.frames[1].query_selector("#t"):
            break
        await asyncio.sleep(0.05)

    sighting = await SCANNER.mark(page)
    await page.screenshot(mask=sighting.masks)

    assert await page.eval_on_selector_all(f"[{MARK}]", "els => els.map(e => e.id)") == ["o"]
    assert await SCANNER.uncovered(page, sighting) == 0
    assert sighting.notes and "object#o" in sighting.notes[0]
