"""Text a test expects on the page, and the names targets match by: blank text (whitespace and invisible
characters only, which Playwright's comparison ignores) matches every page and every element, so it is a 422
when the test is saved and an error once placeholders are filled in; a character the comparison drops
(U+200B, U+00AD) may not be in the test's own text."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from functions.api.app import create_app
from runner_container.runner.masking import Masker
from runner_container.runner.render import Renderer, RenderError
from runner_container.runner.targets import interpret
from shared.models.common import STORED
from shared.models.plans import LabelTarget, RoleTarget, Step, TextTarget
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
BLANK = [" ", "\u200b", "\n\t", "\u00a0", " \u200b ", "\ufeff", "\u2060\u200d", "\u3000\u00ad"]
STEP = TypeAdapter[Step](Step)


def _steps(text: str) -> list[dict[str, Any]]:
    """A step with ``text`` in every field that is compared with what the page shows."""
    return [
        {"action": "goto", "url": "http://127.0.0.1/"},
        {"action": "expect_text", "text": text},
        {"action": "expect_title", "text": text},
        {"action": "click", "target": {"role": "button", "name": text}},
        {"action": "fill", "target": {"label": text}, "value": "x"},
        {"action": "click", "target": {"text": text, "exact": True}},
        {"action": "fill", "target": {"placeholder": text}, "value": "x"},
        {"action": "hover", "target": text},
        {"action": "expect_text", "text": "Welcome", "target": {"text": text}},
    ]


#: where each of the fields above is, as a 422 names it
PLACES = {
    "body.steps[1].text",
    "body.steps[2].text",
    "body.steps[3].target.name",
    "body.steps[4].target.label",
    "body.steps[5].target.text",
    "body.steps[6].target.placeholder",
    "body.steps[7].target",
    "body.steps[8].target.text",
}


def _save(text: str) -> Any:
    client = TestClient(create_app(FakeServices().services))
    return client.post("/v1/tests", json={"name": "expected text", "steps": _steps(text)}, headers=ADMIN)


@pytest.mark.parametrize("text", BLANK, ids=repr)
def test_blank_expected_text_and_names_are_a_422_naming_each_field(text: str) -> None:
    response = _save(text)

    assert response.status_code == 422, response.text
    details = {d["loc"]: d["msg"] for d in response.json()["error"]["details"]}
    assert set(details) == PLACES
    assert "holds only whitespace or invisible characters" in details["body.steps[1].text"]
    assert "would match any page, an empty one included" in details["body.steps[1].text"]
    assert "would match every element" in details["body.steps[3].target.name"]


@pytest.mark.parametrize(("text", "code", "at"), [("Wel\u200bcome", "U+200B", 4), ("Zucker\u00adwatte", "U+00AD", 7)])
def test_a_character_the_comparison_drops_is_a_422_naming_it(text: str, code: str, at: int) -> None:
    # ("Wel\u200bcome" would match "Welcome": Playwright removes U+200B and U+00AD before it compares)
    response = _save(text)

    assert response.status_code == 422, response.text
    details = {d["loc"]: d["msg"] for d in response.json()["error"]["details"]}
    assert set(details) == PLACES
    assert all(f"{code} " in msg and f"at character {at} is not allowed" in msg for msg in details.values())


@pytest.mark.parametrize(
    "text",
    [
        "Welcome",
        "  Welcome, admin ",
        "Wel\u200dcome",  # a joiner Playwright compares as written: it does not match "Welcome"
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # an emoji sequence, joined by U+200D
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with its zero-width non-joiner
        "\u2764\ufe0f",  # a variation selector
        "{{greeting}}",
    ],
)
def test_text_a_page_shows_is_accepted(text: str) -> None:
    assert _save(text).status_code == 201


def test_a_test_id_or_css_target_is_not_a_name_and_keeps_its_own_rules() -> None:
    step = STEP.validate_python({"action": "click", "target": {"test_id": "a\u200bb"}})
    assert step.target.test_id == "a\u200bb"  # type: ignore[union-attr]


@pytest.mark.parametrize("value", BLANK, ids=repr)
def test_text_that_is_blank_once_placeholders_are_filled_in_is_an_error(value: str) -> None:
    renderer = Renderer({"v": value}, {}, Masker())
    for step in _steps("{{v}}")[1:]:
        with pytest.raises(RenderError, match="holds only whitespace or invisible characters"):
            renderer.render_step(STEP.validate_python(step))


def test_a_value_a_placeholder_brings_in_is_compared_as_the_page_shows_it() -> None:
    # (an extracted text with a soft hyphen: what it holds is the page's, not the author's)
    renderer = Renderer({"v": "Zucker\u00adwatte"}, {}, Masker())
    for step in _steps("{{v}}")[1:]:
        renderer.render_step(STEP.validate_python(step))


def test_a_step_stored_before_the_rule_still_loads_and_its_run_refuses_it() -> None:
    stored = STEP.validate_python({"action": "expect_text", "text": " "}, context=STORED)
    with pytest.raises(ValidationError):
        STEP.validate_python({"action": "expect_text", "text": " "})

    with pytest.raises(
        RenderError, match=r"expect_text is invalid after rendering: expect_text.text: .*only whitespace"
    ):
        Renderer({}, {}, Masker()).render_step(stored)


def test_a_description_reads_no_name_from_what_a_page_does_not_show() -> None:
    assert interpret("the Sa\u200bve button")[0] == RoleTarget(role="button", name="Save")
    assert interpret("the \u200d button") == [RoleTarget(role="button"), TextTarget(text="the \u200d button")]
    assert interpret("Pass\u00adword")[0] == LabelTarget(label="Password")
