"""The test catalog: tests and their immutable revisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.errors import Conflict, InvalidInput, NotFound
from shared.ids import new_id, utcnow
from shared.models.pages import Page
from shared.models.planning import PlanFailed, PlannerName, PlanRequest
from shared.models.queries import TestQuery
from shared.models.tests import (
    Revision,
    RevisionCreate,
    TestCase,
    TestCreate,
    TestSpec,
    TestStatus,
    TestUpdate,
    kind_mismatch,
)
from shared.placeholders import save_warnings
from shared.planning.rules import RulePlanner
from shared.ports import TestStore

_REVISION_RACE_RETRIES = 5


def archived_test(test_id: str, *, to: str) -> Conflict:
    """An archived test is neither run nor revised until it is unarchived: say how, to API and CLI users."""
    return Conflict(
        f"test {test_id} is archived: unarchive it to {to} (`autotest tests unarchive {test_id}`, "
        f'or PATCH /v1/tests/{test_id} with {{"status": "active"}})'
    )


class Catalog:
    """``planner`` is the deployment's (``AUTOTEST_PLANNER``): with the rule planner, a goal saved without steps is
    read by the sentence grammar when it is saved, so a line it cannot read is a 422 then, not a failed plan at
    run time. (Bedrock's goals are not planned at save time: that is a model call.)"""

    def __init__(
        self, tests: TestStore, *, clock: Callable[[], datetime] = utcnow, planner: PlannerName = "rules"
    ) -> None:
        self._tests = tests
        self._clock = clock
        self._planner = planner

    def _check_goal(self, spec: TestSpec) -> None:
        """A goal without steps is what the runs will plan: with the rule planner, it must parse."""
        if self._planner != "rules" or spec.steps or not spec.goal:
            return
        try:
            RulePlanner().plan(PlanRequest(goal=spec.goal, start_url=spec.start_url))
        except PlanFailed as exc:
            raise InvalidInput(
                f"goal: the rule planner cannot plan it:\n{exc.message}",
                details={"field": "goal", "lines": exc.details.get("lines", [])},
            ) from exc

    @staticmethod
    def warnings(spec: TestSpec) -> list[str]:
        """What a saved spec may be missing without being wrong: variables its steps use that nothing in it defines
        (a run may still give them)."""
        return save_warnings(spec.steps, spec.variables, spec.dataset, start_url=spec.start_url)

    def create_test(self, project_id: str, body: TestCreate) -> tuple[TestCase, Revision]:
        self._check_goal(body)
        now = self._clock()
        test = TestCase(
            id=new_id("tst"),
            project_id=project_id,
            name=body.name,
            kind=body.resolved_kind(),
            tags=sorted(set(body.tags)),
            description=body.description,
            latest_revision=1,
            created_at=now,
            updated_at=now,
        )
        revision = self._revision(test, 1, body.spec(), now)
        self._tests.create_test(test, revision)
        return test, revision

    def get_test(self, project_id: str, test_id: str) -> TestCase:
        return self._tests.get_test(project_id, test_id)

    def get_test_with_spec(self, project_id: str, test_id: str) -> tuple[TestCase, Revision]:
        test = self._tests.get_test(project_id, test_id)
        return test, self._tests.get_revision(project_id, test_id, test.latest_revision)

    def list_tests(self, query: TestQuery) -> Page[TestCase]:
        return self._tests.list_tests(query)

    def update_test(self, project_id: str, test_id: str, patch: TestUpdate) -> TestCase:
        test = self._tests.get_test(project_id, test_id)
        changes = patch.model_dump(exclude_unset=True)
        if changes.get("tags") is not None:
            changes["tags"] = sorted(set(changes["tags"]))
        # validate the result: a stored test is always a valid TestCase
        updated = TestCase.model_validate({**test.model_dump(), **changes, "updated_at": self._clock()})
        self._tests.update_test(updated, changes.keys())
        return updated

    def archive_test(self, project_id: str, test_id: str) -> TestCase:
        """``DELETE /v1/tests/{id}`` archives: nothing a user saved is ever lost."""
        return self.update_test(project_id, test_id, TestUpdate(status=TestStatus.archived))

    def new_revision(self, project_id: str, test_id: str, body: RevisionCreate, *, note: str | None = None) -> Revision:
        """The test's next revision. ``note``: how it was made, when not written by a person (an accepted plan
        proposal, accepted heals)."""
        spec = body.spec()
        for _ in range(_REVISION_RACE_RETRIES):
            test = self._tests.get_test(project_id, test_id)
            if test.status == TestStatus.archived:
                raise archived_test(test_id, to="revise it")
            problem = kind_mismatch(test.kind, spec)
            if problem:
                raise InvalidInput(
                    f"test {test_id} is {test.kind.a_test}; this revision does not fit it: {problem} "
                    "(a new test for it: POST /v1/tests, `autotest tests create`)",
                    details={"kind": test.kind.value},
                )
            self._check_goal(spec)
            now = self._clock()
            revision = self._revision(test, test.latest_revision + 1, spec, now, note=note)
            try:
                self._tests.add_revision(test.model_copy(update={"updated_at": now}), revision)
            except Conflict:
                continue  # another writer took this number; read again and take the next one
            return revision
        raise Conflict(f"test {test_id} is being revised concurrently; try again")

    def get_revision(self, project_id: str, test_id: str, number: int) -> Revision:
        test = self._tests.get_test(project_id, test_id)
        if number > test.latest_revision:
            raise NotFound(f"test {test_id} has no revision {number} (latest is {test.latest_revision})")
        return self._tests.get_revision(project_id, test_id, number)

    def list_revisions(self, project_id: str, test_id: str, *, limit: int, cursor: str | None) -> Page[Revision]:
        self._tests.get_test(project_id, test_id)  # 404 for unknown / foreign tests
        return self._tests.list_revisions(project_id, test_id, limit=limit, cursor=cursor)

    @staticmethod
    def _revision(test: TestCase, number: int, spec: TestSpec, now: datetime, *, note: str | None = None) -> Revision:
        return Revision(
            **spec.model_dump(),
            test_id=test.id,
            project_id=test.project_id,
            revision=number,
            created_at=now,
            note=note,
        )
