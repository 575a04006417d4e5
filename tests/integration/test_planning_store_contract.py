"""The ElementCache and PlanStore contracts, one suite for each port run against every implementation: the
in-memory fakes (unit tests) and the DynamoDB adapters (on moto, the table as ``provision`` makes it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoElementCache, DynamoPlanStore
from shared.errors import Conflict, NotFound
from shared.models.planning import (
    CachedElement,
    Fingerprint,
    PlanOutcome,
    PlanProposal,
    PlanUsage,
    ProposalStatus,
    page_key,
    step_key,
)
from shared.models.plans import Plan
from shared.ports import ElementCache, PlanStore
from shared.settings import Settings
from tests.fakes import FakeElementCache, FakePlanStore

IMPLEMENTATIONS = ("fake", "dynamodb")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _db(request: pytest.FixtureRequest) -> tuple[object, str]:
    settings: Settings = request.getfixturevalue("aws_settings")
    return client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name


@pytest.fixture(params=IMPLEMENTATIONS)
def cache(request: pytest.FixtureRequest, clock: Clock) -> ElementCache:
    if request.param == "fake":
        return FakeElementCache(clock=clock)
    db, table = _db(request)
    return DynamoElementCache(db, table, clock=clock)


@pytest.fixture(params=IMPLEMENTATIONS)
def plans(request: pytest.FixtureRequest) -> PlanStore:
    if request.param == "fake":
        return FakePlanStore()
    db, table = _db(request)
    return DynamoPlanStore(db, table)


STEPS = TypeAdapter(Plan).validate_python(
    [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "fill", "target": "Username", "value": "admin"},
        {"action": "click", "target": {"role": "button", "name": "Log in"}},
    ]
)


def entry(
    *,
    project: str = "prj_a",
    test: str = "tst_1",
    step: int = 2,
    url: str = "http://127.0.0.1:8001/login?x=1",
    expires_in: timedelta = timedelta(days=30),
    name: str = "Log in",
) -> CachedElement:
    return CachedElement(
        project_id=project,
        test_id=test,
        step_key=step_key(STEPS[step]),
        page_key=page_key(url),
        target={"role": "button", "name": name},
        locator=f'get_by_role("button", name="{name}")',
        fingerprint=Fingerprint(
            role="button", name=name, tag="button", attributes={"type": "submit"}, parents=["form"]
        ),
        source="healed",
        updated_at=NOW,
        expires_at=int((NOW + expires_in).timestamp()),
    )


def proposal(*, project: str = "prj_a", pid: str | None = None) -> PlanProposal:
    return PlanProposal(
        id=pid or f"pln_{uuid.uuid4().hex[:12]}",
        project_id=project,
        test_id="tst_1",
        revision=1,
        planner="rules",
        created_at=NOW,
        updated_at=NOW,
    )


# ------------------------------------------------------------------------------ element cache


def test_an_entry_put_is_read_back_whole(cache: ElementCache) -> None:
    stored = entry()

    cache.put(stored)

    found = cache.get("prj_a", "tst_1", stored.step_key, "http://127.0.0.1:8001/login")
    assert found == stored
    assert found.fingerprint.matches(stored.fingerprint) and found.target == {"role": "button", "name": "Log in"}


def test_entries_are_per_project_test_step_and_page(cache: ElementCache) -> None:
    stored = entry()
    cache.put(stored)
    key, page = stored.step_key, stored.page_key

    assert cache.get("prj_b", "tst_1", key, page) is None
    assert cache.get("prj_a", "tst_2", key, page) is None
    assert cache.get("prj_a", "tst_1", step_key(STEPS[1]), page) is None
    assert cache.get("prj_a", "tst_1", key, "http://127.0.0.1:8001/welcome") is None


def test_put_replaces_and_delete_removes(cache: ElementCache) -> None:
    cache.put(entry(name="Log in"))
    renamed = entry(name="Sign in")

    cache.put(renamed)

    assert cache.get("prj_a", "tst_1", renamed.step_key, renamed.page_key) == renamed
    cache.delete("prj_a", "tst_1", renamed.step_key, renamed.page_key)
    assert cache.get("prj_a", "tst_1", renamed.step_key, renamed.page_key) is None
    cache.delete("prj_a", "tst_1", renamed.step_key, renamed.page_key)  # deleting nothing is fine


def test_an_expired_entry_is_not_returned(cache: ElementCache, clock: Clock) -> None:
    stored = entry(expires_in=timedelta(hours=1))
    cache.put(stored)

    clock.now = NOW + timedelta(minutes=59)
    assert cache.get("prj_a", "tst_1", stored.step_key, stored.page_key) == stored
    clock.now = NOW + timedelta(hours=1)
    assert cache.get("prj_a", "tst_1", stored.step_key, stored.page_key) is None


def test_a_long_page_url_is_a_key_of_its_own(cache: ElementCache) -> None:
    long_a = entry(url="http://127.0.0.1:8001/" + "a" * 3000)
    long_b = entry(url="http://127.0.0.1:8001/" + "a" * 2999 + "b", name="Other")

    cache.put(long_a)
    cache.put(long_b)

    assert cache.get("prj_a", "tst_1", long_a.step_key, long_a.page_key) == long_a
    assert cache.get("prj_a", "tst_1", long_b.step_key, long_b.page_key) == long_b


# -------------------------------------------------------------------------------- plan store


def test_a_proposal_put_is_read_back_and_a_second_put_conflicts(plans: PlanStore) -> None:
    stored = proposal()

    plans.put_proposal(stored)

    assert plans.get_proposal("prj_a", stored.id) == stored
    with pytest.raises(Conflict):
        plans.put_proposal(stored)


def test_another_projects_proposal_is_not_found(plans: PlanStore) -> None:
    stored = proposal()
    plans.put_proposal(stored)

    with pytest.raises(NotFound):
        plans.get_proposal("prj_b", stored.id)
    with pytest.raises(NotFound):
        plans.get_proposal("prj_a", "pln_missing")
    with pytest.raises(Conflict):  # nor can it be written through another project
        plans.update_proposal(stored.model_copy(update={"project_id": "prj_b"}), expected_status="pending")


def test_update_is_conditional_on_the_stored_status(plans: PlanStore) -> None:
    stored = proposal()
    plans.put_proposal(stored)
    ready = stored.model_copy(
        update={
            "status": ProposalStatus.ready,
            "steps": STEPS,
            "usage": PlanUsage(input_tokens=120, output_tokens=80, latency_ms=900, cost_usd=0.00042, model_calls=1),
            "notes": ["line 2 read loosely"],
            "model_id": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "updated_at": NOW + timedelta(seconds=1),
        }
    )

    plans.update_proposal(ready, expected_status="pending")

    assert plans.get_proposal("prj_a", stored.id) == ready
    with pytest.raises(Conflict):  # a second filler lost: it is no longer pending
        plans.update_proposal(ready.model_copy(update={"status": ProposalStatus.failed}), expected_status="pending")
    assert plans.get_proposal("prj_a", stored.id).status == ProposalStatus.ready
    accepted = ready.model_copy(update={"status": ProposalStatus.accepted, "accepted_revision": 2})
    plans.update_proposal(accepted, expected_status="ready")
    assert plans.get_proposal("prj_a", stored.id) == accepted


def test_updating_a_missing_proposal_conflicts(plans: PlanStore) -> None:
    with pytest.raises(Conflict):
        plans.update_proposal(proposal(), expected_status="pending")
    with pytest.raises(NotFound):
        plans.get_proposal("prj_a", "pln_never")


def test_plans_are_cached_per_project_and_content_hash(plans: PlanStore) -> None:
    outcome = PlanOutcome(steps=STEPS, planner="rules", usage=PlanUsage(latency_ms=2), notes=["ok"])

    assert plans.get_cached_plan("prj_a", "h1") is None
    plans.put_cached_plan("prj_a", "h1", outcome)

    assert plans.get_cached_plan("prj_a", "h1") == outcome
    assert plans.get_cached_plan("prj_b", "h1") is None
    assert plans.get_cached_plan("prj_a", "h2") is None
    replaced = outcome.model_copy(update={"steps": STEPS[:1]})
    plans.put_cached_plan("prj_a", "h1", replaced)
    assert plans.get_cached_plan("prj_a", "h1") == replaced


# ---------------------------------------------------------------------------- provisioning


def test_the_table_expires_items_by_expires_at(aws_settings: Settings) -> None:
    from shared.aws.provision import provision

    db = client("dynamodb", aws_settings.aws_region, aws_settings.aws_endpoint_url)
    provision(aws_settings)  # idempotent: the TTL is already on

    described = db.describe_time_to_live(TableName=aws_settings.table_name)["TimeToLiveDescription"]
    assert described["TimeToLiveStatus"] == "ENABLED" and described["AttributeName"] == "expires_at"


def test_the_planner_queue_and_its_dead_letter_queue_exist(aws_settings: Settings) -> None:
    sqs = client("sqs", aws_settings.aws_region, aws_settings.aws_endpoint_url)
    url = sqs.get_queue_url(QueueName=aws_settings.plan_queue_name)["QueueUrl"]
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert aws_settings.plan_dlq_name in policy
