"""The secrets service's rules: names and values, write-only, resolution within the run's project, and the
environment's secrets for the bootstrap project only (below the project's own)."""

from __future__ import annotations

import pytest

from runner_container.runner.render import PLACEHOLDER
from shared.errors import InvalidInput, NotFound
from shared.models.secrets import MAX_NAME_CHARS, MAX_VALUE_BYTES, name_problem
from shared.services.secrets import Secrets, SecretsNotDefined
from tests.fakes import FakeSecrets, FakeSecretStore

BOOTSTRAP = "default"


@pytest.fixture
def store() -> FakeSecretStore:
    return FakeSecretStore()


@pytest.fixture
def env() -> FakeSecrets:
    return FakeSecrets({"ADMIN_PASSWORD": "from-env", "ENV_ONLY": "env"})


@pytest.fixture
def secrets(store: FakeSecretStore, env: FakeSecrets) -> Secrets:
    return Secrets(store, environment=env, environment_project=BOOTSTRAP)


def test_environment_secrets_are_the_bootstrap_projects_only(secrets: Secrets) -> None:
    assert secrets.resolve(BOOTSTRAP, ["ADMIN_PASSWORD"]) == {"ADMIN_PASSWORD": "from-env"}

    with pytest.raises(SecretsNotDefined) as info:
        secrets.resolve("prj_other", ["ADMIN_PASSWORD"])

    assert "secret not defined in project prj_other: ADMIN_PASSWORD" in info.value.message
    assert "from-env" not in info.value.message and "AUTOTEST_SECRET_" not in info.value.message
    assert secrets.list_secrets("prj_other") == []


def test_a_projects_own_secret_wins_over_the_environment(secrets: Secrets) -> None:
    secrets.put_secret(BOOTSTRAP, "ADMIN_PASSWORD", "stored")

    assert secrets.resolve(BOOTSTRAP, ["ADMIN_PASSWORD", "ENV_ONLY"]) == {"ADMIN_PASSWORD": "stored", "ENV_ONLY": "env"}
    listed = [(s.name, s.source, s.updated_at is not None) for s in secrets.list_secrets(BOOTSTRAP)]
    assert listed == [("ADMIN_PASSWORD", "project", True), ("ENV_ONLY", "environment", False)]


def test_the_bootstrap_projects_missing_secret_mentions_the_environment_too(secrets: Secrets) -> None:
    with pytest.raises(SecretsNotDefined) as info:
        secrets.resolve(BOOTSTRAP, ["NOPE"])

    assert "`autotest secrets set NOPE` or PUT /v1/secrets/NOPE" in info.value.message
    assert "AUTOTEST_SECRET_<NAME>" in info.value.message


def test_deleting_what_only_the_environment_defines_says_where_it_comes_from(secrets: Secrets) -> None:
    with pytest.raises(NotFound, match="comes from the environment"):
        secrets.delete_secret(BOOTSTRAP, "ENV_ONLY")
    with pytest.raises(NotFound, match="secret ENV_ONLY not found in this project"):
        secrets.delete_secret("prj_other", "ENV_ONLY")


def test_put_and_delete_check_names_and_values(secrets: Secrets, store: FakeSecretStore) -> None:
    for name in ("1ABC", "with space", "a/b", "", "x" * (MAX_NAME_CHARS + 1), "ünï"):
        with pytest.raises(InvalidInput) as info:
            secrets.put_secret("prj_a", name, "v")
        assert info.value.details[0]["loc"] == "name"
        with pytest.raises(InvalidInput):
            secrets.delete_secret("prj_a", name)
    for value in ("", "é" * (MAX_VALUE_BYTES // 2 + 1)):
        with pytest.raises(InvalidInput) as info:
            secrets.put_secret("prj_a", "OK", value)
        assert info.value.details[0]["loc"] == "value"
    assert store.stored == {}


@pytest.mark.parametrize("name", ["ADMIN_PASSWORD", "_x", "a.b-c", "x" * MAX_NAME_CHARS])
def test_every_storable_name_is_one_a_placeholder_accepts(name: str) -> None:
    assert name_problem(name) is None
    match = PLACEHOLDER.fullmatch(f"{{{{secret:{name}}}}}")
    assert match is not None and match.group(2) == name


def test_a_referenced_name_no_store_can_hold_is_reported_missing_with_the_rule(secrets: Secrets) -> None:
    too_long = "x" * (MAX_NAME_CHARS + 1)

    with pytest.raises(SecretsNotDefined) as info:
        secrets.resolve("prj_a", [too_long])

    assert f"at most {MAX_NAME_CHARS}" in info.value.message


def test_an_environment_source_needs_its_project() -> None:
    with pytest.raises(ValueError):
        Secrets(FakeSecretStore(), environment=FakeSecrets())
