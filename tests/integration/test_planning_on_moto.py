"""Plans through the real adapters on moto (DynamoDB, SQS, EventBridge), with a fake planner: a proposal filled
by the planner worker from the real planner queue, its event on the bus, a goal-only run planned by the worker
and enqueued, and the plan cache making a rerun plan nothing."""

from __future__ import annotations

from functions.planner.handler import process
from shared.aws.factory import build_services
from shared.models.planning import ProposalStatus
from shared.models.runs import RunCreate, RunStatus
from shared.models.tests import TestCreate
from shared.settings import Settings
from tests.fakes import FakePlanner
from tests.integration.conftest import EventTap

GOAL = 'Go to http://127.0.0.1:8001/login\nFill "Username" with "admin"\nClick "Log in"'


def test_the_worker_fills_a_proposal_and_plans_a_run_from_the_real_queue(
    aws_settings: Settings, event_tap: EventTap
) -> None:
    # Given services on moto whose planner plans through the worker (as Bedrock does)
    planner = FakePlanner("bedrock")
    services = build_services(aws_settings, planner=planner)
    assert services.planning is not None and services.plan_queue is not None
    test, _ = services.catalog.create_test("default", TestCreate.model_validate({"name": "login", "goal": GOAL}))

    # When a proposal and a run are asked for, and the worker handles what the planner queue holds
    proposal = services.planning.request_proposal("default", test.id)
    run = services.runs.start_run("default", RunCreate(test_id=test.id))
    assert (proposal.status, run.status, run.spec.steps) == (ProposalStatus.pending, RunStatus.queued, None)
    received = services.plan_queue.receive(max_messages=10, wait_s=1)
    received.sort(key=lambda m: proposal.id not in m.body)  # the proposal first (SQS keeps no order)
    outcomes = [process(m.body, services, receive_count=m.receive_count) for m in received]
    for message in received:
        services.plan_queue.delete(message.receipt)

    # Then the proposal is ready, the run has its steps and its run message, and the bus had the event
    assert outcomes == ["proposal", "run"]
    ready = services.planning.get_proposal("default", proposal.id)
    assert ready.status == ProposalStatus.ready and [s.action for s in ready.steps or []] == ["goto", "fill", "click"]
    planned = services.runs.get_run("default", run.id)
    assert planned.spec.steps == ready.steps and planned.stats.planner_calls == 0  # the proposal's plan, cached
    [run_message] = services.queue.receive(max_messages=10, wait_s=1)
    assert run.id in run_message.body
    kinds = [e["detail-type"] for e in event_tap.drain()]
    assert kinds.count("Plan Proposal Ready") == 1
    assert len(planner.calls) == 1

    # And accepting it writes revision 2; a rerun of revision 1 plans nothing
    revision = services.planning.accept("default", proposal.id)
    rerun = services.runs.start_run("default", RunCreate(test_id=test.id, revision=1))
    assert revision.revision == 2 and revision.steps == ready.steps
    assert rerun.spec.steps == ready.steps and rerun.stats.planner_calls == 0
    assert len(planner.calls) == 1 and services.plan_queue.receive(wait_s=0) == []


def test_the_rule_planner_plans_inline_and_the_cache_is_in_the_table(aws_settings: Settings) -> None:
    planner = FakePlanner("rules")
    services = build_services(aws_settings, planner=planner)
    test, _ = services.catalog.create_test("default", TestCreate.model_validate({"name": "login", "goal": GOAL}))

    first = services.runs.start_run("default", RunCreate(test_id=test.id))
    # a second process (another Lambda) shares the cache through the table
    other = build_services(aws_settings, planner=FakePlanner("rules"))
    second = other.runs.start_run("default", RunCreate(test_id=test.id))

    assert (first.stats.planner_calls, second.stats.planner_calls) == (1, 0)
    assert second.spec.steps == first.spec.steps
    assert services.plan_queue is not None and services.plan_queue.receive(wait_s=0) == []


def test_build_services_wires_the_element_cache_to_the_table(aws_settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.models.planning import CachedElement, Fingerprint

    services = build_services(aws_settings)
    assert services.element_cache is not None and services.planning is not None
    assert services.planning.planner_name == "rules" and services.planning.inline
    now = datetime.now(UTC)
    entry = CachedElement(
        project_id="default",
        test_id="tst_1",
        step_key="k",
        page_key="http://127.0.0.1:8001/login",
        target={"label": "Username"},
        locator='get_by_label("Username")',
        fingerprint=Fingerprint(role="textbox", name="Username", tag="input"),
        updated_at=now,
        expires_at=int((now + timedelta(days=1)).timestamp()),
    )
    services.element_cache.put(entry)
    assert services.element_cache.get("default", "tst_1", "k", "http://127.0.0.1:8001/login") == entry
