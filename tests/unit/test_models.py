"""The step plan language and the test/run shapes."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.models.plans import (
    CssTarget,
    ExpectJsonPath,
    ExpectStatus,
    Plan,
    RoleTarget,
    describe_target,
)
from shared.models.runs import TERMINAL, RunCreate, RunStatus, can_transition
from shared.models.tests import TestCreate, TestKind, TestSpec

plan = TypeAdapter(Plan)


def test_every_browser_action_and_request_parse() -> None:
    steps = plan.validate_python(
        [
            {"action": "goto", "url": "{{base_url}}/login"},
            {"action": "click", "target": {"role": "button", "name": "Log in"}},
            {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
            {"action": "press", "key": "Enter"},
            {"action": "select", "target": {"test_id": "color"}, "value": "red"},
            {"action": "check", "target": {"text": "I agree"}},
            {"action": "uncheck", "target": {"placeholder": "x"}},
            {"action": "hover", "target": {"css": "#menu"}},
            {"action": "wait_for", "ms": 100},
            {"action": "wait_for", "target": "the Save button"},
            {"action": "expect_text", "text": "Welcome"},
            {"action": "expect_visible", "target": {"role": "heading"}},
            {"action": "expect_url", "pattern": "/home"},
            {"action": "expect_title", "text": "Home"},
            {"action": "screenshot", "name": "home"},
            {"action": "extract", "target": {"css": "#id"}, "var": "order_id"},
            {
                "action": "request",
                "method": "POST",
                "url": "{{base_url}}/api/items",
                "json": {"name": "x"},
                "extract": {"item_id": "$.id"},
                "expect": [{"status": 201}, {"jsonpath": "$.name", "equals": "x"}],
            },
        ]
    )
    assert [s.action for s in steps][:3] == ["goto", "click", "fill"]
    assert isinstance(steps[1].target, RoleTarget)  # type: ignore[union-attr]
    assert isinstance(steps[7].target, CssTarget)  # type: ignore[union-attr]
    request = steps[-1]
    assert request.json_body == {"name": "x"}  # type: ignore[union-attr]
    assert isinstance(request.expect[0], ExpectStatus)  # type: ignore[union-attr]
    assert isinstance(request.expect[1], ExpectJsonPath)  # type: ignore[union-attr]
    # the alias round-trips: a stored plan re-validates
    assert plan.validate_python(plan.dump_python(steps, mode="json")) == steps


@pytest.mark.parametrize(
    ("step", "where", "says"),
    [
        ({"action": "goto"}, (0, "goto", "url"), "Field required"),
        ({"action": "click", "target": {"rol": "button"}}, (0, "click", "target"), "one of the keys role"),
        ({"action": "teleport"}, (0,), "does not match any of the expected tags"),
        ({"action": "wait_for"}, (0, "wait_for"), "exactly one of 'target' or 'ms'"),
        ({"action": "wait_for", "ms": 3000, "timeout_s": 1}, (0, "wait_for"), "longer than its timeout_s"),
        ({"action": "fill", "target": "x", "value": "y", "typo": 1}, (0, "fill", "typo"), "Extra inputs"),
        ({"action": "request", "url": "u", "json": {}, "body": "b"}, (0, "request"), "not both"),
        ({"action": "request", "url": "u", "expect": [{"statuz": 1}]}, (0, "request", "expect", 0), "expectation"),
        ({"action": "extract", "target": "x", "var": "9bad"}, (0, "extract", "var"), "pattern"),
    ],
)
def test_bad_steps_say_what_and_where(step: dict, where: tuple, says: str) -> None:
    with pytest.raises(ValidationError) as info:
        plan.validate_python([step])
    errors = info.value.errors()
    assert any(tuple(e["loc"]) == where and says in e["msg"] for e in errors), errors


def test_a_test_needs_steps_or_goal() -> None:
    with pytest.raises(ValidationError, match="needs 'steps'"):
        TestCreate(name="nothing")
    assert TestCreate(name="plain english", goal="Go to http://x").resolved_kind() == TestKind.browser


def test_kind_is_inferred_from_steps() -> None:
    api = TestCreate.model_validate({"name": "api", "steps": [{"action": "request", "url": "http://x"}]})
    mixed = TestCreate.model_validate(
        {"name": "m", "steps": [{"action": "goto", "url": "http://x"}, {"action": "request", "url": "http://x"}]}
    )
    assert api.resolved_kind() == TestKind.api
    assert mixed.resolved_kind() == TestKind.browser


def test_spec_drops_test_level_fields() -> None:
    body = TestCreate.model_validate(
        {"name": "n", "tags": ["smoke"], "steps": [{"action": "goto", "url": "u"}], "variables": {"a": 1}}
    )
    spec = body.spec()
    assert type(spec) is TestSpec
    assert spec.variables == {"a": 1}
    assert "name" not in spec.model_dump()


def test_run_create_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'test_id'"):
        RunCreate()
    with pytest.raises(ValidationError, match="exactly one of 'test_id'"):
        RunCreate.model_validate({"test_id": "tst_1", "spec": {"steps": [{"action": "goto", "url": "u"}]}})
    with pytest.raises(ValidationError, match="'revision' needs 'test_id'"):
        RunCreate.model_validate({"revision": 2, "spec": {"steps": [{"action": "goto", "url": "u"}]}})


def test_status_machine() -> None:
    assert can_transition(RunStatus.queued, RunStatus.running)
    assert can_transition(RunStatus.queued, RunStatus.cancelled)
    assert can_transition(RunStatus.running, RunStatus.passed)
    assert can_transition(RunStatus.running, RunStatus.queued)  # a retry
    assert not can_transition(RunStatus.queued, RunStatus.passed)
    for status in TERMINAL:
        assert status.terminal
        assert not any(can_transition(status, other) for other in RunStatus)


def test_describe_target() -> None:
    assert describe_target(RoleTarget(role="button", name="Log in")) == 'role=button name="Log in"'
    assert describe_target(CssTarget(css="#x")) == 'css="#x"'
    assert describe_target("the Save button") == "the Save button"
    assert describe_target(None) is None


def test_describe_step() -> None:
    from shared.models.plans import describe_step

    described = [
        describe_step(s)
        for s in plan.validate_python(
            [
                {"action": "goto", "url": "http://x/login"},
                {"action": "request", "method": "POST", "url": "http://x/api"},
                {"action": "expect_text", "text": "Welcome"},
                {"action": "wait_for", "ms": 50},
                {"action": "click", "target": "the button"},
            ]
        )
    ]
    assert described == ["http://x/login", "POST http://x/api", '"Welcome"', "50 ms", None]


def test_step_result_summary() -> None:
    from shared.models.runs import StepResult

    step = StepResult(index=0, action="expect_text", status="passed", target='css="#count"', detail='"2 items"')
    assert step.summary() == 'css="#count" "2 items"'
    assert step.model_copy(update={"description": "count"}).summary() == 'count (css="#count" "2 items")'
    assert StepResult(index=1, action="screenshot", status="passed").summary() == ""


def test_validation_errors_read_like_the_file() -> None:
    from shared.models.tests import TestCreate
    from shared.models.validation import describe_errors

    body = {
        "name": "x",
        "steps": [{"action": "request", "url": "u", "expect": [{"status": "abc"}]}],
        "variables": {"a": float("nan")},
    }
    with pytest.raises(ValidationError) as info:
        TestCreate.model_validate(body)
    where = [problem["loc"] for problem in describe_errors(info.value.errors())]
    assert where == ["steps[0].expect[0].status", "variables.a"]  # no union tags, one entry per field
