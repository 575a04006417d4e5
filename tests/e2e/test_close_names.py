"""Close names never read as their opposites, in real Chromium on a page of the test's own: a description
"Subscribe" on a page that shows only "Unsubscribe" fails and clicks nothing, and "Save" is never healed onto
"Unsave", whoever proposes it (shared/planning/fuzzy.py's rule, as the description's close-name tier and the
healer's verification use it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from runner_container.runner.browser import BrowserPool
from runner_container.runner.executor import RunExecutor
from shared.models.planning import HealProposal, HealRequest
from shared.models.runs import Run, RunStatus
from tests.e2e.conftest import Harness, make_harness
from tests.e2e.pages import serve_pages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PAGE = """
<button type="button" data-id="unsubscribe">Unsubscribe</button>
<button type="button" data-id="unsave">Unsave</button>
<button type="button" data-id="order-12346">Cancel order 12346</button>
<button type="button" data-id="save-draft">Save draft</button>
<script>
document.querySelectorAll('[data-id]').forEach(e => e.addEventListener('click', () => {
  fetch('/clicked/' + e.dataset.id);
}));
</script>
"""


class Pages(dict[str, tuple[int, str]]):
    """The pages served, recording each path asked for (a click fetches ``/clicked/<id>``)."""

    def __init__(self, pages: dict[str, tuple[int, str]]) -> None:
        super().__init__(pages)
        self.asked: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)

    @property
    def clicks(self) -> list[str]:
        return [path.removeprefix("/clicked/") for path in self.asked if path.startswith("/clicked/")]


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[Pages, str]]:
    served = Pages({"/p": (200, PAGE)})
    with serve_pages(served) as url:
        yield served, f"{url}/p"


class Liar:
    """Proposes every element it is shown, claiming each is perfect."""

    name = "bedrock"

    def __init__(self) -> None:
        self.requests: list[HealRequest] = []

    def propose(self, request: HealRequest) -> list[HealProposal]:
        self.requests.append(request)
        return [HealProposal(index=e.index, score=0.99, reason="trust me") for e in request.elements]


def harness_for(pool: BrowserPool, url: str, *, with_healer: Liar | None = None) -> Harness:
    h = make_harness(pool, url, step_timeout_s=2.0)
    h.executor = RunExecutor(
        runs=h.runs, artifacts=h.artifacts, secrets=h.secrets, pool=pool, config=h.executor.config, healer=with_healer
    )
    return h


async def click(h: Harness, url: str, target: Any) -> Run:
    return await h.run([{"action": "goto", "url": url}, {"action": "click", "target": target, "timeout_s": 1}])


async def no_clicks(served: Pages, before: int) -> list[str]:
    await asyncio.sleep(0.3)  # a click's fetch would have arrived
    return served.clicks[before:]


async def test_a_description_never_clicks_its_opposite(pool: BrowserPool, pages: tuple[Pages, str]) -> None:
    served, url = pages
    before = len(served.clicks)
    run = await click(harness_for(pool, url), url, "Subscribe")

    assert run.status == RunStatus.failed
    step = run.steps[1]
    assert step.status == "failed" and not step.healed and step.heal is None and step.matched_by is None
    error = step.error or ""
    assert "matched nothing" in error and "button 'Unsubscribe'" in error, error
    assert 'it says "unsubscribe" where the step says "subscribe"' in error, error
    assert run.stats.heals == 0
    assert await no_clicks(served, before) == []


async def test_save_is_never_healed_onto_unsave(pool: BrowserPool, pages: tuple[Pages, str]) -> None:
    served, url = pages
    before = len(served.clicks)
    run = await click(harness_for(pool, url), url, "Save")  # the fuzzy healer

    assert run.status == RunStatus.failed
    step = run.steps[1]
    assert not step.healed and step.heal is None and step.matched_by is None
    error = step.error or ""
    assert "found no replacement that holds" in error, error
    assert 'it says "unsave" where the step says "save"' in error, error
    assert run.stats.heals == 0 and run.stats.healer_calls == 1
    assert await no_clicks(served, before) == []


@pytest.mark.parametrize(
    ("wanted", "opposite"),
    [("Save", "Unsave"), ("Subscribe", "Unsubscribe"), ("Cancel order 12345", "Cancel order 12346")],
)
async def test_a_healer_proposing_the_opposite_is_refused(
    pool: BrowserPool, pages: tuple[Pages, str], wanted: str, opposite: str
) -> None:
    served, url = pages
    liar = Liar()
    before = len(served.clicks)
    run = await click(harness_for(pool, url, with_healer=liar), url, wanted)

    assert run.status == RunStatus.failed
    step = run.steps[1]
    assert not step.healed and step.heal is None
    error = step.error or ""
    assert "The healer (bedrock) found no replacement that holds" in error, error
    assert f"button {opposite!r}" in error and "its name is not close" in error, error
    (request,) = liar.requests
    assert any(e.name == opposite for e in request.elements)  # it was proposed, and refused
    assert run.stats.heals == 0
    assert await no_clicks(served, before) == []


async def test_a_structured_name_is_never_found_inside_its_opposite(
    pool: BrowserPool, pages: tuple[Pages, str]
) -> None:
    # Playwright's own substring match finds "Subscribe" in "Unsubscribe": a name matches as whole words
    served, url = pages
    before = len(served.clicks)
    run = await click(harness_for(pool, url), url, {"role": "button", "name": "Subscribe"})

    assert run.status == RunStatus.failed and run.steps[1].matched_by is None, run.steps[1]
    assert await no_clicks(served, before) == []

    h = harness_for(pool, url)
    seen = await h.run(
        [{"action": "goto", "url": url}, {"action": "expect_visible", "target": {"text": "save"}, "timeout_s": 1}]
    )
    assert seen.status == RunStatus.passed and seen.steps[1].matched_by == "substring"  # "Save draft": whole words
    gone = await h.run(
        [{"action": "goto", "url": url}, {"action": "expect_visible", "target": {"text": "subscribe"}, "timeout_s": 1}]
    )
    assert gone.status == RunStatus.failed  # only "Unsubscribe" is shown
