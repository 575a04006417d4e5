"""``goto`` and ``start_url`` fail when the page did not load: the server is down, or the main document
answers 400 or above (unless the step allows that status). Real Chromium, loopback servers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from shared.models.runs import RunStatus
from tests.conftest import free_port
from tests.e2e.conftest import Harness
from tests.e2e.pages import serve_pages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    with serve_pages(
        {
            "/ok": (200, "<h1>Fine</h1>"),
            "/boom": (500, "<h1>Something broke</h1>"),
            "/gateway": (502, "<h1>Upstream is down</h1>"),
            "/secret": (401, "<h1>Log in first</h1>"),
        }
    ) as url:
        yield url


async def test_a_goto_to_a_closed_port_fails_naming_the_cause(harness: Harness) -> None:
    closed = free_port()  # bound and released: nothing listens there

    run = await harness.run([{"action": "goto", "url": f"http://127.0.0.1:{closed}/"}])

    assert run.status == RunStatus.failed
    assert run.steps[0].error == f"could not connect to http://127.0.0.1:{closed}/: connection refused"
    network_log = next(a for a in run.artifacts if a.name == "network.log")
    assert b"could not connect" in harness.artifacts.objects[network_log.key][0]


async def test_an_https_goto_to_a_closed_port_fails_naming_the_cause(harness: Harness) -> None:
    closed = free_port()

    run = await harness.run([{"action": "goto", "url": f"https://127.0.0.1:{closed}/login"}])

    assert run.status == RunStatus.failed
    assert run.steps[0].error == f"could not connect to https://127.0.0.1:{closed}/: connection refused"


async def test_a_404_main_document_fails_the_goto(harness: Harness) -> None:
    run = await harness.run(
        [{"action": "goto", "url": "{{base_url}}/missing"}, {"action": "expect_text", "text": "Not found"}]
    )

    assert run.status == RunStatus.failed
    assert run.steps[0].error == f"GET {harness.base_url}/missing answered 404 Not Found"
    assert run.steps[1].status == "skipped"


async def test_a_500_and_a_real_502_fail_with_their_status(harness: Harness, pages: str) -> None:
    boom = await harness.run([{"action": "goto", "url": f"{pages}/boom"}])
    gateway = await harness.run([{"action": "goto", "url": f"{pages}/gateway"}])

    assert boom.status == gateway.status == RunStatus.failed
    assert boom.steps[0].error == f"GET {pages}/boom answered 500 Internal Server Error"
    assert gateway.steps[0].error == f"GET {pages}/gateway answered 502 Bad Gateway"  # the server's, not a proxy's


async def test_allow_status_lets_a_page_that_answers_404_or_401_pass(harness: Harness, pages: str) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/missing", "allow_status": [404]},
            {"action": "expect_text", "text": "Not found"},
            {"action": "goto", "url": f"{pages}/secret", "allow_status": [401, 403]},
            {"action": "expect_text", "text": "Log in first"},
            {"action": "goto", "url": f"{pages}/boom", "allow_status": [404]},
        ]
    )

    assert [s.status for s in run.steps] == ["passed", "passed", "passed", "passed", "failed"], run.steps
    assert run.steps[4].error == f"GET {pages}/boom answered 500 Internal Server Error (allowed: 404)"


async def test_a_redirect_chain_ending_in_200_passes(harness: Harness) -> None:
    inner = "/redirect?to=" + quote("/list", safe="") + "&code=301"
    chain = "{{base_url}}/redirect?to=" + quote(inner, safe="") + "&code=302"

    run = await harness.run(
        [
            {"action": "goto", "url": chain},
            {"action": "expect_url", "pattern": "/list$"},
            {"action": "goto", "url": "#top"},  # a same-document navigation loads nothing, and passes
            {"action": "expect_text", "text": "Shopping list"},
        ]
    )

    assert run.status == RunStatus.passed, run.error


async def test_a_start_url_on_a_closed_port_fails_the_run(harness: Harness) -> None:
    closed = free_port()

    run = await harness.run(
        [{"action": "expect_text", "text": "anything"}], spec={"start_url": f"http://127.0.0.1:{closed}/app"}
    )

    assert run.status == RunStatus.failed
    cause = f"could not connect to http://127.0.0.1:{closed}/app: connection refused"
    assert run.error == f"could not open start_url: {cause}"
    assert [s.status for s in run.steps] == ["skipped"]


async def test_a_start_url_answering_404_fails_the_run(harness: Harness) -> None:
    run = await harness.run([{"action": "expect_text", "text": "Not found"}], spec={"start_url": "{{base_url}}/nope"})

    assert run.status == RunStatus.failed
    assert run.error == f"could not open start_url: GET {harness.base_url}/nope answered 404 Not Found"


async def test_a_same_document_goto_on_an_error_page_fails_as_that_page_does(harness: Harness, pages: str) -> None:
    # Given a page that answered 500, allowed by its goto
    steps = [{"action": "goto", "url": f"{pages}/boom", "allow_status": [500]}]

    # When a later goto only moves to an anchor of it (a same-document navigation: nothing loads)
    run = await harness.run([*steps, {"action": "goto", "url": f"{pages}/boom#details"}])
    allowed = await harness.run([*steps, {"action": "goto", "url": f"{pages}/boom#details", "allow_status": [500]}])

    # Then it is judged by the page it stays on
    assert run.status == RunStatus.failed, run.steps
    assert (
        run.steps[1].error
        == f"GET {pages}/boom answered 500 Internal Server Error (the page this same-document navigation stays on)"
    )
    assert allowed.status == RunStatus.passed, allowed.steps
