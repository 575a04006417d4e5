"""The SecretStore contract, one suite for every implementation: the in-memory fake (unit tests), local
mode's encrypted file store, and the Secrets Manager adapter (on moto)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.local.secret_store import EncryptedFileSecretStore
from shared.aws.clients import client
from shared.aws.secrets import SecretsManagerStore
from shared.errors import NotFound
from shared.models.secrets import MAX_VALUE_BYTES
from shared.ports import SecretStore
from tests.fakes import FakeSecretStore

IMPLEMENTATIONS = ("fake", "local", "secretsmanager")


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecretStore]:
    if request.param == "fake":
        yield FakeSecretStore()
    elif request.param == "local":
        yield EncryptedFileSecretStore(tmp_path / "secrets", key_file=tmp_path / "keys" / "secrets.key")
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        # a prefix of its own: the moto server is shared by the whole session
        yield SecretsManagerStore(
            client("secretsmanager", "us-east-1", endpoint), prefix=f"autotest-{uuid.uuid4().hex[:8]}/"
        )


def names(store: SecretStore, project_id: str) -> list[str]:
    return [info.name for info in store.list(project_id)]


def test_a_secret_put_is_read_back_and_listed_without_its_value(store: SecretStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)

    info = store.put("prj_a", "ADMIN_PASSWORD", "correct horse")

    assert info.name == "ADMIN_PASSWORD"
    assert info.updated_at.tzinfo is not None and before <= info.updated_at <= datetime.now(UTC) + timedelta(seconds=2)
    assert store.get("prj_a", "ADMIN_PASSWORD") == "correct horse"
    [listed] = store.list("prj_a")
    assert listed.name == "ADMIN_PASSWORD" and abs(listed.updated_at - info.updated_at) < timedelta(seconds=2)
    assert "correct horse" not in listed.model_dump_json()


def test_a_missing_secret_is_none(store: SecretStore) -> None:
    assert store.get("prj_a", "NOPE") is None
    assert store.list("prj_a") == []


def test_put_replaces_the_value(store: SecretStore) -> None:
    first = store.put("prj_a", "TOKEN", "one")

    second = store.put("prj_a", "TOKEN", "two")

    assert store.get("prj_a", "TOKEN") == "two"
    assert names(store, "prj_a") == ["TOKEN"]
    assert second.updated_at >= first.updated_at


def test_delete_removes_it_and_a_second_delete_is_not_found(store: SecretStore) -> None:
    store.put("prj_a", "TOKEN", "one")
    store.put("prj_a", "OTHER", "kept")

    store.delete("prj_a", "TOKEN")

    assert store.get("prj_a", "TOKEN") is None
    assert names(store, "prj_a") == ["OTHER"]
    with pytest.raises(NotFound):
        store.delete("prj_a", "TOKEN")
    with pytest.raises(NotFound):
        store.delete("prj_a", "NEVER_SET")


def test_a_deleted_name_can_be_set_again_at_once(store: SecretStore) -> None:
    # (Secrets Manager keeps a deleted secret for its recovery window: the name is still taken there)
    store.put("prj_a", "TOKEN", "old")
    store.delete("prj_a", "TOKEN")

    store.put("prj_a", "TOKEN", "new")

    assert store.get("prj_a", "TOKEN") == "new"
    assert names(store, "prj_a") == ["TOKEN"]
    store.delete("prj_a", "TOKEN")
    assert store.get("prj_a", "TOKEN") is None


def test_projects_never_see_each_others_secrets(store: SecretStore) -> None:
    store.put("prj_a", "ADMIN_PASSWORD", "a-secret")
    store.put("prj_ab", "ONLY_AB", "ab-secret")  # a project id that extends another one

    assert store.get("prj_b", "ADMIN_PASSWORD") is None
    assert names(store, "prj_b") == []
    assert names(store, "prj_a") == ["ADMIN_PASSWORD"]
    assert store.get("prj_a", "ONLY_AB") is None
    with pytest.raises(NotFound):
        store.delete("prj_b", "ADMIN_PASSWORD")

    store.put("prj_b", "ADMIN_PASSWORD", "b-secret")

    assert store.get("prj_a", "ADMIN_PASSWORD") == "a-secret"
    assert store.get("prj_b", "ADMIN_PASSWORD") == "b-secret"
    store.delete("prj_b", "ADMIN_PASSWORD")
    assert store.get("prj_a", "ADMIN_PASSWORD") == "a-secret"


def test_names_are_case_sensitive_and_listed_in_order(store: SecretStore) -> None:
    for name, value in (("token", "lower"), ("TOKEN", "upper"), ("Token", "title"), ("a.b-c_d", "dots")):
        store.put("prj_a", name, value)

    assert [store.get("prj_a", n) for n in ("token", "TOKEN", "Token", "a.b-c_d")] == [
        "lower",
        "upper",
        "title",
        "dots",
    ]
    assert names(store, "prj_a") == sorted(["token", "TOKEN", "Token", "a.b-c_d"])


@pytest.mark.parametrize(
    "value",
    ["line one\nline two\n", "ünïcödé ✓ 🔑", "x" * MAX_VALUE_BYTES, '"quoted" {json: true} \\ ${x}'],
    ids=["newlines", "unicode", "largest", "punctuation"],
)
def test_values_come_back_exactly(store: SecretStore, value: str) -> None:
    store.put("prj_a", "VALUE", value)

    assert store.get("prj_a", "VALUE") == value
