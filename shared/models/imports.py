"""Imports: Postman collections and OpenAPI documents turned into autotest tests (``shared/imports/``).

The request models are the bodies of ``POST /v1/imports/postman`` and ``POST /v1/imports/openapi``; an
import's result is the tests it made (the shape of ``POST /v1/tests``, one file each for the CLI) and a report
of every part it could not translate, so that nothing is dropped silently.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from shared.models.common import Model, StrictModel
from shared.models.tests import TestCreate, TestPublic

#: the base URL an import may be given: an absolute http(s) URL (checked by the importer)
BaseUrl = Annotated[str, Field(min_length=1, max_length=2000)]


class ReportKind(StrEnum):
    """What a report entry says: `dropped` (a part with no autotest equivalent, left out of the tests),
    `needs_value` (a `{{variable}}` or `{{secret:NAME}}` placeholder the import put in where it had no value:
    define it before the test runs) or `note` (translated, with a difference worth knowing)."""

    dropped = "dropped"
    needs_value = "needs_value"
    note = "note"


class ReportEntry(Model):
    """One part of the source that the import did not translate as it was, and why."""

    kind: ReportKind
    """`dropped`, `needs_value` or `note`."""
    source: str
    """Where in the source: `request "Log in" (folder Auth / Admin)`, `collection`, `GET /v1/tests`."""
    part: str
    """Which part of it: `test script`, `pre-request script`, `auth`, `body`, `url`, `variable`,
    `parameter id`, `security`, ..."""
    message: str
    """What was not translated and why, or what to do (`define variable item_id`)."""
    test: str | None = None
    """The name of the test the part belongs to, when it belongs to one."""
    line: int | None = None
    """For a script: the line (from 1) of the statement within its script."""
    text: str | None = None
    """For a script: that line's text (trimmed, up to 200 characters)."""

    def shown(self) -> str:
        """One line for a terminal: ``dropped: request "Log in", test script line 4: ... -- why``."""
        where = f"{self.source}, {self.part}" + (f" line {self.line}" if self.line is not None else "")
        text = f": {self.text}" if self.text else ""
        return f"{self.kind.value}: {where}{text} -- {self.message}"


class ImportedTest(Model):
    """One test an import made."""

    file: str
    """A safe file name for it (a slug of its name, `.yaml`), unique within the import: what the CLI writes."""
    test: TestCreate
    """The test, in the shape of `POST /v1/tests` (and of a test file)."""
    created: TestPublic | None = None
    """The saved test, when the import saved it in the caller's project (null for `dry_run` or `save: false`)."""


class ImportResult(Model):
    """The tests an import made, and the report of what it did not translate as it was."""

    tests: list[ImportedTest]
    """The tests, in the source's order."""
    report: list[ReportEntry]
    """Every part not translated as it was (`dropped`, `needs_value`, `note`), in the source's order; empty when
    everything was translated."""
    saved: bool
    """Whether the tests were saved in the caller's project."""


class PostmanImport(StrictModel):
    """A Postman collection (format v2.1) to turn into API tests: each top-level folder (or the whole collection,
    when it has none) becomes one test whose steps are its requests in order."""

    collection: dict[str, Any]
    """The collection as Postman exports it (`info.schema` ending in `v2.1.0/collection.json`)."""
    environment: dict[str, Any] | None = None
    """A Postman environment (`{"name", "values": [{"key", "value", "enabled"}]}`): its values become the tests'
    variables, over the collection's. Values of type `secret` become `{{secret:NAME}}` references instead."""
    save: bool = True
    """`false`: only translate; nothing is saved (the result's tests have no `created`)."""


class OpenApiImport(StrictModel):
    """An OpenAPI 3.x document to turn into smoke tests: one API test per operation, with a status check and a
    JSON Schema check of its first documented 2xx response."""

    document: dict[str, Any] | str
    """The document: an object, or its text (YAML or JSON)."""
    base_url: BaseUrl | None = None
    """The URL the tests call (their `base_url` variable). Default: the document's `servers[0].url`."""
    save: bool = True
    """`false`: only translate; nothing is saved (the result's tests have no `created`)."""
