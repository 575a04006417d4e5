"""The NotificationStore contract, one suite run against the in-memory fake and the DynamoDB store (on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb_notifications import DynamoNotificationStore
from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.notifications import Delivery, DeliveryEvent, DeliveryStatus, NotificationTarget, Trigger
from shared.ports import NotificationStore
from shared.services.notifications import delivery_id
from shared.settings import Settings
from tests.fakes import FakeNotificationStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=("fake", "dynamodb"))
def store(request: pytest.FixtureRequest) -> NotificationStore:
    clock = lambda: NOW  # noqa: E731
    if request.param == "fake":
        return FakeNotificationStore(clock=clock)
    settings: Settings = request.getfixturevalue("aws_settings")
    db = client("dynamodb", settings.aws_region, settings.aws_endpoint_url)
    return DynamoNotificationStore(db, settings.table_name, clock=clock)


def a_target(n: int, project: str = "p1") -> NotificationTarget:
    return NotificationTarget(
        id=f"ntf_{n:04d}",
        project_id=project,
        kind="webhook",
        url="https://hooks.example.com/x",
        on=["failure"],
        scope="all",
        secret="nsec_s3cret",
        created_at=NOW,
    )


def a_delivery(target_id: str, minute: int, *, expires_in: timedelta = timedelta(days=30)) -> Delivery:
    at = NOW + timedelta(minutes=minute)
    return Delivery(
        id=delivery_id(target_id, f"run_{minute}", "failed", 1, at),
        target_id=target_id,
        project_id="p1",
        event=DeliveryEvent(kind="run", id=f"run_{minute}", status="failed", trigger=Trigger.failure, at=at),
        created_at=at,
        updated_at=at,
        expires_at=int((NOW + expires_in).timestamp()),
    )


def test_targets_are_per_project(store: NotificationStore) -> None:
    for n in range(3):
        store.put_target(a_target(n))
    store.put_target(a_target(9, project="p2"))
    with pytest.raises(Conflict):
        store.put_target(a_target(0))

    assert store.get_target("p1", "ntf_0001").secret == "nsec_s3cret"
    with pytest.raises(NotFound):
        store.get_target("p2", "ntf_0001")
    first = store.list_targets("p1", limit=2, cursor=None)
    rest = store.list_targets("p1", limit=2, cursor=first.next_cursor)
    assert [t.id for t in first.items + rest.items] == ["ntf_0000", "ntf_0001", "ntf_0002"]
    assert rest.next_cursor is None
    with pytest.raises(InvalidInput):
        store.list_targets("p2", limit=2, cursor=first.next_cursor)

    store.delete_target("p1", "ntf_0001")
    with pytest.raises(NotFound):
        store.delete_target("p1", "ntf_0001")
    with pytest.raises(NotFound):
        store.delete_target("p1", "ntf_0009")  # another project's
    assert [t.id for t in store.list_targets("p1", limit=10, cursor=None).items] == ["ntf_0000", "ntf_0002"]


def test_deliveries_once_per_id_claimed_by_attempt_newest_first_expired_left_out(store: NotificationStore) -> None:
    deliveries = [a_delivery("ntf_0000", m) for m in range(4)]
    for d in deliveries:
        assert store.create_delivery(d) is True
    assert store.create_delivery(deliveries[0]) is False
    assert store.create_delivery(a_delivery("ntf_0000", 9, expires_in=timedelta(seconds=-1))) is True  # expired
    assert store.create_delivery(a_delivery("ntf_0001", 0)) is True  # another target's

    first = store.list_deliveries("ntf_0000", limit=3, cursor=None)
    rest = store.list_deliveries("ntf_0000", limit=3, cursor=first.next_cursor)
    assert [d.event.id for d in first.items + rest.items] == ["run_3", "run_2", "run_1", "run_0"]

    stored = store.get_delivery("ntf_0000", deliveries[1].id)
    claimed = stored.model_copy(update={"attempt": 1})
    store.update_delivery(claimed, expected_attempt=0)
    with pytest.raises(Conflict):
        store.update_delivery(claimed, expected_attempt=0)  # a second copy of the same attempt
    done = claimed.model_copy(update={"status": DeliveryStatus.delivered, "http_status": 204})
    store.update_delivery(done, expected_attempt=1)
    with pytest.raises(Conflict):
        store.update_delivery(done, expected_attempt=1)  # no longer pending
    again = store.get_delivery("ntf_0000", deliveries[1].id)
    assert (again.status, again.attempt, again.http_status) == ("delivered", 1, 204)
    with pytest.raises(NotFound):
        store.get_delivery("ntf_0001", deliveries[1].id)
