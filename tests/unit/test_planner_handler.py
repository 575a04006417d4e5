"""The planner worker's Lambda entry point over in-memory services: partial batch responses, duplicates, the
last delivery of a failing request, and local mode's poller."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from cli.local.planner import PlannerWorker
from cli.local.workers import WORKERS, LocalContext
from functions.planner import handler
from shared.errors import Unavailable
from shared.models.planning import ProposalStatus
from shared.models.runs import RunCreate, RunStatus
from shared.models.tests import TestCreate
from shared.resources import MAX_RECEIVE_COUNT
from shared.settings import Settings
from tests.conftest import FakeServices
from tests.fakes import FakePlanner
from tests.lambda_events import sqs_event

PROJECT = "prj_a"
GOAL = 'Go to http://127.0.0.1:8001/login\nClick "Log in"'


@pytest.fixture
def slow() -> Iterator[FakeServices]:
    fakes = FakeServices(planner=FakePlanner("bedrock"))
    handler.configure(fakes.services)
    yield fakes
    handler.configure(None)


def a_goal_test(fakes: FakeServices, goal: str = GOAL) -> str:
    test, _ = fakes.services.catalog.create_test(PROJECT, TestCreate.model_validate({"name": "t", "goal": goal}))
    return test.id


class LambdaContext:
    function_name = "autotest-planner"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:autotest-planner"
    aws_request_id = "req-1"


def test_a_batch_fills_proposals_and_plans_runs_reporting_only_the_failures(slow: FakeServices) -> None:
    # Given a pending proposal and a goal-only run waiting for its plan, and a broken record
    proposal = slow.planning.request_proposal(PROJECT, a_goal_test(slow))
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=a_goal_test(slow, GOAL + '\nClick "Log out"')))
    bodies = [m.model_dump_json() for m in slow.plan_queue.sent]

    # When the batch is handled, then again (every message arrives twice)
    response = handler.handler(sqs_event([*bodies, "{not json"], queue="autotest-plans"), LambdaContext())
    again = handler.handler(sqs_event(bodies, queue="autotest-plans"), LambdaContext())

    # Then the proposal is ready, the run planned and enqueued once, and only the broken record was dropped
    assert response == {"batchItemFailures": []} and again == {"batchItemFailures": []}
    assert slow.planning.get_proposal(PROJECT, proposal.id).status == ProposalStatus.ready
    planned = slow.services.runs.get_run(PROJECT, run.id)
    assert planned.spec.steps and planned.stats.planner_calls == 1
    assert len(slow.planner.calls) == 2


def test_a_failing_planner_sends_the_record_back_until_its_last_delivery(slow: FakeServices) -> None:
    proposal = slow.planning.request_proposal(PROJECT, a_goal_test(slow))
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=a_goal_test(slow, GOAL + "\n")))
    bodies = [m.model_dump_json() for m in slow.plan_queue.sent]
    slow.planner.error = Unavailable("bedrock: ThrottlingException")

    with pytest.raises(BatchProcessingError, match="All records failed"):  # the whole batch comes back
        handler.handler(sqs_event(bodies, queue="autotest-plans", receive_count=1), LambdaContext())
    assert slow.planning.get_proposal(PROJECT, proposal.id).status == ProposalStatus.pending
    last = handler.handler(sqs_event(bodies, queue="autotest-plans", receive_count=MAX_RECEIVE_COUNT), LambdaContext())

    assert last == {"batchItemFailures": []}
    failed = slow.planning.get_proposal(PROJECT, proposal.id)
    assert failed.status == ProposalStatus.failed
    assert failed.error == "planning failed on each of 5 tries; the last error: bedrock: ThrottlingException"
    ended = slow.services.runs.get_run(PROJECT, run.id)
    assert ended.status == RunStatus.error and "ThrottlingException" in (ended.error or "")


def test_local_mode_runs_a_planner_worker_that_settles_the_queue(slow: FakeServices, tmp_path: Path) -> None:
    assert "planner" in WORKERS
    proposal = slow.planning.request_proposal(PROJECT, a_goal_test(slow))
    worker = PlannerWorker(LocalContext(settings=Settings(), services=slow.services, data_dir=tmp_path), wait_s=0)

    assert worker.poll() == 1

    assert slow.planning.get_proposal(PROJECT, proposal.id).status == ProposalStatus.ready
    assert slow.plan_queue.deleted == [proposal.id]

    async def stops() -> None:
        stop = asyncio.Event()
        stop.set()
        await worker.run(stop)

    asyncio.run(stops())  # returns at once when told to stop


def test_process_names_what_it_did(slow: FakeServices) -> None:
    assert handler.process(json.dumps({"project_id": PROJECT}), slow.services) == "dropped"  # names neither
    proposal = slow.planning.request_proposal(PROJECT, a_goal_test(slow))
    assert handler.process(slow.plan_queue.sent[0].model_dump_json(), slow.services) == "proposal"
    assert slow.planning.get_proposal(PROJECT, proposal.id).status == ProposalStatus.ready


def test_a_request_for_a_proposal_that_does_not_exist_is_dropped_at_once(slow: FakeServices) -> None:
    # no delivery will find it: retrying it into the dead-letter queue helps nobody
    body = json.dumps({"project_id": PROJECT, "proposal_id": "pln_01NOSUCHPROPOSAL0000000000"})
    assert handler.process(body, slow.services, receive_count=1) == "dropped"
