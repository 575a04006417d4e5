"""Projects (the tenant boundary) and their API keys (stored hashed)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.models.common import Model, Name, StrictModel

Role = Literal["viewer", "runner", "editor", "admin"]
"""What a key may do, each role all the one before it may and more: `viewer` reads everything; `runner` also
starts and cancels runs and suite runs (the key CI gets); `editor` also writes tests, suites, schedules, plans,
heal acceptances and imports; `admin` also manages keys, secrets, notifications, integrations and reads the
audit log."""

#: the roles in order, least first: a key may do what its role and every role before it may
ROLES: tuple[Role, ...] = ("viewer", "runner", "editor", "admin")


def role_allows(role: Role, needed: Role) -> bool:
    """Whether a key of ``role`` may do what needs ``needed``."""
    return ROLES.index(role) >= ROLES.index(needed)


class Project(Model):
    """A project: the tenant boundary. Its API keys, tests, runs and secrets are its own; another project's are
    a 404."""

    id: str
    """The project's id (`prj_...`; the bootstrap project's is `AUTOTEST_BOOTSTRAP_PROJECT`, `default`)."""
    name: str
    """The project's name."""
    created_at: datetime
    """When it was created (UTC, ISO 8601)."""


class ApiKey(Model):
    key_hash: str
    key_id: str
    project_id: str
    name: str
    created_at: datetime
    #: keys made before roles could do everything: they stay admin keys
    role: Role = "admin"
    last_used_at: datetime | None = None


class ApiKeyInfo(Model):
    """An API key as `GET /v1/keys` lists it: never the key itself (only its SHA-256 is stored)."""

    key_id: str
    """The key's id (`key_...`): `DELETE /v1/keys/{key_id}` revokes it."""
    name: str
    """The name it was given."""
    role: Role
    """What it may do: `viewer`, `runner`, `editor` or `admin`."""
    created_at: datetime
    """When it was created (UTC)."""
    last_used_at: datetime | None = None
    """When it last authenticated a request, to within 5 minutes (null: not used since it was created, or
    since it was last recorded). A key made before keys were listed appears once it is used."""

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyInfo:
        return cls(
            key_id=key.key_id, name=key.name, role=key.role, created_at=key.created_at, last_used_at=key.last_used_at
        )


class ProjectCreate(StrictModel):
    """A new project (`POST /v1/projects`, the bootstrap key only). It gets its first API key, named
    `default`."""

    name: Name
    """The project's name (1 to 200 characters, trimmed; no control or bidirectional-formatting characters)."""


class ApiKeyCreate(StrictModel):
    """Another API key for the calling key's project (`POST /v1/keys`)."""

    name: Name = "default"
    """A name to tell the key apart, e.g. where it is used (1 to 200 characters; no control characters).
    Default: `default`."""
    role: Role = "viewer"
    """What the key may do: `viewer` (read only), `runner` (also start and cancel runs: the key CI gets),
    `editor` (also write tests, suites, schedules), `admin` (also keys, secrets, notifications, the audit log).
    Default: `viewer`, the least."""


class ProjectCreated(Model):
    """A new project and its first API key. The only time that key is shown: keys are stored as their
    SHA-256."""

    project: Project
    """The project."""
    api_key: str
    """The new key (`atk_...`): send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    key_id: str
    """The key's id (`key_...`), which names it without revealing it."""


class ApiKeyCreated(Model):
    """A new API key. The only time it is shown: keys are stored as their SHA-256."""

    api_key: str
    """The new key (`atk_...`): send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    key_id: str
    """The key's id (`key_...`), which names it without revealing it."""
    project_id: str
    """The project the key belongs to."""
    role: Role = "admin"
    """What the key may do."""


class Principal(Model):
    """Who is calling: a project, the key (its id, name and role), and whether it is the deployment's bootstrap
    key (an admin of the bootstrap project that may also create projects)."""

    project_id: str
    key_id: str
    key_name: str = ""
    role: Role = "viewer"
    bootstrap: bool = False
