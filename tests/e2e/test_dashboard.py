"""The dashboard (``/ui``) in real Chromium against ``autotest local``, as a person uses it: logging in, the runs
list (live), a failing run's page (what failed, its screenshot, the video), the filters, re-run, hostile names
shown as text, a second project's login seeing nothing of the first, accepting a heal, the trace viewer,
keyboard and landmarks; and full-page screenshots of the main pages for CI (``.autotest/ui-shots/``).

One local mode serves the whole module; its tests and runs are made once through the JSON API (:func:`seeded`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from playwright.async_api import Dialog, Locator, Page, expect

from cli.local.mode import LocalInfo
from runner_container.runner.browser import BrowserPool
from tests.e2e.conftest import local_mode

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "tests"
SHOTS = ROOT / ".autotest" / "ui-shots"
#: markup that runs script if a page inserted it as HTML rather than as text
XSS = '<script>window.__xss=1</script> "><img src=x onerror="window.__xss=2">'
FAILING_NAME = f"Shows the banner {XSS}"
NEVER_SHOWN = f"Banner {XSS}"
FINAL = ("passed", "failed", "error", "timed_out", "cancelled")
#: how long a page may take to show what is expected (a loaded 2-core machine)
WAIT_MS = 30_000
#: how long a run may take to end
RUN_END_S = 120.0

# ------------------------------------------------------------------------------------------ set-up


@dataclass(frozen=True)
class Seeded:
    """The first project's tests and their ended runs, by what each is for."""

    info: LocalInfo
    tests: dict[str, str]
    runs: dict[str, dict[str, Any]]

    def run_id(self, role: str) -> str:
        return str(self.runs[role]["id"])


async def api(info: LocalInfo, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
    async with httpx.AsyncClient(base_url=info.api_url, headers={"X-API-Key": key or info.api_key}) as http:
        response = await http.request(method, path, json=body, timeout=30)
    assert response.status_code < 300, response.text
    return response.json()


async def start_run(info: LocalInfo, test_id: str) -> str:
    run = await api(info, "POST", "/v1/runs", {"test_id": test_id, "variables": {"base_url": info.example_url}})
    return str(run["id"])


async def ended_run(info: LocalInfo, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_END_S
    while time.monotonic() < deadline:
        run: dict[str, Any] = await api(info, "GET", f"/v1/runs/{run_id}")
        if run["status"] in FINAL:
            return run
        await asyncio.sleep(0.5)
    raise AssertionError(f"run {run_id} did not end in {RUN_END_S:.0f}s")


def example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return body


FAILING = {
    "name": FAILING_NAME,
    "tags": ["dashboard"],
    "steps": [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "expect_text", "text": NEVER_SHOWN, "timeout_s": 2},
    ],
}
#: the example form's button is "Save preferences": "settings" is a synonym, so the local fuzzy healer finds it
HEALED = {
    "name": "Save the preferences",
    "steps": [
        {"action": "goto", "url": "{{base_url}}/form"},
        {"action": "click", "target": {"role": "button", "name": "Save settings"}, "timeout_s": 4},
        {"action": "expect_url", "pattern": "/form/result"},
    ],
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfo]:
    with local_mode(tmp_path_factory, "dashboard") as info:
        yield info


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(local: LocalInfo) -> Seeded:
    bodies = {
        "login": example("login.yaml"),
        "list": example("shopping_list.yaml"),
        "api": example("api_items.yaml"),
        "failing": FAILING,
        "healed": HEALED,
    }
    tests = {role: str((await api(local, "POST", "/v1/tests", body))["id"]) for role, body in bodies.items()}
    run_ids = {role: await start_run(local, test_id) for role, test_id in tests.items()}  # in this order
    ended = await asyncio.gather(*(ended_run(local, run_id) for run_id in run_ids.values()))
    runs = dict(zip(run_ids, ended, strict=True))
    assert {role: run["status"] for role, run in runs.items()} == {
        "login": "passed",
        "list": "passed",
        "api": "passed",
        "failing": "failed",
        "healed": "passed",
    }, {role: run["error"] for role, run in runs.items()}
    return Seeded(local, tests, runs)


@pytest.fixture(scope="module", autouse=True)
def patient_expect() -> Iterator[None]:
    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=None)


@asynccontextmanager
async def fresh_page(pool: BrowserPool) -> AsyncIterator[Page]:
    """A page of a new browser context (no cookies)."""
    async with pool.context(viewport={"width": 1280, "height": 900}) as context:
        context.set_default_timeout(WAIT_MS)
        yield await context.new_page()


async def log_in(page: Page, info: LocalInfo, key: str) -> None:
    await page.goto(f"{info.api_url}/ui")
    await expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{info.api_url}/ui/runs")


@pytest_asyncio.fixture(loop_scope="session")
async def page(pool: BrowserPool, seeded: Seeded) -> AsyncIterator[Page]:
    """A page logged in to the first project (the bootstrap key's)."""
    async with fresh_page(pool) as fresh:
        await log_in(fresh, seeded.info, seeded.info.api_key)
        yield fresh


def run_link(page: Page, run_id: str) -> Locator:
    """The link to a run in the runs table."""
    return page.locator(f"#run-rows {link_to(run_id)}")


def link_to(run_id: str) -> str:
    return f'a[href="/ui/runs/{run_id}"]'


async def seeded_order(page: Page, seeded: Seeded) -> list[str]:
    """The seeded runs' roles in the order the runs table lists them."""
    hrefs = await page.locator("#run-rows a[href^='/ui/runs/run_']").evaluate_all("links => links.map(a => a.href)")
    by_id = {run["id"]: role for role, run in seeded.runs.items()}
    ids = [href.rsplit("/", 1)[-1] for href in hrefs]
    return [by_id[run_id] for run_id in ids if run_id in by_id]


async def image_loaded(page: Page, image: Locator) -> int:
    """The natural width of ``image`` once it has loaded (0 never passes: a broken image has none)."""
    handle = await image.element_handle()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle, timeout=WAIT_MS)
    width: int = await image.evaluate("img => img.naturalWidth")
    return width


# ------------------------------------------------------------------------------------------- 1. log in


async def test_logging_in_with_the_api_key_lands_on_the_runs_page_and_a_wrong_key_does_not(
    pool: BrowserPool, seeded: Seeded
) -> None:
    info = seeded.info
    async with fresh_page(pool) as page:
        # Given someone not logged in opens the dashboard: they are sent to the login page
        await page.goto(f"{info.api_url}/ui")
        await expect(page).to_have_url(f"{info.api_url}/ui/login?next=%2Fui%2Fruns")
        await expect(page.get_by_role("heading", name="Log in to autotest")).to_be_visible()

        # When they paste a wrong key: an error, no session, and the runs page still sends them back
        key_field = page.get_by_label("API key")
        await key_field.fill("atk_not-a-key-of-this-deployment")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("alert")).to_have_text("That API key is not valid for this deployment.")
        await expect(key_field).to_have_attribute("aria-invalid", "true")
        assert "autotest_session" not in {c["name"] for c in await page.context.cookies()}
        await page.goto(f"{info.api_url}/ui/runs")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Fruns$"))

        # When they paste the right one: the runs page of its project
        await page.get_by_label("API key").fill(info.api_key)
        await page.get_by_role("button", name="Log in").click()
        await expect(page).to_have_url(f"{info.api_url}/ui/runs")
        await expect(page.get_by_role("heading", name="Runs", level=1)).to_be_visible()
        await expect(page.get_by_role("button", name="Log out")).to_be_visible()
        (session,) = [c for c in await page.context.cookies() if c["name"] == "autotest_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/ui"
        assert info.api_key not in session["value"]


# ------------------------------------------------------------------------------------------- 2. runs list


async def test_the_runs_page_lists_the_example_runs_newest_first_and_shows_a_new_run_live(
    page: Page, seeded: Seeded
) -> None:
    # Given the example tests' runs: each listed by name with its status
    rows = page.locator("#run-rows tr")
    for role, name, status in (
        ("login", "Admin can log in", "passed"),
        ("list", "Remove an item from the shopping list", "passed"),
        ("api", "API items by id", "passed"),
        ("failing", FAILING_NAME, "failed"),
        ("healed", "Save the preferences", "passed"),
    ):
        row = rows.filter(has=page.locator(link_to(seeded.run_id(role))))
        await expect(row.get_by_role("link", name=name, exact=True)).to_be_visible()
        await expect(row.locator(".status")).to_have_text(status)
    await expect(rows.filter(has=page.locator(link_to(seeded.run_id("api")))).locator(".kind")).to_have_text("API")
    # newest first: the runs were started in the order login, list, api, failing, healed
    assert await seeded_order(page, seeded) == ["healed", "failing", "api", "list", "login"]
    times = [
        datetime.fromisoformat(text)
        for text in await page.locator("#run-rows time").evaluate_all("ts => ts.map(t => t.dateTime)")
    ]
    assert times == sorted(times, reverse=True)

    # When a run starts while the page is open (not reloaded: the marker stays)
    await page.evaluate("window.__samePage = true")
    run_id = await start_run(seeded.info, seeded.tests["api"])

    # Then its row appears at the top, and its status follows it to the end
    new_row = rows.filter(has=page.locator(link_to(run_id)))
    await expect(new_row).to_be_visible()
    await expect(rows.first).to_contain_text("API items by id")
    assert await rows.first.locator("a").first.get_attribute("href") == f"/ui/runs/{run_id}"
    await expect(new_row.locator(".status")).to_have_text("passed", timeout=RUN_END_S * 1000)
    assert await page.evaluate("window.__samePage") is True


# ------------------------------------------------------------------------------------------- 3. a failure


async def test_a_failing_run_shows_what_failed_with_its_screenshot_enlarged_on_click_and_its_video(
    page: Page, seeded: Seeded
) -> None:
    run_id = seeded.run_id("failing")

    # When the failing run is opened from the runs list
    link = run_link(page, run_id)
    await expect(link).to_have_text(FAILING_NAME)
    await link.click()
    await expect(page).to_have_url(f"{seeded.info.api_url}/ui/runs/{run_id}")

    # Then "What failed" names the step and the error
    failure = page.get_by_role("region", name="What failed")
    await expect(failure).to_be_visible()
    await expect(failure).to_contain_text("Step 2: expect_text")
    await expect(failure.locator("#run-error")).to_contain_text(
        f"step 2 (expect_text) failed: expected the page to contain the text '{NEVER_SHOWN}'"
    )
    await expect(page.locator("#step-2 .status")).to_have_text("failed")

    # and the page when it failed, actually loaded
    shot = failure.get_by_role("img", name="The page when step 2 failed")
    assert await image_loaded(page, shot) > 0

    # When the screenshot is clicked it opens enlarged in the dialog; Escape closes it
    await shot.click()
    dialog = page.get_by_role("dialog", name="Screenshot")
    await expect(dialog).to_be_visible()
    enlarged = dialog.get_by_role("img", name="The page when step 2 failed")
    assert await enlarged.evaluate("img => img.src") == await shot.evaluate("img => img.src")
    assert await image_loaded(page, enlarged) > 0
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # and the run's video is there
    video = page.get_by_role("region", name="Video").locator("video")
    await expect(video).to_have_attribute("src", f"/ui/runs/{run_id}/files/1/video.webm")


# ------------------------------------------------------------------------------------------- 4. filters


async def test_filtering_by_status_lists_only_failed_runs_and_clear_resets(page: Page, seeded: Seeded) -> None:
    # When "failed" is chosen in the Status filter
    status = page.get_by_label("Status", exact=True)
    await status.select_option("failed")
    await page.get_by_role("button", name="Filter").click()

    # Then only failed runs are listed, the failing one among them
    await expect(page).to_have_url(re.compile(r"/ui/runs\?status=failed(&|$)"))
    await expect(status).to_have_value("failed")
    await expect(run_link(page, seeded.run_id("failing"))).to_be_visible()
    await expect(run_link(page, seeded.run_id("login"))).to_have_count(0)
    badges = await page.locator("#run-rows .status").all_text_contents()
    assert badges and set(badges) == {"failed"}, badges

    # When the filters are cleared, every run is back
    await page.get_by_role("link", name="Clear").click()
    await expect(page).to_have_url(f"{seeded.info.api_url}/ui/runs")
    await expect(status).to_have_value("")
    await expect(run_link(page, seeded.run_id("login"))).to_be_visible()
    await expect(run_link(page, seeded.run_id("failing"))).to_be_visible()


# ------------------------------------------------------------------------------------------- 5. re-run


async def test_re_run_lands_on_the_new_run_which_refreshes_itself_to_its_end(page: Page, seeded: Seeded) -> None:
    old = seeded.run_id("login")
    await page.goto(f"{seeded.info.api_url}/ui/runs/{old}")

    # When "Re-run" is pressed
    await page.get_by_role("button", name="Re-run").click()

    # Then the page is the new run's, still going
    await page.wait_for_url(re.compile(rf"/ui/runs/(?!{old}$)run_[A-Za-z0-9_-]+$"))
    new = page.url.rsplit("/", 1)[-1]
    await expect(page.locator("dl.facts")).to_contain_text(new)
    badge = page.locator("#run-live h1 .status")
    first = await badge.text_content()
    assert first in ("queued", "running"), first
    await page.evaluate("window.__samePage = true")
    rerun = page.get_by_role("button", name="Re-run")
    await rerun.focus()

    # and it refreshes itself (no reload) until the run has passed, the focus kept where it was
    await expect(badge).to_have_text("passed", timeout=RUN_END_S * 1000)
    await expect(page).to_have_title(re.compile(r"\(passed\)"))
    assert await page.evaluate("window.__samePage") is True
    await expect(rerun).to_be_focused()
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    assert (await api(seeded.info, "GET", f"/v1/runs/{new}"))["test_id"] == seeded.tests["login"]


# ------------------------------------------------------------------------------------------- 6. escaping


async def test_hostile_names_and_texts_are_shown_as_text_and_run_nothing(page: Page, seeded: Seeded) -> None:
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)

    async def nothing_ran() -> None:
        assert await page.evaluate("typeof window.__xss") == "undefined"
        await expect(page.locator('img[src="x"]')).to_have_count(0)
        await expect(page.locator("script:not([src])")).to_have_count(0)  # the dashboard has no inline script
        assert dialogs == []

    info, run_id, test_id = seeded.info, seeded.run_id("failing"), seeded.tests["failing"]

    # The runs page (as rendered, and again after a live refresh of its rows)
    await page.reload()
    await expect(run_link(page, run_id)).to_have_text(FAILING_NAME)
    await nothing_ran()
    async with page.expect_response(re.compile(r"/ui/runs/rows")) as refreshed:
        pass
    assert (await refreshed.value).ok
    await expect(run_link(page, run_id)).to_have_text(FAILING_NAME)
    await nothing_ran()

    # The run page: its name, the step's text and the error that quotes it
    await page.goto(f"{info.api_url}/ui/runs/{run_id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(FAILING_NAME)
    await expect(page.locator("#step-2")).to_contain_text(NEVER_SHOWN)
    await expect(page.locator("#run-error")).to_contain_text(NEVER_SHOWN)
    await expect(page).to_have_title(f"{FAILING_NAME} (failed) · autotest")
    await nothing_ran()

    # The tests page and the test's page
    await page.goto(f"{info.api_url}/ui/tests")
    await expect(page.get_by_role("link", name=FAILING_NAME, exact=True)).to_be_visible()
    await nothing_ran()
    await page.get_by_role("link", name=FAILING_NAME, exact=True).click()
    await expect(page).to_have_url(f"{info.api_url}/ui/tests/{test_id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(FAILING_NAME)
    await page.get_by_text("as a test file").click()
    await expect(page.locator("pre.spec")).to_contain_text("onerror=")
    await nothing_ran()


# ------------------------------------------------------------------------------------------- 7. projects


async def test_a_second_projects_login_sees_none_of_the_first_projects_runs_tests_or_files(
    pool: BrowserPool, page: Page, seeded: Seeded
) -> None:
    info, run_id, test_id = seeded.info, seeded.run_id("failing"), seeded.tests["failing"]
    listed = await api(info, "GET", f"/v1/runs/{run_id}/artifacts")
    shot = next(a for a in listed["artifacts"] if a["kind"] == "screenshot")
    file_url = f"{info.api_url}/ui/runs/{run_id}/files/{shot['attempt']}/{shot['name']}"
    # (the first project's login gets the file)
    served = await page.request.get(file_url)
    assert served.status == 200 and served.headers["content-type"] == "image/png"

    # Given a second project, made with the bootstrap key
    second = await api(info, "POST", "/v1/projects", {"name": "second"})

    async with fresh_page(pool) as other:
        # When someone logs in with its key
        await log_in(other, info, second["api_key"])

        # Then the runs page shows none of the first project's runs, the tests page none of its tests
        await expect(other.locator(".who")).to_contain_text("Project second")
        await expect(other.locator("#run-rows")).to_contain_text("No runs match.")
        await expect(other.locator("#run-rows a[href^='/ui/runs/']")).to_have_count(0)
        await other.goto(f"{info.api_url}/ui/tests")
        await expect(other.get_by_text("No tests match.")).to_be_visible()

        # and the first project's run, test and file are not found
        for url in (f"{info.api_url}/ui/runs/{run_id}", f"{info.api_url}/ui/tests/{test_id}", file_url):
            response = await other.goto(url)
            assert response is not None and response.status == 404, url
            await expect(other.get_by_role("heading", level=1)).to_have_text("Not found (404)")
            await expect(other.get_by_text(FAILING_NAME)).to_have_count(0)
            await expect(other.locator("main img")).to_have_count(0)


# ------------------------------------------------------------------------------------------- 8. heals


async def test_accepting_a_runs_heal_saves_a_new_revision_shown_as_a_diff(page: Page, seeded: Seeded) -> None:
    run_id, test_id = seeded.run_id("healed"), seeded.tests["healed"]
    await page.goto(f"{seeded.info.api_url}/ui/runs/{run_id}")

    # Given the run healed its click: the step says how
    heal = page.locator("#step-2 .heal")
    await expect(heal).to_contain_text(re.compile(r"^Healed \(fuzzy, score 0\.\d\d\)"))
    await expect(heal).to_contain_text('role=button name="Save settings" → role=button name="Save preferences"')
    await expect(page.locator("#run-live h1")).to_contain_text("passed")

    # When its heals are accepted
    await page.get_by_role("button", name="Accept heals").click()

    # Then the test's page says revision 2 was saved, and shows what changed
    await expect(page).to_have_url(f"{seeded.info.api_url}/ui/tests/{test_id}?saved=2")
    await expect(page.get_by_role("status")).to_have_text("Revision 2 was saved with the accepted heals.")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("revision 2")
    diff = page.locator("pre.diff")
    await expect(diff).to_have_attribute("aria-label", "Difference between revision 1 and 2")
    await expect(diff.locator(".d-del").filter(has_text="name: Save settings")).to_have_count(1)
    await expect(diff.locator(".d-add").filter(has_text="name: Save preferences")).to_have_count(1)


# ------------------------------------------------------------------------------------------- 9. trace


# NOTE: this test fails until the trace viewer route lands: functions/api/ui/trace.py is a placeholder on this
# branch (/ui/trace/index.html is a 404 here); the viewer's branch serves Playwright's bundled viewer there.
async def test_open_trace_shows_the_runs_actions_in_the_trace_viewer(page: Page, seeded: Seeded) -> None:
    run_id = seeded.run_id("login")
    await page.goto(f"{seeded.info.api_url}/ui/runs/{run_id}")
    link = page.get_by_role("link", name="Open trace")
    await expect(link).to_have_attribute("href", f"/ui/trace/index.html?trace=/ui/runs/{run_id}/files/1/trace.zip")

    async with page.expect_navigation() as navigation:
        await link.click()
    response = await navigation.value
    assert response is not None and response.ok, f"the trace viewer is not served: {response and response.status}"

    # Then the viewer's action list shows the login test's goto and its click
    navigate = page.get_by_role("treeitem", name=re.compile(r"^Navigate \S+ \S+\/login$"))
    await expect(navigate).to_be_visible()
    click = page.get_by_role("treeitem", name=re.compile(r'^Click \S+ get_by_role\("button", name=.*Log'))
    await expect(click).to_be_visible()


# ------------------------------------------------------------------------------------------- 10. a11y


async def test_the_runs_page_has_a_skip_link_landmarks_and_a_label_for_every_control(page: Page) -> None:
    # The first Tab reaches "Skip to content", which moves the focus to the main content
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_visible()  # shown while focused
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("main")).to_be_focused()

    # Landmarks: one main, the navigation "Main" with the current page marked
    await expect(page.get_by_role("main")).to_have_count(1)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav).to_be_visible()
    await expect(nav.get_by_role("link", name="Runs")).to_have_attribute("aria-current", "page")

    # Every form control has a label: each one the page has is named in the accessibility tree
    controls = page.locator("input:not([type=hidden]), select, textarea")
    count = await controls.count()
    assert count >= 6
    tree = await page.locator("body").aria_snapshot()
    kinds = "textbox|combobox|searchbox|spinbutton|checkbox|radio|listbox|slider"
    unnamed = re.findall(rf"^\s*- (?:{kinds})(?![^\n]*\")[^\n]*$", tree, re.MULTILINE)
    named = re.findall(rf'^\s*- (?:{kinds}) "([^"]+)"', tree, re.MULTILINE)
    assert unnamed == [] and len(named) == count, tree
    for label in named:
        await expect(page.get_by_label(label, exact=True)).to_have_count(1)
    assert {"Status", "Test", "Trigger", "Since"} <= set(named), named
    assert re.findall(r"^\s*- button(?![^\n]*\")[^\n]*$", tree, re.MULTILINE) == [], tree


async def test_a_focused_run_link_keeps_the_focus_while_the_rows_refresh_live(page: Page, seeded: Seeded) -> None:
    # Given a keyboard user on a run's link in the runs table
    link = run_link(page, seeded.run_id("login"))
    await link.focus()
    await link.evaluate("a => { a.closest('tr').__kept = true; }")

    # When the rows are fetched again and nothing changed, they are left as they are (the table holds the hostile
    # name, whose quotes the browser writes as characters where the server wrote &#34;: they still compare equal)
    for _ in range(2):  # a poll starts once the one before it has put its rows in
        async with page.expect_response(re.compile(r"/ui/runs/rows")):
            pass
    await expect(link).to_be_focused()
    assert await link.evaluate("a => a.closest('tr').__kept === true")

    # When a new run comes in, the rows are new and the same link has the focus
    run_id = await start_run(seeded.info, seeded.tests["api"])
    await expect(run_link(page, run_id)).to_be_visible()
    assert await link.evaluate("a => a.closest('tr').__kept === undefined")
    await expect(link).to_be_focused()


# ------------------------------------------------------------------------------------------- 11. shots


async def test_screenshots_of_the_main_pages_are_saved_for_ci(pool: BrowserPool, page: Page, seeded: Seeded) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    info = seeded.info
    saved: list[Path] = []

    async def shoot(on: Page, name: str) -> None:
        path = SHOTS / f"{name}.png"
        await on.screenshot(path=path, full_page=True)
        saved.append(path)

    async with fresh_page(pool) as anonymous:
        await anonymous.goto(f"{info.api_url}/ui/login")
        await expect(anonymous.get_by_label("API key")).to_be_visible()
        await shoot(anonymous, "login")

    await expect(run_link(page, seeded.run_id("failing"))).to_be_visible()
    await shoot(page, "runs")

    await page.goto(f"{info.api_url}/ui/runs/{seeded.run_id('failing')}")
    await image_loaded(page, page.locator("img.failure-shot"))
    await shoot(page, "run-failed")

    await page.goto(f"{info.api_url}/ui/tests")
    await expect(page.get_by_role("link", name="Admin can log in", exact=True)).to_be_visible()
    await shoot(page, "tests")

    await page.goto(f"{info.api_url}/ui/tests/{seeded.tests['login']}")
    await expect(page.get_by_role("heading", name="How it has gone")).to_be_visible()
    await shoot(page, "test")

    for path in saved:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000, path
