"""The ScheduleStore and Scheduler contracts, one suite for each port run against every implementation: the
in-memory fakes (unit tests) and the AWS adapters (DynamoDB and EventBridge Scheduler on moto). Then the
scheduler function end to end on moto: the invocation EventBridge Scheduler makes starts one run per due time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from functions.scheduler.handler import process
from shared.aws.clients import client
from shared.aws.dynamodb_schedules import DynamoScheduleStore
from shared.aws.factory import build_services
from shared.aws.scheduler import EventBridgeScheduler
from shared.errors import Conflict, NotFound
from shared.models.schedules import Schedule, ScheduleCreate
from shared.models.tests import TestCreate
from shared.ports import Scheduler, ScheduleStore
from shared.settings import Settings
from tests.fakes import FakeScheduler, FakeScheduleStore

IMPLEMENTATIONS = ("fake", "aws")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest) -> ScheduleStore:
    if request.param == "fake":
        return FakeScheduleStore()
    settings: Settings = request.getfixturevalue("aws_settings")
    return DynamoScheduleStore(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


@pytest.fixture(params=IMPLEMENTATIONS)
def mirror(request: pytest.FixtureRequest) -> Scheduler:
    if request.param == "fake":
        return FakeScheduler()
    endpoint: str = request.getfixturevalue("moto_endpoint")
    return EventBridgeScheduler(
        client("scheduler", "us-east-1", endpoint),
        target_arn="arn:aws:lambda:us-east-1:123456789012:function:autotest-scheduler",
        role_arn="arn:aws:iam::123456789012:role/autotest-scheduler",
        dlq_arn="arn:aws:sqs:us-east-1:123456789012:autotest-schedules-dlq",
        group_prefix=f"autotest-{uuid.uuid4().hex[:6]}-",
    )


def schedule(project: str = "prj_a", **fields: object) -> Schedule:
    values: dict[str, object] = {
        "id": f"sch_{uuid.uuid4().hex[:26].upper()}",
        "project_id": project,
        "test_id": "tst_1",
        "cron": "0 6 * * MON-FRI",
        "timezone": "Europe/Berlin",
        "variables": {"base_url": "http://127.0.0.1:8001", "n": 2},
        "labels": {"env": "ci"},
        "anchor_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        "next_fire_at": NOW + timedelta(minutes=5),
        **fields,
    }
    return Schedule.model_validate(values)


def test_a_schedule_reads_back_as_written_in_its_own_project_only(store: ScheduleStore) -> None:
    written = schedule()
    store.put_schedule(written)
    assert store.get_schedule("prj_a", written.id) == written
    with pytest.raises(NotFound):
        store.get_schedule("prj_b", written.id)
    with pytest.raises(Conflict):
        store.put_schedule(written)


def test_writes_are_conditional_on_the_version_read(store: ScheduleStore) -> None:
    written = schedule()
    store.put_schedule(written)
    first = store.replace_schedule(written.model_copy(update={"last_fired_for": NOW}))
    assert first.version == 2 and store.get_schedule("prj_a", written.id) == first
    with pytest.raises(Conflict):
        store.replace_schedule(written.model_copy(update={"labels": {}}))  # version 1 is stale
    store.delete_schedule("prj_a", written.id)
    with pytest.raises(NotFound):
        store.replace_schedule(first)
    with pytest.raises(NotFound):
        store.delete_schedule("prj_a", written.id)


def test_lists_are_per_project_and_paged(store: ScheduleStore) -> None:
    ids = []
    for _ in range(3):
        item = schedule()
        store.put_schedule(item)
        ids.append(item.id)
    store.put_schedule(schedule("prj_b"))
    first = store.list_schedules("prj_a", limit=2, cursor=None)
    assert first.next_cursor is not None
    rest = store.list_schedules("prj_a", limit=2, cursor=first.next_cursor)
    assert [s.id for s in first.items + rest.items] == sorted(ids) and rest.next_cursor is None


def test_due_schedules_are_the_enabled_ones_due_soonest_first(store: ScheduleStore) -> None:
    late = schedule(next_fire_at=NOW + timedelta(minutes=2))
    early = schedule("prj_b", next_fire_at=NOW + timedelta(minutes=1))
    exactly_now = schedule(next_fire_at=NOW)
    future = schedule(next_fire_at=NOW + timedelta(hours=1))
    paused = schedule(enabled=False, next_fire_at=None)
    for item in (late, early, exactly_now, future, paused):
        store.put_schedule(item)
    due = store.due_schedules(NOW + timedelta(minutes=2), limit=10)
    mine = {late.id, early.id, exactly_now.id, future.id, paused.id}
    assert [s.id for s in due if s.id in mine] == [exactly_now.id, early.id, late.id]
    # pausing takes it out of the index; a firing moves it on
    store.replace_schedule(late.model_copy(update={"enabled": False, "next_fire_at": None}))
    store.replace_schedule(early.model_copy(update={"next_fire_at": NOW + timedelta(hours=2)}))
    due = store.due_schedules(NOW + timedelta(minutes=2), limit=10)
    assert [s.id for s in due if s.id in mine] == [exactly_now.id]


def test_the_mirror_is_created_changed_paused_and_deleted(mirror: Scheduler) -> None:
    item = schedule()
    assert mirror.get("prj_a", item.id) is None
    mirror.put(item, start_at=None)
    got = mirror.get("prj_a", item.id)
    assert got is not None
    assert (got.expression, got.timezone, got.state) == (
        "cron(0 6 ? * MON,TUE,WED,THU,FRI *)",
        "Europe/Berlin",
        "ENABLED",
    )
    assert got.input == {
        "project_id": "prj_a",
        "schedule_id": item.id,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }

    start = NOW + timedelta(minutes=10)
    mirror.put(item.model_copy(update={"cron": None, "rate": "rate(10 minutes)", "timezone": "UTC"}), start_at=start)
    got = mirror.get("prj_a", item.id)
    assert got is not None and (got.expression, got.timezone) == ("rate(10 minutes)", "UTC")
    assert got.start_at is not None and got.start_at.timestamp() == start.timestamp()

    mirror.put(item.model_copy(update={"enabled": False}), start_at=None)
    got = mirror.get("prj_a", item.id)
    assert got is not None and got.state == "DISABLED" and got.expression.startswith("cron(")
    assert mirror.get("prj_b", item.id) is None  # another project's group

    mirror.delete("prj_a", item.id)
    assert mirror.get("prj_a", item.id) is None
    mirror.delete("prj_a", item.id)  # again: nothing to do


def test_the_aws_schedule_has_a_retry_policy_a_dlq_and_no_flexible_window(moto_endpoint: str) -> None:
    scheduler = client("scheduler", "us-east-1", moto_endpoint)
    mirror = EventBridgeScheduler(
        scheduler,
        target_arn="arn:aws:lambda:us-east-1:123456789012:function:autotest-scheduler",
        role_arn="arn:aws:iam::123456789012:role/autotest-scheduler",
        dlq_arn="arn:aws:sqs:us-east-1:123456789012:autotest-schedules-dlq",
    )
    item = schedule(name="Morning")
    mirror.put(item, start_at=None)
    got = scheduler.get_schedule(Name=item.id, GroupName=mirror.group("prj_a"))
    assert got["FlexibleTimeWindow"] == {"Mode": "OFF"} and got["Description"] == "Morning"
    assert got["Target"]["Arn"].endswith(":function:autotest-scheduler")
    assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert got["Target"]["DeadLetterConfig"] == {"Arn": "arn:aws:sqs:us-east-1:123456789012:autotest-schedules-dlq"}


def test_the_scheduler_function_starts_one_run_per_due_time(aws_settings: Settings) -> None:
    # Given a deployment on moto with EventBridge Scheduler as the mirror, and a schedule of a test
    settings = aws_settings.model_copy(
        update={
            "scheduler_target_arn": "arn:aws:lambda:us-east-1:123456789012:function:autotest-scheduler",
            "scheduler_role_arn": "arn:aws:iam::123456789012:role/autotest-scheduler",
            "scheduler_group_prefix": f"autotest-{uuid.uuid4().hex[:6]}-",
        }
    )
    services = build_services(settings)
    assert services.schedules is not None
    body = TestCreate.model_validate({"name": "Home", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]})
    test, _ = services.catalog.create_test("default", body)
    created = services.schedules.create("default", ScheduleCreate(test_id=test.id, rate="rate(1 minute)"))
    mirrored = client("scheduler", "us-east-1", settings.aws_endpoint_url).get_schedule(
        Name=created.id, GroupName=f"{settings.scheduler_group_prefix}default"
    )
    assert mirrored["ScheduleExpression"] == "rate(1 minute)" and mirrored["State"] == "ENABLED"

    # When EventBridge Scheduler invokes the function for one due time, twice (a retry), and for the next
    invocation = {"project_id": "default", "schedule_id": created.id, "scheduled_time": "2026-12-01T12:01:00Z"}
    first = process(invocation, services)
    again = process(invocation, services)
    later = process({**invocation, "scheduled_time": "2026-12-01T12:02:00Z"}, services)

    # Then two runs, the retry found the first
    assert first["outcome"] == "started" and again == {**first, "outcome": "already"}
    assert later["outcome"] == "started" and later["started"] != first["started"]
    run = services.runs.get_run("default", first["started"])
    assert run.trigger == "schedule" and run.schedule_id == created.id

    # and a deleted schedule's invocation is dropped, as is one that cannot be read
    services.schedules.delete("default", created.id)
    assert process(invocation, services)["outcome"] == "dropped"
    assert process({"schedule_id": 1}, services)["outcome"] == "dropped"
