"""The Bedrock planner and healer against a stubbed ``bedrock-runtime`` (moto does not mock Converse).

``botocore.stub.Stubber`` answers most cases; it answers before botocore's retry handler runs, so the
throttling cases answer from a ``before-send`` hook instead: the request is built, signed and "sent", and the
throttled answer goes through botocore's real retry path (standard mode, backoff) like one from AWS.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.stub import ANY, Stubber

from shared.aws.bedrock import BedrockHealer, BedrockPlanner, heal_tool_config, plan_tool_config
from shared.aws.clients import BEDROCK_MAX_ATTEMPTS, new_bedrock_client
from shared.models.planning import ElementInfo, HealerFailed, HealRequest, PlanFailed, PlanRequest
from shared.models.plans import Click, Fill, Goto, RoleTarget
from shared.models.tests import TestKind
from shared.planning import prompts
from shared.settings import Settings

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
REGION = "eu-west-1"

GOAL = (
    "Go to {{base_url}}/login\n"
    'Fill "Username" with "admin"\n'
    'Fill "Password" with "{{secret:ADMIN_PASSWORD}}"\n'
    'Click "Log in"\n'
    'Expect to see "Welcome, admin"'
)
VALID_STEPS: list[dict[str, Any]] = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_text", "text": "Welcome, admin"},
]


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh client (hooks do not leak into other tests), with fake credentials so requests can be signed."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    yield new_bedrock_client(REGION, None)


@pytest.fixture
def sent(client: Any) -> list[dict[str, Any]]:
    """The parameters of every Converse call, as the caller made it."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(copy.deepcopy(params))

    client.meta.events.register("provide-client-params.bedrock-runtime.Converse", record)
    return calls


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bedrock_model_id": MODEL,
        "bedrock_region": REGION,
        "bedrock_max_tokens": 2048,
        "bedrock_temperature": 0.2,
        "bedrock_input_cost_per_1k": 0.001,
        "bedrock_output_cost_per_1k": 0.005,
        **overrides,
    }
    return Settings(**values)


def planner(client: Any) -> BedrockPlanner:
    return BedrockPlanner.from_settings(settings(), client=client)


def plan_request(**overrides: Any) -> PlanRequest:
    values: dict[str, Any] = {
        "goal": GOAL,
        "start_url": "http://127.0.0.1:5000",
        "variables": ["base_url"],
        **overrides,
    }
    return PlanRequest(**values)


def tool_answer(tool_input: Any, *, name: str = prompts.PLAN_TOOL, tokens: tuple[int, int] = (1000, 200)) -> dict:
    """A Converse response that calls the tool ``name`` with ``tool_input``."""
    return answer([{"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": tool_input}}], tokens=tokens)


def answer(content: list[dict[str, Any]], *, tokens: tuple[int, int] = (1000, 200), stop: str = "tool_use") -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 750},
    }


def expected_params(max_tokens: int = 2048, kind: TestKind = TestKind.browser) -> dict[str, Any]:
    return {
        "modelId": MODEL,
        "system": [{"text": prompts.PLAN_SYSTEM}],
        "messages": ANY,
        "toolConfig": plan_tool_config(kind),
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0.2},
    }


# ------------------------------------------------------------------------------------ the tool


def test_the_plan_tool_is_forced_and_its_schema_is_self_contained() -> None:
    config = plan_tool_config(TestKind.browser)
    assert config["toolChoice"] == {"tool": {"name": "submit_plan"}}
    spec = config["tools"][0]["toolSpec"]
    assert spec["name"] == "submit_plan"
    schema = spec["inputSchema"]["json"]
    assert schema["type"] == "object"
    assert schema["required"] == ["steps"]

    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "properties":
                    yield key
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)

    used = set(keys(schema))
    assert not used & {"$ref", "$defs", "oneOf", "discriminator", "title"}
    branches = schema["properties"]["steps"]["items"]["anyOf"]
    assert len(branches) == 16
    assert all(branch["required"][0] == "action" for branch in branches)
    # the API kind gets request steps only
    api = plan_tool_config(TestKind.api)["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert api["properties"]["steps"]["items"]["properties"]["action"]["const"] == "request"


def test_the_inlined_schema_accepts_what_pydantic_accepts_and_refuses_what_it_refuses() -> None:
    schema = plan_tool_config(TestKind.browser)["tools"][0]["toolSpec"]["inputSchema"]["json"]
    validator = jsonschema.Draft202012Validator(schema)
    scoped = {
        "action": "click",
        "target": {"role": "button", "name": "Remove", "within": {"kind": "row", "name": "Cheese"}},
    }
    validator.validate({"steps": [*VALID_STEPS, scoped, {"action": "click", "target": "the Log in button"}]})
    bad: dict[str, Any]
    for bad in (
        {"steps": []},
        {"steps": [{"action": "click"}]},
        {"steps": [{"action": "teleport", "url": "x"}]},
        {"steps": [{"action": "click", "target": {"role": "button"}, "force": True}]},
        {"steps": [{"url": "http://x"}]},
    ):
        assert not validator.is_valid(bad), bad


def test_the_heal_tool_is_forced() -> None:
    config = heal_tool_config()
    assert config["toolChoice"] == {"tool": {"name": "choose_element"}}
    schema = config["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["properties"]["choices"]["maxItems"] == 3
    assert schema["properties"]["choices"]["items"]["properties"]["score"] == {
        "description": "How sure you are that it is the element meant: 0 to 1.",
        "maximum": 1,
        "minimum": 0,
        "type": "number",
    }


# ---------------------------------------------------------------------------------- the planner


def test_a_valid_plan(client: Any, sent: list[dict[str, Any]]) -> None:
    # Given a model that answers with a valid plan
    with Stubber(client) as stub:
        stub.add_response("converse", tool_answer({"steps": VALID_STEPS}, tokens=(12_000, 300)), expected_params())
        # When the goal is planned
        outcome = planner(client).plan(plan_request())
        stub.assert_no_pending_responses()

    # Then the steps are the model's, validated, and the call is recorded
    assert outcome.planner == "bedrock"
    assert outcome.model_id == MODEL
    assert isinstance(outcome.steps[0], Goto)
    assert isinstance(outcome.steps[1], Fill)
    assert outcome.steps[3] == Click(target=RoleTarget(role="button", name="Log in"))
    assert outcome.usage.model_calls == 1
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (12_000, 300)
    assert outcome.usage.cost_usd == pytest.approx(12 * 0.001 + 0.3 * 0.005)
    assert outcome.usage.latency_ms >= 0
    assert outcome.notes == []
    # and the model was told the goal, the start URL and the variables
    (params,) = sent
    (message,) = params["messages"]
    text = message["content"][0]["text"]
    assert GOAL in text
    assert "http://127.0.0.1:5000" in text
    assert "{{base_url}}" in text


def test_an_invalid_plan_is_repaired_in_the_same_conversation(client: Any, sent: list[dict[str, Any]]) -> None:
    # Given a model whose first plan lacks a fill's value and clicks nothing, and whose second is valid
    broken = [VALID_STEPS[0], {"action": "fill", "target": {"label": "Username"}}, {"action": "click"}]
    first = tool_answer({"steps": broken}, tokens=(1000, 100))
    with Stubber(client) as stub:
        stub.add_response("converse", first, expected_params())
        stub.add_response("converse", tool_answer({"steps": VALID_STEPS}, tokens=(1500, 200)), expected_params())
        outcome = planner(client).plan(plan_request())
        stub.assert_no_pending_responses()

    # Then the second call carries the first answer and its validation errors, as the tool's error result
    assert len(outcome.steps) == 5
    assert outcome.usage.model_calls == 2
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (2500, 300)
    assert outcome.usage.cost_usd == pytest.approx(2.5 * 0.001 + 0.3 * 0.005)
    assert any("repaired" in note for note in outcome.notes)
    user, assistant, repair = sent[1]["messages"]
    assert sent[0]["messages"] == [user]
    assert assistant == {"role": "assistant", "content": first["output"]["message"]["content"]}
    assert repair["role"] == "user"
    (block,) = repair["content"]
    result = block["toolResult"]
    assert result["toolUseId"] == "tooluse_1"
    assert result["status"] == "error"
    errors = result["content"][0]["text"]
    assert "steps.1.fill.value: Field required" in errors
    assert "steps.2.click.target: Field required" in errors


def test_a_text_only_answer_gets_a_repair_round_asking_for_the_tool(client: Any, sent: list[dict]) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", answer([{"text": "Here is your plan: ..."}], stop="end_turn"), expected_params())
        stub.add_response("converse", tool_answer({"steps": VALID_STEPS}), expected_params())
        outcome = planner(client).plan(plan_request())

    assert outcome.usage.model_calls == 2
    _, assistant, repair = sent[1]["messages"]
    assert assistant["content"] == [{"text": "Here is your plan: ..."}]
    assert repair == {"role": "user", "content": [{"text": prompts.REPAIR_NO_TOOL.format(tool="submit_plan")}]}


def test_invalid_twice_fails_with_the_errors_and_the_usage_of_both_calls(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", tool_answer({"steps": [{"action": "click"}]}, tokens=(900, 50)))
        stub.add_response("converse", tool_answer({"plan": VALID_STEPS}, tokens=(1100, 70)))
        with pytest.raises(PlanFailed) as failed:
            planner(client).plan(plan_request())
        stub.assert_no_pending_responses()

    error = failed.value
    assert MODEL in error.message
    assert "even after a repair round" in error.message
    assert "plan: Extra inputs are not permitted" in error.message
    assert error.details["errors"] == ["steps: Field required", "plan: Extra inputs are not permitted"]
    assert error.details["first_errors"] == ["steps.0.click.target: Field required"]
    assert error.usage.model_calls == 2
    assert (error.usage.input_tokens, error.usage.output_tokens) == (2000, 120)
    assert error.usage.cost_usd == pytest.approx(2 * 0.001 + 0.12 * 0.005)


def test_steps_sent_as_json_text_are_read(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", tool_answer({"steps": json.dumps(VALID_STEPS)}))
        outcome = planner(client).plan(plan_request())

    assert len(outcome.steps) == 5
    assert outcome.usage.model_calls == 1


def test_an_invented_secret_is_an_error_the_model_must_repair(client: Any, sent: list[dict]) -> None:
    invented = [*VALID_STEPS[:2], {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:PW}}"}]
    with Stubber(client) as stub:
        stub.add_response("converse", tool_answer({"steps": invented}))
        stub.add_response("converse", tool_answer({"steps": VALID_STEPS}))
        outcome = planner(client).plan(plan_request())

    assert outcome.usage.model_calls == 2
    errors = sent[1]["messages"][2]["content"][0]["toolResult"]["content"][0]["text"]
    assert "{{secret:PW}} is not in the goal" in errors


def test_an_answer_cut_at_the_token_limit_says_so_in_the_repair(client: Any, sent: list[dict]) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", answer([{"text": "..."}], stop="max_tokens"))
        stub.add_response("converse", tool_answer({"steps": VALID_STEPS}))
        planner(client).plan(plan_request())

    assert "cut off at the token limit" in sent[1]["messages"][2]["content"][0]["text"]


def test_an_api_goal_is_planned_with_request_steps_only(client: Any) -> None:
    get = {"action": "request", "method": "GET", "url": "{{base_url}}/health", "expect": [{"status": 200}]}
    with Stubber(client) as stub:
        stub.add_response("converse", tool_answer({"steps": [VALID_STEPS[0]]}), expected_params(kind=TestKind.api))
        stub.add_response("converse", tool_answer({"steps": [get]}), expected_params(kind=TestKind.api))
        outcome = planner(client).plan(plan_request(goal="GET {{base_url}}/health expecting 200", kind="api"))

    assert outcome.usage.model_calls == 2
    assert outcome.steps[0].action == "request"


@pytest.mark.parametrize(
    ("code", "status", "says"),
    [
        ("AccessDeniedException", 403, "bedrock:InvokeModel"),
        ("ResourceNotFoundException", 404, "AUTOTEST_BEDROCK_MODEL_ID"),
        ("ValidationException", 400, "The provided model identifier is invalid."),
    ],
)
def test_an_error_retrying_cannot_fix_fails_at_once_naming_model_and_region(
    client: Any, code: str, status: int, says: str
) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "converse",
            service_error_code=code,
            service_message="The provided model identifier is invalid.",
            http_status_code=status,
        )
        with pytest.raises(PlanFailed) as failed:
            planner(client).plan(plan_request())
        stub.assert_no_pending_responses()

    assert f"model {MODEL} in {REGION}" in failed.value.message
    assert code in failed.value.message
    assert says in failed.value.message
    assert failed.value.details["aws_code"] == code
    assert failed.value.usage.model_calls == 0


# -------------------------------------------------- throttling: botocore's own retry path, no stubber


class _Body:
    """What botocore reads an HTTP response's body from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _http(status: int, body: dict[str, Any], error: str | None = None) -> AWSResponse:
    headers = HeadersDict({"content-type": "application/json", "x-amzn-requestid": "req-1"})
    if error:
        headers["x-amzn-errortype"] = f"{error}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    return AWSResponse(
        "https://bedrock-runtime.eu-west-1.amazonaws.com",
        status,
        headers,  # type: ignore[arg-type]  # botocore's own header dict, as its HTTP layer passes
        _Body(json.dumps(body).encode()),
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's backoff delays, not slept."""
    import botocore.endpoint

    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", delays.append)  # type: ignore[attr-defined]
    return delays


def _serve(client: Any, answers: list[AWSResponse]) -> list[Any]:
    """Answer each request sent with the next of ``answers``; returns the requests, as botocore sent them."""
    requests: list[Any] = []

    def send(request: Any, **_: Any) -> AWSResponse:
        requests.append(request)
        return answers[min(len(requests), len(answers)) - 1]

    client.meta.events.register("before-send.bedrock-runtime.Converse", send)
    return requests


def test_throttled_then_ok_is_retried_by_botocore(client: Any, sleeps: list[float]) -> None:
    # Given Bedrock throttles once, then answers
    throttled = _http(429, {"message": "Too many requests, please wait."}, error="ThrottlingException")
    requests = _serve(client, [throttled, _http(200, tool_answer({"steps": VALID_STEPS}))])

    outcome = planner(client).plan(plan_request())

    # Then botocore sent the request twice, backing off once, and the planner made one model call
    assert len(requests) == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 1
    assert len(outcome.steps) == 5
    assert outcome.usage.model_calls == 1
    assert outcome.notes == ["model call 1 was retried 1 time(s) (throttled or unavailable)"]
    # and what was sent is the Converse request (model in the path, the forced tool in the body)
    assert unquote(requests[0].url).endswith(f"/model/{MODEL}/converse")
    assert requests[1].headers["amz-sdk-request"] == f"attempt=2; max={BEDROCK_MAX_ATTEMPTS}".encode()
    body = json.loads(requests[0].body)
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "submit_plan"}}
    assert body["inferenceConfig"] == {"maxTokens": 2048, "temperature": 0.2}


@pytest.mark.parametrize(("status", "code"), [(429, "ModelNotReadyException"), (503, "ServiceUnavailableException")])
def test_a_model_not_ready_or_unavailable_is_retried_too(
    client: Any, sleeps: list[float], status: int, code: str
) -> None:
    requests = _serve(
        client, [_http(status, {"message": "later"}, error=code), _http(200, tool_answer({"steps": VALID_STEPS}))]
    )

    assert len(planner(client).plan(plan_request()).steps) == 5
    assert len(requests) == 2


def test_throttled_on_every_attempt_fails_after_the_configured_attempts(client: Any, sleeps: list[float]) -> None:
    requests = _serve(client, [_http(429, {"message": "Too many requests"}, error="ThrottlingException")])

    with pytest.raises(PlanFailed) as failed:
        planner(client).plan(plan_request())

    assert len(requests) == BEDROCK_MAX_ATTEMPTS == 6
    assert len(sleeps) == BEDROCK_MAX_ATTEMPTS - 1
    assert f"after {BEDROCK_MAX_ATTEMPTS} attempts (ThrottlingException)" in failed.value.message
    assert f"model {MODEL} in {REGION}" in failed.value.message
    assert failed.value.details["retryable"] is True


# ----------------------------------------------------------------------------------- the healer


def elements(count: int = 4) -> list[ElementInfo]:
    base = [
        ElementInfo(index=0, role="textbox", name="User name", tag="input", attributes={"id": "user"}),
        ElementInfo(index=1, role="button", name="Sign in", tag="button"),
        ElementInfo(index=2, role="link", name="Sign up", tag="a", attributes={"href": "/signup"}),
        ElementInfo(index=3, role="button", name="Cancel", tag="button", enabled=False),
    ]
    extra = [ElementInfo(index=i, role="generic", name=f"item {i}", tag="div") for i in range(4, count)]
    return (base + extra)[:count]


def heal_request(page: list[ElementInfo] | None = None) -> HealRequest:
    return HealRequest(
        action="click",
        target='role=button name="Log in"',
        wanted="Log in",
        roles=["button", "link"],
        reason="matched nothing",
        url="http://127.0.0.1:5001/login",
        elements=page if page is not None else elements(),
    )


def healer(client: Any) -> BedrockHealer:
    return BedrockHealer.from_settings(settings(), client=client)


def heal_params() -> dict[str, Any]:
    return {
        "modelId": MODEL,
        "system": [{"text": prompts.HEAL_SYSTEM}],
        "messages": ANY,
        "toolConfig": heal_tool_config(),
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.2},
    }


def heal_answer(choices: Any) -> dict[str, Any]:
    return tool_answer({"choices": choices}, name=prompts.HEAL_TOOL, tokens=(800, 40))


def test_the_healer_proposes_the_models_choices_best_first(client: Any, sent: list[dict]) -> None:
    choices = [
        {"index": 2, "score": 0.3, "reason": "a link, worded alike"},
        {"index": 1, "score": 0.92, "reason": "Sign in means Log in"},
    ]
    with Stubber(client) as stub:
        stub.add_response("converse", heal_answer(choices), heal_params())
        proposals = healer(client).propose(heal_request())
        stub.assert_no_pending_responses()

    assert [(p.index, p.score) for p in proposals] == [(1, 0.92), (2, 0.3)]
    assert proposals[0].reason == "Sign in means Log in"
    text = sent[0]["messages"][0]["content"][0]["text"]
    assert '[1] button "Sign in" <button>' in text
    assert '[3] button "Cancel" <button> (disabled)' in text
    assert "Roles the action can use: button, link" in text


@pytest.mark.parametrize(
    "bad",
    [
        {"index": 7, "score": 0.9},  # not on the page
        {"index": -1, "score": 0.9},
        {"index": 1, "score": 1.7},  # scores are 0..1
        {"index": 1, "score": "high"},
        {"index": 1, "score": "0.9"},  # a string, not a number
        {"index": 1, "score": True},
        {"index": 1},
        {"index": "1", "score": 0.9},
        "Sign in",
    ],
)
def test_a_choice_out_of_range_or_with_a_malformed_score_is_dropped(client: Any, bad: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", heal_answer([bad, {"index": 2, "score": 0.4}]))
        proposals = healer(client).propose(heal_request())

    assert [(p.index, p.score) for p in proposals] == [(2, 0.4)]


def test_a_long_reason_is_cut_not_dropped(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", heal_answer([{"index": 1, "score": 0.8, "reason": "r" * 1000}]))
        (proposal,) = healer(client).propose(heal_request())

    assert proposal.reason == "r" * 300


def test_a_choice_repeated_counts_once_and_more_than_three_are_cut(client: Any) -> None:
    choices = [{"index": i % 3, "score": 0.5} for i in range(6)]
    with Stubber(client) as stub:
        stub.add_response("converse", heal_answer(choices))
        proposals = healer(client).propose(heal_request())

    assert [p.index for p in proposals] == [0, 1, 2]


def test_a_large_page_is_listed_within_bounds_and_an_element_not_listed_is_refused(client: Any, sent: list) -> None:
    # Given a page of 1,000 elements with long texts
    page = [
        ElementInfo(
            index=i,
            role="button" if i % 10 == 0 else "generic",
            name="x" * 5000,
            tag="div",
            text="y" * 5000,
            attributes={f"data-{k}": "z" * 500 for k in range(20)},
        )
        for i in range(1000)
    ]
    listed = prompts.heal_elements(heal_request(page))
    assert len(listed) == prompts.MAX_HEAL_ELEMENTS == 200
    # the 100 buttons first (a compatible role), then the first others, in page order
    assert sum(1 for e in listed if e.role == "button") == 100
    assert [e.index for e in listed] == sorted(e.index for e in listed)

    with Stubber(client) as stub:
        # index 999 is a generic element past the cap: the model never saw it
        stub.add_response("converse", heal_answer([{"index": 999, "score": 0.9}, {"index": 990, "score": 0.8}]))
        proposals = healer(client).propose(heal_request(page))

    assert [p.index for p in proposals] == [990]
    text = sent[0]["messages"][0]["content"][0]["text"]
    # at most 200 lines of a name (120 characters), a text (80) and 6 attributes (40 each)
    assert len(text) < 110_000, len(text)
    assert "Elements (200 of 1000):" in text
    assert "x" * 121 not in text


def test_a_healer_answer_in_prose_or_without_choices_fails_clearly(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("converse", answer([{"text": "I think it is Sign in"}], stop="end_turn"))
        stub.add_response("converse", tool_answer({"pick": 1}, name=prompts.HEAL_TOOL))
        with pytest.raises(HealerFailed, match="without choosing"):
            healer(client).propose(heal_request())
        with pytest.raises(HealerFailed, match="without a list of choices"):
            healer(client).propose(heal_request())


def test_a_bedrock_error_is_a_healer_failure_naming_model_and_region(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_client_error("converse", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(HealerFailed) as failed:
            healer(client).propose(heal_request())

    assert f"model {MODEL} in {REGION}" in failed.value.message
    assert failed.value.details["aws_code"] == "AccessDeniedException"


def test_a_page_with_no_elements_asks_nothing(client: Any) -> None:
    with Stubber(client) as stub:
        assert healer(client).propose(heal_request([])) == []
        stub.assert_no_pending_responses()


def test_from_settings_defaults_the_region_to_aws_region(client: Any) -> None:
    built = BedrockPlanner.from_settings(settings(bedrock_region=None, aws_region="ap-southeast-2"), client=client)
    assert built.region == "ap-southeast-2"
    assert built.model_id == MODEL


def test_from_settings_builds_the_client_of_the_bedrock_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    # the emulator's endpoint is not Bedrock's
    built = BedrockHealer.from_settings(settings(aws_endpoint_url="http://127.0.0.1:1"))
    client = built._converse.client
    assert client.meta.region_name == REGION
    assert client.meta.endpoint_url == f"https://bedrock-runtime.{REGION}.amazonaws.com"
    retries = client.meta.config.retries
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == BEDROCK_MAX_ATTEMPTS
    assert client.meta.config.read_timeout == 180


def test_latency_is_the_time_planning_took_repair_included(client: Any) -> None:
    ticks = iter([100.0, 102.345])
    planner = BedrockPlanner(client, model_id=MODEL, region=REGION, clock=lambda: next(ticks))
    with Stubber(client) as stub:
        stub.add_response("converse", tool_answer({"steps": []}))
        stub.add_response("converse", tool_answer({"steps": VALID_STEPS}))
        outcome = planner.plan(plan_request())

    assert outcome.usage.latency_ms == 2345
    assert outcome.usage.cost_usd == 0.0  # no prices given
