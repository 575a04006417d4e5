"""What 1,000 runs cost on AWS, from what a run measurably uses here and AWS's public prices (us-east-1).

Measured in this process, against a moto server on loopback with the real adapters (``shared/aws``) and the
container Lambda's runner (``build_runtime`` with Lambda's ``--single-process`` browser arguments: a browser launch
per run, as there), default artifacts (a screenshot per step, video, trace, report):

- the example login browser test (``examples/tests/login.yaml``) and the example API test
  (``examples/tests/api_login.yaml``), a warm-up and then ``--runs`` each, against the example app;
- per run: the runner's wall time for the message (take -> steps -> uploads -> result: the Lambda's billed
  duration, warm), and every AWS call, counted by boto3's ``before-call`` / ``after-call`` events on each client:
  DynamoDB write and read request units (from each item's size: 1 KB a write unit, 4 KB a read unit, eventually
  consistent reads half, transactions double, one more write per GSI holding the item), SQS requests, S3 PUTs and
  GETs, EventBridge entries, Secrets Manager reads; the artifact bytes and DynamoDB bytes the run leaves stored;
- the submit (``RunService.start_run``: what the API Lambda does for ``POST /v1/runs``), counted apart.

Not measured, and priced from stated assumptions: each EventBridge entry is delivered by the stack's two rules to
two queues (events, notifications), each message received and deleted by its consumer Lambda (512 MB arm64,
``CONSUMER_MS`` each, one invocation per message, no batching); the API Lambda's time for a submit is this
process's time for ``start_run``; CloudWatch Logs, X-Ray, data transfer, the Lambda pollers' empty receives, the
NAT-less VPC and the free tiers are left out. A ten-second browser run (the target's) is the measured login run's
usage with 10 s of runner time and its video and trace bytes scaled to 10 s.

Prices (us-east-1, public price pages, checked 2026 against the pages and third-party guides quoting them):
see ``PRICES`` (each with its source). Peers: CloudWatch Synthetics ($0.0012 a canary run plus its Lambda time,
1,000 MB x86 by default) and Checkly ($5 per 1,000 browser runs, $2 per 10,000 API runs, prepaid bundles).
The plain-English planner (Bedrock, the model the settings default to) is priced once per planned test, from the
request the project builds (system prompt, tool schema, user message) at ``CHARS_PER_TOKEN``.

Target: <= $0.50 per 1,000 ten-second browser runs.

    .venv/bin/python -m bench.cost --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.common import Result, emit, machine

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------------- prices


@dataclass(frozen=True)
class Price:
    value: float  # US dollars per ``unit``
    unit: str
    source: str


PRICES: dict[str, Price] = {
    "lambda_gb_s_arm": Price(0.0000133334, "GB-second, Lambda arm64", "aws.amazon.com/lambda/pricing (2026)"),
    "lambda_gb_s_x86": Price(0.0000166667, "GB-second, Lambda x86_64", "aws.amazon.com/lambda/pricing (2026)"),
    "lambda_request": Price(0.20 / 1e6, "Lambda request", "aws.amazon.com/lambda/pricing (2026)"),
    "fargate_vcpu_h_x86": Price(0.04048, "vCPU-hour, Fargate Linux/x86", "aws.amazon.com/fargate/pricing (2026)"),
    "fargate_gb_h_x86": Price(0.004445, "GB-hour, Fargate Linux/x86", "aws.amazon.com/fargate/pricing (2026)"),
    "fargate_vcpu_h_arm": Price(0.03238, "vCPU-hour, Fargate Linux/ARM", "aws.amazon.com/fargate/pricing (2026)"),
    "fargate_gb_h_arm": Price(0.00356, "GB-hour, Fargate Linux/ARM", "aws.amazon.com/fargate/pricing (2026)"),
    "dynamodb_wru": Price(
        0.625 / 1e6, "write request unit, on demand", "aws.amazon.com/dynamodb/pricing (the cut of 2024-11-01)"
    ),
    "dynamodb_rru": Price(
        0.125 / 1e6, "read request unit, on demand", "aws.amazon.com/dynamodb/pricing (the cut of 2024-11-01)"
    ),
    "dynamodb_gb_month": Price(0.25, "GB-month, DynamoDB Standard storage", "aws.amazon.com/dynamodb/pricing (2026)"),
    "sqs_request": Price(0.40 / 1e6, "SQS standard request (64 KB chunk)", "aws.amazon.com/sqs/pricing (2026)"),
    "s3_put": Price(0.005 / 1000, "S3 Standard PUT/COPY/POST/LIST", "aws.amazon.com/s3/pricing (2026)"),
    "s3_get": Price(0.0004 / 1000, "S3 Standard GET/SELECT", "aws.amazon.com/s3/pricing (2026)"),
    "s3_gb_month": Price(0.023, "GB-month, S3 Standard (first 50 TB)", "aws.amazon.com/s3/pricing (2026)"),
    "eventbridge_event": Price(1.00 / 1e6, "EventBridge custom event (64 KB)", "aws.amazon.com/eventbridge/pricing"),
    "secrets_api_call": Price(0.05 / 10_000, "Secrets Manager API call", "aws.amazon.com/secrets-manager/pricing"),
    "apigw_http_request": Price(1.00 / 1e6, "API Gateway HTTP API request", "aws.amazon.com/api-gateway/pricing"),
    "synthetics_run": Price(0.0012, "CloudWatch Synthetics canary run", "aws.amazon.com/cloudwatch/pricing (2026)"),
    "checkly_browser_run": Price(5 / 1000, "Checkly browser check run", "checklyhq.com/docs/monitoring/check-pricing"),
    "checkly_api_run": Price(2 / 10_000, "Checkly API check run", "checklyhq.com/docs/monitoring/check-pricing"),
    # the planner's default model (Settings.bedrock_model_id: Claude Haiku 4.5, global cross-Region inference);
    # Anthropic's list price, which Bedrock's global endpoints charge (regional endpoints 10% more)
    "bedrock_input_token": Price(1.00 / 1e6, "input token, Claude Haiku 4.5", "anthropic.com/pricing (2025-10)"),
    "bedrock_output_token": Price(5.00 / 1e6, "output token, Claude Haiku 4.5", "anthropic.com/pricing (2025-10)"),
}

#: assumptions, stated in the output
CONSUMER_MS = 50.0  # an events / notifications consumer Lambda's time per message
CONSUMER_MEMORY_MB = 512  # infra_cdk/constructs/workers.py: the queue workers' memory
RULE_TARGETS = 2  # the stack's rules a run status change matches (events queue, notifications queue)
API_MEMORY_MB = 1024  # infra_cdk/constructs/api.py
SYNTHETICS_MEMORY_MB = 1000  # a canary's default memory (x86 Lambda)
FARGATE_VCPU, FARGATE_GB, FARGATE_RUNS_AT_ONCE = 2, 4, 2  # infra_cdk/constructs/runner.py's task and concurrency
CHARS_PER_TOKEN = 3.5  # no public tokenizer for Claude 4-family models: a common estimate for English and JSON
TOOL_USE_SYSTEM_TOKENS = 313  # what Anthropic adds for tool use with a forced tool (its tool-use docs)
TARGET_PER_1000 = 0.50
FASTER_RUNNER_MB = 3008  # the most a new account's Lambda may have: 1.70 vCPU to 2048 MB's 1.16
TARGET_SECONDS = 10.0


# ------------------------------------------------------------------------------------------- pure arithmetic


def dynamodb_value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in its wire form (``{"S": "..."}`` etc.)."""
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(v.lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v) if isinstance(v, bytes | bytearray) else len(v.encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(dynamodb_value_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + dynamodb_value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + dynamodb_value_size(x) for k, x in v.items())
    raise ValueError(f"not a DynamoDB value: {kind}")


def dynamodb_item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB measures it: attribute names and values."""
    return sum(len(name.encode()) + dynamodb_value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write request units of one write of an item of ``size`` bytes (1 KB each, at least one)."""
    return max(1, math.ceil(size / 1024))


def read_units(size: int, *, consistent: bool) -> float:
    """Read request units of reading ``size`` bytes (4 KB each, at least one; half when eventually consistent)."""
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


@dataclass(frozen=True)
class Usage:
    """What one run uses on AWS."""

    runner_s: float  # the runner Lambda's (or worker's) time for the run
    runner_memory_mb: int
    lambda_requests: float = 0  # invocations: runner, API, consumers
    other_lambda_gb_s_arm: float = 0  # the API's and consumers' GB-seconds (arm64)
    dynamodb_wru: float = 0
    dynamodb_rru: float = 0
    dynamodb_bytes: float = 0  # stored, for a month
    sqs_requests: float = 0
    s3_puts: float = 0
    s3_gets: float = 0
    s3_bytes: float = 0  # stored for ``retention_days``
    events: float = 0
    secrets_calls: float = 0
    api_requests: float = 0


def costs(usage: Usage, *, runner: str = "lambda_x86", retention_days: float = 30) -> dict[str, float]:
    """Dollars per run by line. ``runner``: ``lambda_x86`` / ``lambda_arm`` (GB-seconds of the runner's memory)
    or ``fargate_x86`` / ``fargate_arm`` (the task's vCPU and GB hours, shared by the runs it executes at once)."""
    p = {k: v.value for k, v in PRICES.items()}
    gb = 1024**3
    if runner.startswith("lambda"):
        rate = p["lambda_gb_s_x86"] if runner == "lambda_x86" else p["lambda_gb_s_arm"]
        compute = usage.runner_s * usage.runner_memory_mb / 1024 * rate
        requests = usage.lambda_requests
    else:
        arch = runner.split("_")[1]
        per_hour = FARGATE_VCPU * p[f"fargate_vcpu_h_{arch}"] + FARGATE_GB * p[f"fargate_gb_h_{arch}"]
        compute = usage.runner_s / 3600 * per_hour / FARGATE_RUNS_AT_ONCE
        requests = max(0.0, usage.lambda_requests - 1)  # no runner invocation
    return {
        "runner compute": compute,
        "Lambda requests": requests * p["lambda_request"],
        "API and consumer Lambdas": usage.other_lambda_gb_s_arm * p["lambda_gb_s_arm"],
        "DynamoDB writes": usage.dynamodb_wru * p["dynamodb_wru"],
        "DynamoDB reads": usage.dynamodb_rru * p["dynamodb_rru"],
        "DynamoDB storage (a month)": usage.dynamodb_bytes / gb * p["dynamodb_gb_month"],
        "SQS": usage.sqs_requests * p["sqs_request"],
        "S3 requests": usage.s3_puts * p["s3_put"] + usage.s3_gets * p["s3_get"],
        "S3 storage": usage.s3_bytes / gb * p["s3_gb_month"] * retention_days / 30,
        "EventBridge": usage.events * p["eventbridge_event"],
        "Secrets Manager": usage.secrets_calls * p["secrets_api_call"],
        "API Gateway": usage.api_requests * p["apigw_http_request"],
    }


def per_thousand(lines: dict[str, float]) -> float:
    return 1000 * sum(lines.values())


def with_consumers(usage: Usage) -> Usage:
    """``usage`` plus what its EventBridge entries cost downstream (the stated assumptions): per entry and rule
    target, a message sent to the target queue, received and deleted by the consumer, one consumer invocation."""
    messages = usage.events * RULE_TARGETS
    return replace(
        usage,
        sqs_requests=usage.sqs_requests + 3 * messages,
        lambda_requests=usage.lambda_requests + messages,
        other_lambda_gb_s_arm=usage.other_lambda_gb_s_arm + messages * CONSUMER_MS / 1000 * CONSUMER_MEMORY_MB / 1024,
    )


def scaled_to(usage: Usage, seconds: float, *, growing_bytes: float) -> Usage:
    """The run ``seconds`` long: the runner's time, and the part of its artifact bytes that grows with time (video,
    trace: ``growing_bytes`` of ``usage.s3_bytes``) scaled with it; the calls are the same."""
    factor = seconds / usage.runner_s if usage.runner_s else 1.0
    return replace(usage, runner_s=seconds, s3_bytes=usage.s3_bytes - growing_bytes + growing_bytes * factor)


def synthetics_per_run(seconds: float) -> float:
    p = PRICES
    return p["synthetics_run"].value + seconds * SYNTHETICS_MEMORY_MB / 1024 * p["lambda_gb_s_x86"].value


def tokens_of(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def planning_cost(input_tokens: int, output_tokens: int) -> float:
    return input_tokens * PRICES["bedrock_input_token"].value + output_tokens * PRICES["bedrock_output_token"].value


# --------------------------------------------------------------------------------------------------- counting


@dataclass
class Tally:
    """AWS calls of one phase, by service and operation, and the request units they used."""

    calls: Counter[str] = field(default_factory=Counter)
    wru: float = 0.0
    rru: float = 0.0
    events: int = 0
    put_bytes: int = 0

    def count(self, service: str, operation: str | None = None) -> int:
        if operation is None:
            return sum(n for key, n in self.calls.items() if key.startswith(f"{service}."))
        return self.calls[f"{service}.{operation}"]


S3_PUT_CLASS = frozenset(
    {"PutObject", "CopyObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload", "ListObjectsV2"}
)
S3_GET_CLASS = frozenset({"GetObject", "HeadObject"})


class Meter:
    """Hooks every boto3 client it is handed; tallies calls into the current phase."""

    def __init__(self, probe: Any, gsi_names: tuple[str, ...], table: str) -> None:
        self.phases: dict[str, Tally] = {}
        self.phase = "setup"
        self._probe = probe  # an unhooked DynamoDB client: an updated item's size after the write
        self._gsis = gsi_names
        self._table = table
        self._hooked: set[int] = set()
        self._lock = threading.Lock()

    @contextmanager
    def during(self, phase: str) -> Iterator[Tally]:
        before, self.phase = self.phase, phase
        try:
            yield self.phases.setdefault(phase, Tally())
        finally:
            self.phase = before

    def hook(self, client: Any) -> Any:
        if id(client) not in self._hooked:
            self._hooked.add(id(client))
            client.meta.events.register("after-call.*.*", self._after)
        return client

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        service, op = model.service_model.service_name, model.name
        params = kwargs.get("context", {}).get("bench_params") or {}
        with self._lock:
            tally = self.phases.setdefault(self.phase, Tally())
            tally.calls[f"{service}.{op}"] += 1
            if service == "dynamodb":
                self._units(tally, op, params, parsed)
            elif service == "events" and op == "PutEvents":
                tally.events += len(params.get("Entries", []))
            elif service == "s3" and op in ("PutObject", "UploadPart"):
                body = params.get("Body", b"")
                tally.put_bytes += len(body) if isinstance(body, bytes | bytearray) else 0

    def _written(self, item: dict[str, Any] | None) -> float:
        if not item:
            return 1
        units = write_units(dynamodb_item_size(item))
        return units * (1 + sum(1 for g in self._gsis if f"{g}pk" in item))

    def _current(self, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._probe.get_item(TableName=self._table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return found

    def _units(self, tally: Tally, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        failed = "Error" in parsed
        if op == "PutItem":
            tally.wru += 1 if failed else self._written(params.get("Item"))
        elif op == "UpdateItem":
            tally.wru += 1 if failed else self._written(parsed.get("Attributes") or self._current(params["Key"]))
        elif op == "DeleteItem":
            tally.wru += 1
        elif op == "TransactWriteItems":
            for entry in params.get("TransactItems", []):  # a transactional write costs two units a kilobyte
                (kind, body), *_ = entry.items()
                if failed or kind not in ("Put", "Update"):
                    tally.wru += 2
                else:
                    tally.wru += 2 * self._written(body["Item"] if kind == "Put" else self._current(body["Key"]))
        elif op == "GetItem":
            size = dynamodb_item_size(parsed.get("Item") or {})
            tally.rru += read_units(size, consistent=bool(params.get("ConsistentRead")))
        elif op in ("Query", "Scan"):
            size = sum(dynamodb_item_size(i) for i in parsed.get("Items", []))
            tally.rru += read_units(size, consistent=bool(params.get("ConsistentRead")))
        elif op == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                tally.rru += sum(read_units(dynamodb_item_size(i), consistent=False) for i in items)
        elif op == "TransactGetItems":
            for response in parsed.get("Responses", []):
                tally.rru += 2 * read_units(dynamodb_item_size(response.get("Item") or {}), consistent=True)


def _remember_params(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    """``before-parameter-build``: the call's API parameters, kept in its request context for ``after-call``."""
    context["bench_params"] = dict(params)


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class Measured:
    kind: str
    runner_s: list[float]
    submit_s: list[float]
    submit: Tally
    runner: Tally
    wait_read: Tally  # one GET /v1/runs/{id} (a waiting client polls once a second)
    s3_bytes: int
    growing_bytes: int  # video and trace
    dynamodb_bytes: int
    runs: int

    def usage(self, runner_memory_mb: int) -> Usage:
        n = self.runs
        s, r = self.submit, self.runner
        return Usage(
            runner_s=statistics.median(self.runner_s),
            runner_memory_mb=runner_memory_mb,
            lambda_requests=2,  # the API's submit, the runner's invocation
            other_lambda_gb_s_arm=statistics.median(self.submit_s) * API_MEMORY_MB / 1024,
            dynamodb_wru=(s.wru + r.wru) / n,
            dynamodb_rru=(s.rru + r.rru) / n,
            dynamodb_bytes=self.dynamodb_bytes / n,
            sqs_requests=(s.count("sqs") + r.count("sqs")) / n,
            s3_puts=sum(t.calls[f"s3.{op}"] for t in (s, r) for op in S3_PUT_CLASS) / n,
            s3_gets=sum(t.calls[f"s3.{op}"] for t in (s, r) for op in S3_GET_CLASS) / n,
            s3_bytes=self.s3_bytes / n,
            events=(s.events + r.events) / n,
            secrets_calls=(s.count("secretsmanager") + r.count("secretsmanager")) / n,
            api_requests=1,
        )


def runner_memory_mb() -> int:
    """The container Lambda runner's configured memory (``infra_cdk/config.py``: ``runner_memory_mb``)."""
    from infra_cdk.config import StackConfig

    return int(StackConfig.model_fields["runner_memory_mb"].default)


def measure(runs: int) -> tuple[Measured, Measured]:
    import yaml
    from moto.server import ThreadedMotoServer

    from bench.newman_throughput import free_port
    from cli.local import moto_fixes
    from examples.webapp import ADMIN_PASSWORD, serve
    from runner_container.runner.artifacts import run_prefix
    from runner_container.runner.browser import LAMBDA_ARGS
    from runner_container.runner.runtime import build_runtime
    from shared.aws.clients import endpoint_clients
    from shared.aws.factory import build_services
    from shared.aws.provision import provision
    from shared.models.runs import RunCreate, RunStatus
    from shared.observability import logger
    from shared.resources import GSI_NAMES
    from shared.settings import Settings

    logger.setLevel("WARNING")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_fixes.apply()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ.setdefault(key, "testing")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        settings = Settings(
            aws_endpoint_url=f"http://127.0.0.1:{port}",
            aws_region="us-east-1",
            network_allowlist="127.0.0.0/8",
            runner_concurrency=1,
        )
        provision(settings)
        make = endpoint_clients(settings.aws_region, settings.aws_endpoint_url)
        import boto3

        probe = boto3.session.Session(region_name="us-east-1").client(
            "dynamodb", endpoint_url=settings.aws_endpoint_url
        )
        meter = Meter(probe, GSI_NAMES, settings.table_name)

        def clients(service: str) -> Any:
            client = meter.hook(make(service))
            client.meta.events.register("before-parameter-build.*.*", _remember_params, unique_id="bench-params")
            return client

        services = build_services(settings, clients=clients)
        project = "prj_bench"
        services.secrets.put_secret(project, "ADMIN_PASSWORD", ADMIN_PASSWORD)
        runtime = build_runtime(services, settings, extra_args=LAMBDA_ARGS)
        loop = asyncio.new_event_loop()
        try:
            with serve() as app:
                out = []
                for kind, file in (("browser", "login.yaml"), ("api", "api_login.yaml")):
                    spec = yaml.safe_load((ROOT / "examples" / "tests" / file).read_text())
                    spec["variables"] = {**spec.get("variables", {}), "base_url": app.url}
                    body = RunCreate.model_validate({"spec": spec})

                    def one(phase: str, body: RunCreate = body) -> tuple[Any, float, float]:
                        with meter.during(f"{phase}:submit"):
                            started = time.perf_counter()
                            run = services.runs.start_run(project, body)
                            submit_s = time.perf_counter() - started
                        with meter.during(f"{phase}:runner"):
                            (received,) = services.queue.receive(max_messages=1, wait_s=1)
                            from shared.models.messages import RunMessage

                            started = time.perf_counter()
                            loop.run_until_complete(
                                runtime.executor.execute(RunMessage.model_validate_json(received.body))
                            )
                            runner_s = time.perf_counter() - started
                            services.queue.delete(received.receipt)
                        ended = services.runs.get_run(project, run.id)
                        if ended.status != RunStatus.passed:
                            raise SystemExit(f"{phase} run {run.id} ended {ended.status}: {ended.error}")
                        return ended, submit_s, runner_s

                    one(f"{kind}-warmup")
                    runner_times, submit_times, ids = [], [], []
                    for _ in range(runs):
                        ended, submit_s, runner_s = one(kind)
                        runner_times.append(runner_s)
                        submit_times.append(submit_s)
                        ids.append(ended.id)
                    with meter.during(f"{kind}:wait") as wait:
                        services.runs.get_run(project, ids[-1])
                    s3_bytes = growing = dynamo_bytes = 0
                    s3 = boto3.session.Session(region_name="us-east-1").client(
                        "s3", endpoint_url=settings.aws_endpoint_url
                    )
                    for run_id in ids:
                        listed = s3.list_objects_v2(
                            Bucket=settings.artifact_bucket, Prefix=run_prefix(project, run_id, 1)
                        )
                        for obj in listed.get("Contents", []):
                            s3_bytes += obj["Size"]
                            if obj["Key"].endswith((".webm", "trace.zip")):
                                growing += obj["Size"]
                        items = probe.query(
                            TableName=settings.table_name,
                            KeyConditionExpression="PK = :pk",
                            ExpressionAttributeValues={":pk": {"S": f"RUN#{run_id}"}},
                        )["Items"]
                        for item in items:  # 100 bytes of overhead an item, one copy per GSI holding it
                            copies = 1 + sum(1 for g in GSI_NAMES if f"{g}pk" in item)
                            dynamo_bytes += copies * (dynamodb_item_size(item) + 100)
                    out.append(
                        Measured(
                            kind=kind,
                            runner_s=runner_times,
                            submit_s=submit_times,
                            submit=meter.phases[f"{kind}:submit"],
                            runner=meter.phases[f"{kind}:runner"],
                            wait_read=wait,
                            s3_bytes=s3_bytes,
                            growing_bytes=growing,
                            dynamodb_bytes=dynamo_bytes,
                            runs=runs,
                        )
                    )
                loop.run_until_complete(runtime.close())
        finally:
            loop.close()
    finally:
        server.stop()
    return out[0], out[1]


def planner_tokens() -> tuple[int, int, int]:
    """(input tokens, output tokens, request characters) of planning the plain-English login example with the
    request the Bedrock planner builds (``shared/aws/bedrock.py``: system, tool config, user message)."""
    import yaml

    from shared.aws.bedrock import plan_tool_config
    from shared.models.planning import PlanRequest
    from shared.models.tests import TestKind
    from shared.planning import prompts

    test = yaml.safe_load((ROOT / "examples" / "tests" / "plain" / "login.yaml").read_text())
    request = PlanRequest(goal=test["goal"], kind=TestKind.browser, variables=sorted(test["variables"]))
    sent = prompts.PLAN_SYSTEM + json.dumps(plan_tool_config(TestKind.browser)) + prompts.plan_user_message(request)
    explicit = yaml.safe_load((ROOT / "examples" / "tests" / "login.yaml").read_text())
    answer = json.dumps({"steps": explicit["steps"]})
    return tokens_of(sent) + TOOL_USE_SYSTEM_TOKENS, tokens_of(answer), len(sent)


# ------------------------------------------------------------------------------------------------------ main


def _usage_lines(usage: Usage) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in asdict(usage).items() if v)


def main(runs: int) -> None:
    memory = runner_memory_mb()
    browser, api = measure(runs)
    b_usage = with_consumers(browser.usage(memory))
    a_usage = with_consumers(api.usage(memory))
    ten = scaled_to(b_usage, TARGET_SECONDS, growing_bytes=browser.growing_bytes / browser.runs)
    wait_per_s = with_consumers(
        Usage(
            runner_s=0,
            runner_memory_mb=memory,
            dynamodb_rru=browser.wait_read.rru,
            api_requests=1,
            lambda_requests=1,
            other_lambda_gb_s_arm=0.02 * API_MEMORY_MB / 1024,
        )
    )
    in_tokens, out_tokens, chars = planner_tokens()

    print(f"cost of runs on AWS (us-east-1) from what they use here; {machine()}")
    print(f"runner: the container Lambda, x86_64, {memory} MB (infra_cdk/config.py runner_memory_mb); {runs} runs each")
    print()
    measured = (("browser (login, default artifacts)", browser, b_usage), ("API (login + profile)", api, a_usage))
    for label, m, u in measured:
        runner_s, submit_ms = statistics.median(m.runner_s), statistics.median(m.submit_s) * 1000
        print(f"{label}: runner {runner_s:.2f} s median, submit {submit_ms:.0f} ms")
        calls = Counter(m.submit.calls) + Counter(m.runner.calls)
        print("  AWS calls per run: " + ", ".join(f"{k} {v / m.runs:g}" for k, v in sorted(calls.items())))
        print(f"  per run, with the consumers: {_usage_lines(u)}")
    print()
    scenarios = {
        "browser run, measured, Lambda": (b_usage, "lambda_x86"),
        "browser run, measured, Fargate": (b_usage, "fargate_x86"),
        f"browser run of {TARGET_SECONDS:g} s, Lambda": (ten, "lambda_x86"),
        f"browser run of {TARGET_SECONDS:g} s, Fargate": (ten, "fargate_x86"),
        f"browser run of {TARGET_SECONDS:g} s, Lambda on arm64": (ten, "lambda_arm"),
        f"browser run of {TARGET_SECONDS:g} s, Lambda at {FASTER_RUNNER_MB} MB": (
            replace(ten, runner_memory_mb=FASTER_RUNNER_MB),
            "lambda_x86",
        ),
        "API run, measured, Lambda": (a_usage, "lambda_x86"),
    }
    print(f"{'per 1,000 runs, $':48} {'total':>8}  largest lines")
    totals: dict[str, dict[str, float]] = {}
    for name, (usage, runner) in scenarios.items():
        lines = costs(usage, runner=runner)
        totals[name] = lines
        top = sorted(lines.items(), key=lambda kv: -kv[1])[:4]
        shown = ", ".join(f"{k} {1000 * v:.3f}" for k, v in top)
        print(f"{name:48} {per_thousand(lines):8.3f}  {shown}")
    wait_1000 = per_thousand(costs(wait_per_s)) * TARGET_SECONDS
    print(f"{'+ a client waiting with --wait (a GET a second)':48} {wait_1000:8.3f}  per 1,000 runs of 10 s")
    synth = 1000 * synthetics_per_run(TARGET_SECONDS)
    canary = f"$0.0012 a run + {SYNTHETICS_MEMORY_MB} MB x86 Lambda (its own S3 and logs not counted)"
    print(f"{'CloudWatch Synthetics, 10 s canary runs':48} {synth:8.3f}  {canary}")
    print(f"{'Checkly browser runs':48} {1000 * PRICES['checkly_browser_run'].value:8.3f}")
    print(f"{'Checkly API runs':48} {1000 * PRICES['checkly_api_run'].value:8.3f}")
    plan = planning_cost(in_tokens, out_tokens)
    print(
        f"planning one plain-English test (Bedrock, Claude Haiku 4.5): ${plan:.4f} "
        f"(~{in_tokens} input tokens from {chars} characters sent + the tool-use prompt, ~{out_tokens} output)"
    )
    print()
    print("prices (us-east-1):")
    for key, price in PRICES.items():
        print(f"  {key:22} ${price.value:.10g} per {price.unit}  [{price.source}]")
    print(
        f"assumptions: consumers {CONSUMER_MS:g} ms at {CONSUMER_MEMORY_MB} MB arm64 per message, {RULE_TARGETS} rule "
        f"targets per event; the API Lambda's time = this process's start_run; artifacts kept 30 days, DynamoDB items "
        f"a month; a {TARGET_SECONDS:g} s run scales video and trace bytes with time; no free tier, logs, X-Ray, "
        f"data transfer or idle polling"
    )

    target_lines = totals[f"browser run of {TARGET_SECONDS:g} s, Lambda"]
    ours = per_thousand(target_lines)
    met = ours <= TARGET_PER_1000
    top = sorted(target_lines.items(), key=lambda kv: -kv[1])
    faster = per_thousand(totals[f"browser run of {TARGET_SECONDS:g} s, Lambda at {FASTER_RUNNER_MB} MB"])
    arm = per_thousand(totals[f"browser run of {TARGET_SECONDS:g} s, Lambda on arm64"])
    fargate = per_thousand(totals[f"browser run of {TARGET_SECONDS:g} s, Fargate"])
    notes = (
        f"the runner Lambda's GB-seconds ({memory} MB, x86_64) are ${1000 * target_lines['runner compute']:.2f} of "
        f"the ${ours:.2f}; the rest is mostly {top[1][0]} and {top[2][0]}. At {FASTER_RUNNER_MB} MB (1.70 vCPU to "
        f"1.16: CPU-bound steps faster, at the same GB-seconds) ${faster:.2f}, on arm64 ${arm:.2f}, on the "
        f"Fargate lane ${fargate:.2f} (if the run takes as long there)"
    )
    emit(
        Result(
            bench="cost",
            work=f"1,000 browser runs of {TARGET_SECONDS:g} s on AWS (Lambda runner, default artifacts)",
            peer="CloudWatch Synthetics",
            peer_value=round(synth, 3),
            autotest_value=round(ours, 3),
            unit="$",
            rounds=runs,
            ratio=round(ours / synth, 2),
            target=f"<= ${TARGET_PER_1000:.2f}",
            met=met,
            notes=notes,
            extra={
                "lines_per_1000": {k: round(1000 * v, 4) for k, v in top},
                "measured_browser_per_1000": round(per_thousand(totals["browser run, measured, Lambda"]), 3),
                "measured_browser_runner_s": round(b_usage.runner_s, 3),
                "api_per_1000": round(per_thousand(totals["API run, measured, Lambda"]), 3),
                "checkly_browser_per_1000": 5.0,
                "checkly_api_per_1000": 0.2,
                "fargate_10s_per_1000": round(fargate, 3),
                f"lambda_{FASTER_RUNNER_MB}mb_10s_per_1000": round(faster, 3),
                "lambda_arm64_10s_per_1000": round(arm, 3),
                "waiting_client_per_1000": round(wait_1000, 3),
                "plan_one_test": round(plan, 5),
            },
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each test (after a warm-up)")
    main(parser.parse_args().runs)
