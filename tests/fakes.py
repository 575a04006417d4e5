"""In-memory fakes of the ports, for unit tests (no network, no moto)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.errors import Conflict, DomainError, NotFound
from shared.ids import utcnow
from shared.models.audit import AuditQuery, AuditRecord
from shared.models.common import STORED
from shared.models.events import Event
from shared.models.github import GithubIntegration
from shared.models.messages import PlanMessage, ReceivedMessage, RunMessage
from shared.models.notifications import Delivery, DeliveryMessage, NotificationTarget
from shared.models.pages import Page
from shared.models.planning import CachedElement, PlanFailed, PlanOutcome, PlanProposal, PlanRequest, PlanUsage
from shared.models.priority import PRIORITIES, Priority
from shared.models.projects import ApiKey, Project
from shared.models.queries import RunQuery, TestQuery
from shared.models.runs import Run, RunControl, RunRow, RunStatus
from shared.models.schedules import MirroredSchedule, Schedule
from shared.models.secrets import SecretInfo
from shared.models.suites import Suite, SuiteRun
from shared.models.tests import Revision, TestCase
from shared.notify.sender import SendResult
from shared.pagination import decode_cursor, encode_cursor, scope_of
from shared.ports import StoredArtifact


def _page(items: list[Any], limit: int, cursor: str | None, scope: str) -> Page[Any]:
    start = decode_cursor(cursor, scope)["offset"] if cursor else 0
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return Page(items=chunk, next_cursor=encode_cursor({"offset": start + limit}, scope) if more else None)


class FakeStore:
    """ProjectStore + TestStore + RunStore."""

    def __init__(self) -> None:
        self.projects: dict[str, Project] = {}
        self.keys: dict[str, ApiKey] = {}
        self.tests: dict[tuple[str, str], TestCase] = {}
        self.revisions: dict[tuple[str, int], Revision] = {}
        self.runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    # projects
    def put_project(self, project: Project) -> None:
        if project.id in self.projects:
            raise Conflict(f"project {project.id} exists")
        self.projects[project.id] = project

    def get_project(self, project_id: str) -> Project:
        try:
            return self.projects[project_id]
        except KeyError:
            raise NotFound(f"project {project_id} not found") from None

    def put_api_key(self, key: ApiKey) -> None:
        self.keys[key.key_hash] = key

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def list_api_keys(self, project_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        items = sorted(
            (k for k in self.keys.values() if k.project_id == project_id), key=lambda k: (k.created_at, k.key_id)
        )
        return _page(items, limit, cursor, scope_of("keys", project_id))

    def touch_api_key(self, key: ApiKey, when: datetime) -> None:
        with self._lock:
            if key.key_hash not in self.keys:
                raise Conflict("api key was deleted")
            self.keys[key.key_hash] = self.keys[key.key_hash].model_copy(update={"last_used_at": when})

    def delete_api_key(self, key: ApiKey, *, keep: ApiKey | None = None) -> None:
        with self._lock:
            if keep is not None and keep.key_hash not in self.keys:
                raise Conflict("the api key to keep was deleted")
            if self.keys.pop(key.key_hash, None) is None:
                raise Conflict("api key was already deleted")

    # tests
    def create_test(self, test: TestCase, revision: Revision) -> None:
        self.tests[(test.project_id, test.id)] = test
        self.revisions[(test.id, revision.revision)] = revision

    def get_test(self, project_id: str, test_id: str) -> TestCase:
        try:
            return self.tests[(project_id, test_id)]
        except KeyError:
            raise NotFound(f"test {test_id} not found") from None

    def update_test(self, test: TestCase, fields: Iterable[str]) -> None:
        stored = self.get_test(test.project_id, test.id)
        changes = {f: getattr(test, f) for f in fields} | {"updated_at": test.updated_at}
        self.tests[(test.project_id, test.id)] = stored.model_copy(update=changes)

    def add_revision(self, test: TestCase, revision: Revision) -> None:
        with self._lock:
            stored = self.get_test(test.project_id, test.id)
            if stored.latest_revision != revision.revision - 1:
                raise Conflict("revision number taken")
            self.revisions[(test.id, revision.revision)] = revision
            self.tests[(test.project_id, test.id)] = stored.model_copy(
                update={"latest_revision": revision.revision, "updated_at": test.updated_at}
            )

    def get_revision(self, project_id: str, test_id: str, number: int) -> Revision:
        rev = self.revisions.get((test_id, number))
        if rev is None or rev.project_id != project_id:
            raise NotFound(f"test {test_id} has no revision {number}")
        return rev

    def list_revisions(self, project_id: str, test_id: str, *, limit: int, cursor: str | None) -> Page[Revision]:
        items = sorted(
            (r for (t, _), r in self.revisions.items() if t == test_id and r.project_id == project_id),
            key=lambda r: r.revision,
        )
        return _page(items, limit, cursor, scope_of("revs", project_id, test_id))

    def list_tests(self, query: TestQuery) -> Page[TestCase]:
        items = [t for (p, _), t in self.tests.items() if p == query.project_id]
        if query.kind:
            items = [t for t in items if t.kind == query.kind]
        if query.status:
            items = [t for t in items if t.status == query.status]
        if query.tag:
            items = [t for t in items if query.tag in t.tags]
        if query.q:
            items = [t for t in items if query.q.lower() in t.name.lower()]
        field = query.sort.lstrip("-")
        if field == "name":
            items.sort(key=lambda t: (t.name.lower(), t.id), reverse=query.sort.startswith("-"))
        else:
            items.sort(key=lambda t: (t.updated_at, t.id), reverse=query.sort.startswith("-"))
        scope = scope_of("tests", query.model_dump(exclude={"cursor", "limit"}))
        return _page(items, query.limit, query.cursor, scope)

    # runs
    def create_run(self, run: Run) -> None:
        with self._lock:
            if run.id in self.runs:  # as DynamoDB's attribute_not_exists(PK): ids are global
                raise Conflict(f"run {run.id} exists")
            self.runs[run.id] = run

    def get_run(self, run_id: str) -> Run:
        try:
            return self.runs[run_id]
        except KeyError:
            raise NotFound(f"run {run_id} not found") from None

    def update_run(
        self,
        run_id: str,
        changes: dict[str, Any],
        *,
        expected_status: RunStatus | None = None,
        expected_attempt: int | None = None,
        condition_heartbeat_before: str | None = None,
        project_id: str | None = None,
    ) -> Run:
        with self._lock:
            run = self.get_run(run_id)
            if expected_status is not None and run.status != expected_status:
                raise Conflict(f"run {run_id} is {run.status.value}, not {expected_status.value}")
            if expected_attempt is not None and run.attempt != expected_attempt:
                raise Conflict(f"run {run_id} is on attempt {run.attempt}")
            if condition_heartbeat_before is not None and (
                run.heartbeat_at is None or run.heartbeat_at.isoformat() >= condition_heartbeat_before
            ):
                raise Conflict(f"run {run_id} has a fresh heartbeat")
            data = run.model_dump(mode="json")
            data.update(changes)
            updated = Run.model_validate(data, context=STORED)
            self.runs[run_id] = updated
            return updated

    def write_run(
        self, run_id: str, changes: dict[str, Any], *, expected_status: RunStatus, expected_attempt: int
    ) -> None:
        self.update_run(run_id, changes, expected_status=expected_status, expected_attempt=expected_attempt)

    def get_run_control(self, run_id: str) -> RunControl:
        run = self.get_run(run_id)
        return RunControl(status=run.status, attempt=run.attempt, cancel_requested=run.cancel_requested)

    def list_runs(self, query: RunQuery) -> Page[Run]:
        items = [r for r in self.runs.values() if r.project_id == query.project_id]
        if query.test_id:
            items = [r for r in items if r.test_id == query.test_id]
        if query.suite_run_id:
            items = [r for r in items if r.suite_run_id == query.suite_run_id]
        if query.status:
            items = [r for r in items if r.status == query.status]
        if query.trigger:
            items = [r for r in items if r.trigger == query.trigger]
        if query.since:
            items = [r for r in items if r.created_at >= query.since]
        if query.labels:
            items = [r for r in items if all(r.labels.get(k) == v for k, v in query.labels.items())]
        items.sort(key=lambda r: (r.created_at, r.id), reverse=query.sort == "-created")
        scope = scope_of("runs", query.model_dump(exclude={"cursor", "limit"}))
        return _page(items, query.limit, query.cursor, scope)

    def list_run_rows(self, query: RunQuery) -> Page[RunRow]:
        page = self.list_runs(query)
        return Page[RunRow](
            items=[RunRow.model_validate(run.model_dump()) for run in page.items], next_cursor=page.next_cursor
        )


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[RunMessage, int]] = []
        self.deleted: list[str] = []
        self.dead: list[ReceivedMessage] = []
        self.deleted_dead: list[str] = []
        self.fail = False

    def send(self, message: RunMessage, *, delay_s: int = 0) -> None:
        if self.fail:
            from shared.errors import Unavailable

            raise Unavailable("queue down")
        self.sent.append((message, delay_s))

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        """What was sent, high before normal before low (in the order sent within a priority)."""
        out: list[ReceivedMessage] = []
        for priority in PRIORITIES:
            for entry in [e for e in self.sent if e[0].priority == priority]:
                if len(out) >= max_messages:
                    return out
                self.sent.remove(entry)
                message = entry[0]
                out.append(
                    ReceivedMessage(body=message.model_dump_json(), receipt=message.run_id, message_id=message.run_id)
                )
        return out

    def delete(self, receipt: str, *, priority: Priority = "normal") -> None:
        self.deleted.append(receipt)

    def extend(self, receipt: str, visibility_timeout_s: int, *, priority: Priority = "normal") -> None:
        pass

    def redrive_dead_letters(self, max_messages: int = 100) -> int:
        moved = 0
        while self.dead and moved < max_messages:
            self.sent.append((RunMessage.model_validate_json(self.dead.pop(0).body), 0))
            moved += 1
        return moved

    def receive_dead_letters(self, *, max_messages: int = 10, visibility_timeout_s: int = 60) -> list[ReceivedMessage]:
        return [m for m in self.dead if m.receipt not in self.deleted_dead][:max_messages]

    def delete_dead_letter(self, receipt: str) -> None:
        self.deleted_dead.append(receipt)


class FakeArtifacts:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        self.objects[key] = (Path(path).read_bytes(), content_type)

    def get(self, key: str) -> bytes:
        try:
            return self.objects[key][0]
        except KeyError:
            raise NotFound(f"artifact {key} not found") from None

    def read(self, key: str) -> StoredArtifact:
        try:
            data, content_type = self.objects[key]
        except KeyError:
            raise NotFound(f"artifact {key} not found") from None
        return StoredArtifact(data=data, content_type=content_type)

    def presigned_url(self, key: str, *, ttl_s: int) -> str:
        return f"https://artifacts.example/{key}?ttl={ttl_s}"


class FakeEvents:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


class FakeSecrets:
    """A deployment-wide SecretSource (local mode's environment secrets)."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = values or {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def names(self) -> list[str]:
        return sorted(self.values)


class FakeSecretStore:
    """SecretStore in memory; obeys the contract of tests/contract/test_secret_store.py."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.stored: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def put(self, project_id: str, name: str, value: str) -> SecretInfo:
        with self._lock:
            updated = self._clock()
            self.stored[(project_id, name)] = (value, updated)
        return SecretInfo(name=name, updated_at=updated)

    def get(self, project_id: str, name: str) -> str | None:
        found = self.stored.get((project_id, name))
        return found[0] if found else None

    def list(self, project_id: str) -> list[SecretInfo]:
        items = [SecretInfo(name=n, updated_at=t) for (p, n), (_, t) in self.stored.items() if p == project_id]
        return sorted(items, key=lambda info: info.name)

    def delete(self, project_id: str, name: str) -> None:
        with self._lock:
            if self.stored.pop((project_id, name), None) is None:
                raise NotFound(f"secret {name} not found")


class FakeElementCache:
    """ElementCache in memory; expired entries (``expires_at`` in the past) are not returned, as DynamoDB's TTL
    would eventually delete them and the adapter filters them meanwhile."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.entries: dict[tuple[str, str, str, str], CachedElement] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, project_id: str, test_id: str, step_key: str, page_key: str) -> CachedElement | None:
        with self._lock:
            entry = self.entries.get((project_id, test_id, step_key, page_key))
        if entry is None or entry.expires_at <= self._clock().timestamp():
            return None
        return entry

    def put(self, entry: CachedElement) -> None:
        with self._lock:
            self.entries[(entry.project_id, entry.test_id, entry.step_key, entry.page_key)] = entry

    def delete(self, project_id: str, test_id: str, step_key: str, page_key: str) -> None:
        with self._lock:
            self.entries.pop((project_id, test_id, step_key, page_key), None)


class FakePlanStore:
    """PlanStore in memory."""

    def __init__(self) -> None:
        self.proposals: dict[tuple[str, str], PlanProposal] = {}
        self.plans: dict[tuple[str, str], PlanOutcome] = {}
        self._lock = threading.Lock()

    def put_proposal(self, proposal: PlanProposal) -> None:
        with self._lock:
            if (proposal.project_id, proposal.id) in self.proposals:
                raise Conflict(f"plan proposal {proposal.id} exists")
            self.proposals[(proposal.project_id, proposal.id)] = proposal

    def get_proposal(self, project_id: str, proposal_id: str) -> PlanProposal:
        try:
            return self.proposals[(project_id, proposal_id)]
        except KeyError:
            raise NotFound(f"plan proposal {proposal_id} not found") from None

    def update_proposal(self, proposal: PlanProposal, *, expected_status: str) -> None:
        with self._lock:
            stored = self.proposals.get((proposal.project_id, proposal.id))
            if stored is None or stored.status != expected_status:
                raise Conflict(f"plan proposal {proposal.id} is not {expected_status}")
            self.proposals[(proposal.project_id, proposal.id)] = proposal

    def get_cached_plan(self, project_id: str, content_hash: str) -> PlanOutcome | None:
        return self.plans.get((project_id, content_hash))

    def put_cached_plan(self, project_id: str, content_hash: str, outcome: PlanOutcome) -> None:
        with self._lock:
            self.plans[(project_id, content_hash)] = outcome


class FakePlanQueue:
    """PlanQueue in memory."""

    def __init__(self) -> None:
        self.sent: list[PlanMessage] = []
        self.deleted: list[str] = []
        self.fail = False

    def send(self, message: PlanMessage) -> None:
        if self.fail:
            from shared.errors import Unavailable

            raise Unavailable("planner queue down")
        self.sent.append(message)

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        out: list[ReceivedMessage] = []
        while self.sent and len(out) < max_messages:
            message = self.sent.pop(0)
            receipt = message.proposal_id or message.run_id or "-"
            out.append(ReceivedMessage(body=message.model_dump_json(), receipt=receipt, message_id=receipt))
        return out

    def delete(self, receipt: str) -> None:
        self.deleted.append(receipt)


class FakePlanner:
    """A planner for tests: a tiny grammar (``Go to URL``, ``Click "X"``, ``Fill "F" with "V"``, ``Expect to see
    "T"``); any other line fails the plan, naming it. Counts its calls. ``name`` says whether it plans inline
    (``rules``) or through the planner worker (``bedrock``)."""

    _FORMS = (
        (re.compile(r"go to (\S+)", re.I), lambda m: {"action": "goto", "url": m[1]}),
        (re.compile(r'click "([^"]+)"', re.I), lambda m: {"action": "click", "target": m[1]}),
        (
            re.compile(r'fill "([^"]+)" with "([^"]*)"', re.I),
            lambda m: {"action": "fill", "target": m[1], "value": m[2]},
        ),
        (re.compile(r'expect to see "([^"]+)"', re.I), lambda m: {"action": "expect_text", "text": m[1]}),
    )

    def __init__(self, name: str = "rules", *, error: Exception | None = None) -> None:
        self.name = name
        self.calls: list[PlanRequest] = []
        self.error = error  # raised by every call (a model that is down)

    def plan(self, request: PlanRequest) -> PlanOutcome:
        from pydantic import TypeAdapter

        from shared.models.plans import Plan

        self.calls.append(request)
        if self.error is not None:
            raise self.error
        steps: list[dict[str, Any]] = []
        bad: list[str] = []
        for number, line in enumerate(request.goal.splitlines(), 1):
            if not line.strip():
                continue
            for pattern, build in self._FORMS:
                match = pattern.fullmatch(line.strip())
                if match:
                    steps.append(build(match))
                    break
            else:
                bad.append(f"line {number}: {line.strip()!r}")
        if bad:
            raise PlanFailed("cannot read " + "; ".join(bad), usage=PlanUsage(latency_ms=1), details={"lines": bad})
        planner: Any = self.name
        return PlanOutcome(
            steps=TypeAdapter(Plan).validate_python(steps), planner=planner, usage=PlanUsage(latency_ms=1)
        )


class FakeSuiteStore:
    """SuiteStore in memory, held to ``DynamoSuiteStore``'s contract (tests/integration/test_suite_store.py)."""

    def __init__(self) -> None:
        self.suites: dict[tuple[str, str], Suite] = {}
        self.suite_runs: dict[tuple[str, str], SuiteRun] = {}
        self._lock = threading.Lock()

    def _name_taken(self, suite: Suite) -> bool:
        return any(
            s.project_id == suite.project_id and s.name.lower() == suite.name.lower() and s.id != suite.id
            for s in self.suites.values()
        )

    def put_suite(self, suite: Suite) -> None:
        with self._lock:
            if self._name_taken(suite):
                raise Conflict(f"the project has a suite named {suite.name!r} already", details={"field": "name"})
            self.suites[(suite.project_id, suite.id)] = suite

    def get_suite(self, project_id: str, suite_id: str) -> Suite:
        try:
            return self.suites[(project_id, suite_id)]
        except KeyError:
            raise NotFound(f"suite {suite_id} not found") from None

    def replace_suite(self, suite: Suite, *, previous_name: str) -> Suite:
        with self._lock:
            stored = self.get_suite(suite.project_id, suite.id)
            if stored.version != suite.version:
                raise Conflict(f"suite {suite.id} changed meanwhile", details={"stale": True})
            if self._name_taken(suite):
                raise Conflict(f"the project has a suite named {suite.name!r} already", details={"field": "name"})
            written = suite.model_copy(update={"version": suite.version + 1})
            self.suites[(suite.project_id, suite.id)] = written
            return written

    def delete_suite(self, project_id: str, suite_id: str) -> None:
        self.get_suite(project_id, suite_id)
        del self.suites[(project_id, suite_id)]

    def list_suites(self, project_id: str, *, limit: int, cursor: str | None) -> Page[Suite]:
        items = sorted(
            (s for s in self.suites.values() if s.project_id == project_id), key=lambda s: (s.name.lower(), s.id)
        )
        return _page(items, limit, cursor, scope_of("suites", project_id))

    def find_suite(self, project_id: str, name: str) -> Suite | None:
        return next(
            (s for s in self.suites.values() if s.project_id == project_id and s.name.lower() == name.lower()), None
        )

    def create_suite_run(self, run: SuiteRun) -> None:
        with self._lock:
            if (run.project_id, run.id) in self.suite_runs:
                raise Conflict(f"suite run {run.id} exists")
            self.suite_runs[(run.project_id, run.id)] = run.model_copy(deep=True)

    def get_suite_run(self, project_id: str, suite_run_id: str) -> SuiteRun:
        try:
            return self.suite_runs[(project_id, suite_run_id)].model_copy(deep=True)
        except KeyError:
            raise NotFound(f"suite run {suite_run_id} not found") from None

    def update_suite_run(self, run: SuiteRun) -> SuiteRun:
        with self._lock:
            stored = self.suite_runs.get((run.project_id, run.id))
            if stored is None or stored.version != run.version:
                raise Conflict(f"suite run {run.id} changed meanwhile (version {run.version} is stale)")
            written = run.model_copy(update={"version": run.version + 1}, deep=True)
            self.suite_runs[(run.project_id, run.id)] = written
            return written.model_copy(deep=True)

    def list_suite_runs(
        self,
        project_id: str,
        *,
        suite_id: str | None,
        limit: int,
        cursor: str | None,
        labels: dict[str, str] | None = None,
    ) -> Page[SuiteRun]:
        wanted = (labels or {}).items()
        items = sorted(
            (
                r
                for r in self.suite_runs.values()
                if r.project_id == project_id
                and (suite_id is None or r.suite_id == suite_id)
                and all(r.labels.get(k) == v for k, v in wanted)
            ),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        scope = scope_of("suite_runs", project_id, suite_id or "", sorted((labels or {}).items()))
        return _page(items, limit, cursor, scope)


class FakeScheduleStore:
    """ScheduleStore in memory, held to ``DynamoScheduleStore``'s contract
    (tests/integration/test_schedule_contract.py)."""

    def __init__(self) -> None:
        self.schedules: dict[tuple[str, str], Schedule] = {}
        self._lock = threading.Lock()

    def put_schedule(self, schedule: Schedule) -> None:
        with self._lock:
            if (schedule.project_id, schedule.id) in self.schedules:
                raise Conflict(f"schedule {schedule.id} exists already")
            self.schedules[(schedule.project_id, schedule.id)] = schedule.model_copy(deep=True)

    def get_schedule(self, project_id: str, schedule_id: str) -> Schedule:
        try:
            return self.schedules[(project_id, schedule_id)].model_copy(deep=True)
        except KeyError:
            raise NotFound(f"schedule {schedule_id} not found") from None

    def replace_schedule(self, schedule: Schedule) -> Schedule:
        with self._lock:
            stored = self.get_schedule(schedule.project_id, schedule.id)
            if stored.version != schedule.version:
                raise Conflict(f"schedule {schedule.id} changed meanwhile (version {schedule.version} is stale)")
            written = schedule.model_copy(update={"version": schedule.version + 1}, deep=True)
            self.schedules[(schedule.project_id, schedule.id)] = written
            return written.model_copy(deep=True)

    def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        with self._lock:
            self.get_schedule(project_id, schedule_id)
            del self.schedules[(project_id, schedule_id)]

    def list_schedules(self, project_id: str, *, limit: int, cursor: str | None) -> Page[Schedule]:
        items = sorted((s for s in self.schedules.values() if s.project_id == project_id), key=lambda s: s.id)
        return _page(items, limit, cursor, scope_of("schedules", project_id))

    def due_schedules(self, now: datetime, *, limit: int) -> list[Schedule]:
        due = [s for s in self.schedules.values() if s.enabled and s.next_fire_at is not None and s.next_fire_at <= now]
        return [s.model_copy(deep=True) for s in sorted(due, key=lambda s: (s.next_fire_at, s.id))[:limit]]


class FakeScheduler:
    """The EventBridge Scheduler mirror in memory, held to ``EventBridgeScheduler``'s contract; ``fail`` makes
    the next calls raise (as AWS being unavailable would)."""

    def __init__(self) -> None:
        self.schedules: dict[tuple[str, str], MirroredSchedule] = {}
        self.fail: DomainError | None = None

    def put(self, schedule: Schedule, *, start_at: datetime | None) -> None:
        if self.fail is not None:
            raise self.fail
        self.schedules[(schedule.project_id, schedule.id)] = MirroredSchedule.of(schedule, start_at=start_at)

    def delete(self, project_id: str, schedule_id: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.schedules.pop((project_id, schedule_id), None)

    def get(self, project_id: str, schedule_id: str) -> MirroredSchedule | None:
        return self.schedules.get((project_id, schedule_id))


class FakeNotificationStore:
    """NotificationStore in memory (expired deliveries left out of lists, as the DynamoDB store does)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.targets: dict[tuple[str, str], NotificationTarget] = {}
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def put_target(self, target: NotificationTarget) -> None:
        with self._lock:
            if (target.project_id, target.id) in self.targets:
                raise Conflict(f"notification target {target.id} already exists")
            self.targets[(target.project_id, target.id)] = target.model_copy(deep=True)

    def get_target(self, project_id: str, target_id: str) -> NotificationTarget:
        try:
            return self.targets[(project_id, target_id)].model_copy(deep=True)
        except KeyError:
            raise NotFound(f"notification target {target_id} not found") from None

    def list_targets(self, project_id: str, *, limit: int, cursor: str | None) -> Page[NotificationTarget]:
        items = sorted((t for t in self.targets.values() if t.project_id == project_id), key=lambda t: t.id)
        return _page(items, limit, cursor, scope_of("notification_targets", project_id))

    def delete_target(self, project_id: str, target_id: str) -> None:
        with self._lock:
            if self.targets.pop((project_id, target_id), None) is None:
                raise NotFound(f"notification target {target_id} not found")

    def create_delivery(self, delivery: Delivery) -> bool:
        with self._lock:
            if (delivery.target_id, delivery.id) in self.deliveries:
                return False
            self.deliveries[(delivery.target_id, delivery.id)] = delivery.model_copy(deep=True)
            return True

    def get_delivery(self, target_id: str, delivery_id: str) -> Delivery:
        try:
            return self.deliveries[(target_id, delivery_id)].model_copy(deep=True)
        except KeyError:
            raise NotFound(f"delivery {delivery_id} not found") from None

    def update_delivery(self, delivery: Delivery, *, expected_attempt: int) -> None:
        with self._lock:
            stored = self.deliveries.get((delivery.target_id, delivery.id))
            if stored is None or stored.attempt != expected_attempt or stored.status != "pending":
                raise Conflict(f"delivery {delivery.id} is no longer pending on attempt {expected_attempt}")
            self.deliveries[(delivery.target_id, delivery.id)] = delivery.model_copy(deep=True)

    def list_deliveries(self, target_id: str, *, limit: int, cursor: str | None) -> Page[Delivery]:
        now = self._clock().timestamp()
        items = sorted(
            (d for d in self.deliveries.values() if d.target_id == target_id and d.expires_at > now),
            key=lambda d: d.id,
            reverse=True,
        )
        return _page(items, limit, cursor, scope_of("deliveries", target_id))


class FakeNotificationQueue:
    """NotificationQueue in memory; ``delays`` records each message's delay (nothing waits for it)."""

    def __init__(self) -> None:
        self.sent: list[DeliveryMessage] = []
        self.delays: list[int] = []
        self.deleted: list[str] = []
        self._lock = threading.Lock()

    def send(self, message: DeliveryMessage, *, delay_s: int = 0) -> None:
        with self._lock:
            self.sent.append(message)
            self.delays.append(delay_s)

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        out: list[ReceivedMessage] = []
        with self._lock:
            while self.sent and len(out) < max_messages:
                message = self.sent.pop(0)
                self.delays.pop(0)
                receipt = f"{message.delivery_id}#{message.attempt}"
                out.append(ReceivedMessage(body=message.model_dump_json(), receipt=receipt, message_id=receipt))
        return out

    def delete(self, receipt: str) -> None:
        self.deleted.append(receipt)


class FakeSender:
    """Records what would be POSTed and answers with ``results`` in turn (the last one repeated)."""

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results) or [SendResult(True, False, 200, None, 1)]
        self.posts: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, url: str, body: str, headers: dict[str, str]) -> SendResult:
        self.posts.append((url, body, headers))
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


class FakeAuditStore:
    """AuditStore in memory; obeys the contract of tests/integration/test_audit_store_contract.py (newest first,
    expired records left out, never overwrites). ``fail``: raised by every append (a store that is down)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.records: dict[str, AuditRecord] = {}
        self.fail: Exception | None = None
        self._clock = clock
        self._lock = threading.Lock()

    def append(self, record: AuditRecord) -> None:
        with self._lock:
            if self.fail is not None:
                raise self.fail
            if record.id in self.records:
                raise Conflict(f"audit record {record.id} exists already: records are never overwritten")
            self.records[record.id] = record.model_copy(deep=True)

    def all(self) -> list[AuditRecord]:
        """Every record stored, oldest first (for assertions)."""
        return sorted(self.records.values(), key=lambda r: (r.at, r.id))

    def list_records(self, query: AuditQuery) -> Page[AuditRecord]:
        now = self._clock().timestamp()
        since = query.since.timestamp() if query.since is not None else None
        items = [
            r.model_copy(deep=True)
            for r in reversed(self.all())
            if r.project_id == query.project_id
            and r.expires_at > now
            and (query.resource_kind is None or r.resource_kind == query.resource_kind)
            and (query.resource_id is None or r.resource_id == query.resource_id)
            and (query.actor is None or r.key_id == query.actor)
            and (since is None or r.at.timestamp() >= since)
        ]
        scope = scope_of("audit", query.model_dump(mode="json", exclude={"cursor", "limit"}))
        return _page(items, query.limit, query.cursor, scope)


class FakeGithubStore:
    """GithubStore in memory (a claim holds until its ``expires_at``, as the DynamoDB store's condition says)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.integrations: dict[str, GithubIntegration] = {}
        self.claims: dict[tuple[str, str], int] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def put_integration(self, integration: GithubIntegration) -> None:
        self.integrations[integration.project_id] = integration.model_copy(deep=True)

    def get_integration(self, project_id: str) -> GithubIntegration | None:
        found = self.integrations.get(project_id)
        return None if found is None else found.model_copy(deep=True)

    def delete_integration(self, project_id: str) -> None:
        if self.integrations.pop(project_id, None) is None:
            raise NotFound("this project has no GitHub integration")

    def claim_webhook_delivery(self, project_id: str, delivery_id: str, *, expires_at: int) -> bool:
        with self._lock:
            held = self.claims.get((project_id, delivery_id))
            if held is not None and held > self._clock().timestamp():
                return False
            self.claims[(project_id, delivery_id)] = expires_at
            return True

    def release_webhook_delivery(self, project_id: str, delivery_id: str) -> None:
        with self._lock:
            self.claims.pop((project_id, delivery_id), None)
