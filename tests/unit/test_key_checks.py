"""API keys: a project's key is checked without reading the bootstrap key (a deployment's is in Secrets Manager:
a cold start's first request then makes no client for it); the bootstrap key, once read, without a lookup."""

from __future__ import annotations

import pytest

from shared.errors import Unauthorized, Unavailable
from shared.models.projects import ApiKey
from shared.services.projects import Projects
from tests.fakes import FakeStore

BOOTSTRAP = "atk_the_bootstrap_key"


class CountingStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        self.lookups += 1
        return super().get_api_key(key_hash)


class Secret:
    """What reads the bootstrap key, counting the reads; ``None`` while it cannot be read."""

    def __init__(self, value: str | None) -> None:
        self.value = value
        self.reads = 0

    def __call__(self) -> str | None:
        self.reads += 1
        if self.value is None:
            raise Unavailable("the API cannot check this key right now; try again")
        return self.value


def test_a_projects_key_is_checked_without_reading_the_bootstrap_key() -> None:
    store, secret = CountingStore(), Secret(BOOTSTRAP)
    projects = Projects(store, bootstrap_key=secret)
    created = projects.create_project("team")

    principal = projects.authenticate(created.api_key)

    assert (principal.project_id, principal.bootstrap) == (created.project.id, False)
    assert secret.reads == 0


def test_the_bootstrap_key_is_read_once_then_told_apart_without_a_lookup() -> None:
    store, secret = CountingStore(), Secret(BOOTSTRAP)
    projects = Projects(store, bootstrap_key=secret, bootstrap_project="default")

    first = projects.authenticate(BOOTSTRAP)  # looked up (not a project's), then the secret read
    lookups = store.lookups
    again = projects.authenticate(BOOTSTRAP)

    assert first.bootstrap and again.bootstrap and again.project_id == "default"
    assert secret.reads == 1
    assert store.lookups == lookups == 1
    with pytest.raises(Unauthorized):
        projects.authenticate("atk_other")
    assert secret.reads == 1


def test_an_unknown_key_while_the_bootstrap_key_cannot_be_read_is_unavailable_and_read_again_next_time() -> None:
    store, secret = CountingStore(), Secret(None)
    projects = Projects(store, bootstrap_key=secret)
    created = projects.create_project("team")

    with pytest.raises(Unavailable):
        projects.authenticate("atk_maybe_the_bootstrap_key")
    assert projects.authenticate(created.api_key).project_id == created.project.id
    secret.value = BOOTSTRAP
    assert projects.authenticate(BOOTSTRAP).bootstrap is True
    assert secret.reads == 2


def test_without_a_bootstrap_key_an_unknown_key_is_refused() -> None:
    projects = Projects(CountingStore(), bootstrap_key=None)

    with pytest.raises(Unauthorized):
        projects.authenticate("atk_unknown")
    with pytest.raises(Unauthorized):
        projects.authenticate(None)
