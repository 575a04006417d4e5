"""The GithubStore contract, one suite run against the in-memory fake and the DynamoDB store (on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb_github import DynamoGithubStore
from shared.errors import NotFound
from shared.models.github import GithubIntegration, GithubRule
from shared.ports import GithubStore
from shared.settings import Settings
from tests.fakes import FakeGithubStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=("fake", "dynamodb"))
def store(request: pytest.FixtureRequest, clock: Clock) -> GithubStore:
    if request.param == "fake":
        return FakeGithubStore(clock=clock)
    settings: Settings = request.getfixturevalue("aws_settings")
    db = client("dynamodb", settings.aws_region, settings.aws_endpoint_url)
    return DynamoGithubStore(db, settings.table_name, clock=clock)


def an_integration(project: str = "p1", *, suite: str = "ste_1") -> GithubIntegration:
    return GithubIntegration(
        id=f"ghi_{project}",
        project_id=project,
        secret="a-webhook-secret-of-some-length",
        token_secret="GITHUB_TOKEN",
        api_url="https://api.github.com",
        rules=[
            GithubRule(repo="acme/shop", branches=["main", "release/*"], suite=suite, labels={"env": "ci"}),
            GithubRule(repo="acme/shop", events=["pull_request"], suite=suite),
        ],
        created_at=NOW,
        updated_at=NOW,
    )


def test_an_integration_is_stored_replaced_read_per_project_and_deleted(store: GithubStore) -> None:
    assert store.get_integration("p1") is None
    store.put_integration(an_integration())
    assert store.get_integration("p1") == an_integration()
    assert store.get_integration("p2") is None

    replaced = an_integration(suite="ste_2")
    store.put_integration(replaced)
    assert store.get_integration("p1") == replaced

    with pytest.raises(NotFound):
        store.delete_integration("p2")
    store.delete_integration("p1")
    assert store.get_integration("p1") is None
    with pytest.raises(NotFound):
        store.delete_integration("p1")


def test_a_delivery_is_claimed_once_per_project_until_it_expires_or_is_released(
    store: GithubStore, clock: Clock
) -> None:
    expires = int((NOW + timedelta(hours=1)).timestamp())
    assert store.claim_webhook_delivery("p1", "d-1", expires_at=expires) is True
    assert store.claim_webhook_delivery("p1", "d-1", expires_at=expires) is False
    assert store.claim_webhook_delivery("p2", "d-1", expires_at=expires) is True  # another project's
    assert store.claim_webhook_delivery("p1", "d-2", expires_at=expires) is True

    # released (its handling failed): the redelivery may claim it
    store.release_webhook_delivery("p1", "d-1")
    store.release_webhook_delivery("p1", "never-claimed")
    assert store.claim_webhook_delivery("p1", "d-1", expires_at=expires) is True

    # expired (DynamoDB deletes expired items only eventually): it may be claimed again
    clock.now = NOW + timedelta(hours=2)
    later = int((clock.now + timedelta(hours=1)).timestamp())
    assert store.claim_webhook_delivery("p1", "d-2", expires_at=later) is True
    assert store.claim_webhook_delivery("p1", "d-2", expires_at=later) is False
