"""Plain-English tests that survive a redesign, in real Chromium: the plain example tests
(examples/tests/plain) on the example app, on its redesign (healed, each heal listed), on a variant with an
element removed (fails at that step, clicking nothing); healers that fail or lie; the element cache on rerun."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.webapp import WebApp, serve
from runner_container.runner.browser import BrowserPool
from runner_container.runner.executor import RunExecutor
from shared.models.planning import HealProposal, HealRequest
from shared.models.runs import Run, RunCreate, RunStats, RunStatus
from shared.models.tests import TestCreate
from shared.planning.grammar import parse
from shared.ports import ElementCache, Healer
from shared.services.catalog import Catalog
from tests.e2e.conftest import PROJECT, Harness, make_harness
from tests.e2e.pages import serve_pages
from tests.fakes import FakeElementCache

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PLAIN = Path(__file__).resolve().parents[2] / "examples" / "tests" / "plain"
NAMES = ("login", "shopping_list", "preferences_form", "delayed_page")


def plain(name: str) -> dict[str, Any]:
    """A plain example with its goal read by the sentence grammar into ``steps`` (what a run of it executes)."""
    body = yaml.safe_load((PLAIN / f"{name}.yaml").read_text())
    steps = [step.model_dump(mode="json", exclude_none=True) for step in parse(body.pop("goal"))]
    return {**body, "steps": steps}


@pytest.fixture(scope="module")
def redesigned() -> Iterator[WebApp]:
    with serve(variant="redesigned") as app:
        yield app


@pytest.fixture(scope="module")
def removed() -> Iterator[WebApp]:
    with serve(variant="removed") as app:
        yield app


def harness_for(
    pool: BrowserPool, url: str, *, with_healer: Healer | None = None, cache: ElementCache | None = None, **config: Any
) -> Harness:
    h = make_harness(pool, url, step_timeout_s=3.0, **config)
    h.executor = RunExecutor(
        runs=h.runs,
        artifacts=h.artifacts,
        secrets=h.secrets,
        pool=pool,
        config=h.executor.config,
        healer=with_healer,
        element_cache=cache,
    )
    return h


async def run_file(h: Harness, name: str) -> Run:
    body = plain(name)
    return await run_file_steps(h, body, body["steps"])


async def run_file_steps(h: Harness, body: dict[str, Any], steps: list[dict[str, Any]]) -> Run:
    return await h.run(steps, spec={"variables": {**body["variables"], "base_url": h.base_url}})


def save(h: Harness, body: dict[str, Any]) -> str:
    test, _ = Catalog(h.store).create_test(
        PROJECT, TestCreate.model_validate({**body, "variables": {**body.get("variables", {}), "base_url": h.base_url}})
    )
    return test.id


async def run_saved(h: Harness, test_id: str) -> Run:
    run = h.runs.start_run(PROJECT, RunCreate.model_validate({"test_id": test_id}))
    message, _ = h.queue.sent.pop()
    await h.executor.execute(message)
    return h.store.get_run(run.id)


# ---------------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("name", NAMES)
async def test_plain_examples_pass_on_the_example_app_without_heals(
    pool: BrowserPool, webapp: WebApp, name: str
) -> None:
    run = await run_file(harness_for(pool, webapp.url), name)

    assert run.status == RunStatus.passed, run.error
    assert run.stats.heals == run.stats.healer_calls == 0
    assert not any(s.healed for s in run.steps)
    located = [s for s in run.steps if s.locator]
    assert located and all(s.matched_by in ("role", "label", "placeholder", "text") for s in located), [
        (s.target, s.matched_by) for s in located
    ]


async def test_plain_login_on_the_redesign_passes_with_its_heal_listed(pool: BrowserPool, redesigned: WebApp) -> None:
    h = harness_for(pool, redesigned.url)
    run = await run_file(h, "login")

    assert run.status == RunStatus.passed, run.error
    report = h.artifacts.objects[f"runs/{PROJECT}/{run.id}/attempt-1/report.html"][0].decode()
    assert "healed: Log in -&gt; role=button" in report
    assert [(s.target, s.matched_by, s.healed) for s in run.steps[1:4]] == [
        ("Username", "fuzzy", False),  # "User name": a close name as written, no heal needed
        ("Password", "fuzzy", False),  # "Your password"
        ("Log in", "healed", True),  # "Sign in": only a synonym makes it the same
    ]
    heal = run.steps[3].heal
    assert heal is not None
    assert (heal.before, heal.after, heal.source, heal.reason) == (
        "Log in",
        'role=button name="Sign in"',
        "fuzzy",
        "matched nothing",
    )
    assert heal.replacement == {"role": "button", "name": "Sign in", "exact": True}
    assert heal.locator == 'get_by_role("button", name="Sign in", exact=True)' and heal.score >= 0.6
    assert (run.stats.heals, run.stats.healer_calls) == (1, 1)


@pytest.mark.parametrize("name", NAMES)
async def test_plain_examples_pass_on_the_redesign_with_heals(pool: BrowserPool, redesigned: WebApp, name: str) -> None:
    run = await run_file(harness_for(pool, redesigned.url), name)

    assert run.status == RunStatus.passed, run.error
    healed = [s for s in run.steps if s.healed]
    assert healed and run.stats.heals == len(healed) == run.stats.healer_calls
    assert all(s.matched_by == "healed" and s.heal is not None and s.heal.after for s in healed)
    assert all(s.locator == s.heal.locator for s in healed if s.heal)


async def test_the_redesigned_list_heals_remove_onto_delete_in_the_bread_row(
    pool: BrowserPool, redesigned: WebApp
) -> None:
    run = await run_file(harness_for(pool, redesigned.url), "shopping_list")

    assert run.status == RunStatus.passed, run.error
    heal = run.steps[2].heal
    assert heal is not None and heal.after == 'role=button name="Delete" near "Bread"'
    assert heal.locator == 'near("Bread").get_by_role("button", name="Delete", exact=True)'
    await asyncio.sleep(0.3)
    assert redesigned.clicks[-1:] == ["Delete"]


async def test_a_removed_element_fails_at_its_step_and_nothing_is_clicked(pool: BrowserPool, removed: WebApp) -> None:
    run = await run_file(harness_for(pool, removed.url), "shopping_list")

    assert run.status == RunStatus.failed
    step = run.steps[2]
    assert step.status == "failed" and not step.healed and step.heal is None and step.matched_by is None
    error = step.error or ""
    assert "matched nothing" in error and "found no replacement that holds" in error, error
    # the healer looks inside the Bread item alone (never beyond the step's scope): "Remove all" is not shown to it
    assert "it proposed nothing close to 'Remove'" in error, error
    assert run.steps[3].status == "skipped"
    assert (run.stats.heals, run.stats.healer_calls) == (0, 1)
    await asyncio.sleep(0.3)
    assert removed.clicks == []  # "Remove all" was never clicked


async def test_the_click_log_sees_clicks_on_the_original(pool: BrowserPool, webapp: WebApp) -> None:
    before = len(webapp.clicks)
    run = await run_file(harness_for(pool, webapp.url), "shopping_list")

    assert run.status == RunStatus.passed, run.error
    await asyncio.sleep(0.3)
    assert webapp.clicks[before:] == ["Remove"]


# ------------------------------------------------------------------------------------- healers


async def test_healer_off_fails_the_step_as_before(pool: BrowserPool, redesigned: WebApp) -> None:
    run = await run_file(harness_for(pool, redesigned.url, healer="off"), "login")

    assert run.status == RunStatus.failed
    assert run.steps[3].status == "failed" and "matched nothing within 3s" in (run.steps[3].error or "")
    assert "healer" not in (run.steps[3].error or "")
    assert run.stats.healer_calls == 0


class Boom:
    name = "boom"

    def propose(self, request: HealRequest) -> list[HealProposal]:
        raise RuntimeError("model unavailable")


async def test_a_healer_that_raises_fails_the_step_not_the_run(pool: BrowserPool, redesigned: WebApp) -> None:
    run = await run_file(harness_for(pool, redesigned.url, with_healer=Boom()), "login")

    assert run.status == RunStatus.failed  # a failed step, not a runner error
    error = run.steps[3].error or ""
    assert "The healer (boom) failed: RuntimeError: model unavailable" in error, error
    assert run.stats.healer_calls == 1 and run.stats.heals == 0


class Liar:
    """Proposes every element it is shown, claiming each is perfect."""

    name = "bedrock"

    def __init__(self) -> None:
        self.requests: list[HealRequest] = []

    def propose(self, request: HealRequest) -> list[HealProposal]:
        self.requests.append(request)
        return [HealProposal(index=e.index, score=0.99, reason="trust me") for e in request.elements]


async def test_proposals_that_fail_verification_are_never_acted_on(pool: BrowserPool, removed: WebApp) -> None:
    liar = Liar()
    run = await run_file(harness_for(pool, removed.url, with_healer=liar), "shopping_list")

    assert run.status == RunStatus.failed
    error = run.steps[2].error or ""
    assert "The healer (bedrock) found no replacement that holds" in error
    assert "is not what click acts on" in error or "not close" in error, error
    request = liar.requests[0]
    assert (request.action, request.wanted, request.reason, request.context) == (
        "click",
        "Remove",
        "matched nothing",
        "Bread",
    )
    assert "button" in request.roles and request.elements
    assert not any(e.name == "Remove all" for e in request.elements)  # outside the Bread item: never shown
    await asyncio.sleep(0.3)
    assert removed.clicks == []


async def test_a_verified_bedrock_proposal_is_marked_as_bedrock(pool: BrowserPool, redesigned: WebApp) -> None:
    run = await run_file(harness_for(pool, redesigned.url, with_healer=Liar()), "login")

    assert run.status == RunStatus.passed, run.error
    heal = run.steps[3].heal
    assert heal is not None and heal.source == "bedrock" and heal.after == 'role=button name="Sign in"'
    assert heal.rejected  # the links and the rest it proposed first were refused, each with why
    assert all("'" in r and ":" in r for r in heal.rejected)


# --------------------------------------------------------------------------------- element cache


async def test_a_rerun_uses_the_cache_and_calls_no_healer(pool: BrowserPool, redesigned: WebApp) -> None:
    cache = FakeElementCache()
    h = harness_for(pool, redesigned.url, cache=cache)
    test_id = save(h, plain("login"))

    first = await run_saved(h, test_id)
    second = await run_saved(h, test_id)

    assert first.status == second.status == RunStatus.passed, (first.error, second.error)
    assert (first.stats.cache_hits, first.stats.cache_misses, first.stats.healer_calls) == (0, 3, 1)
    assert (second.stats.cache_hits, second.stats.cache_misses, second.stats.healer_calls) == (3, 0, 0)
    assert [s.cache for s in second.steps if s.locator] == ["hit", "hit", "hit"]
    assert all(s.matched_by == "cache" for s in second.steps if s.locator)
    remembered = second.steps[3]
    assert remembered.healed and remembered.heal is not None and remembered.heal.source == "cache"
    assert remembered.heal.after == 'role=button name="Sign in"' and second.stats.heals == 1
    assert len(cache.entries) == 3
    assert {e.source for e in cache.entries.values()} == {"resolved", "healed"}


async def test_an_inline_run_has_no_cache(pool: BrowserPool, webapp: WebApp) -> None:
    cache = FakeElementCache()
    run = await run_file(harness_for(pool, webapp.url, cache=cache), "login")

    assert run.status == RunStatus.passed and not cache.entries
    assert all(s.cache is None for s in run.steps)


async def test_a_cached_element_whose_fingerprint_changed_is_resolved_again(pool: BrowserPool) -> None:
    pages = {"/p": (200, '<button type="button">Save</button> <button type="button">Close</button>')}
    cache = FakeElementCache()
    with serve_pages(pages) as url:
        h = harness_for(pool, url, cache=cache)
        steps = [{"action": "goto", "url": f"{url}/p"}, {"action": "click", "target": "Save"}]
        test_id = save(h, {"name": "t", "steps": steps})
        first = await run_saved(h, test_id)
        # the cached element (the first button) is now another one: its locator still matches one element
        pages["/p"] = (200, '<button type="button" aria-label="Save">Close</button>')
        ((key, entry),) = cache.entries.items()
        changed = entry.fingerprint.model_copy(update={"name": "Save it"})  # as if it had been another element
        cache.entries[key] = entry.model_copy(update={"fingerprint": changed})
        second = await run_saved(h, test_id)

    assert first.status == second.status == RunStatus.passed, (first.error, second.error)
    assert second.steps[1].cache == "miss" and second.steps[1].matched_by == "role"
    assert (second.stats.cache_hits, second.stats.cache_misses) == (0, 1)
    (renewed,) = cache.entries.values()
    assert renewed.fingerprint.name == "Save"  # overwritten by what resolution found


async def test_the_executor_adds_to_the_stats_the_run_started_with(pool: BrowserPool, redesigned: WebApp) -> None:
    h = harness_for(pool, redesigned.url)
    run, message = h.start(plain("login")["steps"])
    h.store.runs[run.id] = run.model_copy(update={"stats": RunStats(planner_calls=2)})

    await h.execute(message)
    done = h.store.get_run(run.id)

    assert done.status == RunStatus.passed, done.error
    assert done.stats == RunStats(planner_calls=2, heals=1, healer_calls=1)


async def test_a_target_with_a_placeholder_is_cached_per_value(pool: BrowserPool, webapp: WebApp) -> None:
    cache = FakeElementCache()
    h = harness_for(pool, webapp.url, cache=cache)
    steps = [
        {"action": "goto", "url": "{{base_url}}/list"},
        {"action": "click", "target": {"describe": "Remove", "near": "{{item}}"}},
        {"action": "extract", "target": {"role": "list", "name": "Items"}, "var": "left"},
    ]
    test_id = save(h, {"name": "remove one", "steps": steps, "variables": {"item": "Bread"}})

    async def run_with(item: str) -> Run:
        run = h.runs.start_run(PROJECT, RunCreate.model_validate({"test_id": test_id, "variables": {"item": item}}))
        message, _ = h.queue.sent.pop()
        await h.executor.execute(message)
        return h.store.get_run(run.id)

    bread, cheese, again = await run_with("Bread"), await run_with("Cheese"), await run_with("Cheese")

    assert bread.status == cheese.status == again.status == RunStatus.passed
    assert "Bread" not in str(bread.variables["left"]) and "Cheese" in str(bread.variables["left"])
    assert "Cheese" not in str(cheese.variables["left"]) and "Bread" in str(cheese.variables["left"])
    assert [s.cache for s in (bread.steps[1], cheese.steps[1], again.steps[1])] == ["miss", "miss", "hit"]


async def test_a_healer_never_sees_a_secret_the_page_shows(pool: BrowserPool) -> None:
    liar = Liar()
    page = '<input type="password" aria-label="Key"> <button type="button">Proceed correct-horse</button>'
    with serve_pages({"/s": (200, page)}) as url:
        h = harness_for(pool, url, with_healer=liar)
        run = await h.run(
            [
                {"action": "goto", "url": f"{url}/s"},
                {"action": "fill", "target": {"label": "Key"}, "value": "{{secret:ADMIN_PASSWORD}}"},
                {"action": "click", "target": "Continue", "timeout_s": 1},
            ]
        )

    assert run.status == RunStatus.failed
    (request,) = liar.requests
    assert any(e.name == "Proceed ***" for e in request.elements), request.elements
    assert "correct-horse" not in request.model_dump_json()
    assert "correct-horse" not in (run.steps[2].error or "")


async def test_a_scope_whose_name_the_redesign_changed_fails_and_is_not_healed(
    pool: BrowserPool, redesigned: WebApp
) -> None:
    # the redesign renamed the "Size" fieldset "Bottle size": a scope is never part of a longer name, nor healed
    body = plain("preferences_form")
    steps = [
        s
        if s.get("target") != "Medium"
        else {**s, "target": {"describe": "Medium", "within": {"kind": "fieldset", "name": "Size"}}}
        for s in body["steps"]
    ]
    run = await run_file_steps(harness_for(pool, redesigned.url), body, steps)

    (failed,) = [s for s in run.steps if s.status == "failed"]
    assert 'no fieldset showing "Size"' in (failed.error or "") and not failed.healed, failed.error
