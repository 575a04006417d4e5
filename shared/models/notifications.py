"""Notification targets (where to tell a project about its runs and suite runs) and their deliveries.

A target is a generic webhook (a signed JSON body: ``shared/notify/signing.py``) or a Slack incoming webhook (a
readable message). It fires on the end of a run or a suite run, as its ``on`` says; each message it sends is a
:class:`Delivery`, retried with backoff and recorded.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, StringConstraints, model_validator

from shared.models.common import Model, Name, ObjectId, StrictModel

NotificationKind = Literal["webhook", "slack"]


class Trigger(StrEnum):
    """What an ended run or suite run is, for notifications: `failure` (it ended `failed`, `error` or
    `timed_out`), `recovery` (it passed, and the previous ended run of the same test, or suite run of the same
    suite, did not pass), `ended` (any other end: a pass that is not a recovery, a cancellation)."""

    failure = "failure"
    recovery = "recovery"
    ended = "ended"


#: when a target fires: on `failure`, on `recovery`, or `always` (every end, cancellations included)
OnRule = Literal["failure", "recovery", "always"]
DEFAULT_ON: tuple[OnRule, ...] = ("failure", "recovery")
#: what a target hears about: runs, suite runs, or both
Scope = Literal["runs", "suite_runs", "all"]
#: a webhook URL: http(s), at most 2,000 characters (checked further when saved: see the service)
TargetUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class NotificationCreate(StrictModel):
    """A notification target of the calling project: a webhook or a Slack incoming webhook that is told when
    runs or suite runs end. By default a run that belongs to a suite run does not notify on its own: the suite
    run's end does (so a 50-test suite sends one message); set `suite_children` to hear of each child run
    too."""

    name: Name | None = None
    """A name to recognise the target by (shown in lists), or null."""
    kind: NotificationKind
    """`webhook`: a signed JSON body (header `X-Autotest-Signature: t=<unix>,v1=<hex HMAC-SHA256>`);
    `slack`: a Slack incoming webhook (`https://hooks.slack.com/...`) gets a readable message."""
    url: TargetUrl
    """Where to POST: an `http` or `https` URL (`https` for Slack) that the deployment's network guard lets
    out (no link-local or metadata address; private addresses only when allow-listed)."""
    on: Annotated[list[OnRule], Field(min_length=1, max_length=3)] = Field(default_factory=lambda: list(DEFAULT_ON))
    """When to send: `failure` (ended `failed`, `error` or `timed_out`), `recovery` (the first pass after one
    that did not pass, of the same test or suite), `always` (every end). Any combination; default
    `["failure", "recovery"]`."""
    scope: Scope | None = None
    """What to hear about: `runs`, `suite_runs` or `all` (the default; `runs` when `test_id` is given,
    `suite_runs` when `suite_id` is)."""
    test_id: ObjectId | None = None
    """Only the runs of this test (implies `scope` `runs`), or null for every test."""
    suite_id: ObjectId | None = None
    """Only the suite runs of this suite (implies `scope` `suite_runs`), or null for every suite."""
    suite_children: bool = False
    """Also notify for each run of a suite run on its own (default: only the suite run's end notifies)."""

    @model_validator(mode="after")
    def _consistent(self) -> NotificationCreate:
        self.on = list(dict.fromkeys(self.on))
        if self.test_id is not None and self.suite_id is not None:
            raise ValueError("give test_id or suite_id, not both: one target follows one test or one suite")
        implied: Scope | None = "runs" if self.test_id else "suite_runs" if self.suite_id else None
        if implied is not None and self.scope not in (None, implied):
            field = "test_id" if self.test_id else "suite_id"
            raise ValueError(f"{field} only goes with scope {implied!r} (scope is {self.scope!r})")
        if self.scope is None:
            self.scope = implied or "all"
        if self.suite_children and self.scope == "suite_runs":
            raise ValueError(
                "suite_children hears each child run of every suite run: it goes with scope 'all' (or 'runs'), "
                "not with suite_id or scope 'suite_runs'"
            )
        return self


class NotificationTarget(Model):
    """A stored target. ``secret`` signs its webhook bodies; it is shown once, when the target is created."""

    id: str
    project_id: str
    name: str | None = None
    kind: NotificationKind
    url: str
    on: list[OnRule]
    scope: Scope
    test_id: str | None = None
    suite_id: str | None = None
    suite_children: bool = False
    secret: str
    created_at: datetime

    def wants(self, trigger: Trigger) -> bool:
        return "always" in self.on or trigger.value in self.on


class NotificationPublic(Model):
    """A notification target (its secret is shown only in the answer that created it)."""

    id: str
    """The target's id (`ntf_...`)."""
    name: str | None
    """Its name, or null."""
    kind: NotificationKind
    """`webhook` or `slack`."""
    url: str
    """Where it POSTs: for Slack, only the start of the URL is shown (the rest of a Slack URL is its secret); for a
    webhook, its query string is shown as `...` and a `user:password@` left out (a token there is not for every
    key that may read targets)."""
    on: list[OnRule]
    """When it sends: `failure`, `recovery`, `always`."""
    scope: Scope
    """What it hears about: `runs`, `suite_runs` or `all`."""
    test_id: str | None
    """Only this test's runs, or null."""
    suite_id: str | None
    """Only this suite's runs, or null."""
    suite_children: bool
    """Whether the runs of a suite run notify on their own too."""
    secret_hint: str
    """The last 4 characters of the signing secret, to tell secrets apart."""
    created_at: datetime
    """When it was created."""

    @classmethod
    def of(cls, target: NotificationTarget) -> NotificationPublic:
        url = target.url
        if target.kind == "slack":
            url = "/".join(url.split("/")[:4]) + "/..."  # https://hooks.slack.com/services/...
        else:  # a token in a webhook's query string or userinfo is not shown to every key that may read
            parts = urlsplit(url)
            host = parts.netloc.rsplit("@", 1)[-1]
            url = urlunsplit((parts.scheme, host, parts.path, "..." if parts.query else "", ""))
        data = target.model_dump(exclude={"secret", "project_id", "url"})
        return cls(**data, url=url, secret_hint=target.secret[-4:])


class NotificationCreated(NotificationPublic):
    """The target just created, with its signing secret: the only time it is shown."""

    secret: str
    """The signing secret (`nsec_...`): HMAC-SHA256 key of the `X-Autotest-Signature` header. Keep it: it is
    never shown again."""


class DeliveryStatus(StrEnum):
    """`pending` (not sent yet, or waiting to be retried), `delivered` (the receiver answered 2xx), `failed`
    (every attempt failed, or the receiver refused it for good: a 4xx other than 408 and 429, a redirect, a URL
    the network guard refuses)."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class DeliveryEvent(Model):
    """What a delivery tells of."""

    kind: Literal["run", "suite_run"]
    """A run's end or a suite run's."""
    id: str
    """The run's id (`run_...`) or the suite run's (`srn_...`)."""
    status: str
    """How it ended: `passed`, `failed`, `error`, `timed_out`, `cancelled`."""
    trigger: Trigger | None = None
    """`failure`, `recovery` or `ended`; null for a GitHub commit status."""
    at: datetime
    """When it ended."""
    detail: str | None = None
    """For a GitHub commit status: `<owner>/<repo>@<sha> <context>`; else null."""


class DeliveryAttempt(Model):
    """One try at sending a delivery."""

    attempt: int
    """1, 2, ..."""
    at: datetime
    """When it was sent."""
    http_status: int | None = None
    """The receiver's status code, or null (no answer: a timeout, a connection refused, a URL refused)."""
    error: str | None = None
    """Why it failed, or null."""
    duration_ms: int = 0
    """How long it took."""


class Delivery(Model):
    """One message to one target, with its attempts (newest last)."""

    id: str
    """The delivery's id (`dlv_...`); receivers get it as `X-Autotest-Delivery` (the same on every retry), to
    drop duplicates."""
    target_id: str
    """The target's id."""
    project_id: str
    """The project."""
    event: DeliveryEvent
    """What it tells of."""
    attempt: int = 0
    """How many attempts were made."""
    status: DeliveryStatus = DeliveryStatus.pending
    """`pending`, `delivered` or `failed`."""
    http_status: int | None = None
    """The last attempt's status code, or null."""
    error: str | None = None
    """The last attempt's error, or null."""
    duration_ms: int | None = None
    """The last attempt's duration, or null."""
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    """Every attempt, oldest first."""
    created_at: datetime
    """When it was created."""
    updated_at: datetime
    """When it last changed."""
    next_attempt_at: datetime | None = None
    """When the next attempt is due (while `pending` after a failed attempt), or null."""
    expires_at: int = 0
    """Unix time after which the record may be deleted (a DynamoDB TTL)."""


class DeliveryPublic(Model):
    """A delivery as the API shows it."""

    id: str
    """The delivery's id (`dlv_...`), the receiver's `X-Autotest-Delivery`."""
    target_id: str
    """The target's id."""
    event: DeliveryEvent
    """What it tells of."""
    attempt: int
    """How many attempts were made."""
    status: DeliveryStatus
    """`pending`, `delivered` or `failed`."""
    http_status: int | None
    """The last attempt's status code, or null."""
    error: str | None
    """The last attempt's error, or null."""
    duration_ms: int | None
    """The last attempt's duration in milliseconds, or null."""
    attempts: list[DeliveryAttempt]
    """Every attempt, oldest first."""
    created_at: datetime
    """When it was created."""
    next_attempt_at: datetime | None
    """When the next attempt is due, or null."""

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls(**delivery.model_dump(exclude={"project_id", "updated_at", "expires_at"}))


class DeliveryMessage(Model):
    """Asks the notifier to make attempt ``attempt`` of a delivery. ``body`` is what is POSTed (the same on
    every attempt; the signature is made afresh each time)."""

    kind: Literal["delivery"] = "delivery"
    project_id: str
    target_id: str
    delivery_id: str
    #: the delivery's sort key time (the event's), which locates its record
    event_at: datetime
    attempt: int
    body: str
    event_type: str
    #: None: a notification target's delivery; else the channel that sends it (``"github"``: a commit status,
    #: ``shared/services/github.py``), registered with :meth:`NotificationService.register_channel`
    channel: str | None = None

    def next(self) -> DeliveryMessage:
        return self.model_copy(update={"attempt": self.attempt + 1})


def payload_dump(payload: dict[str, Any]) -> str:
    """The JSON text of a payload, compact."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
