"""The Bedrock planner and healer: the ``bedrock-runtime`` Converse API, answering through a forced tool.

:class:`BedrockPlanner` gives the model the plan's JSON schema (from the pydantic step union,
``shared/planning/tool_schema.py``) as the input schema of the tool ``submit_plan`` and forces that tool, then
validates the tool's input with pydantic. An invalid answer (or one in prose, or cut off at the token limit)
gets one repair round in the same conversation: the errors go back as the tool's result with status
``error`` (or, with no tool call to answer, as a user message asking for it). Invalid twice is
:class:`~shared.models.planning.PlanFailed`, with the errors and the usage of both calls.

:class:`BedrockHealer` lists the page's elements (bounded) and lets the model pick up to three through the
tool ``choose_element``; a choice whose index was not listed, or whose score is not a number from 0 to 1, is
dropped. The runner verifies every proposal before acting on it.

Throttling and transient errors are retried by botocore (``bedrock_config`` in ``clients.py``: standard
mode, exponential backoff with jitter), never by a loop here. An error that retrying cannot fix (access
denied, an unknown model id, a refused request) ends the call with a message naming the model and region.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from shared.aws.clients import bedrock_client
from shared.aws.errors import error_code
from shared.models.planning import (
    HealerFailed,
    HealProposal,
    HealRequest,
    PlanFailed,
    PlanOutcome,
    PlanRequest,
    PlanUsage,
)
from shared.models.tests import TestKind
from shared.observability import logger
from shared.planning import prompts
from shared.planning.tool_schema import tool_input_schema
from shared.settings import Settings

#: errors botocore retries (throttling, a model still loading, the service busy or failing): seen here only once
#: its attempts are used up
_RETRIED = frozenset(
    {
        "ThrottlingException",
        "ModelNotReadyException",
        "ServiceUnavailableException",
        "InternalServerException",
    }
)


class BedrockError(Exception):
    """A Converse call that failed; ``message`` names the model and region, ``details`` the AWS error code."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def _describe(exc: ClientError | BotoCoreError, model_id: str, region: str) -> BedrockError:
    where = f"model {model_id} in {region}"
    if isinstance(exc, BotoCoreError):
        return BedrockError(
            f"Bedrock could not be reached for {where} ({type(exc).__name__}: {exc})",
            {"model_id": model_id, "region": region, "error": type(exc).__name__, "retryable": True},
        )
    code = error_code(exc)
    said = str(exc.response.get("Error", {}).get("Message", "")).strip()
    attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
    details: dict[str, Any] = {"model_id": model_id, "region": region, "aws_code": code, "attempts": attempts}
    if code == "AccessDeniedException":
        message = (
            f"Bedrock denied access to {where} (AccessDeniedException): the role needs bedrock:InvokeModel on the "
            "model, and the model must be enabled for the account in that region (Bedrock console, Model access)"
        )
    elif code == "ResourceNotFoundException":
        message = (
            f"Bedrock has no {where} (ResourceNotFoundException): check AUTOTEST_BEDROCK_MODEL_ID and "
            "AUTOTEST_BEDROCK_REGION"
        )
    elif code == "ValidationException":
        message = f"Bedrock refused the request to {where} (ValidationException: {said or 'no reason given'})"
    elif code in _RETRIED:
        message = (
            f"Bedrock kept failing for {where} after {attempts} attempts ({code}): try again later, or raise the "
            "account's Bedrock quota"
        )
        details["retryable"] = True
    elif code == "ModelTimeoutException":
        message = f"{where} took too long to answer (ModelTimeoutException): try again, or a shorter goal"
        details["retryable"] = True
    else:
        message = f"Bedrock call to {where} failed ({code}{': ' + said if said else ''})"
    return BedrockError(message, details)


def _client(region: str) -> Any:
    """The Bedrock client of ``region``. Not sent to ``Settings.aws_endpoint_url`` explicitly (that is an
    emulator's, and moto has no Bedrock): boto3 reads ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` itself, then
    ``AWS_ENDPOINT_URL``, so a deployment can send Bedrock calls elsewhere than its other AWS calls."""
    return bedrock_client(region, None)


def _tool_uses(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [block["toolUse"] for block in content if isinstance(block, dict) and "toolUse" in block]


@cache
def _tool_spec(name: str, description: str, model: type[BaseModel], quiet: frozenset[str]) -> dict[str, Any]:
    schema = tool_input_schema(model, quiet=quiet)
    return {
        "tools": [{"toolSpec": {"name": name, "description": description, "inputSchema": {"json": schema}}}],
        "toolChoice": {"tool": {"name": name}},
    }


def plan_tool_config(kind: TestKind) -> dict[str, Any]:
    """The ``toolConfig`` of a plan request: the plan tool, forced."""
    model = prompts.plan_model(kind)
    return _tool_spec(prompts.PLAN_TOOL, prompts.PLAN_TOOL_DESCRIPTION, model, prompts.TARGET_DEFINITIONS)


def heal_tool_config() -> dict[str, Any]:
    """The ``toolConfig`` of a heal request: the choice tool, forced."""
    return _tool_spec(prompts.HEAL_TOOL, prompts.HEAL_TOOL_DESCRIPTION, prompts.HealAnswer, frozenset())


class _Converse:
    """One model's Converse calls, with the settings every call carries."""

    def __init__(self, client: Any, *, model_id: str, region: str, max_tokens: int, temperature: float) -> None:
        self.client = client
        self.model_id = model_id
        self.region = region
        self.max_tokens = max_tokens
        self.temperature = temperature

    def __call__(self, system: str, messages: list[dict[str, Any]], tool_config: dict[str, Any]) -> dict[str, Any]:
        """The response; :class:`BedrockError` when the call fails (after botocore's retries)."""
        try:
            response: dict[str, Any] = self.client.converse(
                modelId=self.model_id,
                system=[{"text": system}],
                messages=messages,
                toolConfig=tool_config,
                inferenceConfig={"maxTokens": self.max_tokens, "temperature": self.temperature},
            )
        except (ClientError, BotoCoreError) as exc:
            raise _describe(exc, self.model_id, self.region) from exc
        return response


class BedrockPlanner:
    """:class:`~shared.ports.Planner` on Bedrock: the plan schema as a forced tool, one repair round."""

    name = "bedrock"

    def __init__(
        self,
        client: Any,
        *,
        model_id: str,
        region: str,
        max_tokens: int = 4096,
        temperature: float = 0.0,
        input_cost_per_1k: float = 0.0,
        output_cost_per_1k: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._converse = _Converse(
            client, model_id=model_id, region=region, max_tokens=max_tokens, temperature=temperature
        )
        self.model_id = model_id
        self.region = region
        self._prices = (input_cost_per_1k, output_cost_per_1k)
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, client: Any = None) -> BedrockPlanner:
        region = settings.bedrock_region or settings.aws_region
        return cls(
            client if client is not None else _client(region),
            model_id=settings.bedrock_model_id,
            region=region,
            max_tokens=settings.bedrock_max_tokens,
            temperature=settings.bedrock_temperature,
            input_cost_per_1k=settings.bedrock_input_cost_per_1k,
            output_cost_per_1k=settings.bedrock_output_cost_per_1k,
        )

    def plan(self, request: PlanRequest) -> PlanOutcome:
        started = self._clock()
        usage = PlanUsage()
        notes: list[str] = []
        tool_config = plan_tool_config(request.kind)
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": prompts.plan_user_message(request)}]}]
        problems: list[str] = []
        first: list[str] = []
        for round_ in (1, 2):
            try:
                response = self._converse(prompts.PLAN_SYSTEM, messages, tool_config)
            except BedrockError as exc:
                self._finish(usage, started)
                raise PlanFailed(exc.message, usage=usage, details=exc.details) from exc
            self._count(usage, response, notes)
            content: list[dict[str, Any]] = response.get("output", {}).get("message", {}).get("content") or []
            outcome, problems, reply = self._judge(request, content, response.get("stopReason"))
            if outcome is not None:
                if round_ == 2:
                    notes.append("repaired: the first answer was invalid, the errors were sent back once")
                self._finish(usage, started)
                logger.info(
                    "bedrock plan ready",
                    model_id=self.model_id,
                    model_calls=usage.model_calls,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    steps=len(outcome),
                )
                return PlanOutcome(steps=outcome, planner="bedrock", model_id=self.model_id, usage=usage, notes=notes)
            if round_ == 1:
                first = problems
                messages.append({"role": "assistant", "content": content or [{"text": "(no answer)"}]})
                messages.append({"role": "user", "content": reply})
        self._finish(usage, started)
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise PlanFailed(
            f"model {self.model_id} gave no valid plan, even after a repair round: {shown}",
            usage=usage,
            details={"model_id": self.model_id, "region": self.region, "errors": problems, "first_errors": first},
        )

    def _judge(
        self, request: PlanRequest, content: list[dict[str, Any]], stop_reason: str | None
    ) -> tuple[list[Any] | None, list[str], list[dict[str, Any]]]:
        """``(steps, [], [])`` for a valid answer, else ``(None, problems, the repair message's content)``."""
        uses = _tool_uses(content)
        ours = next((use for use in uses if use.get("name") == prompts.PLAN_TOOL), None)
        cut = stop_reason == "max_tokens"
        if ours is None:
            problems = ["the answer called no tool" + (" (cut off at the token limit)" if cut else "")]
            text = prompts.REPAIR_NO_TOOL.format(tool=prompts.PLAN_TOOL)
            if cut:
                text = prompts.REPAIR_CUT.format(rest=text)
            # every tool call needs a result in the next message; there is none of ours to answer
            return None, problems, [*self._other_results(uses, None), {"text": text}]
        steps, problems = self._validate(request, ours.get("input"))
        if steps is not None:
            return steps, [], []
        if cut:
            problems.insert(0, "the answer was cut off at the token limit")
        errors = "\n".join(f"- {line}" for line in problems)
        text = prompts.REPAIR_INVALID.format(tool=prompts.PLAN_TOOL, errors=errors)
        if cut:
            text = prompts.REPAIR_CUT.format(rest=text)
        result = {"toolResult": {"toolUseId": ours["toolUseId"], "content": [{"text": text}], "status": "error"}}
        return None, problems, [result, *self._other_results(uses, ours)]

    @staticmethod
    def _other_results(uses: list[dict[str, Any]], ours: dict[str, Any] | None) -> list[dict[str, Any]]:
        return [
            {
                "toolResult": {
                    "toolUseId": use["toolUseId"],
                    "content": [{"text": f"ignored: call {prompts.PLAN_TOOL} once, with the whole plan"}],
                    "status": "error",
                }
            }
            for use in uses
            if use is not ours and "toolUseId" in use
        ]

    def _validate(self, request: PlanRequest, tool_input: Any) -> tuple[list[Any] | None, list[str]]:
        """``(steps, [])`` for a valid plan, else ``(None, the problems)``."""
        if isinstance(tool_input, dict) and isinstance(tool_input.get("steps"), str):
            # some models send a long array as JSON text: read it, the schema's meaning is unchanged
            with contextlib.suppress(ValueError):
                tool_input = {**tool_input, "steps": json.loads(tool_input["steps"])}
        model = prompts.plan_model(request.kind)
        try:
            plan = model.model_validate(tool_input)
        except ValidationError as exc:
            return None, prompts.summarize_errors(exc)
        invented = prompts.invented_secrets(request, tool_input)
        if invented:
            return None, [
                f"steps: {{{{secret:{name}}}}} is not in the goal: use only the secrets the goal names"
                for name in invented
            ]
        return list(plan.steps), []

    def _count(self, usage: PlanUsage, response: dict[str, Any], notes: list[str]) -> None:
        tokens = response.get("usage", {})
        usage.model_calls += 1
        usage.input_tokens += int(tokens.get("inputTokens", 0))
        usage.output_tokens += int(tokens.get("outputTokens", 0))
        inp, out = self._prices
        usage.cost_usd = round(usage.input_tokens / 1000 * inp + usage.output_tokens / 1000 * out, 6)
        retried = int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        if retried:
            notes.append(f"model call {usage.model_calls} was retried {retried} time(s) (throttled or unavailable)")

    def _finish(self, usage: PlanUsage, started: float) -> None:
        usage.latency_ms = max(0, round((self._clock() - started) * 1000))


class BedrockHealer:
    """:class:`~shared.ports.Healer` on Bedrock: the page's elements listed, up to three chosen through a forced
    tool; choices of elements not listed, or with a malformed score, are dropped."""

    name = "bedrock"

    def __init__(
        self, client: Any, *, model_id: str, region: str, max_tokens: int = 1024, temperature: float = 0.0
    ) -> None:
        self._converse = _Converse(
            client, model_id=model_id, region=region, max_tokens=max_tokens, temperature=temperature
        )
        self.model_id = model_id
        self.region = region

    @classmethod
    def from_settings(cls, settings: Settings, client: Any = None) -> BedrockHealer:
        region = settings.bedrock_region or settings.aws_region
        return cls(
            client if client is not None else _client(region),
            model_id=settings.bedrock_model_id,
            region=region,
            max_tokens=min(settings.bedrock_max_tokens, 1024),
            temperature=settings.bedrock_temperature,
        )

    def propose(self, request: HealRequest) -> list[HealProposal]:
        elements = prompts.heal_elements(request)
        if not elements:
            return []
        messages = [{"role": "user", "content": [{"text": prompts.heal_user_message(request, elements)}]}]
        try:
            response = self._converse(prompts.HEAL_SYSTEM, messages, heal_tool_config())
        except BedrockError as exc:
            raise HealerFailed(exc.message, details=exc.details) from exc
        content = response.get("output", {}).get("message", {}).get("content") or []
        ours = next((use for use in _tool_uses(content) if use.get("name") == prompts.HEAL_TOOL), None)
        where = f"model {self.model_id} in {self.region}"
        if ours is None:
            raise HealerFailed(f"{where} answered without choosing an element", details={"model_id": self.model_id})
        tool_input = ours.get("input")
        choices = tool_input.get("choices") if isinstance(tool_input, dict) else None
        if not isinstance(choices, list):
            raise HealerFailed(f"{where} answered without a list of choices", details={"model_id": self.model_id})
        listed = {element.index for element in elements}
        proposals: list[HealProposal] = []
        dropped = 0
        for raw in choices[:3]:
            if isinstance(raw, dict) and isinstance(raw.get("reason"), str):
                raw = {**raw, "reason": raw["reason"][:300]}  # a long reason does not spoil a good choice
            try:
                choice = prompts.HealChoice.model_validate(raw)
            except ValidationError:
                dropped += 1
                continue
            if choice.index not in listed or any(p.index == choice.index for p in proposals):
                dropped += 1
                continue
            proposals.append(HealProposal(index=choice.index, score=choice.score, reason=choice.reason))
        proposals.sort(key=lambda p: -p.score)
        tokens = response.get("usage", {})
        logger.info(
            "bedrock heal",
            model_id=self.model_id,
            proposals=len(proposals),
            dropped=dropped,
            listed=len(elements),
            input_tokens=tokens.get("inputTokens", 0),
            output_tokens=tokens.get("outputTokens", 0),
        )
        return proposals
