"""False greens and leaks an attacker found, each pinned in real Chromium: scopes named by a part of a longer
text, healing that looked beyond its scope, hidden text that "showed", secrets in the URL or in a variable sent
to a healer or kept by the element cache, and cached heals that outlived the real element's return."""

from __future__ import annotations

from typing import Any

import pytest

from examples.webapp import ADMIN_PASSWORD
from runner_container.runner.browser import BrowserPool
from shared.models.planning import HealProposal, HealRequest
from shared.models.runs import Run, RunCreate, RunStatus
from shared.models.tests import TestCreate
from shared.planning.grammar import parse
from shared.services.catalog import Catalog
from tests.e2e.conftest import PROJECT, Harness
from tests.e2e.pages import serve_pages
from tests.e2e.test_healing import harness_for
from tests.fakes import FakeElementCache

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

#: every button writes "<its row's first cell or item text>/<its text>" into #out
CLICKS = """
<output id="out"></output>
<script>
document.querySelectorAll('button').forEach(b => b.addEventListener('click', () => {
  const box = b.closest('tr, li');
  const first = box ? (box.querySelector('td') || box.firstChild).textContent.trim() : '';
  document.getElementById('out').textContent = first + '/' + b.textContent;
}));
</script>
"""


class Liar:
    """Proposes every element it is shown, claiming each is perfect; keeps every request."""

    name = "bedrock"

    def __init__(self) -> None:
        self.requests: list[HealRequest] = []

    def propose(self, request: HealRequest) -> list[HealProposal]:
        self.requests.append(request)
        return [HealProposal(index=e.index, score=0.99, reason="trust me") for e in request.elements]


def sentences(goal: str) -> list[dict[str, Any]]:
    return [step.model_dump(mode="json", exclude_none=True) for step in parse(goal)]


def timed(steps: list[dict[str, Any]], timeout_s: float = 1.0) -> list[dict[str, Any]]:
    return [{**s, "timeout_s": timeout_s} if s["action"] != "goto" else s for s in steps]


async def run_saved(h: Harness, body: dict[str, Any]) -> tuple[str, Run]:
    test, _ = Catalog(h.store).create_test(PROJECT, TestCreate.model_validate(body))
    return test.id, await rerun(h, test.id)


async def rerun(h: Harness, test_id: str) -> Run:
    run = h.runs.start_run(PROJECT, RunCreate.model_validate({"test_id": test_id}))
    message, _ = h.queue.sent.pop()
    await h.executor.execute(message)
    return h.store.get_run(run.id)


# ------------------------------------------------------------------------ 1. scopes name a whole text


def out(text: str) -> dict[str, Any]:
    return {"action": "expect_text", "target": {"css": "#out"}, "text": text}


async def _run_on(pool: BrowserPool, body: str, *goals: str | dict[str, Any], healer: Liar | None = None) -> Run:
    steps: list[dict[str, Any]] = []
    for goal in goals:
        steps += sentences(goal) if isinstance(goal, str) else [goal]
    with serve_pages({"/p": (200, body + CLICKS)}) as url:
        h = harness_for(pool, url, with_healer=healer)
        return await h.run(timed([{"action": "goto", "url": f"{url}/p"}, *steps]))


async def test_a_row_is_not_named_by_a_part_of_a_longer_text(pool: BrowserPool) -> None:
    page = '<table><tr><td>Rye bread</td><td><button type="button">Delete</button></td></tr></table>'
    run = await _run_on(pool, page, 'Click "Delete" in the "Bread" row')

    assert run.status == RunStatus.failed
    assert run.steps[1].status == "failed" and run.steps[1].matched_by is None
    assert 'no row showing "Bread"' in (run.steps[1].error or ""), run.steps[1].error


async def test_near_is_not_named_by_a_longer_text(pool: BrowserPool) -> None:
    page = '<ul><li>Item 10 <button type="button">Remove</button></li></ul>'
    run = await _run_on(pool, page, 'Click "Remove" next to "Item 1"')

    assert run.status == RunStatus.failed
    assert run.steps[1].status == "failed" and run.steps[1].matched_by is None


async def test_near_and_within_still_find_the_exactly_named_container(pool: BrowserPool) -> None:
    page = (
        '<ul><li>Item 10 <button type="button">Remove</button></li><li>item  1 <button type="button">Remove</button>'
        '</li></ul><table><tr aria-label="Order 7"><td>x</td><td><button type="button">Pay</button></td></tr>'
        '<tr><td>Order 77</td><td><button type="button">Pay</button></td></tr></table>'
    )
    run = await _run_on(
        pool,
        page,
        'Click "Remove" next to "Item 1"',
        out("item 1/Remove"),
        'Click "Pay" in the "order 7" row',
        out("x/Pay"),
    )

    assert run.status == RunStatus.passed, [(s.detail, s.error) for s in run.steps]


async def test_text_in_a_row_is_checked_in_that_row_alone(pool: BrowserPool) -> None:
    page = (
        "<table><tr><td>Order 1</td><td>Unpaid</td></tr><tr><td>Order 12</td><td>Paid</td></tr></table>"
        '<button type="button">x</button>'
    )
    run = await _run_on(pool, page, 'Expect to see "Paid" in the "Order 1" row')

    assert run.status == RunStatus.failed
    assert run.steps[1].status == "failed" and not run.steps[1].healed


async def test_healing_never_leaves_the_scope(pool: BrowserPool) -> None:
    page = (
        '<table><tr><td>Bread</td><td><button type="button">Remove</button></td></tr>'
        '<tr><td>Breadsticks</td><td><button type="button">Delete</button></td></tr></table>'
    )
    liar = Liar()
    run = await _run_on(pool, page, 'Click "Delete" in the "Bread" row', out("Bread/"), healer=liar)

    # the heal, if any, is the Bread row's own button: never Breadsticks' Delete
    assert "Breadsticks" not in str([s.model_dump() for s in run.steps])
    (request,) = liar.requests
    assert all("Breadsticks" not in (e.name + e.text) for e in request.elements), request.elements
    if run.status == RunStatus.passed:
        assert run.steps[1].healed and run.steps[1].heal is not None and "Remove" in run.steps[1].heal.after


async def test_a_scope_matching_several_containers_fails_and_is_not_healed(pool: BrowserPool) -> None:
    page = "<table><tr><td>Order 1</td><td>Unpaid</td></tr><tr><td>order 1</td><td>Paid</td></tr></table><p>Paid</p>"
    liar = Liar()
    run = await _run_on(pool, page, 'Expect to see "Paid" in the "Order 1" row', healer=liar)

    assert run.status == RunStatus.failed and not run.steps[1].healed
    assert "2 containers" in (run.steps[1].error or ""), run.steps[1].error
    assert not liar.requests


async def test_a_scope_matching_no_container_is_not_healed_on_the_page(pool: BrowserPool) -> None:
    page = '<table><tr><td>Cheese</td><td><button type="button">Delete</button></td></tr></table>'
    liar = Liar()
    run = await _run_on(pool, page, 'Click "Delete" in the "Bread" row', healer=liar)

    assert run.status == RunStatus.failed and not run.steps[1].healed
    assert not liar.requests


# -------------------------------------------------------------------------- 2. hidden text is not shown


HIDDEN = (
    '<div hidden>Order confirmed</div><p style="display:none">Thank you</p>'
    '<div id="box">Shown <span style="display:none">Hidden part</span></div>'
    '<div id="gone" style="display:none">Gone text</div>'
)


@pytest.mark.parametrize(
    ("step", "status"),
    [
        ({"action": "expect_text", "text": "Order confirmed"}, "failed"),
        ({"action": "expect_text", "text": "Thank you"}, "failed"),
        ({"action": "expect_text", "text": "Shown"}, "passed"),
        ({"action": "expect_text", "text": "Order confirmed", "absent": True}, "passed"),
        ({"action": "expect_text", "text": "Thank you", "absent": True}, "passed"),
        ({"action": "expect_text", "text": "Shown", "absent": True}, "failed"),
        ({"action": "expect_text", "target": {"css": "#box"}, "text": "Hidden part"}, "failed"),
        ({"action": "expect_text", "target": {"css": "#box"}, "text": "Shown"}, "passed"),
        ({"action": "expect_text", "target": {"css": "#box"}, "text": "Hidden part", "absent": True}, "passed"),
        ({"action": "expect_text", "target": {"css": "#gone"}, "text": "Gone text"}, "failed"),
        ({"action": "expect_text", "target": {"css": "#gone"}, "text": "Gone text", "absent": True}, "passed"),
    ],
)
async def test_hidden_text_is_not_shown(pool: BrowserPool, step: dict[str, Any], status: str) -> None:
    with serve_pages({"/p": (200, HIDDEN)}) as url:
        h = harness_for(pool, url)
        run = await h.run([{"action": "goto", "url": f"{url}/p"}, {**step, "timeout_s": 1}])

    assert run.steps[1].status == status, run.steps[1].error


# ------------------------------------------------------------------- 3. secrets never reach the healer


async def test_a_secret_in_the_url_reaches_neither_the_cache_nor_the_healer(pool: BrowserPool) -> None:
    page = '<button type="button">Proceed</button>'
    liar, cache = Liar(), FakeElementCache()
    with serve_pages({f"/reset/{ADMIN_PASSWORD}": (200, page)}) as url:
        h = harness_for(pool, url, with_healer=liar, cache=cache)
        steps = [
            {"action": "goto", "url": "{{base_url}}/reset/{{secret:ADMIN_PASSWORD}}"},
            {"action": "click", "target": "Proceed"},
            {"action": "click", "target": "Continue", "timeout_s": 1},
        ]
        _, run = await run_saved(h, {"name": "reset", "steps": steps, "variables": {"base_url": url}})

    assert run.steps[1].status == "passed", run.steps[1].error
    assert liar.requests and all(ADMIN_PASSWORD not in r.model_dump_json() for r in liar.requests)
    assert liar.requests[0].url.endswith("/reset/***"), liar.requests[0].url
    assert cache.entries
    assert all(ADMIN_PASSWORD not in entry.model_dump_json() for entry in cache.entries.values())
    assert all(ADMIN_PASSWORD not in "".join(key) for key in cache.entries)


async def test_a_variable_holding_a_secret_is_not_healed_nor_cached(pool: BrowserPool) -> None:
    page = (
        f'<input type="password" aria-label="Key"> <code id="code">{ADMIN_PASSWORD}</code> '
        '<button type="button">Confirm it</button>'
    )
    liar, cache = Liar(), FakeElementCache()
    with serve_pages({"/p": (200, page)}) as url:
        h = harness_for(pool, url, with_healer=liar, cache=cache)
        steps = [
            {"action": "goto", "url": f"{url}/p"},
            {"action": "fill", "target": {"label": "Key"}, "value": "{{secret:ADMIN_PASSWORD}}"},
            {"action": "extract", "target": {"css": "#code"}, "var": "t"},
            {"action": "click", "target": "Confirm {{t}}", "timeout_s": 1},
        ]
        _, run = await run_saved(h, {"name": "confirm", "steps": steps})

    step = run.steps[3]
    assert step.status == "failed" and not step.healed
    assert not liar.requests
    assert "not healed" in (step.error or "") and "secret" in (step.error or ""), step.error
    assert ADMIN_PASSWORD not in (step.error or "")
    assert len(cache.entries) == 1  # the field alone (the code shows the secret; the click found nothing)
    assert all(ADMIN_PASSWORD not in entry.model_dump_json() for entry in cache.entries.values())


# --------------------------------------------------------- 4. a cached heal yields to the real element


async def _twice(pool: BrowserPool, first: str, second: str, target: str) -> tuple[Run, Run, FakeElementCache]:
    pages = {"/p": (200, first + CLICKS)}
    cache = FakeElementCache()
    with serve_pages(pages) as url:
        h = harness_for(pool, url, cache=cache)
        steps = [{"action": "goto", "url": f"{url}/p"}, {"action": "click", "target": target}]
        test_id, run1 = await run_saved(h, {"name": "t", "steps": steps})
        pages["/p"] = (200, second + CLICKS)
        run2 = await rerun(h, test_id)
    return run1, run2, cache


async def test_a_cached_heal_yields_when_the_real_element_is_back(pool: BrowserPool) -> None:
    run1, run2, cache = await _twice(
        pool,
        '<button type="button">Sign in</button>',
        '<button type="button">Sign in</button> <button type="button">Log in</button>',
        "Log in",
    )

    assert run1.status == RunStatus.passed and run1.steps[1].healed, run1.steps[1].error
    assert run2.status == RunStatus.passed, run2.steps[1].error
    step = run2.steps[1]
    assert (step.matched_by, step.cache, step.healed) == ("role", "miss", False)
    assert step.locator is not None and "Log in" in step.locator
    (entry,) = cache.entries.values()
    assert entry.source == "resolved" and entry.fingerprint.name == "Log in"


async def test_a_cached_heal_still_hits_while_the_real_element_is_away(pool: BrowserPool) -> None:
    run1, run2, _ = await _twice(
        pool, '<button type="button">Sign in</button>', '<button type="button">Sign in</button>', "Log in"
    )

    assert run1.status == run2.status == RunStatus.passed
    step = run2.steps[1]
    assert (step.matched_by, step.cache, step.healed) == ("cache", "hit", True)
    assert step.heal is not None and step.heal.source == "cache"


async def test_a_cached_fuzzy_match_yields_when_the_exact_name_is_back(pool: BrowserPool) -> None:
    run1, run2, cache = await _twice(
        pool,
        '<button type="button">User name</button>',
        '<button type="button">User name</button> <button type="button">Username</button>',
        "Username",
    )

    assert run1.steps[1].matched_by == "fuzzy", run1.steps[1].error
    step = run2.steps[1]
    assert (step.matched_by, step.cache) == ("role", "miss"), step.error
    (entry,) = cache.entries.values()
    assert entry.fingerprint.name == "Username"
