"""GitHub: pushes and pull requests start the suites a project's rules map them to, and each suite run reports
back as a commit status (``pending``, then ``success`` / ``failure`` / ``error``).

The rules:

- A webhook delivery is authenticated by ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body, keyed with the
  project's webhook secret, compared in constant time). A project without an integration answers as a bad
  signature does, so the answer never tells which projects exist.
- A delivery is handled once: its ``X-GitHub-Delivery`` is claimed with a conditional write (kept
  ``dedupe_s``); a replay starts nothing. GitHub's signature holds no time, so a delivery captured once stays
  signed for ever: an event older than ``dedupe_s`` (its payload's ``pushed_at`` / ``updated_at``), whose id
  may have been forgotten, is taken as a replay and starts nothing either. The suite runs a delivery starts
  have ids derived from the project, the delivery and the rule, so a delivery whose handling failed half-way
  (its claim is released) and is delivered again starts each suite run once.
- ``push`` to a branch (not a tag, not a deletion) and ``pull_request`` (opened, synchronize, reopened) match a
  rule by repository (case-insensitive) and branch: the pushed branch, or the branch the pull request targets
  (its base), against the rule's names and ``*`` patterns (none: every branch). Every matching rule starts its
  suite with the labels ``repo``, ``branch`` (the pushed branch, or the pull request's head), ``sha``, ``pr``
  (pull requests) and the rule's own, ``trigger`` ``github``.
- Statuses are deliveries of the notifier (``shared/services/notifications.py``: recorded, claimed, retried
  with backoff, sent through the network guard), on the channel ``github``: one when the suite run starts, one
  when it completes (``Suite Run Completed`` reaches the notifier's queue as it does for notifications). A
  status of a suite run is sent as the suite run is when it is sent, so a ``pending`` retried after the suite
  run ended cannot hide its result. The token is read from the project's secret when a status is sent; it is
  never stored in a delivery or logged. A matched rule whose suite cannot start (deleted, no tests) posts an
  ``error`` status saying why.

Signatures are checked with :mod:`hmac` (GitHub's scheme is one HMAC line: a library would add nothing).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import re
import secrets as random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from pydantic import ValidationError

from shared.errors import DomainError, InvalidInput, NotFound, Unauthorized
from shared.ids import _CROCKFORD, _b32, utcnow
from shared.models.events import SuiteRunCompleted
from shared.models.github import (
    GITHUB_LABELS,
    PR_ACTIONS,
    CommitStatus,
    GithubIntegration,
    GithubIntegrationPublic,
    GithubIntegrationPut,
    GithubRule,
    GithubState,
    StartedSuiteRun,
    WebhookOutcome,
)
from shared.models.notifications import Delivery, DeliveryEvent, DeliveryMessage
from shared.models.pages import Page
from shared.models.suites import SuiteRun, SuiteRunCreate, SuiteRunStatus
from shared.netguard import NetworkGuard
from shared.notify.sender import SendResult
from shared.observability import logger
from shared.ports import GithubStore
from shared.services.notifications import NotificationService, Sender, check_url, delivery_id
from shared.services.secrets import Secrets, SecretsNotDefined
from shared.services.suites import MAX_LABELS, SuiteService

CHANNEL = "github"
SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
API_VERSION = "2022-11-28"
USER_AGENT = "autotest-github"
#: GitHub keeps a status's description to 140 characters
MAX_DESCRIPTION = 140
SECRET_PREFIX = "ghws_"  # noqa: S105 (the prefix of generated webhook secrets)
_NO_SECRET = random.token_urlsafe(32)
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_BAD_SIGNATURE = (
    "the X-Hub-Signature-256 header does not sign this body with this project's webhook secret (is the webhook's "
    "secret the one set with PUT /v1/integrations/github, and its payload URL this project's?)"
)
_STATES: dict[SuiteRunStatus, GithubState] = {
    SuiteRunStatus.queued: "pending",
    SuiteRunStatus.running: "pending",
    SuiteRunStatus.passed: "success",
    SuiteRunStatus.failed: "failure",
    SuiteRunStatus.error: "error",
    SuiteRunStatus.cancelled: "error",
}


def signature_of(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, header: str, body: bytes) -> bool:
    return hmac.compare_digest(signature_of(secret, body).encode(), header.strip().encode("utf-8", "replace"))


def branch_matches(branch: str, patterns: list[str]) -> bool:
    """Whether ``branch`` is one of ``patterns`` (names, or ``*`` / ``?`` globs); none: every branch."""
    return not patterns or any(fnmatch.fnmatchcase(branch, pattern) for pattern in patterns)


def triggered_id(project_id: str, delivery: str, rule: int, at: datetime) -> str:
    """The id of the suite run rule ``rule`` starts for GitHub delivery ``delivery`` to project ``project_id``
    of an event of time ``at`` (the payload's, so the same on every try): its time (ids sort by time) and a hash
    of the project, delivery and rule. The project is in the hash because runs' ids are global (a child run's id
    derives from its suite run's): one delivery id sent to two projects (one push to two webhooks, or a delivery
    id replayed by another project's admin with its own secret) must not give both the same ids."""
    digest = int.from_bytes(hashlib.sha256(f"github#{project_id}#{delivery}#{rule}".encode()).digest()[:15], "big")
    tail = "".join(_CROCKFORD[(digest >> (5 * i)) & 31] for i in range(16))
    return f"srn_{_b32(int(at.timestamp() * 1000), 10)}{tail}"


def event_time(payload: dict[str, Any]) -> datetime | None:
    """When the event happened, as its payload says (the same in every redelivery): a push's
    ``repository.pushed_at`` (unix seconds), a pull request's ``updated_at``; None when it says nothing usable."""
    for value in (_dig(payload, "pull_request", "updated_at"), _dig(payload, "repository", "pushed_at")):
        try:
            if isinstance(value, int) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, UTC)
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            continue
    return None


def state_of(run: SuiteRun) -> GithubState:
    return _STATES[run.status]


def describe(run: SuiteRun) -> str:
    """A status's description: what the suite run is at, in GitHub's 140 characters."""
    counts = run.counts
    if not run.status.terminal:
        done = counts.total - counts.pending - counts.queued - counts.running
        text = f"{run.suite_name}: {counts.total} tests, {done} done"
    elif run.status == SuiteRunStatus.cancelled:
        text = f"{run.suite_name}: cancelled"
    else:
        parts = [f"{counts.passed} passed"]
        errors = "error" if counts.error == 1 else "errors"
        parts += [f"{n} {what}" for n, what in ((counts.failed, "failed"), (counts.error, errors)) if n]
        parts += [f"{n} {what}" for n, what in ((counts.timed_out, "timed out"), (counts.skipped, "skipped")) if n]
        text = f"{run.suite_name}: {', '.join(parts)}"
        if run.duration_ms is not None:
            text += f" in {max(1, round(run.duration_ms / 1000))} s"
    return clip(text)


def clip(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


class GithubService:
    def __init__(
        self,
        *,
        store: GithubStore,
        suites: SuiteService,
        secrets: Secrets,
        notifications: NotificationService,
        send: Sender,
        guard: Callable[[], NetworkGuard],
        public_url: str | None = None,
        dedupe_s: int = 7 * 24 * 3600,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._suites = suites
        self._secrets = secrets
        self._notifications = notifications
        self._send = send
        self._guard = guard
        self._public_url = public_url.rstrip("/") if public_url else None
        self._dedupe_s = dedupe_s
        self._clock = clock
        notifications.register_channel(CHANNEL, self.send_status)

    def with_secrets(self, secrets: Secrets) -> GithubService:
        """The same service reading tokens from ``secrets`` (local mode's store replaces Secrets Manager)."""
        return GithubService(
            store=self._store,
            suites=self._suites,
            secrets=secrets,
            notifications=self._notifications,
            send=self._send,
            guard=self._guard,
            public_url=self._public_url,
            dedupe_s=self._dedupe_s,
            clock=self._clock,
        )

    # ------------------------------------------------------------------------------------ configuration

    def configure(self, project_id: str, body: GithubIntegrationPut) -> tuple[GithubIntegration, str | None]:
        """Store the project's integration (replacing it); returns it and the webhook secret when one was made
        (the first ``PUT`` without one), which is then shown once."""
        try:
            check_url("webhook", body.api_url, self._guard())
        except InvalidInput as exc:
            raise InvalidInput("api_url: " + exc.message.removeprefix("url: "), details={"field": "api_url"}) from exc
        rules = [self._checked_rule(project_id, index, rule) for index, rule in enumerate(body.rules)]
        existing = self._store.get_integration(project_id)
        made = None
        secret = body.secret or (existing.secret if existing else None)
        if secret is None:
            made = secret = SECRET_PREFIX + random.token_urlsafe(32)
        now = self._clock()
        integration = GithubIntegration(
            id=existing.id if existing else f"ghi_{_b32(int(now.timestamp() * 1000), 10)}{random.token_hex(8)}",
            project_id=project_id,
            secret=secret,
            token_secret=body.token_secret,
            api_url=body.api_url.rstrip("/"),
            context=body.context,
            rules=rules,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        self._store.put_integration(integration)
        logger.info("github integration stored", project_id=project_id, rules=len(rules))
        return integration, made

    def _checked_rule(self, project_id: str, index: int, rule: GithubRule) -> GithubRule:
        try:
            suite = self._suites.resolve(project_id, rule.suite)
        except NotFound as exc:
            raise InvalidInput(
                f"rules[{index}].suite: {exc.message} in this project", details={"field": f"rules[{index}].suite"}
            ) from exc
        labels = {**suite.labels, **rule.labels}.keys() | set(GITHUB_LABELS)
        if len(labels) > MAX_LABELS:
            raise InvalidInput(
                f"rules[{index}].labels: with the suite's labels and repo, branch, sha and pr, its suite runs would "
                f"carry {len(labels)} labels; a run carries at most {MAX_LABELS}",
                details={"field": f"rules[{index}].labels"},
            )
        return rule.model_copy(update={"suite": suite.id})

    def get(self, project_id: str) -> GithubIntegration:
        found = self._store.get_integration(project_id)
        if found is None:
            raise NotFound("this project has no GitHub integration: set one with PUT /v1/integrations/github")
        return found

    def delete(self, project_id: str) -> None:
        self._store.delete_integration(project_id)
        logger.info("github integration deleted", project_id=project_id)

    def public(self, integration: GithubIntegration) -> GithubIntegrationPublic:
        path = f"/v1/integrations/github/webhook/{integration.project_id}"
        names = {s.name for s in self._secrets.list_secrets(integration.project_id)}
        return GithubIntegrationPublic(
            id=integration.id,
            webhook_url=f"{self._public_url}{path}" if self._public_url else path,
            secret_hint=integration.secret[-4:],
            token_secret=integration.token_secret,
            token_set=integration.token_secret in names,
            api_url=integration.api_url,
            context=integration.context,
            rules=integration.rules,
            created_at=integration.created_at,
            updated_at=integration.updated_at,
        )

    def deliveries(self, project_id: str, *, limit: int = 50, cursor: str | None = None) -> Page[Delivery]:
        """The statuses sent (and being sent) for the project's integration, newest first."""
        return self._notifications.deliveries_of(self.get(project_id).id, limit=limit, cursor=cursor)

    # ------------------------------------------------------------------------------------ webhooks

    def handle_webhook(
        self, project_id: str, headers: Mapping[str, str], body: bytes, *, correlation_id: str | None = None
    ) -> WebhookOutcome:
        """Check a delivery's signature and start what it maps to. Unauthorized for a missing or bad signature
        (and for a project without an integration: the same answer); InvalidInput for a signed body that is
        not what GitHub sends."""
        signature = headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER)
        if not signature:
            raise Unauthorized(
                f"the {SIGNATURE_HEADER} header is missing: set the webhook's secret in GitHub (the one set with "
                "PUT /v1/integrations/github) so that GitHub signs its deliveries"
            )
        integration = self._store.get_integration(project_id)
        # a project without an integration takes the same HMAC as one with: the answer's time tells nothing either
        secret = integration.secret if integration is not None else _NO_SECRET
        if not signature_matches(secret, signature, body) or integration is None:
            raise Unauthorized(_BAD_SIGNATURE)
        event = (headers.get(EVENT_HEADER.lower()) or "").strip()
        delivery = (headers.get(DELIVERY_HEADER.lower()) or "").strip()
        if event == "ping":
            return WebhookOutcome(delivery=delivery or None, event=event, handled="pong")
        if not _DELIVERY_ID.match(delivery):
            raise InvalidInput(
                f"the {DELIVERY_HEADER} header is missing or not a delivery id (letters, digits and hyphens)",
                details={"field": DELIVERY_HEADER},
            )
        payload = _payload(headers.get("content-type", ""), body)
        matched = _event_of(event, payload)
        if isinstance(matched, str):
            return WebhookOutcome(delivery=delivery, event=event, handled="ignored", reason=matched)
        repo, branch, labels = matched
        rules = [
            (i, r)
            for i, r in enumerate(integration.rules)
            if r.repo.casefold() == repo.casefold() and event in r.events and branch_matches(branch, r.branches)
        ]
        if not rules:
            reason = f"no rule maps {event} of {repo} on {branch!r} to a suite"
            return WebhookOutcome(delivery=delivery, event=event, handled="ignored", reason=reason)
        now = self._clock()
        at = event_time(payload)
        if at is not None and at < now - timedelta(seconds=self._dedupe_s):
            reason = (
                f"the event is of {at:%Y-%m-%d %H:%M} UTC, older than the {self._dedupe_s / 86400:g} days deliveries "
                "are remembered for: taken as a replay, it starts nothing"
            )
            return WebhookOutcome(delivery=delivery, event=event, handled="ignored", reason=reason)
        expires = int((now + timedelta(seconds=self._dedupe_s)).timestamp())
        if not self._store.claim_webhook_delivery(project_id, delivery, expires_at=expires):
            return WebhookOutcome(
                delivery=delivery, event=event, handled="duplicate", reason="this delivery was handled before"
            )
        at = at or now
        try:
            started = [self._start(integration, delivery, i, rule, labels, at, correlation_id) for i, rule in rules]
        except Exception:
            self._store.release_webhook_delivery(project_id, delivery)  # GitHub's redelivery may try again
            raise
        logger.info("github delivery handled", delivery=delivery, event=event, suite_runs=len(started))
        return WebhookOutcome(delivery=delivery, event=event, handled="started", suite_runs=started)

    def _start(
        self,
        integration: GithubIntegration,
        delivery: str,
        index: int,
        rule: GithubRule,
        labels: dict[str, str],
        at: datetime,
        correlation_id: str | None,
    ) -> StartedSuiteRun:
        project_id = integration.project_id
        try:
            # a push's or pull request's check: before the nightly regressions (docs/architecture.md: priority)
            body = SuiteRunCreate(labels={**rule.labels, **labels}, priority="high")
            run = self._suites.start(
                project_id,
                rule.suite,
                body,
                trigger="github",
                suite_run_id=triggered_id(project_id, delivery, index, at),
                correlation_id=correlation_id,
            )
        except (DomainError, ValidationError) as exc:
            why = exc.message if isinstance(exc, DomainError) else _first_error(exc)
            if isinstance(exc, NotFound):
                why = f"suite {rule.suite} of rule {index} no longer exists"
            if isinstance(exc, DomainError) and not isinstance(exc, (InvalidInput, NotFound)):
                raise  # the table or queue is unavailable: the delivery is released and may come again
            logger.warning("github rule could not start its suite", rule=index, suite_id=rule.suite, error=why)
            status = CommitStatus(
                repo=labels["repo"],
                sha=labels["sha"],
                context=f"{integration.context}/{rule.suite}",
                state="error",
                description=clip(f"could not start: {why}"),
            )
            self._queue(integration, status, subject=f"{delivery}#{index}", at=self._clock())
            return StartedSuiteRun(rule=index, suite_id=rule.suite, suite_run_id=None, error=why)
        self._queue(integration, self._status_of(integration, run), subject=run.id, at=run.created_at)
        return StartedSuiteRun(rule=index, suite_id=rule.suite, suite_run_id=run.id)

    # ------------------------------------------------------------------------------------ statuses

    def on_event(self, event: SuiteRunCompleted) -> list[Delivery]:
        """The final status of a suite run a webhook started (none for any other suite run)."""
        if "repo" not in event.labels or "sha" not in event.labels:
            return []
        integration = self._store.get_integration(event.project_id)
        if integration is None:
            return []
        run = self._suites.get_run(event.project_id, event.suite_run_id)
        if run.trigger != "github" or not run.status.terminal:
            return []
        return [self._queue(integration, self._status_of(integration, run), subject=run.id, at=event.at)]

    def _status_of(self, integration: GithubIntegration, run: SuiteRun) -> CommitStatus:
        return CommitStatus(
            repo=run.labels["repo"],
            sha=run.labels["sha"],
            context=f"{integration.context}/{run.suite_name}",
            state=state_of(run),
            description=describe(run),
            suite_run_id=run.id,
            target_url=f"{self._public_url}/ui/suite-runs/{run.id}" if self._public_url else None,
        )

    def _queue(self, integration: GithubIntegration, status: CommitStatus, *, subject: str, at: datetime) -> Delivery:
        now = self._clock()
        did = delivery_id(integration.id, subject, status.state, 1, at)
        retention = self._notifications.policy.retention_days
        delivery = Delivery(
            id=did,
            target_id=integration.id,
            project_id=integration.project_id,
            event=DeliveryEvent(
                kind="suite_run",
                id=status.suite_run_id or subject,
                status=status.state,
                at=at,
                detail=f"{status.repo}@{status.sha[:12]} {status.context}",
            ),
            created_at=now,
            updated_at=now,
            expires_at=int((now + timedelta(days=retention)).timestamp()),
        )
        message = DeliveryMessage(
            project_id=integration.project_id,
            target_id=integration.id,
            delivery_id=did,
            event_at=at,
            attempt=1,
            body=status.model_dump_json(),
            event_type=f"github.status.{status.state}",
            channel=CHANNEL,
        )
        return self._notifications.enqueue(delivery, message)

    def send_status(self, message: DeliveryMessage) -> SendResult:
        """One attempt of a status (the notifier's ``github`` channel): the token read now, the suite run's
        state as it is now."""
        status = CommitStatus.model_validate_json(message.body)
        integration = self._store.get_integration(message.project_id)
        if integration is None or integration.id != message.target_id:
            return SendResult(False, False, None, "the project's GitHub integration was removed", 0)
        if status.suite_run_id is not None:
            try:
                run = self._suites.get_run(message.project_id, status.suite_run_id)
                status = status.model_copy(update={"state": state_of(run), "description": describe(run)})
            except NotFound:
                pass  # sent as it was queued
        try:
            token = self._secrets.resolve(message.project_id, [integration.token_secret])[integration.token_secret]
        except SecretsNotDefined as exc:
            return SendResult(False, False, None, f"no GitHub token: {exc.message}", 0)
        token = token.strip()
        if not token or not token.isprintable() or any(c.isspace() for c in token):
            name = integration.token_secret
            why = f"the GitHub token in the secret {name} is empty or holds spaces or control characters"
            return SendResult(False, False, None, why, 0)
        owner, _, name = status.repo.partition("/")
        url = f"{integration.api_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/statuses/{status.sha}"
        document: dict[str, Any] = {"state": status.state, "description": status.description, "context": status.context}
        if status.target_url:
            document["target_url"] = status.target_url
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        result = self._send(url, json.dumps(document, separators=(",", ":")), headers)
        if result.error and token in result.error:  # never recorded, whatever the HTTP client's error says
            result = replace(result, error=result.error.replace(token, "***"))
        return result


def _first_error(exc: ValidationError) -> str:
    """What is wrong, where (``labels.branch: String should have at most 256 characters``), not pydantic's
    first line (``1 validation error for SuiteRunCreate``), which says neither."""
    first = exc.errors(include_url=False)[0]
    return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


def _payload(content_type: str, body: bytes) -> dict[str, Any]:
    """The delivery's JSON: the body (``application/json``) or its ``payload`` field (GitHub's
    ``application/x-www-form-urlencoded``)."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            text = parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0]
        else:
            text = body.decode("utf-8")
        data = json.loads(text)
    except (ValueError, KeyError, UnicodeDecodeError, RecursionError) as exc:  # (nested past Python's stack)
        raise InvalidInput(
            "the body is not a GitHub webhook payload (JSON; set the webhook's content type to application/json)"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body is not a GitHub webhook payload (a JSON object)")
    return data


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _text(data: Any, *path: str) -> str | None:
    found = _dig(data, *path)
    return found if isinstance(found, str) and found else None


def _event_of(event: str, payload: dict[str, Any]) -> tuple[str, str, dict[str, str]] | str:
    """``(repository, branch to match, labels)`` of a push or pull request that may start suites, or why it
    starts nothing."""
    repo = _text(payload, "repository", "full_name")
    if event not in ("push", "pull_request"):
        return f"{event or 'an event without X-GitHub-Event'} starts nothing (push and pull_request do)"
    if repo is None:
        raise InvalidInput(f"the {event} payload has no repository.full_name")
    if event == "push":
        ref = _text(payload, "ref") or ""
        if not ref.startswith("refs/heads/"):
            return f"a push to {ref or 'no ref'} starts nothing (pushes to branches do)"
        if payload.get("deleted") is True:
            return "a branch deletion starts nothing"
        branch, sha = ref.removeprefix("refs/heads/"), _text(payload, "after")
        labels = {"repo": repo, "branch": branch}
        match = branch
    else:
        action = _text(payload, "action") or ""
        if action not in PR_ACTIONS:
            return f"pull_request {action or 'without an action'} starts nothing (opened, synchronize, reopened do)"
        number = payload.get("number") or _dig(payload, "pull_request", "number")
        branch = _text(payload, "pull_request", "head", "ref") or ""
        match = _text(payload, "pull_request", "base", "ref") or ""
        sha = _text(payload, "pull_request", "head", "sha")
        if not isinstance(number, int) or not branch or not match:
            raise InvalidInput("the pull_request payload has no number, head.ref or base.ref")
        labels = {"repo": repo, "branch": branch, "pr": str(number)}
    if sha is None or not _SHA.match(sha):
        raise InvalidInput(f"the {event} payload has no commit sha")
    labels["sha"] = sha
    return repo, match, labels
