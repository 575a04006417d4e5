"""Poison messages: after MAX_RECEIVE_COUNT deliveries a run message lands in the DLQ, and the
dead-letter consumer (the DLQ's Lambda in AWS, a worker in local mode) ends its run as ``error``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.local.deadletters import DeadLetterWorker
from cli.local.workers import LocalContext
from functions.deadletters import handler as dlq_handler
from shared.aws.factory import build_services
from shared.models.messages import RunMessage
from shared.models.runs import RunCreate, RunStatus
from shared.resources import MAX_RECEIVE_COUNT
from shared.services.container import Services
from shared.settings import Settings
from tests.lambda_events import sqs_event

SPEC = {"spec": {"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}}


def poison(services: Services) -> str:
    """Start a run whose message is received MAX_RECEIVE_COUNT times and never deleted."""
    run = services.runs.start_run("default", RunCreate.model_validate(SPEC))
    for _ in range(MAX_RECEIVE_COUNT):
        assert len(services.queue.receive(wait_s=0, visibility_timeout_s=0)) == 1
    assert services.queue.receive(wait_s=0, visibility_timeout_s=0) == []
    return run.id


def test_local_mode_ends_a_poisoned_run(aws_settings: Settings, tmp_path: Path) -> None:
    services = build_services(aws_settings)
    run_id = poison(services)
    worker = DeadLetterWorker(LocalContext(settings=aws_settings, services=services, data_dir=tmp_path))

    assert worker.sweep() == 1

    run = services.runs.get_run("default", run_id)
    assert run.status == RunStatus.error and "dead-letter queue" in (run.error or "")
    assert services.queue.receive_dead_letters(visibility_timeout_s=0) == []


class LambdaContext:
    function_name = "autotest-deadletters"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:autotest-deadletters"
    aws_request_id = "req-1"


def test_the_dlq_lambda_ends_runs_and_keeps_live_ones(aws_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a dead letter for a run nobody holds, one for a run a worker still heartbeats, and garbage
    services = build_services(aws_settings)
    monkeypatch.setattr("shared.aws.factory.get_services", lambda: services)
    dead = services.runs.start_run("default", RunCreate.model_validate(SPEC))
    live = services.runs.start_run("default", RunCreate.model_validate(SPEC))
    assert services.runs.take(RunMessage(run_id=live.id, project_id="default", attempt=1)) is not None

    def letter(run_id: str) -> str:
        return RunMessage(run_id=run_id, project_id="default", attempt=1).model_dump_json()

    # When the DLQ's Lambda gets them in one batch
    response = dlq_handler.handler(
        sqs_event([letter(dead.id), letter(live.id), "not json"], queue="autotest-runs-dlq", ids="m{i}"),
        LambdaContext(),
    )

    # Then the first run ends as error, the live one's letter is reported back, the garbage is dropped
    assert response["batchItemFailures"] == [{"itemIdentifier": "m1"}]
    assert services.runs.get_run("default", dead.id).status == RunStatus.error
    assert services.runs.get_run("default", live.id).status == RunStatus.running
