"""User regular expressions run with RE2: a catastrophic pattern costs nothing, the event loop keeps
serving while a long body is matched, and patterns RE2 cannot run are a 422 when the test is saved."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from functions.api.app import create_app
from runner_container.runner.masking import Masker
from runner_container.runner.render import Renderer, RenderError
from runner_container.runner.steps import Budget, StepFailed, expect_url
from shared import regex
from shared.apitests.checks import ResponseChecker
from shared.apitests.http import run_request
from shared.models.common import STORED
from shared.models.plans import Request
from shared.models.tests import Revision, TestCreate
from shared.netguard import NetworkGuard
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
LOOPBACK = NetworkGuard.from_setting("127.0.0.0/8")
#: each takes minutes in a backtracking engine on 32+ characters that almost match
CATASTROPHIC = [r"(a+)+$", r"(a|aa)+$", r"^(a|a?)+$", r"(\w+\s?)+$", r"(.*a){12}$"]
EVIL = "a" * 40 + "!"


async def _ticking(work: Awaitable[Any]) -> tuple[Any, float, float]:
    """Await ``work`` while another coroutine ticks; returns (result, seconds taken, longest gap between ticks)."""
    gaps: list[float] = []
    done, ticking = asyncio.Event(), asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        ticking.set()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await ticking.wait()  # ticking before the work starts (a mocked request may never yield to the loop)
    started = time.monotonic()
    try:
        result = await work
    finally:
        elapsed = time.monotonic() - started
        done.set()
        await task
    return result, elapsed, max(gaps, default=elapsed)


def _client(body: bytes, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=headers or {})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


@pytest.mark.serial  # timed: a second worker on 2 cores slows the tick it counts
@pytest.mark.parametrize("pattern", CATASTROPHIC)
async def test_a_catastrophic_pattern_returns_at_once_and_the_loop_keeps_ticking(
    pattern: str, checker: ResponseChecker
) -> None:
    # Given a response whose body, a header and a JSON value are 40 "a" and a "!"
    step = Request.model_validate(
        {
            "url": "http://127.0.0.1/x",
            "expect": [
                {"body_matches": pattern},
                {"header": "x-value", "matches": pattern},
                {"jsonpath": "$.value", "matches": pattern},
            ],
        }
    )
    body = ('{"value": "' + EVIL + '"}').encode()

    # When the step's expectations are checked, with another coroutine running beside it
    async with _client(body, {"x-value": EVIL}) as client:
        outcome, elapsed, gap = await _ticking(
            run_request(step, client=client, guard=LOOPBACK, timeout_s=5, checker=checker)
        )

    # Then it is over in well under a second, with every pattern failing to match, and the loop never stalled
    assert elapsed < 0.5, elapsed
    assert gap < 0.25, gap
    assert len(outcome.failures) == 3 and all(f"match /{pattern}/" in f for f in outcome.failures)


async def test_matching_a_long_body_runs_off_the_event_loop(checker: ResponseChecker) -> None:
    # Given a 3 MB body and a pattern whose DFA does not fit RE2's cache (linear, but about a second here)
    body = random.Random(7).randbytes(3 * 1024 * 1024).translate(bytes(b"ab"[i & 1] for i in range(256)))
    step = Request.model_validate({"url": "http://127.0.0.1/x", "expect": [{"body_matches": "[ab]*a[ab]{30}c"}]})

    # When it is checked while another coroutine ticks
    async with _client(body) as client:
        outcome, elapsed, gap = await _ticking(
            run_request(step, client=client, guard=LOOPBACK, timeout_s=30, checker=checker)
        )

    # Then the expectation fails (no "c" in the body), and the ticker kept running the whole time
    assert len(outcome.failures) == 1 and "to match /[ab]*a[ab]{30}c/" in outcome.failures[0]
    assert gap < max(0.25, elapsed / 4), (gap, elapsed)


class _Page:
    """What ``expect_url`` reads of a Playwright page: ``url``, changed by navigation while it polls."""

    def __init__(self, url: str) -> None:
        self.url = url


async def test_expect_url_polls_the_url_with_re2_until_it_matches(checker: ResponseChecker) -> None:
    page = _Page("http://127.0.0.1/login")

    async def navigate() -> None:
        await asyncio.sleep(0.2)
        page.url = "http://127.0.0.1/items/42"

    navigation = asyncio.create_task(navigate())
    started = time.monotonic()
    await expect_url(page, r"/items/\d+$", Budget(5), checker)  # type: ignore[arg-type]
    await navigation
    assert 0.15 < time.monotonic() - started < 1.0


async def test_expect_url_with_a_catastrophic_pattern_fails_on_time_saying_what_and_where(
    checker: ResponseChecker,
) -> None:
    # Given a page whose URL almost matches a catastrophic pattern
    page = _Page(f"http://127.0.0.1/{EVIL}")

    async def failure() -> StepFailed:
        with pytest.raises(StepFailed) as failed:
            await expect_url(page, r"(a+)+$", Budget(0.3), checker)  # type: ignore[arg-type]
        return failed.value

    # When expect_url waits for it with a 0.3 s budget, beside a ticking coroutine
    error, elapsed, gap = await _ticking(failure())

    # Then it fails once its budget is spent, not later, with what was expected and what the URL was
    assert 0.25 < elapsed < 0.8, elapsed
    assert gap < 0.25, gap
    assert error.message == f"expected the URL to match /(a+)+$/ within 0.3s; it is 'http://127.0.0.1/{EVIL}'"


async def test_expect_url_searches_a_long_url_off_the_event_loop_and_stops_on_time(checker: ResponseChecker) -> None:
    # Given a page whose URL is 1 MB of "a" and "b" (a page can make its own URL 2 MB long), and a pattern RE2
    # needs seconds to search that for (no "c": it never matches)
    ab = random.Random(3).randbytes(1_000_000).translate(bytes(b"ab"[i & 1] for i in range(256))).decode()
    page = _Page(f"http://127.0.0.1/#{ab}")
    pattern = "[ab]*a[ab]{999}c"
    assert not regex.cheap(pattern, page.url)

    async def failure() -> StepFailed:
        with pytest.raises(StepFailed) as failed:
            await expect_url(page, pattern, Budget(0.5), checker)  # type: ignore[arg-type]
        return failed.value

    # When expect_url waits for it with a 0.5 s budget, beside a ticking coroutine
    error, elapsed, gap = await _ticking(failure())

    # Then the loop ticked throughout, and the step failed on time saying the search was stopped
    assert gap < 0.25, gap
    assert elapsed < 3, elapsed
    assert error.message.startswith(f"expected the URL to match /{pattern}/ within 0.5s; it is 'http://127.0.0.1/#")
    assert error.message.endswith(
        "... (1000018 characters) (the search was still running when the time ran out, and was stopped)"
    )


# ------------------------------------------------------------------------------- save-time checks

INVALID = [
    ("(a)\\1", "invalid escape sequence: \\1"),  # a backreference
    ("(?=a)b", "invalid perl operator: (?="),  # lookahead
    ("(?<!a)b", "invalid perl operator: (?<!"),  # lookbehind
    ("[a-", "missing ]"),
    ("a{2,5000}", "invalid repetition size"),
    ("x*+", "bad repetition operator"),
]


def _test_with(pattern: str) -> dict[str, Any]:
    return {
        "name": "patterns",
        "steps": [
            {"action": "goto", "url": "http://127.0.0.1/"},
            {"action": "expect_url", "pattern": pattern},
            {
                "action": "request",
                "url": "http://127.0.0.1/api",
                "expect": [
                    {"jsonpath": "$.a", "matches": pattern},
                    {"header": "x-a", "matches": pattern},
                    {"body_matches": pattern},
                ],
            },
        ],
    }


@pytest.mark.parametrize(("pattern", "reason"), INVALID)
def test_patterns_re2_cannot_run_are_a_422_at_save_time_with_their_location(pattern: str, reason: str) -> None:
    client = TestClient(create_app(FakeServices().services))
    response = client.post("/v1/tests", json=_test_with(pattern), headers=ADMIN)
    assert response.status_code == 422, response.text
    details = {d["loc"]: d["msg"] for d in response.json()["error"]["details"]}
    assert set(details) == {
        "body.steps[1].pattern",
        "body.steps[2].expect[0].matches",
        "body.steps[2].expect[1].matches",
        "body.steps[2].expect[2].body_matches",
    }
    for msg in details.values():
        assert f"invalid regular expression /{pattern}/" in msg and reason in msg and "RE2 syntax" in msg


def test_expect_url_text_that_is_not_a_regex_is_refused_not_matched_literally() -> None:
    with pytest.raises(ValidationError, match=r"steps\.1\.expect_url\.pattern"):
        TestCreate.model_validate(_test_with("/items/(new"))


def test_valid_patterns_and_placeholders_are_accepted() -> None:
    for pattern in (r"^tok-[0-9a-f]+$", r"(?i)welcome", r"/items/\d+", r"\p{L}+", "{{order_id}}$", "^{{base}}/x"):
        TestCreate.model_validate(_test_with(pattern))
        assert regex.problem(pattern) is None


def test_a_stored_revision_with_a_pattern_re2_refuses_still_loads() -> None:
    # (saved before patterns were checked: reading it must not fail; a run re-validates when it renders)
    stored = {"test_id": "tst_1", "project_id": "prj_1", "revision": 1, "created_at": "2026-01-01T00:00:00Z"}
    revision = Revision.model_validate({**_test_with("(?=a)b"), **stored}, context=STORED)
    steps = revision.spec().steps
    assert steps is not None
    with pytest.raises(ValidationError):
        Revision.model_validate({**_test_with("(?=a)b"), **stored})
    # and its run ends with an error naming the pattern, before the step runs
    with pytest.raises(RenderError, match=r"invalid regular expression /\(\?=a\)b/.*RE2 syntax"):
        Renderer({}, {}, Masker()).render_step(steps[1])
