"""What only the Secrets Manager adapter does (on moto): where a project's secrets live, deletion with a
recovery window, paging, and the wiring of ``build_services``. The contract is in test_secret_store_contract.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import shared.aws.secrets as sm_module
from shared.aws.clients import client, endpoint_clients
from shared.aws.factory import build_services
from shared.aws.secrets import PROJECT_TAG, SecretsManagerStore
from shared.errors import InvalidInput, Unauthorized, Unavailable
from shared.settings import Settings


@pytest.fixture
def sm(moto_endpoint: str) -> Any:
    return client("secretsmanager", "us-east-1", moto_endpoint)


@pytest.fixture
def prefix() -> str:
    return f"autotest-{uuid.uuid4().hex[:8]}/"


def test_a_projects_secret_is_named_under_its_prefix_and_tagged(sm: Any, prefix: str) -> None:
    store = SecretsManagerStore(sm, prefix=prefix)

    store.put("prj_a", "ADMIN_PASSWORD", "pw")

    described = sm.describe_secret(SecretId=f"{prefix}prj_a/ADMIN_PASSWORD")
    assert {"Key": PROJECT_TAG, "Value": "prj_a"} in described["Tags"]
    assert sm.get_secret_value(SecretId=f"{prefix}prj_a/ADMIN_PASSWORD")["SecretString"] == "pw"


def test_delete_keeps_a_recovery_window_and_a_new_put_restores_the_name(sm: Any, prefix: str) -> None:
    store = SecretsManagerStore(sm, prefix=prefix, recovery_days=7)
    store.put("prj_a", "TOKEN", "old")

    store.delete("prj_a", "TOKEN")

    # still recoverable by an operator, but gone for autotest
    assert sm.describe_secret(SecretId=f"{prefix}prj_a/TOKEN").get("DeletedDate") is not None
    assert store.get("prj_a", "TOKEN") is None and store.list("prj_a") == []

    store.put("prj_a", "TOKEN", "new")

    assert sm.describe_secret(SecretId=f"{prefix}prj_a/TOKEN").get("DeletedDate") is None
    assert store.get("prj_a", "TOKEN") == "new"


def test_listing_reads_every_page(sm: Any, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sm_module, "_PAGE_SIZE", 2)
    store = SecretsManagerStore(sm, prefix=prefix)
    for i in range(5):
        store.put("prj_a", f"S{i}", "v")

    assert [info.name for info in store.list("prj_a")] == [f"S{i}" for i in range(5)]


def test_secrets_made_by_hand_that_are_no_names_of_ours_are_not_listed(sm: Any, prefix: str) -> None:
    store = SecretsManagerStore(sm, prefix=prefix)
    sm.create_secret(Name=f"{prefix}prj_a/nested/path", SecretString="x")
    sm.create_secret(Name=f"{prefix}prj_a/BINARY", SecretBinary=b"\x00\x01")

    assert [info.name for info in store.list("prj_a")] == ["BINARY"]
    with pytest.raises(InvalidInput, match="binary"):
        store.get("prj_a", "BINARY")


def test_a_project_id_that_cannot_be_part_of_a_name_is_refused(sm: Any, prefix: str) -> None:
    store = SecretsManagerStore(sm, prefix=prefix)

    with pytest.raises(InvalidInput):
        store.put("prj/../other", "X", "v")


def test_build_services_stores_secrets_in_secrets_manager_under_the_configured_prefix(
    aws_settings: Settings, sm: Any, prefix: str
) -> None:
    services = build_services(aws_settings.model_copy(update={"secrets_prefix": prefix}))

    services.secrets.put_secret("prj_a", "ADMIN_PASSWORD", "pw")

    assert sm.get_secret_value(SecretId=f"{prefix}prj_a/ADMIN_PASSWORD")["SecretString"] == "pw"
    assert services.secrets.resolve("prj_a", ["ADMIN_PASSWORD"]) == {"ADMIN_PASSWORD": "pw"}


def test_the_bootstrap_key_is_read_from_its_secret_when_a_key_is_first_checked(aws_settings: Settings) -> None:
    """A deployment's bootstrap key is in Secrets Manager (generated at deploy); the environment names it."""
    # Given the key in a secret and settings naming only the secret
    secrets = endpoint_clients(aws_settings.aws_region, aws_settings.aws_endpoint_url)("secretsmanager")
    name = f"autotest-bootstrap-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString="atk_from_the_secret")
    settings = aws_settings.model_copy(update={"bootstrap_api_key": None, "bootstrap_api_key_secret": name})
    projects = build_services(settings).projects
    # When the key is checked, Then it is the bootstrap project's; another key is not
    assert projects.authenticate("atk_from_the_secret").bootstrap is True
    with pytest.raises(Unauthorized):
        projects.authenticate("atk_other")


def test_a_missing_bootstrap_secret_is_unavailable_but_project_keys_still_work(aws_settings: Settings) -> None:
    # Given a deployment whose bootstrap secret is gone, and a project with its own key
    settings = aws_settings.model_copy(update={"bootstrap_api_key": None, "bootstrap_api_key_secret": "no-such"})
    projects = build_services(settings).projects
    created = projects.create_project("team")
    # Then the project's key works; an unknown key is a 503 that does not name the secret (it may have been the
    # bootstrap key), not a 401
    assert projects.authenticate(created.api_key).project_id == created.project.id
    with pytest.raises(Unavailable) as refused:
        projects.authenticate("atk_any")
    assert "no-such" not in refused.value.message and "try again" in refused.value.message


@pytest.mark.parametrize("stored", ["atk_from_a_file\n", "  atk_from_a_file  "])
def test_the_bootstrap_key_is_read_without_surrounding_whitespace(aws_settings: Settings, stored: str) -> None:
    secrets = endpoint_clients(aws_settings.aws_region, aws_settings.aws_endpoint_url)("secretsmanager")
    name = f"autotest-bootstrap-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString=stored)
    settings = aws_settings.model_copy(update={"bootstrap_api_key": None, "bootstrap_api_key_secret": name})
    assert build_services(settings).projects.authenticate("atk_from_a_file").bootstrap is True


def test_an_empty_bootstrap_secret_is_unavailable_until_it_is_written(aws_settings: Settings) -> None:
    secrets = endpoint_clients(aws_settings.aws_region, aws_settings.aws_endpoint_url)("secretsmanager")
    name = f"autotest-bootstrap-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretBinary=b"\x00\x01")  # no text in it
    settings = aws_settings.model_copy(update={"bootstrap_api_key": None, "bootstrap_api_key_secret": name})
    projects = build_services(settings).projects
    with pytest.raises(Unavailable):
        projects.authenticate("atk_later")
    secrets.put_secret_value(SecretId=name, SecretString="atk_later")
    assert projects.authenticate("atk_later").bootstrap is True  # not kept: read again
