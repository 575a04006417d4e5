"""What a step reads from the page without an ``evaluate`` (``steps.py``: a count, ``input_value``,
``inner_text``): ``extract``'s value of a field or text of an element, and whether a field a secret is typed into
shows it. Real Chromium against a page of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner_container.runner.browser import BrowserPool
from shared.models.runs import RunStatus
from tests.e2e.conftest import make_harness
from tests.e2e.pages import serve_pages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PAGE = """<!doctype html><title>Reads</title>
<label>Key <input type="PassWord" id="key"></label>
<label>Shown <input id="shown" value="typed before"></label>
<textarea id="note">a note
on two lines</textarea>
<select id="size"><option value="s">Small</option><option value="m" selected>Medium</option></select>
<div id="box">Total <b>42</b><span hidden>not shown</span></div>
<svg width="10" height="10"><text id="mark">svg text</text></svg>
"""


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    with serve_pages({"/reads": (200, PAGE)}) as url:
        yield f"{url}/reads"


async def test_extract_reads_a_fields_value_and_an_elements_shown_text(pool: BrowserPool, page_url: str) -> None:
    h = make_harness(pool, page_url)
    run = await h.run(
        [
            {"action": "goto", "url": page_url},
            {"action": "extract", "target": {"css": "#shown"}, "var": "shown"},
            {"action": "extract", "target": {"css": "#note"}, "var": "note"},
            {"action": "extract", "target": {"css": "#size"}, "var": "size"},
            {"action": "extract", "target": {"css": "#box"}, "var": "box"},
            {"action": "extract", "target": {"css": "#mark"}, "var": "mark"},  # no HTML element: evaluated
        ]
    )

    assert run.status == RunStatus.passed, run.error
    assert (run.variables["shown"], run.variables["note"], run.variables["size"]) == (
        "typed before",
        "a note\non two lines",
        "m",
    )
    assert run.variables["box"] == "Total 42"  # innerText: the hidden span is not shown
    assert run.variables["mark"] == "None"  # an SVG element has no innerText: as the evaluation always read it


async def test_a_secret_in_a_password_field_is_hidden_and_in_another_is_shown(pool: BrowserPool, page_url: str) -> None:
    h = make_harness(pool, page_url, record_video=True)
    h.set_secret("KEY", "KEY-SECRET-123")

    hidden = await h.run(
        [
            {"action": "goto", "url": page_url},
            {"action": "fill", "target": {"label": "Key"}, "value": "{{secret:KEY}}"},  # type="PassWord"
        ]
    )
    shown = await h.run(
        [
            {"action": "goto", "url": page_url},
            {"action": "fill", "target": {"label": "Shown"}, "value": "{{secret:KEY}}"},
        ]
    )

    assert hidden.status == shown.status == RunStatus.passed, (hidden.error, shown.error)
    assert not any("visible field" in e for e in hidden.artifact_errors), hidden.artifact_errors
    assert any("video not kept: a secret was typed into a visible field" in e for e in shown.artifact_errors)
