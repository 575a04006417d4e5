"""Plain English read by the sentence grammar runs in Chromium against the example app: the login and the
preferences form, every target a plain description (no role, label or CSS written), and a line that expects
what the page does not show fails at that step."""

from __future__ import annotations

from typing import Any

import pytest

from shared.models.runs import RunStatus
from shared.planning.grammar import parse
from tests.e2e.conftest import Harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

LOGIN = """\
1. Go to {{base_url}}/login
2. Expect the title to contain "Log in"
3. Fill "Username" with "admin"
4. Fill "Password" with {{secret:ADMIN_PASSWORD}}
5. Click "Log in"
6. Expect the URL to contain "/welcome"
7. Expect to see "Welcome, admin"
8. Expect not to see "Invalid"
"""

PREFERENCES = """\
Go to {{base_url}}/form
Select "{{color}}" from "Favourite color"
Check "Subscribe to the newsletter"
Check "Medium"
Fill "Anything else?" with "Deliver after 6pm"
Click "Save preferences"
Expect to see "color: blue, newsletter: yes, size: medium"
"""


def _plan(text: str) -> list[dict[str, Any]]:
    return [step.model_dump(mode="json", exclude_none=True) for step in parse(text)]


async def test_the_plain_english_login_passes(harness: Harness) -> None:
    run = await harness.run(_plan(LOGIN))
    assert run.status == RunStatus.passed, run.error
    assert [s.action for s in run.steps] == [
        "goto",
        "expect_title",
        "fill",
        "fill",
        "click",
        "expect_url",
        "expect_text",
        "expect_text",
    ]


async def test_the_plain_english_preferences_form_passes(harness: Harness) -> None:
    run = await harness.run(_plan(PREFERENCES), spec={"variables": {"base_url": harness.base_url, "color": "blue"}})
    assert run.status == RunStatus.passed, run.error


async def test_a_line_expecting_what_the_page_does_not_show_fails_at_that_line(harness: Harness) -> None:
    wrong = LOGIN.replace('Expect not to see "Invalid"', 'Expect not to see "Welcome"')
    run = await harness.run(_plan(wrong), spec={"variables": {"base_url": harness.base_url}, "timeout_s": 60})
    assert run.status == RunStatus.failed
    assert [s.status for s in run.steps][-2:] == ["passed", "failed"]
    assert "not to show the text 'Welcome'" in (run.steps[-1].error or "")
