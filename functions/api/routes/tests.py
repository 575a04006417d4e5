"""Tests and revisions: ``/v1/tests``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Response

from functions.api import examples
from functions.api.deps import AuditDep, EditorDep, ServicesDep, TestIdPath, ViewerDep
from shared.models.pages import Page
from shared.models.queries import TestQuery, TestSort
from shared.models.tests import (
    RevisionCreate,
    RevisionPublic,
    TestCreate,
    TestKind,
    TestPublic,
    TestStatus,
    TestUpdate,
)

router = APIRouter(prefix="/v1/tests", tags=["tests"])

Limit = Annotated[int, Query(ge=1, le=200, description="How many items a page holds at most (1 to 200).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2000, description="The previous page's `next_cursor`, for the next page. Default: the first page."
    ),
]


@router.post("", status_code=201, response_model=TestPublic, summary="Create a test (and its revision 1)")
def create_test(
    body: Annotated[TestCreate, Body(openapi_examples=examples.TEST_CREATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
    response: Response,
) -> TestPublic:
    test, revision = services.catalog.create_test(principal.project_id, body)
    audit.record("test.create", "test", test.id, revision=revision.revision)
    response.headers["Location"] = f"/v1/tests/{test.id}"
    public = TestPublic.of(test, revision)
    public.warnings = services.catalog.warnings(revision)
    return public


@router.get("", response_model=Page[TestPublic], summary="List tests")
def list_tests(
    principal: ViewerDep,
    services: ServicesDep,
    kind: Annotated[TestKind | None, Query(description="Only tests of this kind. Default: both.")] = None,
    tag: Annotated[str | None, Query(max_length=64, description="Only tests with this tag.")] = None,
    status: Annotated[
        Literal["active", "archived", "all"],
        Query(description="`active` (default), `archived`, or `all` for both."),
    ] = "active",
    q: Annotated[
        str | None, Query(max_length=200, description="Only tests whose name contains this (case-insensitive).")
    ] = None,
    sort: Annotated[
        TestSort,
        Query(
            description="`name` or `updated` (when last changed), ascending; `-` in front for descending. Default: "
            "`-updated`, the last changed first."
        ),
    ] = "-updated",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TestPublic]:
    query = TestQuery(
        project_id=principal.project_id,
        kind=kind,
        tag=tag,
        status=None if status == "all" else TestStatus(status),
        q=q,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    page = services.catalog.list_tests(query)
    return Page[TestPublic](items=[TestPublic.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/{test_id}", response_model=TestPublic, summary="Get a test with its latest revision's spec")
def get_test(test_id: TestIdPath, principal: ViewerDep, services: ServicesDep) -> TestPublic:
    test, revision = services.catalog.get_test_with_spec(principal.project_id, test_id)
    return TestPublic.of(test, revision)


@router.patch("/{test_id}", response_model=TestPublic, summary="Rename, retag, archive or unarchive a test")
def update_test(
    test_id: TestIdPath,
    body: Annotated[TestUpdate, Body(openapi_examples=examples.TEST_UPDATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
) -> TestPublic:
    test = services.catalog.update_test(principal.project_id, test_id, body)
    audit.record("test.update", "test", test.id, details={"fields": sorted(body.model_fields_set)})
    return TestPublic.of(test)


@router.delete("/{test_id}", response_model=TestPublic, summary="Archive a test (nothing is deleted)")
def archive_test(test_id: TestIdPath, principal: EditorDep, services: ServicesDep, audit: AuditDep) -> TestPublic:
    test = services.catalog.archive_test(principal.project_id, test_id)
    audit.record("test.archive", "test", test.id)
    return TestPublic.of(test)


@router.post(
    "/{test_id}/revisions",
    status_code=201,
    response_model=RevisionPublic,
    summary="Add a new immutable revision",
)
def create_revision(
    test_id: TestIdPath,
    body: Annotated[RevisionCreate, Body(openapi_examples=examples.REVISION_CREATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
    response: Response,
) -> RevisionPublic:
    revision = services.catalog.new_revision(principal.project_id, test_id, body)
    audit.record("revision.create", "test", test_id, revision=revision.revision)
    response.headers["Location"] = f"/v1/tests/{test_id}/revisions/{revision.revision}"
    public = RevisionPublic.of(revision)
    public.warnings = services.catalog.warnings(revision)
    return public


@router.get("/{test_id}/revisions", response_model=Page[RevisionPublic], summary="List revisions, oldest first")
def list_revisions(
    test_id: TestIdPath, principal: ViewerDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[RevisionPublic]:
    page = services.catalog.list_revisions(principal.project_id, test_id, limit=limit, cursor=cursor)
    return Page[RevisionPublic](items=[RevisionPublic.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{test_id}/revisions/{number}", response_model=RevisionPublic, summary="Get one revision")
def get_revision(
    test_id: TestIdPath,
    number: Annotated[int, Path(ge=1, description="The revision's number (1 for the test's first).")],
    principal: ViewerDep,
    services: ServicesDep,
) -> RevisionPublic:
    return RevisionPublic.of(services.catalog.get_revision(principal.project_id, test_id, number))
