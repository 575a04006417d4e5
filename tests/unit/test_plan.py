"""Which runs need a browser: an API run of request steps only runs on httpx alone."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from runner_container.runner.plan import needs_browser
from shared.models.plans import Step
from shared.models.tests import TestKind

STEPS = TypeAdapter(list[Step])
REQUEST: dict[str, Any] = {"action": "request", "url": "http://api.test/items"}
GOTO: dict[str, Any] = {"action": "goto", "url": "http://app.test/"}


def test_an_api_run_of_request_steps_needs_no_browser() -> None:
    assert needs_browser(TestKind.api, STEPS.validate_python([REQUEST, REQUEST])) is False


def test_browser_runs_and_plans_with_browser_steps_keep_the_browser() -> None:
    assert needs_browser(TestKind.browser, STEPS.validate_python([REQUEST])) is True
    assert needs_browser(TestKind.browser, STEPS.validate_python([GOTO, REQUEST])) is True
    assert needs_browser(TestKind.api, STEPS.validate_python([REQUEST, GOTO])) is True  # declared api, still needs one
