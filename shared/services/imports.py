"""Imports through the API: translate (``shared/imports/``), then save each test as ``POST /v1/tests`` does."""

from __future__ import annotations

from collections.abc import Callable

from shared.imports.openapi import import_openapi
from shared.imports.postman import import_collection
from shared.models.imports import ImportResult, OpenApiImport, PostmanImport
from shared.models.tests import Revision, TestCase, TestPublic
from shared.services.catalog import Catalog

#: the most JSON text the tests of one import through the API may hold in all: they are checked, saved and sent
#: back within one request (the CLI's imports, which write files, have no bound)
MAX_IMPORT_CHARS = 1_000_000

#: told of each test an import saved, as it is saved (the API records it in the audit log)
OnSaved = Callable[[TestCase, Revision], object]


def _saved(
    catalog: Catalog, project_id: str, result: ImportResult, save: bool, on_saved: OnSaved | None
) -> ImportResult:
    if not save:
        return result
    tests = []
    for item in result.tests:
        test, revision = catalog.create_test(project_id, item.test)
        if on_saved is not None:
            on_saved(test, revision)
        tests.append(item.model_copy(update={"created": TestPublic.of(test, revision)}))
    return result.model_copy(update={"tests": tests, "saved": True})


def import_postman(
    catalog: Catalog, project_id: str, body: PostmanImport, *, on_saved: OnSaved | None = None
) -> ImportResult:
    """The collection's tests (saved in the project unless ``save`` is false) and the report."""
    result = import_collection(body.collection, body.environment, max_chars=MAX_IMPORT_CHARS)
    return _saved(catalog, project_id, result, body.save, on_saved)


def import_openapi_document(
    catalog: Catalog, project_id: str, body: OpenApiImport, *, on_saved: OnSaved | None = None
) -> ImportResult:
    """The document's smoke tests (saved in the project unless ``save`` is false) and the report."""
    result = import_openapi(body.document, body.base_url, max_chars=MAX_IMPORT_CHARS)
    return _saved(catalog, project_id, result, body.save, on_saved)
