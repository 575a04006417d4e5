"""Descriptions resolved at run time, and scopes (within, near), in real Chromium on a page of the test's own:
the role the action implies first, exact names before looser ones, labels, placeholders, texts, close names;
rows, list items, sections and cards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.models.runs import Run, RunStatus
from tests.e2e.conftest import Harness
from tests.e2e.pages import serve_pages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PAGE = """
<nav><a href="#top" data-id="save-link">Save</a></nav>
<button type="button" data-id="save">Save</button> <button type="button" data-id="save-draft">Save draft</button>
<button type="button" data-id="login">log-in</button>
<label for="mail">Email</label><input id="mail">
<textarea id="notes" aria-label="Notes" placeholder="Anything else?"></textarea>
<label><input type="checkbox" id="news"> Subscribe to the newsletter</label>
<p data-id="total">Total due</p>
<button type="button" data-id="delete-all">Delete all</button>
<table>
  <tr><td>Cheese</td><td><button type="button" data-id="remove-cheese">Remove</button></td></tr>
  <tr><td>Ham</td><td><button type="button" data-id="remove-ham">Remove</button></td></tr>
</table>
<ul><li>Apples <button type="button" data-id="edit-apples">Edit</button></li>
    <li>Bread <button type="button" data-id="edit-bread">Edit</button></li></ul>
<section aria-label="Toppings"><h2>Extras</h2><button type="button" data-id="add-toppings">Add</button></section>
<section><h2>Sauces</h2><button type="button" data-id="add-sauces">Add</button></section>
<article class="product-card"><h3>Olives</h3><button type="button" data-id="buy-olives">Buy</button></article>
<article class="product-card"><h3>Capers</h3><button type="button" data-id="buy-capers">Buy</button></article>
<output id="out"></output>
<script>
document.querySelectorAll('[data-id]').forEach(e => e.addEventListener('click', ev => {
  ev.preventDefault();
  document.getElementById('out').textContent = 'clicked ' + e.dataset.id;
}));
</script>
"""


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    with serve_pages({"/p": (200, PAGE)}) as url:
        yield f"{url}/p"


def clicked(what: str) -> dict[str, Any]:
    return {"action": "expect_text", "target": {"css": "#out"}, "text": f"clicked {what}", "timeout_s": 1}


async def run_on(harness: Harness, page_url: str, *steps: dict[str, Any]) -> Run:
    return await harness.run([{"action": "goto", "url": page_url}, *steps])


def chosen(run: Run) -> list[tuple[str | None, str | None]]:
    return [(s.locator, s.matched_by) for s in run.steps if s.action not in ("goto", "expect_text")]


async def test_the_role_the_action_implies_comes_first(harness: Harness, page_url: str) -> None:
    run = await run_on(
        harness,
        page_url,
        {"action": "click", "target": "Save"},  # a button and a link are named Save: a click prefers the button
        clicked("save"),
        {"action": "hover", "target": "the Save link"},  # a role word names the role
    )

    assert run.status == RunStatus.passed, run.error
    assert chosen(run) == [
        ('get_by_role("button", name="Save", exact=True)', "role"),
        ('get_by_role("link", name="Save", exact=True)', "role"),
    ]


async def test_each_tier_in_turn(harness: Harness, page_url: str) -> None:
    run = await run_on(
        harness,
        page_url,
        {"action": "click", "target": "Log in"},  # "log-in": case and punctuation aside
        clicked("login"),
        {"action": "click", "target": "Email"},  # no role a click implies: by its label
        {"action": "fill", "target": "Email", "value": "ann@example.com"},  # a textbox named so
        {"action": "fill", "target": "Anything else?", "value": "no"},  # by its placeholder
        {"action": "click", "target": "Total due"},  # a text
        clicked("total"),
        {"action": "check", "target": "Subscribe to the newsleter"},  # a typo: a close name
        {"action": "extract", "target": {"css": "#mail"}, "var": "mail"},
    )

    assert run.status == RunStatus.passed, run.error
    assert [m for _, m in chosen(run)] == ["normalized", "label", "role", "placeholder", "text", "fuzzy", "unique"]
    assert run.steps[1].locator == 'get_by_role("button", name=re.compile("^\\\\W*Log\\\\W+in\\\\W*$", re.IGNORECASE))'
    assert run.steps[8].locator == 'get_by_role("checkbox", name="Subscribe to the newsletter", exact=True)'
    assert run.variables["mail"] == "ann@example.com"


async def test_a_description_never_takes_a_longer_name(harness: Harness, page_url: str) -> None:
    run = await run_on(harness, page_url, {"action": "click", "target": "Delete", "timeout_s": 1})

    assert run.status == RunStatus.failed
    error = run.steps[1].error or ""
    assert "matched nothing" in error and "button 'Delete all'" in error and 'it adds "all"' in error, error
    assert not run.steps[1].healed


async def test_a_description_matching_several_is_ambiguous(harness: Harness, page_url: str) -> None:
    run = await run_on(harness, page_url, {"action": "click", "target": "Remove"})

    error = run.steps[1].error or ""
    assert run.status == RunStatus.failed and "matched 2 elements" in error, error
    assert 'in row "Cheese Remove"' in error and "a scope (within, near)" in error
    assert "2 elements match it, not one" in error  # the healer's candidate was refused too


async def test_within_finds_the_container_first(harness: Harness, page_url: str) -> None:
    run = await run_on(
        harness,
        page_url,
        {"action": "click", "target": {"describe": "Remove", "within": {"kind": "row", "name": "Ham"}}},
        clicked("remove-ham"),
        {
            "action": "click",
            "target": {"role": "button", "name": "Remove", "within": {"kind": "row", "name": "Cheese"}},
        },
        clicked("remove-cheese"),
        {"action": "click", "target": {"describe": "Edit", "within": {"kind": "list item", "name": "bread"}}},
        clicked("edit-bread"),
        {"action": "click", "target": {"describe": "Add", "within": {"kind": "section", "name": "Toppings"}}},
        clicked("add-toppings"),  # by its aria-label
        {"action": "click", "target": {"describe": "Add", "within": {"kind": "section", "name": "Sauces"}}},
        clicked("add-sauces"),  # by its heading
        {"action": "click", "target": {"describe": "Buy", "within": {"kind": "card", "name": "Capers"}}},
        clicked("buy-capers"),
    )

    assert run.status == RunStatus.passed, run.error
    assert chosen(run)[:2] == [
        ('within(row "Ham").get_by_role("button", name="Remove", exact=True)', "role"),
        (
            'within(row "Cheese").get_by_role("button", name=re.compile("(?<!\\\\w)Remove(?!\\\\w)", re.IGNORECASE))',
            "substring",
        ),
    ]
    assert run.steps[3].target == 'role=button name="Remove" in row "Cheese"'


async def test_near_takes_the_smallest_container_showing_the_text(harness: Harness, page_url: str) -> None:
    run = await run_on(
        harness,
        page_url,
        {"action": "click", "target": {"describe": "Remove", "near": "Cheese"}},
        clicked("remove-cheese"),
        {"action": "click", "target": {"describe": "Edit", "near": "Apples"}},
        clicked("edit-apples"),
        {"action": "click", "target": {"describe": "Buy", "near": "Olives"}},
        clicked("buy-olives"),
        {"action": "click", "target": {"role": "button", "name": "Add", "near": "Sauces"}},
        clicked("add-sauces"),
    )

    assert run.status == RunStatus.passed, run.error
    assert chosen(run)[0] == ('near("Cheese").get_by_role("button", name="Remove", exact=True)', "role")


async def test_a_scope_must_be_exactly_one_container(harness: Harness, page_url: str) -> None:
    missing = await run_on(
        harness,
        page_url,
        {
            "action": "click",
            "target": {"describe": "Remove", "within": {"kind": "row", "name": "Bacon"}},
            "timeout_s": 1,
        },
    )
    several = await run_on(
        harness, page_url, {"action": "click", "target": {"describe": "Buy", "within": {"kind": "card", "name": "Buy"}}}
    )

    assert missing.status == several.status == RunStatus.failed
    assert 'no row showing "Bacon"' in (missing.steps[1].error or ""), missing.steps[1].error
    error = several.steps[1].error or ""
    assert '2 containers are a card showing "Buy"' in error, error
