"""A name that equals one element's name exactly wins over the substring matches of others; exactly equal
names stay ambiguous. Real Chromium against a page of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.models.runs import RunStatus
from tests.e2e.conftest import Harness
from tests.e2e.pages import serve_pages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

FORM = """
<form onsubmit="return false">
  <button type="button">Save</button> <button type="button">Save draft</button>
  <button type="button">Save and close</button>
  <label>Email <input id="e1"></label> <label>Email again <input id="e2"></label>
  <label>Backup email <input id="e3"></label>
  <input id="s1" placeholder="Search"> <input id="s2" placeholder="Search all">
  <input id="s3" placeholder="Research topic">
  <p>Total</p> <p>Total due</p> <p>Subtotal</p>
  <button type="button">Remove</button> <button type="button">Remove</button> <button type="button">Remove all</button>
</form>
<output id="out"></output>
<script>
document.querySelectorAll('button').forEach(b => b.addEventListener('click', () => {
  document.getElementById('out').textContent = 'clicked [' + b.textContent + ']';
}));
</script>
"""


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    with serve_pages({"/form": (200, FORM)}) as url:
        yield f"{url}/form"


def steps_on(page_url: str, *steps: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"action": "goto", "url": page_url}, *steps]


async def test_the_exact_name_wins_over_substring_matches(harness: Harness, page_url: str) -> None:
    run = await harness.run(
        steps_on(
            page_url,
            {"action": "click", "target": {"role": "button", "name": "Save"}},
            {"action": "expect_text", "target": {"css": "#out"}, "text": "clicked [Save]"},
            {"action": "fill", "target": {"label": "Email"}, "value": "ann@example.com"},
            {"action": "extract", "target": {"css": "#e1"}, "var": "email"},
            {"action": "fill", "target": {"placeholder": "Search"}, "value": "apples"},
            {"action": "extract", "target": {"css": "#s1"}, "var": "search"},
            {"action": "expect_visible", "target": {"text": "Total"}},
            {"action": "click", "target": {"role": "button", "name": "save and close"}},
        )
    )

    assert run.status == RunStatus.passed, run.error
    assert (run.variables["email"], run.variables["search"]) == ("ann@example.com", "apples")
    chosen = [(s.locator, s.matched_by) for s in run.steps[1:] if s.locator]
    assert chosen == [
        ('get_by_role("button", name="Save", exact=True)', "exact"),
        ('locator("#out")', "unique"),
        ('get_by_label("Email", exact=True)', "exact"),
        ('locator("#e1")', "unique"),
        ('get_by_placeholder("Search", exact=True)', "exact"),
        ('locator("#s1")', "unique"),
        ('get_by_text("Total", exact=True)', "exact"),
        # one match holding the name as whole words: no rule needed
        (
            'get_by_role("button", name=re.compile("(?<!\\\\w)save\\\\s+and\\\\s+close(?!\\\\w)", re.IGNORECASE))',
            "substring",
        ),
    ]


async def test_a_name_equal_but_for_case_and_spaces_comes_next(harness: Harness, page_url: str) -> None:
    run = await harness.run(
        steps_on(
            page_url,
            {"action": "click", "target": {"role": "button", "name": "save"}},
            {"action": "expect_text", "target": {"css": "#out"}, "text": "clicked [Save]"},
            {"action": "expect_visible", "target": {"text": " total "}},
        )
    )

    assert run.status == RunStatus.passed, run.error
    assert [s.matched_by for s in run.steps] == [None, "normalized", "unique", "normalized"]
    assert run.steps[1].locator == 'get_by_role("button", name=re.compile("^\\\\s*save\\\\s*$", re.IGNORECASE))'


async def test_descriptions_prefer_the_exact_name_too(harness: Harness, page_url: str) -> None:
    run = await harness.run(
        steps_on(
            page_url,
            {"action": "click", "target": "the Save button"},
            {"action": "expect_text", "target": {"css": "#out"}, "text": "clicked [Save]"},
            {"action": "fill", "target": "the Email field", "value": "bob@example.com"},
            {"action": "extract", "target": {"css": "#e1"}, "var": "email"},
        )
    )

    assert run.status == RunStatus.passed, run.error
    assert run.steps[1].locator == 'get_by_role("button", name="Save", exact=True)'
    assert run.steps[1].matched_by == "role"  # a description: its role with the exact name
    assert run.variables["email"] == "bob@example.com"


async def test_two_elements_named_exactly_alike_stay_ambiguous(harness: Harness, page_url: str) -> None:
    run = await harness.run(steps_on(page_url, {"action": "click", "target": {"role": "button", "name": "Remove"}}))
    lowered = await harness.run(steps_on(page_url, {"action": "click", "target": {"role": "button", "name": "remove"}}))

    assert run.status == lowered.status == RunStatus.failed
    error = run.steps[1].error or ""
    assert "matched 3 elements" in error and "2 of them are named exactly" in error, error
    assert 'button "Remove all"' in error
    assert run.steps[1].matched_by is None
    assert 'None of them is named exactly "remove"; 2 are but for case and spaces.' in (lowered.steps[1].error or "")


async def test_exact_true_matches_exact_names_alone(harness: Harness, page_url: str) -> None:
    run = await harness.run(
        steps_on(
            page_url,
            {"action": "click", "target": {"role": "button", "name": "Save", "exact": True}},
            {"action": "click", "target": {"role": "button", "name": "save", "exact": True}, "timeout_s": 0.5},
        )
    )

    assert [s.status for s in run.steps] == ["passed", "passed", "failed"]
    assert run.steps[1].matched_by == "exact"
    assert "matched nothing" in (run.steps[2].error or "")  # no case-insensitive fallback


LIST = """
<h2>Toppings</h2>
<ul>
  <li>Cheese <button type="button">Remove</button></li>
  <li>Ham <button type="button" data-testid="remove-ham">Remove</button></li>
</ul>
"""


async def test_matches_alike_are_told_apart_by_where_they_sit(harness: Harness) -> None:
    with serve_pages({"/list": (200, LIST)}) as url:
        run = await harness.run(
            [
                {"action": "goto", "url": f"{url}/list"},
                {"action": "click", "target": {"role": "button", "name": "Remove"}},
            ]
        )

    error = run.steps[1].error or ""
    assert run.status == RunStatus.failed and "matched 2 elements" in error, error
    assert '1) button "Remove" in list item "Cheese Remove"' in error
    assert '2) button "Remove" in list item "Ham Remove" (test_id \'remove-ham\')' in error
    assert "a test_id, a css selector" in error
