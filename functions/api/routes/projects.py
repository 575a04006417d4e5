"""Projects and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from functions.api import examples
from functions.api.deps import AdminDep, AuditDep, BootstrapDep, Cursor, KeyIdPath, Limit, ServicesDep, ViewerDep
from shared.models.pages import Page
from shared.models.projects import ApiKeyCreate, ApiKeyCreated, ApiKeyInfo, Project, ProjectCreate, ProjectCreated

router = APIRouter(tags=["projects"])


@router.post(
    "/v1/projects",
    status_code=201,
    response_model=ProjectCreated,
    summary="Create a project and its first API key (bootstrap key only; the key is shown once)",
)
def create_project(
    body: Annotated[ProjectCreate, Body(openapi_examples=examples.PROJECT_CREATE)],
    _: BootstrapDep,
    services: ServicesDep,
    audit: AuditDep,
) -> ProjectCreated:
    created = services.projects.create_project(body.name)
    # in the caller's (the bootstrap project's) log: a key writes only its own project's log
    audit.record("project.create", "project", created.project.id, details={"key_id": created.key_id})
    return created


@router.get("/v1/project", response_model=Project, summary="The project the calling key belongs to")
def current_project(principal: ViewerDep, services: ServicesDep) -> Project:
    return services.projects.get_project(principal.project_id)


@router.post(
    "/v1/keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create another API key for the calling project (shown once)",
)
def create_key(
    body: Annotated[ApiKeyCreate, Body(openapi_examples=examples.API_KEY_CREATE)],
    principal: AdminDep,
    services: ServicesDep,
    audit: AuditDep,
) -> ApiKeyCreated:
    created = services.projects.create_key(principal.project_id, body.name, body.role)
    audit.record("key.create", "key", created.key_id, details={"name": body.name, "role": body.role})
    return created


@router.get("/v1/keys", response_model=Page[ApiKeyInfo], summary="List the calling project's API keys (never the keys)")
def list_keys(principal: AdminDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None) -> Page[ApiKeyInfo]:
    return services.projects.list_keys(principal.project_id, limit=limit, cursor=cursor)


@router.delete(
    "/v1/keys/{key_id}",
    response_model=ApiKeyInfo,
    summary="Revoke an API key at once (the project's last admin key is kept: 409)",
)
def delete_key(key_id: KeyIdPath, principal: AdminDep, services: ServicesDep, audit: AuditDep) -> ApiKeyInfo:
    revoked = services.projects.delete_key(principal.project_id, key_id)
    audit.record("key.delete", "key", key_id, details={"name": revoked.name, "role": revoked.role})
    return revoked
