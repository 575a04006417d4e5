"""One typed settings object, read lazily.

Every field is read from the environment variable ``AUTOTEST_<FIELD>`` (upper case); the AWS
ones (``AWS_REGION``, ``AWS_ENDPOINT_URL``) keep their standard names. Nothing reads the
environment at import time: call :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import resources
from shared.models.priority import Priority
from shared.services.routing import LAMBDA_RUN_LIMIT_S


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOTEST_", extra="ignore", frozen=True)

    # --- AWS -----------------------------------------------------------------------------
    aws_region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    aws_endpoint_url: str | None = Field(default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL"))

    # --- resource names (the CDK stack passes the same names in) ----------------------------
    table_name: str = resources.TABLE_NAME
    run_queue_name: str = resources.RUN_QUEUE_NAME
    run_dlq_name: str = resources.RUN_DLQ_NAME
    plan_queue_name: str = resources.PLAN_QUEUE_NAME
    #: the Fargate workers' queue where the container Lambda takes the run queue (the CDK stack's runner mode
    #: ``both``): runs with a timeout above ``lambda_run_limit_s`` are sent there; none: every run to the run queue
    long_run_queue_name: str | None = None
    #: the run queues of high and low priority (``run_queue_name`` is normal's: a deployment's one run queue from
    #: before priorities stays its normal queue); none: that priority's runs go to the normal queue (no order
    #: between them). Workers take high before normal before low.
    run_queue_high_name: str | None = None
    run_queue_low_name: str | None = None
    #: the long lane's (``long_run_queue_name`` is its normal one); none: to the long normal queue
    long_run_queue_high_name: str | None = None
    long_run_queue_low_name: str | None = None
    lambda_run_limit_s: int = Field(default=LAMBDA_RUN_LIMIT_S, ge=60, le=LAMBDA_RUN_LIMIT_S)
    #: the most time one run message may ask of its runner (the sum of a batch's timeouts); a suite's batch is
    #: split to fit (the CDK stack's runner mode ``lambda``: the container Lambda's 840 s); none: no limit
    run_message_limit_s: int | None = Field(default=None, ge=60)
    plan_dlq_name: str = resources.PLAN_DLQ_NAME
    #: the events function's queue, its DLQ and the rule that fills it; default: named after the bus
    #: (``autotest-events``...), so a second bus in one emulator gets queues of its own
    events_queue_name: str | None = None
    events_dlq_name: str | None = None
    events_rule_name: str | None = None
    #: the notifier's queue and its DLQ; default: named after the bus (``autotest-notifications``...)
    notify_queue_name: str | None = None
    notify_dlq_name: str | None = None
    artifact_bucket: str = resources.ARTIFACT_BUCKET
    event_bus_name: str = resources.EVENT_BUS_NAME

    def run_queues(self) -> dict[Priority, str | None]:
        """The run queue of each priority (none: the normal one's)."""
        return {"high": self.run_queue_high_name, "normal": self.run_queue_name, "low": self.run_queue_low_name}

    def long_run_queues(self) -> dict[Priority, str | None]:
        """The long lane's queue of each priority (none: its normal one's; all none: no long lane)."""
        return {
            "high": self.long_run_queue_high_name,
            "normal": self.long_run_queue_name,
            "low": self.long_run_queue_low_name,
        }

    def notify_queue(self) -> tuple[str, str]:
        """``(queue, dead-letter queue)`` of the notifier."""
        base = f"{self.event_bus_name}{resources.NOTIFY_QUEUE_SUFFIX}"
        return self.notify_queue_name or base, self.notify_dlq_name or f"{base}-dlq"

    def events_queue(self) -> tuple[str, str, str]:
        """``(queue, dead-letter queue, rule)`` of the events function."""
        base = self.event_bus_name
        return (
            self.events_queue_name or f"{base}{resources.EVENTS_QUEUE_SUFFIX}",
            self.events_dlq_name or f"{base}{resources.EVENTS_QUEUE_SUFFIX}-dlq",
            self.events_rule_name or f"{base}{resources.EVENTS_RULE_SUFFIX}",
        )

    # --- API ------------------------------------------------------------------------------
    bootstrap_api_key: SecretStr | None = None
    #: the Secrets Manager secret (name or ARN) that holds the bootstrap key instead (the CDK stack's)
    bootstrap_api_key_secret: str | None = None
    bootstrap_project: str = "default"
    #: the dashboard's (``/ui``) session-cookie signing key (at least 32 characters); local mode makes one per data
    #: directory. Unset: read from ``ui_session_key_secret``
    ui_session_key: SecretStr | None = None
    #: the Secrets Manager secret (name or ARN) that holds the dashboard's signing key (the CDK stack's)
    ui_session_key_secret: str | None = None
    #: how long a dashboard login lasts, in seconds (the cookie expires; the key is checked on every request)
    ui_session_ttl_s: int = Field(default=43_200, ge=60, le=2_592_000)
    #: artifacts up to this size (bytes) the dashboard serves itself; bigger ones are a redirect to their link
    #: (a Lambda response holds at most 6 MB)
    ui_inline_artifact_bytes: int = Field(default=4_000_000, ge=0)
    # DynamoDB items are limited to 400 KB; a revision stores the body's spec.
    max_body_bytes: int = 262_144
    presign_ttl_s: int = 3600
    #: server-sent event streams (GET /v1/runs/{id}/events) open at once in one API process, per project and
    #: per run; one more is a 429
    #: whether GET /v1/runs/{id}/events streams; off behind a gateway that buffers a function's answer (the CDK
    #: stack's HTTP API): the route answers 404 and the CLI polls
    event_streams: bool = True
    event_streams_per_project: int = Field(default=20, ge=1)
    event_streams_per_run: int = Field(default=5, ge=1)
    #: the Playwright trace viewer served under /ui/trace/ (a copy of the playwright package's
    #: driver/package/lib/vite/traceViewer); none: the copy bundled with the API, else the installed package's
    trace_viewer_dir: Path | None = None

    # --- runs -----------------------------------------------------------------------------
    default_run_timeout_s: int = 300
    max_run_timeout_s: int = 3600
    max_retries: int = 5
    #: child runs of a suite run that one runner executes in turn from one message (one browser start, a context
    #: each): browser tests of one suite run, started together; 1 turns batching off
    suite_batch_size: int = Field(default=4, ge=1, le=20)

    # --- runner ---------------------------------------------------------------------------
    runner_concurrency: int = 2
    browser_path: str | None = None
    #: a worker's browser and Playwright driver close once no run has used them for this long (seconds), and
    #: start again with the next run; 0 keeps them open (Lambda's runner closes its browser after every run)
    browser_idle_close_s: float = Field(default=60.0, ge=0)
    screenshots: Literal["every_step", "on_failure", "off"] = "every_step"
    record_video: bool = True
    record_trace: bool = True
    step_timeout_s: float = 10.0
    network_allowlist: str = ""
    #: ports of this machine that tests may never reach, on any of its addresses, whatever the
    #: allow-list says (comma-separated; local mode adds its API's port)
    network_refused_local_ports: str = ""
    secrets_file: Path | None = None
    visibility_timeout_s: int = 60
    heartbeat_s: int = 20

    # --- planning and healing (issue 8) ----------------------------------------------------
    #: what turns a plain-English goal into steps: the sentence grammar (no model) or Bedrock
    planner: Literal["rules", "bedrock"] = "rules"
    #: what proposes a replacement for a target that no longer resolves: fuzzy matching on the page, Bedrock,
    #: or nothing (the step fails)
    healer: Literal["fuzzy", "bedrock", "off"] = "fuzzy"
    #: Claude Haiku 4.5 through the global inference profile (served from any region that has it)
    bedrock_model_id: str = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
    bedrock_region: str | None = None  # default: aws_region
    bedrock_max_tokens: int = Field(default=4096, ge=256, le=32_000)
    bedrock_temperature: float = Field(default=0.0, ge=0.0, le=1.0)
    #: US dollars per 1,000 input / output tokens, for the estimated cost recorded on a proposal
    bedrock_input_cost_per_1k: float = 0.001
    bedrock_output_cost_per_1k: float = 0.005
    #: days an element-cache entry lives after it was last confirmed (a DynamoDB TTL attribute)
    element_cache_ttl_days: int = Field(default=30, ge=1, le=365)

    # --- schedules (EventBridge Scheduler in AWS; local mode's scheduler loop) -------------------
    #: the scheduler function's ARN, the role EventBridge Scheduler invokes it with, and the dead-letter
    #: queue of invocations that failed every retry; without the first two (local mode) no AWS schedules are
    #: made, and local mode's loop fires the stored schedules
    scheduler_target_arn: str | None = None
    scheduler_role_arn: str | None = None
    scheduler_dlq_arn: str | None = None
    scheduler_group_prefix: str = resources.SCHEDULE_GROUP_PREFIX
    #: of the due times that passed while local mode was stopped, how many (the latest; an on-time one counts)
    #: fire when it is back; 0: only an on-time one
    scheduler_catch_up: int = Field(default=1, ge=0, le=100)
    #: how late a due time may be seen and still fire as on time (seconds)
    scheduler_grace_s: float = Field(default=60.0, ge=1.0)
    #: how often local mode's scheduler loop looks for due schedules (seconds)
    scheduler_tick_s: float = Field(default=1.0, gt=0.0, le=60.0)
    # --- notifications (issue 9) -------------------------------------------------------------
    #: attempts per delivery before it is given up (``failed``)
    notify_max_attempts: int = Field(default=5, ge=1, le=20)
    #: seconds before the first retry; doubled on each next one, up to ``notify_backoff_cap_s``
    notify_backoff_s: int = Field(default=10, ge=0, le=900)
    notify_backoff_cap_s: int = Field(default=900, ge=0, le=900)
    #: the hard limit on one attempt (connect, send, answer), seconds
    notify_timeout_s: float = Field(default=5.0, gt=0, le=30)
    #: days a delivery record is kept (a DynamoDB TTL)
    notify_retention_days: int = Field(default=30, ge=1, le=365)
    #: deliveries local mode's notifier makes at once
    notify_concurrency: int = Field(default=8, ge=1, le=64)
    #: the API's public address, for links in notifications (``<public_url>/v1/runs/<id>``); none: no run link
    public_url: str | None = None

    # --- GitHub (issue 14) -----------------------------------------------------------------------
    #: how long a GitHub webhook delivery (``X-GitHub-Delivery``) is remembered, so a replay starts nothing
    github_dedupe_s: int = Field(default=7 * 24 * 3600, ge=3600, le=90 * 24 * 3600)
    #: the body limit of the GitHub webhook route (a push of many files is larger than ``max_body_bytes``)
    github_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=6 * 1024 * 1024)
    #: the body limit of the import routes (a real API's OpenAPI document or a Postman collection is often larger
    #: than ``max_body_bytes``; this API's own document is 330 KB)
    import_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=6 * 1024 * 1024)

    # --- secrets (named AUTOTEST_SECRETS_*: AUTOTEST_SECRET_<NAME> are secrets themselves) ----------
    #: Secrets Manager names are "<prefix><project id>/<NAME>"
    secrets_prefix: str = resources.SECRETS_PREFIX
    #: days a deleted secret can still be restored in Secrets Manager (7-30)
    secrets_recovery_days: int = Field(default=7, ge=7, le=30)
    #: local mode: the key of the encrypted secret store (default: outside the data directory)
    secrets_key_file: Path | None = None

    # --- audit log (issue 14) ------------------------------------------------------------------
    #: days an audit record is kept (a DynamoDB TTL)
    audit_retention_days: int = Field(default=365, ge=1, le=3650)


@lru_cache
def get_settings() -> Settings:
    return Settings()
