"""The stack's configuration, from ``cdk.json``'s context (``cdk deploy -c key=value`` overrides), validated
with clear errors before anything is synthesized; and the names the stack derives from it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import DomainError
from shared.netguard import Allowlist
from shared.settings import Settings

#: CloudWatch Logs' retention periods: days -> the CDK's ``RetentionDays`` member
LOG_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


class ConfigError(ValueError):
    """A context value the stack cannot use; the message names the key."""


class StackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    """A short lower-case name for this deployment (``dev``, ``prod``): it names the stack and prefixes what
    autotest makes at run time (schedule groups, secrets), so two stages share an account safely."""
    retention_days: int = Field(30, ge=1, le=3650)
    """Days the artifacts (screenshots, videos, traces, reports) are kept before S3 deletes them; also how long
    the event archive keeps events for replay."""
    log_retention_days: int = 30
    """Days the functions' and the runner tasks' logs are kept (one of CloudWatch Logs' periods)."""
    retain_data: bool = False
    """Keep the table, the bucket, the log groups, the projects' secrets and the bootstrap key when the stack is
    deleted (default: deleting the stack removes everything it and autotest made). Schedule groups go anyway."""
    planner: Literal["bedrock", "rules"] = "bedrock"
    """What turns a plain-English test into steps: Amazon Bedrock, or the sentence grammar (no model)."""
    healer: Literal["fuzzy", "bedrock", "off"] = "fuzzy"
    """What proposes a new target when one no longer resolves: fuzzy matching on the page, Bedrock, or nothing."""
    model_id: str = Field(Settings.model_fields["bedrock_model_id"].default, pattern=r"^[a-z][a-z0-9.:_-]{2,199}$")
    """The Bedrock model id or inference profile id (``us.anthropic...``, ``global.anthropic...``) the planner and
    a Bedrock healer use; the functions may invoke only it (an ARN is not taken: what a profile ARN routes to
    cannot be granted from it)."""
    runner_mode: Literal["both", "lambda", "fargate"] = "both"
    """Where runs execute: ``both`` (the container Lambda up to its 15 minutes, Fargate workers for longer
    runs), ``lambda`` (runs longer than 14 minutes are refused), ``fargate`` (every run)."""
    runner_memory_mb: int = Field(2048, ge=2048, le=10240)
    """The container Lambda runner's memory (a browser wants at least 2 GB). Lambda gives CPU in proportion (1.16
    vCPU at 2048 MB, 1.70 at 3008): a run's CPU-bound steps take longer at 2048 and cost the same GB-seconds, its
    waits cost a third less. A run with the default artifacts peaked at 466 MB (moto and the example app
    included) under a 2 GiB, 1.16-CPU cgroup; ``bench/cost.py`` prices both sizes."""
    max_lambda_runners: int = Field(10, ge=2, le=1000)
    """The most container Lambda runners at once (the event sources' maximum concurrencies), so a large suite
    cannot take the account's whole Lambda concurrency from the API and the other functions. Split between the
    priorities' queues (each has an event source): half for high, 30% for normal, 20% for low, each at least 2
    (``infra_cdk/constructs/runner.py``: ``lambda_concurrency``), so high always has runners of its own."""
    max_fargate_workers: int = Field(4, ge=1, le=100)
    """The most Fargate workers at once (they scale on the queue's depth, down to none)."""
    vpc_id: str | None = Field(None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    """Run the runners in this VPC's private subnets (to reach an app that is not public); needs AWS
    credentials at synth time to look the VPC up. Default: Fargate workers in a VPC of their own (public
    subnets, no NAT), the container Lambda outside any VPC."""
    network_allowlist: str = Field("", max_length=1000)
    """Hosts tests may reach (comma-separated, ``*.example.com`` allowed); empty: any public address.
    Private and link-local addresses are refused unless listed."""
    alarm_email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    """Where the alarms are e-mailed (SNS asks the address to confirm); none: alarms only on the topic."""
    domain_name: str | None = Field(None, pattern=r"^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$", max_length=253)
    """A custom domain for the API (with ``certificate_arn``, an ACM certificate in the stack's region)."""
    certificate_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")
    """The ACM certificate of ``domain_name``."""
    throttle_rate: int = Field(50, ge=1, le=10000)
    """Requests a second the API takes (steady), before answering 429."""
    throttle_burst: int = Field(100, ge=1, le=5000)
    """Requests the API takes at once above the steady rate."""

    @model_validator(mode="after")
    def _consistent(self) -> StackConfig:
        if self.log_retention_days not in LOG_RETENTION:
            raise ValueError(
                f"log_retention_days: {self.log_retention_days} is not a CloudWatch Logs period "
                f"(one of {', '.join(map(str, LOG_RETENTION))})"
            )
        try:  # read as the runners read it, so a bad entry is an error now, not in every run
            Allowlist.parse(self.network_allowlist)
        except DomainError as exc:
            raise ValueError(f"network_allowlist: {exc.message}") from None
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise ValueError("domain_name and certificate_arn: give both or neither")
        return self

    # --- names derived from the stage -------------------------------------------------------------
    @property
    def stack_name(self) -> str:
        return f"autotest-{self.stage}"

    @property
    def schedule_group_prefix(self) -> str:
        """Schedule groups are ``<this><project id>`` (no stage holds a dot, so one stage's never matches
        another's)."""
        return f"autotest.{self.stage}."

    @property
    def secrets_prefix(self) -> str:
        return f"autotest/{self.stage}/"

    @property
    def bedrock_needed(self) -> bool:
        return self.planner == "bedrock" or self.healer == "bedrock"

    @classmethod
    def from_context(cls, values: dict[str, Any]) -> StackConfig:
        # (an empty text is "not given" only where none is the default: an empty -c stage=$UNSET is an error,
        # not the dev stage)
        given = {k: v for k, v in values.items() if k in KEYS and v is not None and not (v == "" and k in _OPTIONAL)}
        for key, value in list(given.items()):  # -c key=value arrives as text
            if isinstance(value, str) and key in _BOOLS:
                given[key] = _BOOL_WORDS.get(value.strip().lower(), value)
            elif isinstance(value, str) and key in _INTS and value.strip().lstrip("-").isdigit():
                given[key] = int(value)
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(_problem(e) for e in exc.errors())
            raise ConfigError(f"cdk.json / -c: {problems}") from None


#: the context keys the stack reads (each a field of :class:`StackConfig`)
KEYS = tuple(StackConfig.model_fields)
_BOOLS = {k for k, f in StackConfig.model_fields.items() if f.annotation is bool}
_INTS = {k for k, f in StackConfig.model_fields.items() if f.annotation is int}
_OPTIONAL = {k for k, f in StackConfig.model_fields.items() if f.default is None}
_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


#: what a text field must look like, said in words (instead of its pattern)
_SHAPES = {
    "stage": "lower-case letters, digits and -, starting with a letter, up to 20 characters",
    "model_id": "a Bedrock model id or inference profile id (anthropic.claude-..., global.anthropic.claude-...)",
    "vpc_id": "a VPC id (vpc- and 8 or 17 hexadecimal digits)",
    "alarm_email": "an e-mail address",
    "domain_name": "a lower-case domain name (api.example.com)",
    "certificate_arn": "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
}


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    if error.get("type") == "string_pattern_mismatch" and where in _SHAPES:
        return f"context {where}: not {_SHAPES[where]} (got {error.get('input')!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not where:  # a check of several keys: the message names them
        return f"context {message}"
    return f"context {where}: {message} (got {error.get('input')!r})"
