"""Notifications: targets per project, which ended runs and suite runs they hear of, and delivering to them.

The rules (``trigger_of`` and :meth:`NotificationService.on_event`):

- Only ends notify. A run's ``Run Status Changed`` to ``passed | failed | error | timed_out | cancelled``, and
  ``Suite Run Completed``; a run going ``running -> queued`` (a retry) or any other step is not an end.
- ``failure``: it ended ``failed``, ``error`` or ``timed_out``. ``recovery``: it passed, and the previous ended
  run of the same test (suite run of the same suite) did not pass; cancelled ones are passed over when looking
  back, and a first run is no recovery. ``ended``: any other end. A target with ``always`` hears every end.
  Every notice carries that previous status (``previous_status``), whatever its trigger; it is None for a first
  run (none ended before, cancelled ones passed over), an inline run (no test), or when none is found among
  the newest 100.
- A run of a suite run does not notify on its own unless the target asks for ``suite_children``: the suite
  run's end does, once.

Delivery is a message on the notifier's queue per target and event (``functions/notifications``): each
attempt is one message, so a slow receiver holds up only its own. The delivery's id is derived from the target
and the event, so an event that arrives twice makes one delivery; an attempt is claimed with a conditional
write before it is sent, so a message that arrives twice sends once; a copy that finds the attempt claimed and
not recorded comes back once the claim would be stale (``stale_claim_s``), and makes the attempt again if it
still is (its worker died), so no delivery stays ``pending`` for ever. A failed attempt that may succeed later
is recorded and sent again after a delay (exponential backoff, SQS ``DelaySeconds``); nothing here sleeps.
Whatever goes wrong while sending is a failed attempt, never an exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from shared.errors import Conflict, InvalidInput, NotFound
from shared.ids import new_id, utcnow
from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.models.notifications import (
    Delivery,
    DeliveryAttempt,
    DeliveryEvent,
    DeliveryMessage,
    DeliveryStatus,
    NotificationCreate,
    NotificationTarget,
    Trigger,
    payload_dump,
)
from shared.models.pages import Page
from shared.models.queries import RunQuery
from shared.models.runs import Run
from shared.models.suites import SuiteRun
from shared.netguard import NetworkGuard, NetworkRefused
from shared.notify.payloads import Notice, slack_message, webhook_document
from shared.notify.sender import GuardFactory, SendResult
from shared.notify.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, new_secret, sign
from shared.observability import logger
from shared.ports import NotificationQueue, NotificationStore
from shared.services.catalog import Catalog
from shared.services.runs import RunService
from shared.services.suites import SuiteService

_FAILURES = frozenset({"failed", "error", "timed_out"})
#: how far back (runs of the test, suite runs of the suite) the previous end is looked for
_HISTORY_PAGES = 4
_HISTORY_PAGE = 25
_TARGETS_PAGE = 100
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

DeliveryOutcome = Literal["delivered", "retrying", "failed", "dropped", "deferred"]
Sender = Callable[[str, str, dict[str, str]], SendResult]
#: sends one attempt of a channel's delivery (a GitHub commit status); its outcome is a value, never an exception
Channel = Callable[[DeliveryMessage], SendResult]
Event = RunStatusChanged | SuiteRunCompleted


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 5
    backoff_s: int = 10
    backoff_cap_s: int = 900  # SQS's longest DelaySeconds
    retention_days: int = 30
    #: an attempt claimed this long ago and never recorded was lost (its worker died): it is made again
    stale_claim_s: int = 60

    def delay_after(self, attempt: int) -> int:
        """Seconds to wait after failed attempt ``attempt`` (1, 2, ...): 10, 20, 40, 80, ... up to the cap."""
        return int(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_cap_s))


def trigger_of(status: str, previous_ended: str | None) -> Trigger:
    """What an end is, given the status of the previous ended run of the same test (None: there was none)."""
    if status in _FAILURES:
        return Trigger.failure
    if status == "passed" and previous_ended is not None and previous_ended != "passed":
        return Trigger.recovery
    return Trigger.ended


def delivery_id(target_id: str, subject_id: str, status: str, attempt: int, at: datetime) -> str:
    """``dlv_`` + the event's time (ms, base32: newest sort last) + a hash of what makes it unique, so the
    same event for the same target always makes the same delivery."""
    ms = int(at.timestamp() * 1000)
    stamp = "".join(_CROCKFORD[(ms >> (5 * i)) & 31] for i in reversed(range(10)))
    digest = hashlib.sha256(f"{target_id}|{subject_id}|{status}|{attempt}".encode()).hexdigest()[:16]
    return f"dlv_{stamp}{digest}"


_CHARACTER_NAMES = {"\t": "tab", "\n": "line feed", "\r": "carriage return", " ": "space", "\x00": "NUL"}


def _unsendable_character(url: str) -> tuple[int, str] | None:
    """The first whitespace or control (or invisible formatting) character of ``url`` and its position (1-based),
    or None: none may be in a URL as it is (an HTTP client refuses it at send time, or worse, sends it)."""
    for index, char in enumerate(url):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            return index + 1, char
    return None


def check_url(kind: str, url: str, guard: NetworkGuard) -> None:
    """InvalidInput (``url: ...``, saying why) unless ``url`` can receive ``kind`` notifications."""
    bad = _unsendable_character(url)
    if bad is not None:
        position, char = bad
        name = _CHARACTER_NAMES.get(char) or unicodedata.name(char, "a control character")
        raise InvalidInput(
            f"url: character {position} is U+{ord(char):04X} ({name}): a URL holds no whitespace or control "
            f"characters (percent-encode it: {quote(char)})",
            details={"field": "url", "position": position, "character": f"U+{ord(char):04X}"},
        )
    if "\\" in url:
        # a browser reads a backslash as "/" (so http://a\@b/ is host a), the HTTP client does not (host b): refused,
        # so that the host checked here is the host a delivery connects to
        raise InvalidInput(
            f"url: character {url.index(chr(92)) + 1} is a backslash, which URL readers disagree on (percent-encode "
            "it: %5C)",
            details={"field": "url"},
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"url: not a valid URL ({exc})", details={"field": "url"}) from exc
    if port == 0:
        raise InvalidInput("url: port 0 is not a port a receiver can listen on", details={"field": "url"})
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput(
            f"url: {url!r} is not an http or https URL; notifications are POSTed over HTTP(S)",
            details={"field": "url"},
        )
    if not parts.hostname:
        raise InvalidInput(f"url: {url!r} has no host", details={"field": "url"})
    if kind == "slack" and scheme != "https":
        raise InvalidInput(
            "url: a Slack incoming webhook URL is https (https://hooks.slack.com/services/...)",
            details={"field": "url"},
        )
    try:
        guard.check(url)
    except NetworkRefused as exc:
        raise InvalidInput(
            f"url: the network guard refuses it: {exc.message}", details={"field": "url", "address": exc.address}
        ) from exc


class NotificationService:
    def __init__(
        self,
        *,
        store: NotificationStore,
        queue: NotificationQueue,
        runs: RunService,
        suites: SuiteService | None,
        catalog: Catalog | None = None,
        send: Sender,
        guard: GuardFactory,
        policy: DeliveryPolicy | None = None,
        public_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._queue = queue
        self._runs = runs
        self._suites = suites
        self._catalog = catalog
        self._send = send
        self._guard = guard
        self.policy = policy or DeliveryPolicy()
        self._public_url = public_url.rstrip("/") if public_url else None
        self._clock = clock
        self._channels: dict[str, Channel] = {}

    def register_channel(self, name: str, send: Channel) -> None:
        """Deliveries of messages whose ``channel`` is ``name`` are sent by ``send`` (not to a notification
        target), recorded, claimed and retried as every other delivery is."""
        self._channels[name] = send

    @property
    def queue(self) -> NotificationQueue:
        """The notifier's queue (the notifier polls it)."""
        return self._queue

    # ------------------------------------------------------------------------------------ targets

    def create(self, project_id: str, body: NotificationCreate) -> NotificationTarget:
        check_url(body.kind, body.url, self._guard())
        if body.test_id is not None:
            self._check_test(project_id, body.test_id)
        if body.suite_id is not None and self._suites is not None:
            try:
                self._suites.get(project_id, body.suite_id)
            except NotFound as exc:
                raise InvalidInput(f"suite_id: {exc.message}", details={"field": "suite_id"}) from exc
        assert body.scope is not None  # the model fills it in
        target = NotificationTarget(
            id=new_id("ntf"),
            project_id=project_id,
            name=body.name,
            kind=body.kind,
            url=body.url,
            on=body.on,
            scope=body.scope,
            test_id=body.test_id,
            suite_id=body.suite_id,
            suite_children=body.suite_children,
            secret=new_secret(),
            created_at=self._clock(),
        )
        self._store.put_target(target)
        logger.info("notification target created", target_id=target.id, kind=target.kind)
        return target

    def _check_test(self, project_id: str, test_id: str) -> None:
        if self._catalog is None:
            return
        try:
            self._catalog.get_test(project_id, test_id)
        except NotFound as exc:
            raise InvalidInput(f"test_id: {exc.message}", details={"field": "test_id"}) from exc

    def get(self, project_id: str, target_id: str) -> NotificationTarget:
        return self._store.get_target(project_id, target_id)

    def list_targets(self, project_id: str, *, limit: int = 50, cursor: str | None = None) -> Page[NotificationTarget]:
        return self._store.list_targets(project_id, limit=limit, cursor=cursor)

    def delete(self, project_id: str, target_id: str) -> None:
        self._store.delete_target(project_id, target_id)

    def deliveries(
        self, project_id: str, target_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Delivery]:
        self._store.get_target(project_id, target_id)  # NotFound across projects
        return self._store.list_deliveries(target_id, limit=limit, cursor=cursor)

    def deliveries_of(self, owner_id: str, *, limit: int = 50, cursor: str | None = None) -> Page[Delivery]:
        """The deliveries recorded for ``owner_id`` (a channel's: a GitHub integration's statuses), newest first."""
        return self._store.list_deliveries(owner_id, limit=limit, cursor=cursor)

    def _all_targets(self, project_id: str) -> list[NotificationTarget]:
        targets: list[NotificationTarget] = []
        cursor: str | None = None
        while True:
            page = self._store.list_targets(project_id, limit=_TARGETS_PAGE, cursor=cursor)
            targets += page.items
            cursor = page.next_cursor
            if cursor is None:
                return targets

    # ------------------------------------------------------------------------------------ events

    def on_event(self, event: Event) -> list[Delivery]:
        """The deliveries this event makes (each recorded and queued); none for an event that is not an end or
        that no target wants. Safe to call twice with the same event."""
        if isinstance(event, RunStatusChanged) and not event.status.terminal:
            return []
        targets = [t for t in self._all_targets(event.project_id) if self._hears(t, event)]
        if not targets:
            return []
        if isinstance(event, RunStatusChanged):
            run = self._runs.get_run(event.project_id, event.run_id)
            previous = self._previous_run_status(run)
            notice = Notice(
                project_id=run.project_id,
                trigger=trigger_of(run.status, previous),
                at=run.ended_at or event.at,
                run=run,
                previous_status=previous,
                run_url=f"{self._public_url}/v1/runs/{run.id}" if self._public_url else None,
                report_url=self._report_url(run),
            )
            attempt = run.attempt
        else:
            if self._suites is None:
                return []
            suite_run = self._suites.get_run(event.project_id, event.suite_run_id)
            previous = self._previous_suite_run_status(suite_run)
            notice = Notice(
                project_id=suite_run.project_id,
                trigger=trigger_of(suite_run.status, previous),
                at=suite_run.ended_at or event.at,
                suite_run=suite_run,
                previous_status=previous,
                run_url=f"{self._public_url}/v1/suite-runs/{suite_run.id}" if self._public_url else None,
            )
            attempt = 1
        made = []
        for target in targets:
            if target.wants(notice.trigger):
                made.append(self._deliver_later(target, notice, attempt))
        return made

    @staticmethod
    def _hears(target: NotificationTarget, event: Event) -> bool:
        if isinstance(event, RunStatusChanged):
            if target.scope == "suite_runs" or (event.suite_run_id is not None and not target.suite_children):
                return False
            return target.test_id is None or target.test_id == event.test_id
        if target.scope == "runs":
            return False
        return target.suite_id is None or target.suite_id == event.suite_id

    def _previous_run_status(self, run: Run) -> str | None:
        if run.test_id is None:
            return None  # an inline run has no history
        test_id = run.test_id

        def page(cursor: str | None) -> Page[Run]:
            query = RunQuery(project_id=run.project_id, test_id=test_id, limit=_HISTORY_PAGE, cursor=cursor)
            return self._runs.list_runs(query)

        return _previous_ended(run, page)

    def _previous_suite_run_status(self, suite_run: SuiteRun) -> str | None:
        suites = self._suites
        assert suites is not None

        def page(cursor: str | None) -> Page[SuiteRun]:
            return suites.list_runs(
                suite_run.project_id, suite_id=suite_run.suite_id, limit=_HISTORY_PAGE, cursor=cursor
            )

        return _previous_ended(suite_run, page)

    def _report_url(self, run: Run) -> str | None:
        if not any(ref.name.endswith("report.html") for ref in run.artifacts):
            return None
        try:
            links = self._runs.artifacts(run.project_id, run.id)
        except Exception as exc:  # a link is a nicety: the notification goes without it
            logger.warning("no report link for a notification", run_id=run.id, error=f"{type(exc).__name__}: {exc}")
            return None
        return next((a.url for a in reversed(links) if a.name.endswith("report.html")), None)

    def _deliver_later(self, target: NotificationTarget, notice: Notice, attempt: int) -> Delivery:
        now = self._clock()
        did = delivery_id(target.id, notice.subject_id, notice.status, attempt, notice.at)
        delivery = Delivery(
            id=did,
            target_id=target.id,
            project_id=target.project_id,
            event=DeliveryEvent(
                kind=notice.kind, id=notice.subject_id, status=notice.status, trigger=notice.trigger, at=notice.at
            ),
            created_at=now,
            updated_at=now,
            expires_at=int((now + timedelta(days=self.policy.retention_days)).timestamp()),
        )
        if target.kind == "slack":
            body = payload_dump(slack_message(notice))
        else:
            body = payload_dump(webhook_document(notice, delivery_id=did, target_id=target.id))
        message = DeliveryMessage(
            project_id=target.project_id,
            target_id=target.id,
            delivery_id=did,
            event_at=notice.at,
            attempt=1,
            body=body,
            event_type=notice.event_type,
        )
        return self.enqueue(delivery, message)

    def enqueue(self, delivery: Delivery, message: DeliveryMessage) -> Delivery:
        """Record ``delivery`` and queue its first attempt (``message``); the stored one when it was recorded
        before (the event came twice), queued again only if its first attempt may not have gone out."""
        if not self._store.create_delivery(delivery):
            delivery = self._store.get_delivery(delivery.target_id, delivery.id)
            if delivery.status != DeliveryStatus.pending or delivery.attempt > 0:
                return delivery  # the event came twice: this one is under way already
            # recorded, but the message may not have gone out: send it (the attempt's claim drops a duplicate)
        self._queue.send(message)
        logger.info(
            "notification queued", target_id=delivery.target_id, delivery_id=delivery.id, event=message.event_type
        )
        return delivery

    # ------------------------------------------------------------------------------------ delivering

    def deliver(self, message: DeliveryMessage) -> DeliveryOutcome:
        """Make the message's attempt: ``delivered``, ``retrying`` (recorded, sent again later), ``failed``
        (for good), ``dropped`` (nothing to do: a duplicate, a target deleted), or ``deferred`` (its attempt is
        claimed and not recorded yet: a copy comes back once the claim would be stale, and makes the attempt
        again if its worker died)."""
        try:
            delivery = self._store.get_delivery(message.target_id, message.delivery_id)
        except NotFound:
            logger.warning("delivery message for no delivery dropped", delivery_id=message.delivery_id)
            return "dropped"
        if delivery.status != DeliveryStatus.pending:
            return "dropped"
        if delivery.attempt == message.attempt and delivery.next_attempt_at is not None:
            # this attempt was made and its retry recorded, but the retry may not have been queued
            self._queue.send(message.next(), delay_s=self._delay_until(delivery.next_attempt_at))
            return "retrying"
        expected = delivery.attempt
        if delivery.attempt == message.attempt and delivery.next_attempt_at is None:
            claimed_for = (self._clock() - delivery.updated_at).total_seconds()
            if claimed_for < self.policy.stale_claim_s:
                # a copy of an attempt under way, or of one whose worker died: look again once the claim would
                # be stale (dropping it would leave a dead worker's delivery pending for ever)
                wait = int(self.policy.stale_claim_s - claimed_for) + 1
                self._queue.send(message, delay_s=wait)
                return "deferred"
            expected = delivery.attempt  # claimed by a worker that died before recording it: make it again
        elif delivery.attempt != message.attempt - 1:
            return "dropped"
        target: NotificationTarget | None = None
        if message.channel is None:
            with contextlib.suppress(NotFound):
                target = self._store.get_target(message.project_id, message.target_id)
        channel = self._channels.get(message.channel) if message.channel is not None else None
        claimed = delivery.model_copy(update={"attempt": message.attempt, "updated_at": self._clock()})
        try:
            self._store.update_delivery(claimed, expected_attempt=expected)
        except Conflict:
            return "dropped"  # another copy of this message has it
        if target is None and channel is None:
            gone = "the notification target was deleted" if message.channel is None else "nothing sends it here"
            self._finish(claimed, SendResult(False, False, None, gone, 0))
            return "failed"
        result = self._attempt(target, message) if target is not None else self._channel_attempt(channel, message)
        outcome = self._finish(claimed, result)
        if outcome == "retrying":
            self._queue.send(message.next(), delay_s=self.policy.delay_after(message.attempt))
        logger.info(
            "notification attempt",
            delivery_id=message.delivery_id,
            attempt=message.attempt,
            outcome=outcome,
            http_status=result.http_status,
            error=result.error,
        )
        return outcome

    def _attempt(self, target: NotificationTarget, message: DeliveryMessage) -> SendResult:
        """Send it; whatever goes wrong is a failed attempt (recorded, and retried or failed by the policy), never
        an exception that would leave the claimed attempt unrecorded."""
        started = self._clock()
        try:
            headers = {EVENT_HEADER: message.event_type, DELIVERY_HEADER: message.delivery_id}
            if target.kind == "webhook":
                headers[SIGNATURE_HEADER] = sign(target.secret, message.body)
            return self._send(target.url, message.body, headers)
        except Exception as exc:
            logger.exception("notification attempt raised", delivery_id=message.delivery_id)
            took = int((self._clock() - started).total_seconds() * 1000)
            return SendResult(False, True, None, f"the notifier failed to send it: {type(exc).__name__}: {exc}", took)

    def _channel_attempt(self, channel: Channel | None, message: DeliveryMessage) -> SendResult:
        assert channel is not None
        started = self._clock()
        try:
            return channel(message)
        except Exception as exc:
            logger.exception("notification attempt raised", delivery_id=message.delivery_id)
            took = int((self._clock() - started).total_seconds() * 1000)
            return SendResult(False, True, None, f"the notifier failed to send it: {type(exc).__name__}: {exc}", took)

    def _finish(self, claimed: Delivery, result: SendResult) -> DeliveryOutcome:
        now = self._clock()
        retry = not result.delivered and result.retryable and claimed.attempt < self.policy.max_attempts
        outcome: DeliveryOutcome
        if result.delivered:
            status, outcome = DeliveryStatus.delivered, "delivered"
        elif retry:
            status, outcome = DeliveryStatus.pending, "retrying"
        else:
            status, outcome = DeliveryStatus.failed, "failed"
        error = result.error
        if status == DeliveryStatus.failed and result.retryable:
            error = f"{error} (gave up after {claimed.attempt} attempts)"
        attempt = DeliveryAttempt(
            attempt=claimed.attempt,
            at=now,
            http_status=result.http_status,
            error=result.error,
            duration_ms=result.duration_ms,
        )
        finished = claimed.model_copy(
            update={
                "status": status,
                "http_status": result.http_status,
                "error": error,
                "duration_ms": result.duration_ms,
                "attempts": [*claimed.attempts, attempt],
                "updated_at": now,
                "next_attempt_at": now + timedelta(seconds=self.policy.delay_after(claimed.attempt)) if retry else None,
            }
        )
        self._store.update_delivery(finished, expected_attempt=claimed.attempt)
        return outcome

    def _delay_until(self, when: datetime) -> int:
        return max(0, int((when - self._clock()).total_seconds()))


def _previous_ended(current: Run | SuiteRun, page: Callable[[str | None], Page[Any]]) -> str | None:
    """How the newest run (or suite run) before ``current`` that ended ended, cancelled ones passed over; None
    when there is none among the newest ``_HISTORY_PAGES`` pages (``page(cursor)``, newest first)."""
    cursor: str | None = None
    for _ in range(_HISTORY_PAGES):
        found = page(cursor)
        for other in found.items:
            ended = other.status.terminal and other.status.value != "cancelled"
            if other.id != current.id and ended and other.created_at <= current.created_at:
                return str(other.status)
        cursor = found.next_cursor
        if cursor is None:
            break
    return None
