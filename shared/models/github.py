"""The GitHub integration of a project: the webhook secret, where the token is, and the rules that map a
repository's pushes and pull requests to suites (``PUT /v1/integrations/github``); what a webhook delivery
started; and the commit status a suite run reports back (a message of the notifier's queue).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from shared.models.common import Model, ObjectId, StorableInput
from shared.models.runs import Labels
from shared.models.secrets import SecretName

#: ``owner/name``: GitHub's owner names (letters, digits, hyphens) and repository names (letters, digits, ``.``,
#: ``_``, ``-``)
REPO_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")


def _check_repo(value: str) -> str:
    if not REPO_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value[:120]!r} is not a repository: owner/name (letters, digits and hyphens, a slash, then letters, "
            "digits, '.', '_' or '-'), as in acme/shop"
        )
    return value


Repo = Annotated[str, StringConstraints(strip_whitespace=True, max_length=140), AfterValidator(_check_repo)]
#: a branch name, or a pattern of them (``release/*``: ``*`` and ``?`` as in shell globs)
BranchPattern = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
GithubEvent = Literal["push", "pull_request"]
#: the pull_request actions that start suite runs (a new head commit, or a PR opened again)
PR_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_TOKEN_SECRET = "GITHUB_TOKEN"  # noqa: S105 (the name of a project secret, not a secret)
#: labels a triggered suite run carries; a rule's own labels may not take these names
GITHUB_LABELS = ("repo", "branch", "sha", "pr")
MAX_RULES = 50
#: a webhook secret: what GitHub's "Secret" field holds (GitHub allows any text; 16 characters at least here)
WebhookSecret = Annotated[str, StringConstraints(min_length=16, max_length=256)]
ApiUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


def _push_only() -> list[GithubEvent]:
    return ["push"]


class GithubRule(StorableInput):
    """Which events of one repository start which suite. A push matches when its branch is one of `branches`
    (all branches when none are given); a pull request (opened, synchronize, reopened) matches when the branch
    it targets (its base) is one of `branches`, as GitHub Actions' `on: pull_request: branches` does."""

    repo: Repo
    """The repository, `owner/name` (compared without regard to case, as GitHub does)."""
    branches: Annotated[list[BranchPattern], Field(max_length=50)] = Field(default_factory=list)
    """Branch names or patterns (`main`, `release/*`); empty: every branch."""
    events: Annotated[list[GithubEvent], Field(min_length=1, max_length=2)] = Field(default_factory=_push_only)
    """`push`, `pull_request` or both; default `["push"]`."""
    suite: ObjectId
    """The suite to run: its id (`ste_...`) or its name (stored as the id)."""
    labels: Labels = Field(default_factory=dict)
    """More labels for the suite runs it starts (beside `repo`, `branch`, `sha` and `pr`)."""

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[GithubEvent]) -> list[GithubEvent]:
        return list(dict.fromkeys(events))

    @model_validator(mode="after")
    def _own_labels(self) -> GithubRule:
        taken = [key for key in self.labels if key in GITHUB_LABELS]
        if taken:
            raise ValueError(f"labels: {', '.join(taken)} are set from the event; a rule cannot set them")
        return self


class GithubIntegrationPut(StorableInput):
    """The project's GitHub integration (`PUT /v1/integrations/github`), replacing the one stored. The webhook
    secret is write-only: omit it to keep the stored one; the first `PUT` without one makes one (shown in that
    answer only)."""

    secret: WebhookSecret | None = None
    """The webhook's secret, as typed in GitHub's webhook form (16 to 256 characters); omitted: the stored
    one is kept (or, the first time, one is made and shown once)."""
    token_secret: SecretName = DEFAULT_TOKEN_SECRET
    """The project secret that holds the GitHub token statuses are posted with (default `GITHUB_TOKEN`; set it
    with `autotest secrets set GITHUB_TOKEN` or `PUT /v1/secrets/GITHUB_TOKEN`). Read when a status is sent."""
    api_url: ApiUrl = DEFAULT_API_URL
    """The GitHub REST API's base URL (default `https://api.github.com`; GitHub Enterprise Server:
    `https://HOST/api/v3`): it must be a URL the deployment's network guard lets out."""
    context: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/ -]{1,64}$")] = "autotest"
    """The start of each status's context: `<context>/<suite name>` (default `autotest`)."""
    rules: Annotated[list[GithubRule], Field(min_length=1, max_length=MAX_RULES)]
    """Which pushes and pull requests start which suites (1 to 50 rules; every matching rule starts its suite)."""


class GithubIntegration(Model):
    """The stored integration. ``secret`` never leaves the service but to check a signature."""

    id: str
    project_id: str
    secret: str
    token_secret: str
    api_url: str
    context: str = "autotest"
    rules: list[GithubRule]
    created_at: datetime
    updated_at: datetime


class GithubIntegrationPublic(Model):
    """The project's GitHub integration (the webhook secret is never shown: only its last 4 characters)."""

    id: str
    """The integration's id (`ghi_...`): its statuses are its deliveries."""
    webhook_url: str
    """The webhook's payload URL to give GitHub (from the deployment's public URL; a path when it has none)."""
    secret_hint: str
    """The last 4 characters of the webhook secret, to tell secrets apart."""
    token_secret: str
    """The project secret that holds the token."""
    token_set: bool
    """Whether the project has that secret now."""
    api_url: str
    """The GitHub API's base URL."""
    context: str
    """The start of each status's context."""
    rules: list[GithubRule]
    """The rules, suites by id."""
    created_at: datetime
    """When it was first set."""
    updated_at: datetime
    """When it last changed."""


class GithubIntegrationCreated(GithubIntegrationPublic):
    """The integration, with the webhook secret made for it: the only time it is shown."""

    secret: str
    """The webhook secret to type into GitHub's webhook form. It is never shown again."""


class StartedSuiteRun(Model):
    """One rule's match: the suite run it started, or why it could not."""

    rule: int
    """The matching rule's index (from 0)."""
    suite_id: str
    """The suite."""
    suite_run_id: str | None
    """The suite run started (`srn_...`), or null when it could not start."""
    error: str | None = None
    """Why it could not start, or null."""


class WebhookOutcome(Model):
    """What a webhook delivery did."""

    delivery: str | None
    """GitHub's `X-GitHub-Delivery`."""
    event: str
    """GitHub's `X-GitHub-Event` (`ping`, `push`, `pull_request`, ...)."""
    handled: Literal["started", "ignored", "duplicate", "pong"]
    """`started` (the matched suites, in `suite_runs`), `ignored` (nothing to run: no rule matched, or an event or
    action that starts nothing), `duplicate` (this delivery was handled before: nothing started again), `pong`
    (a `ping`)."""
    reason: str | None = None
    """Why it was ignored, or null."""
    suite_runs: list[StartedSuiteRun] = Field(default_factory=list)
    """The suite runs started, one per matching rule."""


GithubState = Literal["pending", "success", "failure", "error"]


class CommitStatus(Model):
    """A commit status to post (the body of a GitHub delivery message; no token: it is read when sent)."""

    repo: str
    sha: str
    context: str
    #: the state when it was queued; a status of a suite run is sent as the suite run is when it is sent
    state: GithubState
    description: str
    suite_run_id: str | None = None
    target_url: str | None = None
