"""The plain-English flow with Bedrock configured, in real Chromium, Bedrock stubbed (moto has no Bedrock): a goal
saved without steps is planned by the Bedrock planner (through the planner worker's path: the proposal waits,
then is filled), the proposal is accepted into a revision, the test runs on the redesigned example app where the
Bedrock healer chooses the element the runner verifies, the heals are accepted into the next revision, and a
rerun of that revision passes with no heal and no healer call.

The planner's answer comes from ``botocore.stub.Stubber``; the healer's is computed from the request botocore
sent (a ``before-send`` hook: the element's index depends on the page), so both go through botocore's real
parsing of a Converse response."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from examples.webapp import WebApp, serve
from runner_container.runner.browser import BrowserPool
from runner_container.runner.executor import RunExecutor
from shared.aws.bedrock import BedrockHealer, BedrockPlanner
from shared.aws.clients import new_bedrock_client
from shared.models.planning import ProposalStatus
from shared.models.runs import Run, RunCreate, RunStatus
from shared.models.tests import TestCreate
from shared.planning import prompts
from shared.services.catalog import Catalog
from shared.services.planning import Planning
from shared.settings import Settings
from tests.e2e.conftest import ADMIN_PASSWORD, PROJECT, Harness, make_harness
from tests.fakes import FakeElementCache, FakePlanQueue, FakePlanStore

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

REGION = "eu-west-1"
GOAL = """Go to {{base_url}}/login
Fill "Username" with "admin"
Fill "Password" with "{{secret:ADMIN_PASSWORD}}"
Click "Log in"
Expect to see "Welcome, admin\""""
#: what the stubbed model plans for GOAL: descriptions, as the grammar would read it
PLANNED = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "fill", "target": "Username", "value": "admin"},
    {"action": "fill", "target": "Password", "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": "Log in"},
    {"action": "expect_text", "text": "Welcome, admin"},
]


@pytest.fixture(scope="module")
def redesigned() -> Iterator[WebApp]:
    with serve(variant="redesigned") as app:
        yield app


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    return Settings(planner="bedrock", healer="bedrock", bedrock_region=REGION)


def converse_answer(tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": tool, "input": tool_input}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1200, "outputTokens": 180, "totalTokens": 1380},
        "metrics": {"latencyMs": 640},
    }


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def model_choosing(client: Any, name: str) -> list[str]:
    """Answer every heal request sent by ``client`` by choosing the listed button named ``name`` (none when the
    page lists no such button); returns the prompts seen."""
    seen: list[str] = []

    def send(request: Any, **_: Any) -> AWSResponse:
        text = json.loads(request.body)["messages"][0]["content"][0]["text"]
        seen.append(text)
        found = re.search(rf'^\[(\d+)\] button "{re.escape(name)}"', text, re.M)
        choices = [{"index": int(found[1]), "score": 0.9, "reason": f"{name} is worded for the same"}] if found else []
        body = json.dumps(converse_answer(prompts.HEAL_TOOL, {"choices": choices})).encode()
        headers = {"content-type": "application/json", "x-amzn-requestid": "req-1"}
        return AWSResponse(request.url, 200, headers, _Body(body))  # type: ignore[arg-type]

    client.meta.events.register("before-send.bedrock-runtime.Converse", send)
    return seen


async def execute(h: Harness, test_id: str) -> Run:
    run = h.runs.start_run(PROJECT, RunCreate.model_validate({"test_id": test_id}))
    message, _ = h.queue.sent.pop()
    await h.executor.execute(message)
    return h.store.get_run(run.id)


async def test_plan_run_heal_and_accept_with_bedrock(pool: BrowserPool, redesigned: WebApp, settings: Settings) -> None:
    planner_client, healer_client = new_bedrock_client(REGION, None), new_bedrock_client(REGION, None)
    prompts_seen = model_choosing(healer_client, "Sign in")
    h = make_harness(pool, redesigned.url, step_timeout_s=3.0, healer="bedrock")
    cache = FakeElementCache()
    h.executor = RunExecutor(
        runs=h.runs,
        artifacts=h.artifacts,
        secrets=h.secrets,
        pool=pool,
        config=h.executor.config,
        healer=BedrockHealer.from_settings(settings, client=healer_client),
        element_cache=cache,
    )
    catalog = Catalog(h.store, planner="bedrock")
    plan_queue = FakePlanQueue()
    planning = Planning(
        tests=h.store,
        runs=h.store,
        plans=FakePlanStore(),
        planner=BedrockPlanner.from_settings(settings, client=planner_client),
        queue=plan_queue,
        events=h.events,
        catalog=catalog,
        inline=False,
    )

    # Given a test written as plain English only
    test, _ = catalog.create_test(
        PROJECT, TestCreate(name="Admin can log in", goal=GOAL, variables={"base_url": redesigned.url})
    )

    # When a plan is requested, it waits for the planner worker, which asks Bedrock
    proposal = planning.request_proposal(PROJECT, test.id)
    assert proposal.status == ProposalStatus.pending and len(plan_queue.sent) == 1
    with Stubber(planner_client) as stub:
        stub.add_response("converse", converse_answer(prompts.PLAN_TOOL, {"steps": PLANNED}))
        filled = planning.fill_proposal(PROJECT, proposal.id)
        stub.assert_no_pending_responses()

    # Then the proposal is ready with the model's plan and what it cost
    assert filled.status == ProposalStatus.ready, filled.error
    assert filled.planner == "bedrock" and filled.model_id == settings.bedrock_model_id
    assert (filled.usage.input_tokens, filled.usage.output_tokens, filled.usage.model_calls) == (1200, 180, 1)
    assert filled.usage.cost_usd > 0

    # When it is accepted, the next revision holds the plan
    planned = planning.accept(PROJECT, proposal.id)
    assert planned.revision == 2 and planned.steps is not None and len(planned.steps) == 5

    # When it runs on the redesigned app ("Sign in" for "Log in"), the Bedrock healer's choice is verified and used
    run = await execute(h, test.id)
    assert run.status == RunStatus.passed, run.error
    click = run.steps[3]
    assert click.healed and click.matched_by == "healed" and click.heal is not None
    assert click.heal.source == "bedrock" and click.heal.after == 'role=button name="Sign in"'
    assert run.stats.heals >= 1 and run.stats.healer_calls >= 1
    assert prompts_seen and all(ADMIN_PASSWORD not in p for p in prompts_seen)  # the secret never reaches the model

    # When the heals are accepted, the next revision has the healed target, and a rerun heals nothing
    healed = planning.accept_heals(PROJECT, run.id)
    assert healed.revision == 3 and healed.steps is not None
    assert healed.steps[3].model_dump(mode="json")["target"] == {"role": "button", "name": "Sign in", "exact": False}
    calls_before = len(prompts_seen)
    rerun = await execute(h, test.id)
    assert rerun.status == RunStatus.passed, rerun.error
    assert rerun.revision == 3 and rerun.stats.heals == 0 and rerun.stats.healer_calls == 0
    assert len(prompts_seen) == calls_before
