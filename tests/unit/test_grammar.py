"""The sentence grammar (``shared/planning/grammar.py``): every form and its synonyms, numbering, quote styles,
placeholders, scopes for each kind of container, and every kind of error, several lines reported at once."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from shared import regex
from shared.models.planning import PlanFailed, PlanRequest
from shared.models.plans import Step
from shared.planning.grammar import literal_pattern, parse, parse_lines
from shared.planning.rules import RulePlanner

STEPS = TypeAdapter(list[Step])


def one(line: str) -> dict[str, Any]:
    """The one step a line reads as, as the JSON a test file would hold."""
    steps = parse(line)
    assert len(steps) == 1, steps
    dumped: dict[str, Any] = steps[0].model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    dumped["action"] = steps[0].action
    return dumped


def errors(text: str) -> list[dict[str, Any]]:
    with pytest.raises(PlanFailed) as caught:
        parse(text)
    lines: list[dict[str, Any]] = caught.value.details["lines"]
    return lines


def error(line: str) -> str:
    (problem,) = errors(line)
    return str(problem["error"])


# ------------------------------------------------------------------------------------ each form


@pytest.mark.parametrize(
    ("line", "step"),
    [
        ("Go to {{base_url}}/login", {"action": "goto", "url": "{{base_url}}/login"}),
        ("go to https://example.com/", {"action": "goto", "url": "https://example.com/"}),
        ('Open "http://127.0.0.1:8001/a?b=1"', {"action": "goto", "url": "http://127.0.0.1:8001/a?b=1"}),
        ("Open {{url}}", {"action": "goto", "url": "{{url}}"}),
        ("Navigate to /shop.", {"action": "goto", "url": "/shop"}),
        ("Visit the page /cart", {"action": "goto", "url": "/cart"}),
        ("Browse to https://example.com/x", {"action": "goto", "url": "https://example.com/x"}),
        ('Click "Log in"', {"action": "click", "target": "Log in"}),
        ('click on "Log in"', {"action": "click", "target": "Log in"}),
        ("Tap “Save”", {"action": "click", "target": "Save"}),
        ("Click 'Sign up'", {"action": "click", "target": "Sign up"}),
        ("Click the Log in button", {"action": "click", "target": "the Log in button"}),
        ('Press the "Submit" button', {"action": "click", "target": 'the "Submit" button'}),
        ('Click the "Home" link', {"action": "click", "target": 'the "Home" link'}),
        ('Fill "Username" with "admin"', {"action": "fill", "target": "Username", "value": "admin"}),
        ('Fill in "Search" with ""', {"action": "fill", "target": "Search", "value": ""}),
        (
            "Fill the Password field with {{secret:ADMIN_PASSWORD}}",
            {"action": "fill", "target": "the Password field", "value": "{{secret:ADMIN_PASSWORD}}"},
        ),
        ('Type "admin" into "Username"', {"action": "fill", "target": "Username", "value": "admin"}),
        ("Type 'O'Brien' into \"Name\"", {"action": "fill", "target": "Name", "value": "O'Brien"}),
        ('Enter "{{user}}" in "Username"', {"action": "fill", "target": "Username", "value": "{{user}}"}),
        ('Set "Quantity" to "3"', {"action": "fill", "target": "Quantity", "value": "3"}),
        ('Clear "Search"', {"action": "fill", "target": "Search", "value": ""}),
        ('Select "Large" from "Size"', {"action": "select", "target": "Size", "value": "Large"}),
        (
            'Choose "Blue" from the Colour dropdown',
            {"action": "select", "target": "the Colour dropdown", "value": "Blue"},
        ),
        ('Check "Remember me"', {"action": "check", "target": "Remember me"}),
        ('Tick "I agree"', {"action": "check", "target": "I agree"}),
        ('Uncheck "Newsletter"', {"action": "uncheck", "target": "Newsletter"}),
        ('Press "Enter"', {"action": "press", "key": "Enter"}),
        ("Press Tab", {"action": "press", "key": "Tab"}),
        ("Press the Escape key", {"action": "press", "key": "Escape"}),
        ('Press "Control+A" in "Notes"', {"action": "press", "key": "Control+A", "target": "Notes"}),
        ('Press Enter on "Search"', {"action": "press", "key": "Enter", "target": "Search"}),
        ('Hover over "Account"', {"action": "hover", "target": "Account"}),
        ('Hover "Menu"', {"action": "hover", "target": "Menu"}),
        ('Wait for "Saved"', {"action": "wait_for", "target": "Saved"}),
        ('Wait until "Saved" is visible', {"action": "wait_for", "target": "Saved"}),
        ("Wait 2 seconds", {"action": "wait_for", "ms": 2000}),
        ("Wait 500 ms", {"action": "wait_for", "ms": 500}),
        ("wait for 1.5 s", {"action": "wait_for", "ms": 1500}),
        ("Wait 1 minute", {"action": "wait_for", "ms": 60000}),
        ('Expect to see "Welcome, admin"', {"action": "expect_text", "text": "Welcome, admin"}),
        ('I should see "Hello"', {"action": "expect_text", "text": "Hello"}),
        ('Verify that I see "Hello"', {"action": "expect_text", "text": "Hello"}),
        ('Expect the page to show "Hello"', {"action": "expect_text", "text": "Hello"}),
        (
            'Expect to see "Total" in "Cart summary"',
            {"action": "expect_text", "text": "Total", "target": "Cart summary"},
        ),
        ('Expect not to see "Error"', {"action": "expect_text", "text": "Error", "absent": True}),
        ('I should not see "Error"', {"action": "expect_text", "text": "Error", "absent": True}),
        ("Expect the page not to contain 'Oops'", {"action": "expect_text", "text": "Oops", "absent": True}),
        ('Expect "Cart total" to contain "$5"', {"action": "expect_text", "text": "$5", "target": "Cart total"}),
        ('Expect "Log out" to be visible', {"action": "expect_visible", "target": "Log out"}),
        ('Assert the "Log out" button is shown', {"action": "expect_visible", "target": 'the "Log out" button'}),
        ('Expect the URL to contain "/welcome"', {"action": "expect_url", "pattern": "/welcome"}),
        ('Expect the URL to contain "/a.b?x=1"', {"action": "expect_url", "pattern": "/a\\.b\\?x=1"}),
        ('Expect the URL to end with "/done"', {"action": "expect_url", "pattern": "/done$"}),
        ('Expect the URL to match "/items/\\d+$"', {"action": "expect_url", "pattern": "/items/\\d+$"}),
        ('Expect the URL to be "{{base_url}}/home"', {"action": "expect_url", "pattern": "^{{base_url}}/home$"}),
        (
            'Expect the URL to be "/home"',
            {"action": "expect_url", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*/home$"},
        ),
        ('Expect the title to contain "Shop"', {"action": "expect_title", "text": "Shop"}),
        ('Check that the title contains "Shop"', {"action": "expect_title", "text": "Shop"}),
        ("Take a screenshot", {"action": "screenshot"}),
        ('Take a screenshot named "after-login"', {"action": "screenshot", "name": "after-login"}),
        ("Screenshot cart.v2", {"action": "screenshot", "name": "cart.v2"}),
        ('Extract "Order number" as order_id', {"action": "extract", "target": "Order number", "var": "order_id"}),
        ('Save the text of "Total" as {{total}}', {"action": "extract", "target": "Total", "var": "total"}),
        (
            "GET {{base_url}}/health expecting 200",
            {"action": "request", "url": "{{base_url}}/health", "expect": [{"status": 200}]},
        ),
        ("GET https://api.test/items", {"action": "request", "url": "https://api.test/items"}),
        (
            'POST {{base_url}}/items with json {"name": "x", "tags": ["a"]} expecting 201',
            {
                "action": "request",
                "method": "POST",
                "url": "{{base_url}}/items",
                "json": {"name": "x", "tags": ["a"]},
                "expect": [{"status": 201}],
            },
        ),
        (
            'PUT {{base_url}}/notes/1 with body "hello there" expecting 200 or 204',
            {
                "action": "request",
                "method": "PUT",
                "url": "{{base_url}}/notes/1",
                "body": "hello there",
                "expect": [{"status": [200, 204]}],
            },
        ),
        (
            "Send a DELETE request to {{base_url}}/items/1 and expect status 204",
            {"action": "request", "method": "DELETE", "url": "{{base_url}}/items/1", "expect": [{"status": 204}]},
        ),
    ],
)
def test_each_form_reads_as_its_step(line: str, step: dict[str, Any]) -> None:
    assert one(line) == step


@pytest.mark.parametrize(
    "line",
    [
        'Click "Log in"',
        'click "Log in"',
        'CLICK "Log in".',
        '1. Click "Log in"',
        '12) Click "Log in"',
        'Step 3: Click "Log in"',
        '- Click "Log in"',
        '* Click "Log in"',
        'Then click "Log in"',
        'and Click "Log in"',
        '  2. then click "Log in"  ',
        'Click   "Log in"',
        "Click “Log in”",
        "Click 'Log in'",
        "Click \u2018Log in\u2019",
    ],
)
def test_numbering_leading_words_case_and_quotes_do_not_change_the_step(line: str) -> None:
    assert one(line) == {"action": "click", "target": "Log in"}


def test_values_keep_what_they_hold_quotes_periods_and_placeholders_included() -> None:
    assert one('Fill "Motto" with "Say \'hi\'. Then leave."')["value"] == "Say 'hi'. Then leave."
    assert one("Fill 'Quote' with \"He said “no”\"")["value"] == "He said “no”"
    assert one('Fill "Token" with "{{secret:API_TOKEN}}"')["value"] == "{{secret:API_TOKEN}}"
    assert one('Type "{{first}} {{last}}" into "Name"')["value"] == "{{first}} {{last}}"
    assert one('Click "Save and close"')["target"] == "Save and close"
    assert one('Click "Fill in with care"')["target"] == "Fill in with care"  # words of a form inside quotes


def test_within_a_time_sets_the_steps_timeout() -> None:
    assert one('Expect to see "Item added" within 5 seconds') == {
        "action": "expect_text",
        "text": "Item added",
        "timeout_s": 5.0,
    }
    assert one('Wait for "Saved" within 500 ms')["timeout_s"] == 0.5
    assert one('Click "Remove" in the "Cheese" row within 2 s')["target"]["within"] == {"kind": "row", "name": "Cheese"}


def test_words_that_only_look_like_a_second_step_stay_in_the_target() -> None:
    assert one("Click the Terms and Conditions link")["target"] == "the Terms and Conditions link"
    assert one('Click "Save and check"')["target"] == "Save and check"
    assert one("Expect URL to contain '/x'") == {"action": "expect_url", "pattern": "/x"}


def test_an_apostrophe_is_not_a_quote() -> None:
    assert one("Click the user's profile") == {"action": "click", "target": "the user's profile"}
    assert one('Expect to see "Bob\'s cart"')["text"] == "Bob's cart"


# ----------------------------------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("phrase", "kind"),
    [
        ("row", "row"),
        ("table row", "row"),
        ("list item", "list item"),
        ("item", "list item"),
        ("section", "section"),
        ("region", "region"),
        ("dialog", "dialog"),
        ("modal", "dialog"),
        ("form", "form"),
        ("fieldset", "fieldset"),
        ("card", "card"),
        ("table", "table"),
        ("list", "list"),
    ],
)
def test_in_the_named_container_scopes_the_target(phrase: str, kind: str) -> None:
    expected = {"describe": "Remove", "within": {"kind": kind, "name": "Cheese"}}
    assert one(f'Click "Remove" in the "Cheese" {phrase}')["target"] == expected
    assert one(f'Click "Remove" inside the {phrase} "Cheese"')["target"] == expected
    assert one(f'Click "Remove" within the {phrase} with "Cheese"')["target"] == expected


def test_scopes_on_every_kind_of_step_with_a_target() -> None:
    row = {"kind": "row", "name": "Cheese"}
    assert one('Fill "Qty" with "2" in the "Cheese" row')["target"] == {"describe": "Qty", "within": row}
    assert one('Enter "2" in the "Qty" field in the "Cheese" row')["target"] == {
        "describe": 'the "Qty" field',
        "within": row,
    }
    assert one('Fill "Qty" in the "Cheese" row with "2"')["target"] == {"describe": "Qty", "within": row}
    assert one('Select "2" from "Qty" in the "Cheese" row')["target"] == {"describe": "Qty", "within": row}
    assert one('Check "Extra" in the "Toppings" section')["target"] == {
        "describe": "Extra",
        "within": {"kind": "section", "name": "Toppings"},
    }
    assert one('Hover over "Info" next to "Cheese"')["target"] == {"describe": "Info", "near": "Cheese"}
    assert one('Expect "Remove" in the "Cheese" row to be visible')["target"] == {"describe": "Remove", "within": row}
    assert one('Extract "Price" in the "Cheese" row as price')["target"] == {"describe": "Price", "within": row}
    assert one("Click the Remove button in the Cheese row")["target"] == {
        "describe": "the Remove button",
        "within": row,
    }


@pytest.mark.parametrize(
    ("line", "matches", "misses"),
    [
        ('Expect the URL to start with "/shop"', "http://127.0.0.1:8001/shop/cart", "http://x/a/shop"),
        ('Expect the URL to be "/home"', "https://example.com/home", "https://example.com/home/more"),
        ('Expect the URL to be "http://x/home?a=1"', "http://x/home?a=1", "http://x/home?a=12"),
        ('Expect the URL to end with "/done"', "http://x/a/done", "http://x/done/more"),
        ('Expect the URL to contain "a.b"', "http://x/a.b", "http://x/aXb"),
    ],
)
def test_url_forms_make_patterns_that_match_what_they_say(line: str, matches: str, misses: str) -> None:
    compiled = regex.compile_pattern(one(line)["pattern"])
    assert compiled.search(matches) is not None
    assert compiled.search(misses) is None


def test_next_to_and_near_name_the_text_beside_the_target() -> None:
    assert one('Click "Remove" next to "Cheese"')["target"] == {"describe": "Remove", "near": "Cheese"}
    assert one('Click "Remove" beside "Cheese"')["target"] == {"describe": "Remove", "near": "Cheese"}
    assert one('Click "Remove" near "Cheese"')["target"] == {"describe": "Remove", "near": "Cheese"}
    assert one("Click the Remove button next to Cheese")["target"] == {
        "describe": "the Remove button",
        "near": "Cheese",
    }
    assert one('Click "Remove" next to "Cheese" in the "Cart" table')["target"] == {
        "describe": "Remove",
        "near": "Cheese",
        "within": {"kind": "table", "name": "Cart"},
    }


def test_expected_text_in_a_scope_is_an_element_showing_it_inside_the_scope() -> None:
    assert one('Expect to see "Total" in the "Cart" section') == {
        "action": "expect_text",
        "text": "Total",
        "target": {"describe": "Total", "within": {"kind": "section", "name": "Cart"}},
    }


def test_a_phrase_that_only_looks_like_a_scope_stays_in_the_target() -> None:
    assert one("Click the Sign in button") == {"action": "click", "target": "the Sign in button"}
    assert one('Type "hi" in the "Notes" section') == {
        "action": "fill",
        "target": 'the "Notes" section',
        "value": "hi",
    }
    assert one('Click "Add to cart in the row"') == {"action": "click", "target": "Add to cart in the row"}


# ------------------------------------------------------------------------------- several steps


def test_several_sentences_on_a_line_when_each_starts_with_a_verb() -> None:
    parsed = parse_lines('Click "Save". Expect to see "Saved". Take a screenshot.')
    assert [(p.line, p.step.action) for p in parsed] == [(1, "click"), (1, "expect_text"), (1, "screenshot")]
    # a period that does not start a sentence the grammar knows stays where it is
    assert one("Click the Mr. Smith link") == {"action": "click", "target": "the Mr. Smith link"}


def test_parse_lines_numbers_lines_from_one_skipping_blanks_and_comments() -> None:
    text = '# the login test\n\nGo to /login\n   \n  # a comment\nClick "Log in"\n'
    parsed = parse_lines(text)
    assert [(p.line, p.text) for p in parsed] == [(3, "Go to /login"), (6, 'Click "Log in"')]


def test_parsed_steps_round_trip_through_the_step_union() -> None:
    text = "\n".join(
        [
            "Go to {{base_url}}/login",
            'Fill "Username" with "admin"',
            'Fill "Password" with "{{secret:ADMIN_PASSWORD}}"',
            'Click "Log in" in the "Login" form',
            'Click "Remove" next to "Cheese"',
            'Expect not to see "Error"',
            'Expect the URL to contain "/welcome?tab=1"',
            'Extract "Order" as order_id',
            'POST {{base_url}}/items with json {"a": 1} expecting 201',
            "Wait 500 ms",
        ]
    )
    steps = parse(text)
    dumped = [step.model_dump(mode="json", exclude_none=True) for step in steps]
    assert STEPS.validate_python(dumped) == steps
    assert STEPS.validate_json(STEPS.dump_json(steps)) == steps


@pytest.mark.parametrize("text", ["/welcome?x=1", "a.b", "(x)+[y]*", "{{base_url}}/a.b", "^$|\\"])
def test_url_contains_escapes_the_text_for_re2_and_keeps_placeholders(text: str) -> None:
    pattern = literal_pattern(text)
    assert regex.problem(pattern) is None
    if "{{" not in text:
        assert regex.compile_pattern(pattern).search(f"http://x{text}y") is not None
        assert regex.compile_pattern(pattern).search("http://x/other") is None
    else:
        assert "{{base_url}}" in pattern


# ----------------------------------------------------------------------------------------- errors


def test_an_unknown_verb_names_the_line_and_the_closest_forms() -> None:
    with pytest.raises(PlanFailed) as caught:
        parse('Go to /login\n\nClik "Save"')
    assert caught.value.message == 'line 3: "Clik "Save"": not a step I know; closest forms: Click "X"'


def test_a_line_far_from_any_verb_points_at_the_readme() -> None:
    assert "not a step I know" in error("Frobnicate the widget")
    assert "README" in error("Frobnicate the widget")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('Fill "Username" with admin', 'the value must be in quotes: Fill "field" with "value"'),
        ('Type admin into "Username"', "the value must be in quotes"),
        ("Select Large from Size", "the option must be in quotes"),
        ("Expect to see Welcome", 'the text must be in quotes: Expect to see "text"'),
        ("Expect not to see Error", 'Expect not to see "text"'),
        ("Expect the title to contain Shop", "the title must be in quotes"),
        ("Expect the URL to contain /welcome", "the URL text must be in quotes"),
    ],
)
def test_a_value_without_quotes_says_quotes_are_needed(line: str, words: str) -> None:
    assert words in error(line)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('Fill "Username"', 'it reads as no form of \'Fill\'; the forms: Fill "field" with "value"'),
        ("Click", "it reads as no form of 'Click'"),
        ("Tick", 'Check "X"'),
        ("Wait", 'Wait for "X"'),
        ('Open "the menu"', "'the menu' is not a URL"),
        ("Go to example.com/shop", "'example.com/shop' has no scheme, so it would be read as a path: write http://"),
        ("Open localhost:8000", "write http://localhost:8000 or https://localhost:8000"),
        ("GET api.test/items", "a request's URL is absolute: write http://api.test/items"),
        ("Wait 3 fortnights", "'fortnights' is not a unit of time"),
        ('Press "Log in"', "'Log in' is not a key"),
        ('Click "unclosed', 'the quote " at character 7 is not closed'),
        ('Extract "Order" as 1order', "'1order' will not do: a variable name is a letter or _"),
        ('Extract "Order" as {{order id}}', "a variable name is"),
        ('Take a screenshot named "after login"', "a screenshot's name is 1 to 64 letters"),
        ('Click ""', "target: is empty"),
        ('Click "  "', "holds only whitespace or invisible characters"),
        ('Click "Remove" in the "" row', "target.within.name: is empty"),
        ('Click "Remove" next to " "', "target.near: holds only whitespace"),
        ('Select "" from "Size"', "value: is empty"),
        ('Expect to see ""', "text: is empty"),
        ('Go to /cart in the "Main" section', "a Go to step has no element to narrow"),
        ('Press "Enter" in the "Search" form', "has no element to narrow"),
        ('Click "A" in the "B" row in the "C" table', "two 'in the ...' scopes"),
        ('Expect not to see "X" in the "Cheese" row', "not in a scope"),
        ('POST {{base_url}}/x with json {"a": } expecting 201', "the JSON after 'with json' does not parse"),
        ("GET {{base_url}}/x expecting lots", "cannot read 'expecting lots' after the URL"),
        ("GET {{base_url}}/x expecting 999", "expect[0].status: Input should be less than or equal to 599"),
        ("Click \ue000 here", "U+E000"),
        ('"Save"', "it starts with no verb"),
        ("1.", "it starts with no verb"),
        ("GET /health expecting 200", "a request's URL is absolute: write {{base_url}}/health"),
        ('Click "Save" and wait', "'and wait' reads as a second step: write one step per line"),
        ("Click Save and check the box", "'and check the box' reads as a second step"),
        ('Click "Log in", then expect to see "Hi"', "'then expect to see \"Hi\"' reads as a second step"),
        ('Click "Save" "Cancel"', "names two elements: a step has one target"),
        ('Hover over "A" or "B"', "names two elements"),
        ('Fill "Email" with "a@b.c" and press Enter', "after the value \"a@b.c\" comes 'and press Enter'"),
        ('Expect to see "A" and "B"', 'after the text "A" comes \'and "B"\''),
        ('Wait for "Spinner" to disappear', "no step that waits for an element to go away"),
        ('Wait for "Toast" to go away', "no step that waits for an element to go away"),
        ('Expect to see "x" within 20 minutes', "timeout_s: Input should be less than or equal to 600"),
        ('Expect to see "x" within 5 parsecs', "'parsecs' is not a unit of time"),
        ("Wait for the page to load", "a page is loaded when Go to"),
    ],
)
def test_every_error_names_its_line_and_why(line: str, words: str) -> None:
    (problem,) = errors(f"Go to /\n{line}")
    assert problem["line"] == 2 and problem["text"] == line.strip()
    assert words in problem["error"]


def test_every_bad_line_is_reported_at_once_with_its_number() -> None:
    text = "\n".join(
        [
            "Go to /login",
            "Clik Save",
            'Fill "Username" with admin',
            'Click "Log in"',
            "",
            'Extract "Order" as 9',
        ]
    )
    with pytest.raises(PlanFailed) as caught:
        parse(text)
    assert [p["line"] for p in caught.value.details["lines"]] == [2, 3, 6]
    lines = caught.value.message.splitlines()
    assert lines[0].startswith('line 2: "Clik Save": not a step I know; closest forms: Click "X"')
    assert lines[1].startswith('line 3: "Fill "Username" with admin": the value must be in quotes')
    assert lines[2].startswith('line 6: "Extract "Order" as 9": var:')


def test_an_empty_goal_is_an_error_not_an_empty_plan() -> None:
    for text in ("", "\n\n", "# only a comment"):
        with pytest.raises(PlanFailed, match="has no steps"):
            parse(text)


def test_a_sentence_that_does_not_start_with_a_verb_is_not_split_off_silently() -> None:
    assert error('Click "Save". Frobnicate it').startswith("after the period, 'Frobnicate' starts no step")
    assert "closest forms: Click" in error('Click "Save". Clik "Cancel"')


# --------------------------------------------------------------------------------------- planner


def test_the_rule_planner_plans_a_goal() -> None:
    outcome = RulePlanner().plan(PlanRequest(goal='Click "Log in"\nExpect to see "Welcome"', start_url="/login"))
    assert outcome.planner == "rules"
    assert [s.action for s in outcome.steps] == ["click", "expect_text"]
    assert outcome.usage.model_calls == 0 and outcome.usage.latency_ms >= 0
    assert outcome.notes == []  # the run opens start_url first


def test_the_rule_planner_notes_a_plan_that_opens_no_page() -> None:
    outcome = RulePlanner().plan(PlanRequest(goal='Click "Log in"'))
    assert "no start_url" in outcome.notes[0]


def test_the_rule_planner_refuses_more_steps_than_a_plan_holds() -> None:
    with pytest.raises(PlanFailed, match="the goal reads as 501 steps, more than the 500 a plan may hold"):
        RulePlanner().plan(PlanRequest(goal="\n".join(['Click "Save"'] * 501)))


def test_the_rule_planner_fails_naming_the_lines() -> None:
    with pytest.raises(PlanFailed) as caught:
        RulePlanner().plan(PlanRequest(goal='Click "Log in"\nClik "x"'))
    assert caught.value.message.startswith('line 2: "Clik "x"": not a step I know')
    assert caught.value.details["lines"][0]["line"] == 2


# ------------------------------------------------------------------- what would be read wrongly is refused


@pytest.mark.parametrize(
    "line",
    [
        'Expect "Bread" not to be visible',
        'Expect "Cart" not to contain "Bread"',
        'Expect the URL not to contain "/login"',
        'Expect the title not to contain "Error"',
        "Click Not now",
    ],
)
def test_a_negation_the_form_cannot_check_is_an_error_not_a_check_that_passes(line: str) -> None:
    # a negation left in the target would check that the element *is* shown: a green that means the opposite
    assert "holds a negation" in error(line) and 'Expect not to see "text"' in error(line)


@pytest.mark.parametrize(
    ("line", "unread"),
    [
        ('Click "Remove" in the "Cheese" rwo', "in rwo"),
        ('Click "Remove" on the "Cheese" row', "on"),
        ('Click "Remove" for "Cheese"', "for"),
        ('Click "Remove" from "Cheese"', "from"),
        ('Click "Remove" in the "Cheese" panel', "in panel"),
        ('Expect to see "Total" in the "Cart" sektion', "sektion"),
    ],
)
def test_words_beside_a_quoted_name_that_are_no_scope_are_an_error_not_dropped(line: str, unread: str) -> None:
    # at run time only the quoted name would be looked for: the scope the user meant would silently go
    message = error(line)
    assert f"words the grammar does not read ({unread})" in message
    assert 'in the "X" ' in message and 'next to "X"' in message


def test_a_quoted_name_with_the_kind_of_element_still_reads() -> None:
    assert one('Click the "Log in" button') == {"action": "click", "target": 'the "Log in" button'}
    assert one('Fill the "Username" field with "x"') == {
        "action": "fill",
        "target": 'the "Username" field',
        "value": "x",
    }
    assert one('Click "Not now"') == {"action": "click", "target": "Not now"}


def test_backticks_quote_a_name() -> None:
    assert one("Click `Save`") == {"action": "click", "target": "Save"}


def test_a_title_is_checked_for_what_it_contains_only() -> None:
    # expect_title checks containment: "to be" would pass on "Shop - Error 500"
    assert "Expect the title to contain" in error('Expect the title to be "Shop"')
    assert "Expect the title to contain" in error('Expect the title is "Shop"')
    assert one('Expect the title to contain "Shop"') == {"action": "expect_title", "text": "Shop"}


def test_a_number_alone_is_not_waited_for_as_a_text() -> None:
    assert "Wait 5000 ms" in error("Wait for 5000")


@pytest.mark.parametrize("depth", [70, 600, 1900])
def test_json_nested_past_what_a_test_can_store_is_an_error_on_its_line(depth: int) -> None:
    body = "[" * depth + "]" * depth
    assert "nests deeper than 64 levels" in error(f"POST http://127.0.0.1:9/items with json {body}")


def test_a_line_longer_than_a_sentence_is_refused() -> None:
    assert "more than the 1000 of a sentence" in error('Click "' + "x" * 1200 + '"')
