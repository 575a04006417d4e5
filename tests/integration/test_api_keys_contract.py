"""A project's API keys, one suite against the in-memory fake and the DynamoDB repository (on moto): listed per
project, their last use recorded at most every few minutes, revoked at once, the last admin key kept, and a key made
before keys were listed appearing once it is used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.errors import Conflict, NotFound, Unauthorized
from shared.ids import utcnow
from shared.models.projects import ApiKey
from shared.services.projects import LAST_USED_EVERY, Projects, hash_key
from shared.settings import Settings
from tests.fakes import FakeStore


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[FakeStore | DynamoRepository]:
    if request.param == "fake":
        yield FakeStore()
        return
    settings: Settings = request.getfixturevalue("aws_settings")
    yield DynamoRepository(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def test_keys_are_listed_per_project_with_their_roles_and_never_the_key(store: FakeStore | DynamoRepository) -> None:
    projects = Projects(store)
    first = projects.create_project("one")
    other = projects.create_project("two")
    ci = projects.create_key(first.project.id, "ci", "runner")

    listed = projects.list_keys(first.project.id, limit=50, cursor=None).items
    assert [(k.key_id, k.name, k.role) for k in listed] == [
        (first.key_id, "default", "admin"),
        (ci.key_id, "ci", "runner"),
    ]
    text = " ".join(k.model_dump_json() for k in listed)
    assert ci.api_key not in text and hash_key(ci.api_key) not in text
    assert [k.key_id for k in projects.list_keys(other.project.id, limit=50, cursor=None).items] == [other.key_id]


def test_the_principal_carries_the_keys_name_and_role(store: FakeStore | DynamoRepository) -> None:
    projects = Projects(store)
    made = projects.create_project("one")
    ci = projects.create_key(made.project.id, "ci", "runner")
    principal = projects.authenticate(ci.api_key)
    assert (principal.project_id, principal.key_id, principal.key_name, principal.role, principal.bootstrap) == (
        made.project.id,
        ci.key_id,
        "ci",
        "runner",
        False,
    )


def test_last_use_is_written_at_most_every_few_minutes(store: FakeStore | DynamoRepository) -> None:
    clock = Clock()
    projects = Projects(store, clock=clock)
    made = projects.create_project("one")
    assert projects.list_keys(made.project.id, limit=5, cursor=None).items[0].last_used_at is None

    first_use = clock.now
    projects.authenticate(made.api_key)
    clock.now += LAST_USED_EVERY - timedelta(seconds=1)
    projects.authenticate(made.api_key)  # too soon: not written again
    assert projects.list_keys(made.project.id, limit=5, cursor=None).items[0].last_used_at == first_use

    clock.now += timedelta(seconds=2)
    projects.authenticate(made.api_key)
    assert projects.list_keys(made.project.id, limit=5, cursor=None).items[0].last_used_at == clock.now


def test_a_revoked_key_is_refused_at_once(store: FakeStore | DynamoRepository) -> None:
    projects = Projects(store)
    made = projects.create_project("one")
    ci = projects.create_key(made.project.id, "ci", "runner")
    projects.authenticate(ci.api_key)

    revoked = projects.delete_key(made.project.id, ci.key_id)
    assert revoked.key_id == ci.key_id
    with pytest.raises(Unauthorized):
        projects.authenticate(ci.api_key)
    with pytest.raises(NotFound):
        projects.delete_key(made.project.id, ci.key_id)
    assert [k.key_id for k in projects.list_keys(made.project.id, limit=5, cursor=None).items] == [made.key_id]


def test_another_projects_key_cannot_be_revoked(store: FakeStore | DynamoRepository) -> None:
    projects = Projects(store)
    one = projects.create_project("one")
    two = projects.create_project("two")
    with pytest.raises(NotFound):
        projects.delete_key(two.project.id, one.key_id)
    projects.authenticate(one.api_key)


def test_the_last_admin_key_is_kept(store: FakeStore | DynamoRepository) -> None:
    projects = Projects(store)
    made = projects.create_project("one")
    projects.create_key(made.project.id, "viewer")
    with pytest.raises(Conflict, match="last admin key"):
        projects.delete_key(made.project.id, made.key_id)
    second = projects.create_key(made.project.id, "second admin", "admin")
    projects.delete_key(made.project.id, made.key_id)
    assert projects.authenticate(second.api_key).role == "admin"


def test_a_key_revoked_after_it_was_read_is_not_recreated_by_its_last_use(store: FakeStore | DynamoRepository) -> None:
    projects = Projects(store)
    made = projects.create_project("one")
    record = store.get_api_key(hash_key(made.api_key))
    assert record is not None
    store.delete_api_key(record)
    with pytest.raises(Conflict):
        store.touch_api_key(record, utcnow())
    assert store.get_api_key(hash_key(made.api_key)) is None


def test_a_key_stored_before_keys_were_listed_is_listed_once_used(aws_settings: Settings) -> None:
    db = client("dynamodb", aws_settings.aws_region, aws_settings.aws_endpoint_url)
    store = DynamoRepository(db, aws_settings.table_name)
    projects = Projects(store)
    made = projects.create_project("old")
    old = ApiKey(
        key_hash=hash_key("atk_old"), key_id="key_old", project_id=made.project.id, name="old", created_at=utcnow()
    )
    db.put_item(  # as the first release wrote it: no listing keys, no role (it could do everything)
        TableName=aws_settings.table_name,
        Item={
            "PK": {"S": f"APIKEY#{old.key_hash}"},
            "SK": {"S": "#APIKEY"},
            "type": {"S": "api_key"},
            "key_hash": {"S": old.key_hash},
            "key_id": {"S": old.key_id},
            "project_id": {"S": old.project_id},
            "name": {"S": old.name},
            "created_at": {"S": old.created_at.isoformat()},
        },
    )
    assert "key_old" not in [k.key_id for k in projects.list_keys(made.project.id, limit=50, cursor=None).items]
    principal = projects.authenticate("atk_old")
    assert principal.role == "admin"
    listed = {k.key_id: k for k in projects.list_keys(made.project.id, limit=50, cursor=None).items}
    assert listed["key_old"].role == "admin" and listed["key_old"].last_used_at is not None


def test_a_revoke_that_keeps_another_admin_is_refused_once_that_admin_is_gone(
    store: FakeStore | DynamoRepository,
) -> None:
    projects = Projects(store)
    made = projects.create_project("one")
    second = projects.create_key(made.project.id, "second admin", "admin")
    first_record = store.get_api_key(hash_key(made.api_key))
    second_record = store.get_api_key(hash_key(second.api_key))
    assert first_record is not None and second_record is not None

    # the second admin revoked between a revoke's read of the keys and its delete: the delete is refused
    store.delete_api_key(second_record, keep=first_record)
    with pytest.raises(Conflict):
        store.delete_api_key(first_record, keep=second_record)
    assert projects.authenticate(made.api_key).role == "admin"
    with pytest.raises(Conflict):  # a key already gone, with or without one kept
        store.delete_api_key(second_record, keep=first_record)


def test_two_revokes_at_once_of_the_last_two_admin_keys_keep_one() -> None:
    """The two requests read the keys (two admins each) before either deletes: one revoke wins, the other is a
    409, never both (a project with no admin key left could not manage its keys or secrets again)."""
    import threading

    class ReadThenRace(FakeStore):
        def __init__(self) -> None:
            super().__init__()
            self.barrier = threading.Barrier(2, timeout=5)
            self.waited: set[int] = set()

        def delete_api_key(self, key: ApiKey, *, keep: ApiKey | None = None) -> None:
            if threading.get_ident() not in self.waited:  # each request's first delete waits for the other's
                self.waited.add(threading.get_ident())
                self.barrier.wait()
            super().delete_api_key(key, keep=keep)

    store = ReadThenRace()
    projects = Projects(store)
    made = projects.create_project("one")
    second = projects.create_key(made.project.id, "second admin", "admin")
    outcomes: dict[str, str] = {}

    def revoke(key_id: str) -> None:
        try:
            projects.delete_key(made.project.id, key_id)
            outcomes[key_id] = "revoked"
        except Conflict as exc:
            outcomes[key_id] = exc.message

    threads = [threading.Thread(target=revoke, args=(k,)) for k in (made.key_id, second.key_id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes.values())[-1] == "revoked" and list(outcomes.values()).count("revoked") == 1, outcomes
    assert any("last admin key" in why for why in outcomes.values()), outcomes
    admins = [k for k in projects.list_keys(made.project.id, limit=50, cursor=None).items if k.role == "admin"]
    assert len(admins) == 1
