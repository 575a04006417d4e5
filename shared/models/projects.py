"""Projects (the tenant boundary) and their API keys (stored hashed)."""

from __future__ import annotations

from datetime import datetime

from shared.models.common import Model, Name, StrictModel


class Project(Model):
    id: str
    name: str
    created_at: datetime


class ApiKey(Model):
    key_hash: str
    key_id: str
    project_id: str
    name: str
    created_at: datetime


class ProjectCreate(StrictModel):
    name: Name


class ApiKeyCreate(StrictModel):
    name: Name = "default"


class ProjectCreated(Model):
    """Returned once: the only time the plaintext key is shown."""

    project: Project
    api_key: str
    key_id: str


class ApiKeyCreated(Model):
    api_key: str
    key_id: str
    project_id: str


class Principal(Model):
    """Who is calling: a project, and whether the key is the bootstrap (admin) key."""

    project_id: str
    key_id: str
    admin: bool = False
