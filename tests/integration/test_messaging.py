"""SQS queue, S3 artifact store and EventBridge publisher against moto."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from shared.aws.factory import build_services
from shared.aws.provision import provision
from shared.errors import NotFound
from shared.ids import utcnow
from shared.models.events import RunStatusChanged
from shared.models.messages import RunMessage
from shared.models.runs import RunCreate, RunStatus, RunSummary
from shared.resources import MAX_RECEIVE_COUNT
from shared.settings import Settings
from tests.integration.conftest import EventTap


def test_queue_send_receive_extend_delete(aws_settings: Settings) -> None:
    queue = build_services(aws_settings).queue
    queue.send(RunMessage(run_id="run_1", project_id="p", attempt=1, correlation_id="cor_1"))
    [message] = queue.receive(wait_s=1, visibility_timeout_s=30)
    assert RunMessage.model_validate_json(message.body).run_id == "run_1"
    assert message.receive_count == 1
    queue.extend(message.receipt, 60)
    assert queue.receive(wait_s=0) == []  # still invisible
    queue.delete(message.receipt)
    assert queue.receive(wait_s=0, visibility_timeout_s=0) == []


def test_poison_messages_land_in_the_dlq_and_can_be_redriven(aws_settings: Settings) -> None:
    queue = build_services(aws_settings).queue
    queue.send(RunMessage(run_id="run_poison", project_id="p", attempt=1))
    for _ in range(MAX_RECEIVE_COUNT):
        assert len(queue.receive(wait_s=0, visibility_timeout_s=0)) == 1  # received, never deleted
    assert queue.receive(wait_s=0, visibility_timeout_s=0) == []
    dead = queue.receive_dead_letters(visibility_timeout_s=0)
    assert [RunMessage.model_validate_json(m.body).run_id for m in dead] == ["run_poison"]
    assert queue.redrive_dead_letters() == 1
    [back] = queue.receive(wait_s=1)
    assert RunMessage.model_validate_json(back.body).run_id == "run_poison"


def test_artifacts_upload_and_presigned_download(aws_settings: Settings, tmp_path: Path) -> None:
    store = build_services(aws_settings).artifacts
    store.put("runs/p/r/screenshot.png", b"\x89PNG...", content_type="image/png")
    file = tmp_path / "trace.zip"
    file.write_bytes(b"PK\x03\x04 trace")
    store.put_file("runs/p/r/trace.zip", file, content_type="application/zip")
    assert store.get("runs/p/r/trace.zip") == b"PK\x03\x04 trace"
    url = store.presigned_url("runs/p/r/screenshot.png", ttl_s=60)
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"\x89PNG..."
    assert response.headers["content-type"] == "image/png"
    with pytest.raises(NotFound):
        store.get("runs/p/r/missing")


def test_events_are_published_on_the_bus(aws_settings: Settings, event_tap: EventTap) -> None:
    bus = build_services(aws_settings).events
    event = RunStatusChanged(
        project_id="p",
        run_id="run_1",
        test_id="tst_1",
        suite_run_id=None,
        status=RunStatus.running,
        previous_status=RunStatus.queued,
        attempt=1,
        summary=RunSummary(),
        at=utcnow(),
    )
    bus.publish(event)
    [delivered] = event_tap.drain()
    assert delivered["source"] == "autotest" and delivered["detail-type"] == "Run Status Changed"
    assert delivered["detail"]["run_id"] == "run_1" and delivered["detail"]["previous_status"] == "queued"


def test_runs_longer_than_the_lambda_takes_go_to_the_fargate_workers_queue(aws_settings: Settings) -> None:
    """Runner mode ``both``: the container Lambda takes the run queue, the Fargate workers the long one."""
    # Given a deployment with a long-run queue beside the run queue
    settings = aws_settings.model_copy(update={"long_run_queue_name": f"{aws_settings.run_queue_name}-long"})
    provision(settings)
    services = build_services(settings)
    fargate = build_services(settings.model_copy(update={"run_queue_name": settings.long_run_queue_name}))
    spec = {"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}
    # When one run fits in the Lambda's limit and one does not
    short = services.runs.start_run("default", RunCreate.model_validate({"spec": spec, "timeout_s": 840}))
    long = services.runs.start_run("default", RunCreate.model_validate({"spec": spec, "timeout_s": 841}))
    # Then each is on its own runner's queue, saying which lane it took
    [on_lambda] = services.queue.receive(wait_s=0)
    [on_fargate] = fargate.queue.receive(wait_s=0)
    assert RunMessage.model_validate_json(on_lambda.body).run_id == short.id
    assert (
        RunMessage.model_validate_json(on_fargate.body).run_id,
        RunMessage.model_validate_json(on_fargate.body).lane,
    ) == (long.id, "long")


def test_without_a_long_run_queue_every_run_takes_the_run_queue(aws_settings: Settings) -> None:
    services = build_services(aws_settings)
    spec = {"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}
    run = services.runs.start_run("default", RunCreate.model_validate({"spec": spec, "timeout_s": 3600}))
    [message] = services.queue.receive(wait_s=0)
    assert RunMessage.model_validate_json(message.body).model_dump(include={"run_id", "lane"}) == {
        "run_id": run.id,
        "lane": "short",
    }


def test_a_suite_batch_is_split_to_fit_the_lambda_and_routed_by_its_total(aws_settings: Settings) -> None:
    """A batch's runs execute in turn: four 300 s runs would outlast the container Lambda's 840 s."""
    # Given lanes and a per-message limit (runner mode both), and four runs of 300 s and one of 1800 s
    settings = aws_settings.model_copy(
        update={"long_run_queue_name": f"{aws_settings.run_queue_name}-long", "run_message_limit_s": 840}
    )
    provision(settings)
    services = build_services(settings)
    fargate = build_services(settings.model_copy(update={"run_queue_name": settings.long_run_queue_name}))
    spec = {"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}
    runs = [
        services.runs.start_run("default", RunCreate.model_validate({"spec": spec, "timeout_s": t}), enqueue=False)
        for t in (300, 300, 300, 300, 1800)
    ]
    # When they are sent as one batch
    services.runs.send_batch(runs)
    # Then the Lambda gets two messages of two runs, the workers the long one alone
    on_lambda = [RunMessage.model_validate_json(m.body) for m in services.queue.receive(max_messages=10, wait_s=0)]
    on_fargate = [RunMessage.model_validate_json(m.body) for m in fargate.queue.receive(max_messages=10, wait_s=0)]
    assert sorted([r.run_id for r in m.members()] for m in on_lambda) == sorted(
        [[runs[0].id, runs[1].id], [runs[2].id, runs[3].id]]
    )
    assert [[r.run_id for r in m.members()] for m in on_fargate] == [[runs[4].id]]
    assert {m.lane for m in on_lambda} == {"short"} and on_fargate[0].lane == "long"


def test_without_a_per_message_limit_a_batch_that_outlasts_the_lambda_takes_the_long_lane(
    aws_settings: Settings,
) -> None:
    settings = aws_settings.model_copy(update={"long_run_queue_name": f"{aws_settings.run_queue_name}-long"})
    provision(settings)
    services = build_services(settings)
    fargate = build_services(settings.model_copy(update={"run_queue_name": settings.long_run_queue_name}))
    spec = {"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}
    runs = [
        services.runs.start_run("default", RunCreate.model_validate({"spec": spec, "timeout_s": 300}), enqueue=False)
        for _ in range(3)
    ]
    services.runs.send_batch(runs)
    assert services.queue.receive(wait_s=0) == []
    [message] = fargate.queue.receive(wait_s=0)
    assert RunMessage.model_validate_json(message.body).lane == "long"
