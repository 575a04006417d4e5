"""Secrets of the calling project: ``/v1/secrets``. Write-only: no route answers with a value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from functions.api import examples
from functions.api.deps import AdminDep, AuditDep, ServicesDep, ViewerDep
from shared.models.secrets import NAME_RULE, SecretList, SecretName, SecretPublic, SecretPut

router = APIRouter(prefix="/v1/secrets", tags=["secrets"])

SecretNamePath = Annotated[SecretName, Path(description=f"The secret's name: {NAME_RULE}.")]


@router.put(
    "/{name}",
    response_model=SecretPublic,
    summary="Create or replace a secret of the calling project (the value is never shown again)",
)
def put_secret(
    name: SecretNamePath,
    body: Annotated[SecretPut, Body(openapi_examples=examples.SECRET_PUT)],
    principal: AdminDep,
    services: ServicesDep,
    audit: AuditDep,
) -> SecretPublic:
    saved = services.secrets.put_secret(principal.project_id, name, body.value)
    audit.record("secret.put", "secret", name)  # the name only: never the value
    return SecretPublic.stored(saved)


@router.get("", response_model=SecretList, summary="List the calling project's secrets: names and times, no values")
def list_secrets(principal: ViewerDep, services: ServicesDep) -> SecretList:
    return SecretList(items=services.secrets.list_secrets(principal.project_id))


@router.delete("/{name}", status_code=204, response_class=Response, summary="Delete a secret of the calling project")
def delete_secret(name: SecretNamePath, principal: AdminDep, services: ServicesDep, audit: AuditDep) -> Response:
    services.secrets.delete_secret(principal.project_id, name)
    audit.record("secret.delete", "secret", name)
    return Response(status_code=204)
