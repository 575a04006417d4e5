"""Projects (the tenant boundary) and their API keys (stored hashed)."""

from __future__ import annotations

from datetime import datetime

from shared.models.common import Model, Name, StrictModel


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


class Principal(Model):
    """Who is calling: a project, and whether the key is the bootstrap (admin) key."""

    project_id: str
    key_id: str
    admin: bool = False
