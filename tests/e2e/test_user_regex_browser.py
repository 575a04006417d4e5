"""``expect_url`` in real Chromium: the pattern runs with RE2 in Python, never in a backtracking engine
(Playwright's ``to_have_url`` would run it in V8, where a catastrophic pattern blocks the driver that every
page of the process goes through)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from examples.webapp import WebApp
from runner_container.runner.browser import BrowserPool
from shared.models.runs import RunStatus
from tests.e2e.conftest import make_harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(60)
async def test_a_catastrophic_url_pattern_fails_on_time_and_stalls_no_other_run(
    pool: BrowserPool, webapp: WebApp
) -> None:
    # Given a page whose URL almost matches (a+)+$, and another run in the same browser at the same time
    h = make_harness(pool, webapp.url)
    evil: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}/login?next=" + "a" * 40 + "!"},
        {"action": "expect_url", "pattern": "(a+)+$", "timeout_s": 1},
    ]
    other: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
        {"action": "expect_url", "pattern": "/login$"},
    ]

    # When both run
    started = time.monotonic()
    failed, passed = await asyncio.gather(h.run(evil), h.run(other))
    elapsed = time.monotonic() - started

    # Then the pattern fails after its 1 s budget, saying what it wanted and what the URL was, and the
    # other run passed beside it
    assert failed.status == RunStatus.failed, failed.steps
    error = failed.steps[1].error or ""
    assert error.startswith("expected the URL to match /(a+)+$/ within 1s; it is 'http://"), error
    assert error.endswith("/login?next=" + "a" * 40 + "!'"), error
    assert passed.status == RunStatus.passed, passed.steps
    assert elapsed < 10, elapsed
