"""Projects and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from functions.api import examples
from functions.api.deps import AdminDep, AuditDep, BootstrapDep, ServicesDep, ViewerDep
from shared.models.projects import ApiKeyCreate, ApiKeyCreated, Project, ProjectCreate, ProjectCreated

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
