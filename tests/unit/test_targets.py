from __future__ import annotations

import re

import pytest

from runner_container.runner.targets import expression, interpret, normalized_pattern
from shared.models import plans
from shared.models.plans import CssTarget, LabelTarget, PlaceholderTarget, RoleTarget, TextTarget


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (RoleTarget(role="button", name="Log in"), 'get_by_role("button", name="Log in")'),
        (RoleTarget(role="heading"), 'get_by_role("heading")'),
        (RoleTarget(role="link", name="Home", exact=True), 'get_by_role("link", name="Home", exact=True)'),
        (LabelTarget(label="Username"), 'get_by_label("Username")'),
        (TextTarget(text='Say "hi"', exact=True), 'get_by_text("Say \\"hi\\"", exact=True)'),
        (PlaceholderTarget(placeholder="Search"), 'get_by_placeholder("Search")'),
        (plans.TestIdTarget(test_id="item-1"), 'get_by_test_id("item-1")'),
        (CssTarget(css="#summary"), 'locator("#summary")'),
    ],
)
def test_expression_is_the_playwright_call(target: object, code: str) -> None:
    assert expression(target) == code  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("description", "first"),
    [
        ("the Log in button", RoleTarget(role="button", name="Log in")),
        ('button "Save preferences"', RoleTarget(role="button", name="Save preferences")),
        ("the Username field", RoleTarget(role="textbox", name="Username")),
        ("the 'Remember me' check box", RoleTarget(role="checkbox", name="Remember me")),
        ("the link called Pricing", RoleTarget(role="link", name="Pricing")),
        ("Continue", LabelTarget(label="Continue")),
    ],
)
def test_descriptions_become_role_first_candidates(description: str, first: object) -> None:
    candidates = interpret(description)
    assert candidates[0] == first
    assert candidates[-1] == TextTarget(text=" ".join(description.split()))


def test_a_textbox_description_also_tries_label_and_placeholder() -> None:
    assert interpret("the Email field")[:3] == [
        RoleTarget(role="textbox", name="Email"),
        LabelTarget(label="Email"),
        PlaceholderTarget(placeholder="Email"),
    ]


def test_a_bare_name_tries_label_placeholder_button_link_and_text() -> None:
    kinds = [type(c).__name__ for c in interpret("Continue")]
    assert kinds == ["LabelTarget", "PlaceholderTarget", "RoleTarget", "RoleTarget", "TextTarget"]


def test_the_normalized_rule_matches_a_whole_name_ignoring_case_and_whitespace() -> None:
    pattern = normalized_pattern("  Save   and close ")
    assert pattern.search("save AND\n close") and pattern.search(" Save and close ")
    assert not pattern.search("Save and close later") and not pattern.search("Save draft")
    assert normalized_pattern("a+b (1)").search("A+B (1)")  # the name's own characters are literal
    assert expression(RoleTarget(role="button", name="Save"), pattern=normalized_pattern("Save")) == (
        'get_by_role("button", name=re.compile("^\\\\s*Save\\\\s*$", re.IGNORECASE))'
    )
    labelled = expression(LabelTarget(label="Email"), pattern=re.compile("^Email$"))
    assert labelled == 'get_by_label(re.compile("^Email$"))'
