"""Imports: ``/v1/imports/postman`` and ``/v1/imports/openapi`` (``shared/imports/``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from functions.api import examples
from functions.api.deps import AuditDep, EditorDep, ServicesDep
from shared.models.imports import ImportResult, OpenApiImport, PostmanImport

# the translators (Postman's scripts parsed with tree-sitter, every check's library: CEL, JSON Schema, JSONPath,
# the HTTP client) are loaded by the first import asked for, not at the API's cold start

router = APIRouter(prefix="/v1/imports", tags=["imports"])


@router.post(
    "/postman",
    response_model=ImportResult,
    summary="Turn a Postman collection (v2.1) into API tests, and report what could not be translated",
)
def postman(
    body: Annotated[PostmanImport, Body(openapi_examples=examples.POSTMAN_IMPORT)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
) -> ImportResult:
    from shared.services.imports import import_postman

    return import_postman(
        services.catalog,
        principal.project_id,
        body,
        # one audit record per test saved, as it is saved (shared/services/audit.py)
        on_saved=lambda test, revision: audit.record("import.postman", "test", test.id, revision=revision.revision),
    )


@router.post(
    "/openapi",
    response_model=ImportResult,
    summary="Turn an OpenAPI 3.x document into one smoke test per operation, and report what needs a value",
)
def openapi(
    body: Annotated[OpenApiImport, Body(openapi_examples=examples.OPENAPI_IMPORT)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
) -> ImportResult:
    from shared.services.imports import import_openapi_document

    return import_openapi_document(
        services.catalog,
        principal.project_id,
        body,
        on_saved=lambda test, revision: audit.record("import.openapi", "test", test.id, revision=revision.revision),
    )
