"""The DynamoDB repository against moto: keys, GSIs, conditional writes, cursor pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ids import new_id, utcnow
from shared.models.projects import ApiKey, Project
from shared.models.queries import RunQuery, TestQuery
from shared.models.runs import Run, RunStatus, StepResult
from shared.models.tests import Revision, TestCase, TestKind, TestSpec
from shared.settings import Settings

PROJECT = "prj_a"


@pytest.fixture
def repo(aws_settings: Settings) -> DynamoRepository:
    db = client("dynamodb", aws_settings.aws_region, aws_settings.aws_endpoint_url)
    return DynamoRepository(db, aws_settings.table_name)


def make_test(
    repo: DynamoRepository,
    name: str,
    *,
    project: str = PROJECT,
    tags: list[str] | None = None,
    kind: TestKind = TestKind.browser,
    minutes_ago: int = 0,
) -> TestCase:
    now = utcnow() - timedelta(minutes=minutes_ago)
    test = TestCase(
        id=new_id("tst"),
        project_id=project,
        name=name,
        kind=kind,
        tags=tags or [],
        latest_revision=1,
        created_at=now,
        updated_at=now,
    )
    spec = TestSpec.model_validate({"steps": [{"action": "goto", "url": "http://x"}], "variables": {"ratio": 0.5}})
    repo.create_test(
        test, Revision(**spec.model_dump(), test_id=test.id, project_id=project, revision=1, created_at=now)
    )
    return test


def make_run(
    repo: DynamoRepository, test: TestCase | None = None, *, project: str = PROJECT, seconds_ago: int = 0
) -> Run:
    now = utcnow() - timedelta(seconds=seconds_ago)
    run = Run(
        id=new_id("run"),
        project_id=project,
        test_id=test.id if test else None,
        kind=TestKind.browser,
        spec=TestSpec.model_validate({"steps": [{"action": "goto", "url": "http://x"}]}),
        timeout_s=60,
        created_at=now,
        updated_at=now,
    )
    repo.create_run(run)
    return run


def test_projects_and_keys(repo: DynamoRepository) -> None:
    repo.put_project(Project(id="p1", name="one", created_at=utcnow()))
    with pytest.raises(Conflict):
        repo.put_project(Project(id="p1", name="again", created_at=utcnow()))
    assert repo.get_project("p1").name == "one"
    with pytest.raises(NotFound):
        repo.get_project("p2")
    repo.put_api_key(ApiKey(key_hash="h", key_id="k1", project_id="p1", name="ci", created_at=utcnow()))
    assert repo.get_api_key("h").project_id == "p1"  # type: ignore[union-attr]
    assert repo.get_api_key("other") is None


def test_tests_and_revisions_round_trip(repo: DynamoRepository) -> None:
    test = make_test(repo, "Login", tags=["smoke"])
    assert repo.get_test(PROJECT, test.id) == test
    rev = repo.get_revision(PROJECT, test.id, 1)
    assert rev.variables == {"ratio": 0.5} and rev.steps and rev.steps[0].action == "goto"
    with pytest.raises(NotFound):
        repo.get_test("prj_other", test.id)
    with pytest.raises(NotFound):
        repo.get_revision("prj_other", test.id, 1)


def test_revision_numbers_are_taken_once(repo: DynamoRepository) -> None:
    test = make_test(repo, "Login")
    spec = TestSpec.model_validate({"goal": "Go to http://x"})
    second = Revision(**spec.model_dump(), test_id=test.id, project_id=PROJECT, revision=2, created_at=utcnow())
    repo.add_revision(test, second)
    with pytest.raises(Conflict):  # a concurrent writer that also read revision 1
        repo.add_revision(test, second)
    assert repo.get_test(PROJECT, test.id).latest_revision == 2
    page = repo.list_revisions(PROJECT, test.id, limit=1, cursor=None)
    assert [r.revision for r in page.items] == [1] and page.next_cursor
    rest = repo.list_revisions(PROJECT, test.id, limit=5, cursor=page.next_cursor)
    assert [r.revision for r in rest.items] == [2] and rest.next_cursor is None


def test_update_test_writes_only_the_fields_it_changes(repo: DynamoRepository) -> None:
    test = make_test(repo, "Login", tags=["a"])
    spec = TestSpec.model_validate({"goal": "x"})
    repo.add_revision(
        test, Revision(**spec.model_dump(), test_id=test.id, project_id=PROJECT, revision=2, created_at=utcnow())
    )
    # two writers that both read the test before revision 2, changing different fields
    repo.update_test(test.model_copy(update={"name": "Renamed", "updated_at": utcnow()}), ["name"])
    repo.update_test(test.model_copy(update={"tags": ["b"], "updated_at": utcnow()}), ["tags"])
    stored = repo.get_test(PROJECT, test.id)
    assert (stored.name, stored.tags, stored.latest_revision) == ("Renamed", ["b"], 2)  # nothing lost
    by_name = repo.list_tests(TestQuery(project_id=PROJECT, sort="name", q="renamed"))
    assert [t.id for t in by_name.items] == [test.id]  # the name index follows the rename
    missing = test.model_copy(update={"id": "tst_missing"})
    with pytest.raises(NotFound):
        repo.update_test(missing, ["status"])


def test_list_tests_sorts_filters_and_pages(repo: DynamoRepository) -> None:
    names = ["delta", "Alpha", "charlie", "bravo", "echo"]
    for i, name in enumerate(names):
        make_test(
            repo,
            name,
            tags=["even"] if i % 2 == 0 else ["odd"],
            minutes_ago=i,
            kind=TestKind.api if name == "echo" else TestKind.browser,
        )
    make_test(repo, "foreign", project="prj_other")

    def all_pages(query: TestQuery) -> list[str]:
        out, cursor = [], None
        while True:
            page = repo.list_tests(query.model_copy(update={"cursor": cursor}))
            out += [t.name for t in page.items]
            assert len(page.items) <= query.limit
            cursor = page.next_cursor
            if not cursor:
                return out

    assert all_pages(TestQuery(project_id=PROJECT, sort="name", limit=2)) == sorted(names, key=str.lower)
    assert all_pages(TestQuery(project_id=PROJECT, sort="-name", limit=2)) == sorted(names, key=str.lower)[::-1]
    assert all_pages(TestQuery(project_id=PROJECT, sort="-updated", limit=3)) == names  # newest first
    assert all_pages(TestQuery(project_id=PROJECT, sort="name", tag="even", limit=1)) == ["charlie", "delta", "echo"]
    assert all_pages(TestQuery(project_id=PROJECT, kind=TestKind.api)) == ["echo"]
    assert all_pages(TestQuery(project_id=PROJECT, q="AL")) == ["Alpha"]


def test_cursors_cannot_cross_queries_or_partitions(repo: DynamoRepository) -> None:
    for name in "abc":
        make_test(repo, name)
    make_test(repo, "x", project="prj_other")
    cursor = repo.list_tests(TestQuery(project_id=PROJECT, sort="name", limit=1)).next_cursor
    with pytest.raises(InvalidInput, match="different query"):
        repo.list_tests(TestQuery(project_id="prj_other", sort="name", limit=1, cursor=cursor))
    with pytest.raises(InvalidInput):
        repo.list_tests(TestQuery(project_id=PROJECT, sort="name", limit=1, cursor="bm90IGEgY3Vyc29y"))


def test_run_status_changes_are_conditional(repo: DynamoRepository) -> None:
    run = make_run(repo)
    running = repo.update_run(
        run.id,
        {"status": "running", "heartbeat_at": utcnow().isoformat()},
        expected_status=RunStatus.queued,
        expected_attempt=1,
    )
    assert running.status == RunStatus.running
    with pytest.raises(Conflict, match="is running"):
        repo.update_run(run.id, {"status": "running"}, expected_status=RunStatus.queued, expected_attempt=1)
    with pytest.raises(Conflict, match="attempt 1"):
        repo.update_run(run.id, {"status": "passed"}, expected_status=RunStatus.running, expected_attempt=2)
    step = StepResult(index=0, action="goto", status="passed", duration_ms=12)
    done = repo.update_run(
        run.id,
        {"status": "passed", "steps": [step.model_dump(mode="json")]},
        expected_status=RunStatus.running,
        expected_attempt=1,
    )
    assert done.steps == [step]
    with pytest.raises(NotFound):
        repo.update_run("run_missing", {"status": "passed"}, expected_status=RunStatus.running)


def test_heartbeat_takeover_condition(repo: DynamoRepository) -> None:
    run = make_run(repo)
    fresh = utcnow()
    repo.update_run(run.id, {"status": "running", "heartbeat_at": fresh.isoformat()}, expected_status=RunStatus.queued)
    stale_before = (fresh - timedelta(minutes=2)).isoformat()
    with pytest.raises(Conflict):
        repo.update_run(run.id, {"heartbeat_at": utcnow().isoformat()}, condition_heartbeat_before=stale_before)
    repo.update_run(run.id, {"heartbeat_at": (fresh - timedelta(minutes=5)).isoformat()})
    taken = repo.update_run(run.id, {"heartbeat_at": utcnow().isoformat()}, condition_heartbeat_before=stale_before)
    assert taken.heartbeat_at is not None and taken.heartbeat_at >= fresh


def test_list_runs_by_test_status_and_since(repo: DynamoRepository) -> None:
    test = make_test(repo, "t")
    old = make_run(repo, test, seconds_ago=600)
    mid = make_run(repo, test, seconds_ago=300)
    new = make_run(repo, seconds_ago=0)
    make_run(repo, project="prj_other")
    repo.update_run(mid.id, {"status": "cancelled"}, expected_status=RunStatus.queued)

    ids = lambda q: [r.id for r in repo.list_runs(q).items]  # noqa: E731
    assert ids(RunQuery(project_id=PROJECT)) == [new.id, mid.id, old.id]
    assert ids(RunQuery(project_id=PROJECT, sort="created")) == [old.id, mid.id, new.id]
    assert ids(RunQuery(project_id=PROJECT, test_id=test.id)) == [mid.id, old.id]
    assert ids(RunQuery(project_id=PROJECT, status=RunStatus.cancelled)) == [mid.id]
    assert ids(RunQuery(project_id=PROJECT, status=RunStatus.queued)) == [new.id, old.id]
    assert ids(RunQuery(project_id=PROJECT, test_id=test.id, status=RunStatus.queued)) == [old.id]
    assert ids(RunQuery(project_id=PROJECT, since=utcnow() - timedelta(seconds=400))) == [new.id, mid.id]
    assert ids(RunQuery(project_id="prj_other", test_id=test.id)) == []
    page = repo.list_runs(RunQuery(project_id=PROJECT, limit=2))
    assert len(page.items) == 2 and page.next_cursor
    rest = repo.list_runs(RunQuery(project_id=PROJECT, limit=2, cursor=page.next_cursor))
    assert [r.id for r in rest.items] == [old.id] and rest.next_cursor is None


def test_user_documents_of_any_shape_round_trip(repo: DynamoRepository) -> None:
    # Given a request body nested deeper than DynamoDB's 32 levels, floats and empty keys
    deep: dict = {"leaf": 0.1}
    for _ in range(40):
        deep = {"n": deep, "": [1.5, None, True]}
    spec = TestSpec.model_validate(
        {"steps": [{"action": "request", "method": "POST", "url": "http://x", "json": deep}], "variables": {"f": 0.1}}
    )
    now = utcnow()
    test = TestCase(
        id=new_id("tst"),
        project_id=PROJECT,
        name="deep",
        kind=TestKind.api,
        latest_revision=1,
        created_at=now,
        updated_at=now,
    )
    # When it is stored, Then it reads back exactly
    repo.create_test(
        test, Revision(**spec.model_dump(), test_id=test.id, project_id=PROJECT, revision=1, created_at=now)
    )
    assert repo.get_revision(PROJECT, test.id, 1).spec() == spec


def test_an_attribute_over_half_the_item_limit_can_be_replaced(repo: DynamoRepository) -> None:
    # DynamoDB measures the item as it will be; moto (corrected in local mode: cli/local/moto_fixes.py) used to
    # count the value being replaced too, refusing every update of a run whose results were over ~200 KB
    run = make_run(repo)
    big = "x" * 250_000
    repo.update_run(run.id, {"error": big}, project_id=PROJECT)
    updated = repo.update_run(run.id, {"error": big + "y"}, project_id=PROJECT)
    assert updated.error == big + "y"
    with pytest.raises(InvalidInput):  # a value that does make the item too large is still refused
        repo.update_run(run.id, {"error": "x" * 420_000}, project_id=PROJECT)


def test_projections_as_moto_answers_them_in_local_mode(repo: DynamoRepository, aws_settings: Settings) -> None:
    # cli/local/moto_fixes.py: top-level projections copy those attributes only; nested ones take moto's own way
    db = client("dynamodb", aws_settings.aws_region, aws_settings.aws_endpoint_url)
    item = {
        "PK": {"S": "P#proj"},
        "SK": {"S": "S"},
        "a": {"M": {"b": {"N": "1"}, "c": {"S": "x"}}},
        "d": {"B": b"\x00"},
    }
    db.put_item(TableName=aws_settings.table_name, Item=item)
    key = {"PK": {"S": "P#proj"}, "SK": {"S": "S"}}

    def got(projection: str) -> dict:
        names = {"#a": "a", "#b": "b", "#d": "d"}
        used = {k: v for k, v in names.items() if k in projection}
        return db.get_item(
            TableName=aws_settings.table_name, Key=key, ProjectionExpression=projection, ExpressionAttributeNames=used
        )["Item"]

    assert got("#a") == {"a": item["a"]}
    assert got("#a.#b") == {"a": {"M": {"b": {"N": "1"}}}}
    assert got("#d") == {"d": {"B": b"\x00"}}  # bytes: moto's own serializer (base64 on the wire)
    found = db.query(
        TableName=aws_settings.table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "P#proj"}},
    )
    assert found["Items"] == [item] and found["Count"] == 1
