"""Cold start (issue 13, benchmark 4): each Lambda's import plus first response in a fresh process, against the
floor of importing only the libraries that Lambda cannot do without.

Each figure is measured in a new Python process that sees one deployable's bundle and the standard library only
(``python -S -E``, the bundle first on ``sys.path``: what the Lambda imports, its dependency group from
``uv.lock`` and its first-party source, built by ``infra_cdk.bundling.build_bundle`` for this machine's Python,
offline, from uv's cache), from the start of the script to the handler's first answer:

- ``api``: ``functions.api.handler`` imported, then invoked with an API Gateway HTTP API (payload 2.0) event:
  ``GET /healthz`` (no AWS call), and, in another process, ``GET /v1/tests`` with a project's API key (the first
  request builds the services, reads the bootstrap key's secret, checks the key and lists the project's tests);
- ``planner``, ``scheduler``, ``events``: the handler imported and invoked with a message for something that
  does not exist (a proposal, a schedule, a suite run), which builds the services and reads the table once;
- ``runner``: ``runner_container.runner.lambda_handler`` imported and invoked with a run message for a run that
  does not exist (the runtime is built, the run is not taken: no browser starts).

The AWS calls go to a moto server that this process starts on loopback (the table, queues, bucket, bus and the
bootstrap key's secret provisioned in it). The floors, in the same bundles:

- ``api``: ``import fastapi, mangum, boto3, aws_lambda_powertools`` (the issue's floor);
- ``planner``, ``scheduler``, ``events``: ``import boto3, aws_lambda_powertools, pydantic`` (their bundle has no
  FastAPI; pydantic is what every one of them validates with, as FastAPI brings it into the API's floor);
- ``runner``: ``import boto3, aws_lambda_powertools, pydantic, playwright.async_api``.

Bytecode: the bundles are compiled ahead (``compileall``, this Python), so the figures are the import work itself,
as in a development checkout. A deployed bundle holds no bytecode (it is built for the Lambda's Python, 3.14,
which this machine has not got) and its filesystem is read-only, so a real cold start compiles everything it
imports, each time: ``--no-bytecode`` measures that (floor and handler alike). ``--venv`` measures in the
development virtualenv instead of the bundles (where the CLI's packages are installed: httpx then loads its
own command line, click, rich and pygments, on import).

The Python is this machine's (3.11 here), not the Lambda's 3.14: some costs differ there (on Python < 3.13
pydantic finds the docstrings under a model's fields by walking the stack of frames, a large part of the import
of ~150 models; 3.13+ reads the class's own source lines instead).

Floor and handler alternate in each round (which goes first alternates too); the figures are medians. Then
``python -X importtime`` of the API handler's authenticated first request lists what its import spends most
time on: own time summed by package, and the modules of most own time.

    .venv/bin/python -m bench.cold_start [--rounds 7] [--no-bytecode] [--venv]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Result, emit, machine, median, ratio_of

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.2
FIRST_PARTY = ("shared", "functions", "runner_container", "cli", "infra_cdk", "examples")

FLOORS: dict[str, tuple[str, ...]] = {
    "api": ("fastapi", "mangum", "boto3", "aws_lambda_powertools"),
    "lambda": ("boto3", "aws_lambda_powertools", "pydantic"),
    "runner": ("boto3", "aws_lambda_powertools", "pydantic", "playwright.async_api"),
}

#: what the child process runs: import the modules, then the handler, invoke it with each event; one JSON line
CHILD = r"""
import json, sys, time
request = json.loads(sys.stdin.read())
started, cpu = time.perf_counter(), time.process_time()
if request["path"]:
    sys.path.insert(0, request["path"])
import importlib
for name in request["imports"]:
    importlib.import_module(name)
results = []
imported = time.perf_counter()
if request["handler"]:
    module, _, function = request["handler"].rpartition(".")
    handler = getattr(importlib.import_module(module), function)
    imported = time.perf_counter()

    class LambdaContext:
        function_name = "autotest-bench"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:autotest-bench"
        aws_request_id = "req-1"

        def get_remaining_time_in_millis(self):
            return 30_000

    for event in request["events"]:
        results.append(handler(event, LambdaContext()))
answered = time.perf_counter()
cpu_s = time.process_time() - cpu
print("COLD " + json.dumps(
    {"import_s": imported - started, "first_s": answered - imported, "cpu_s": cpu_s, "results": results}
))
"""


@dataclass(frozen=True)
class Case:
    """One handler's cold start: its bundle (deployable), the floor it is held to, what it is invoked with."""

    name: str
    deployable: str
    floor: str  # a key of FLOORS
    handler: str
    events: list[dict[str, Any]]
    expect: str  # what its answer must hold (checked on every round: a broken handler is no figure)
    target: bool = False


@dataclass
class Sample:
    import_s: float
    first_s: float
    cpu_s: float  # the process's CPU time over the same span: what the machine's load does not stretch

    @property
    def total_s(self) -> float:
        return self.import_s + self.first_s


@dataclass
class Figures:
    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))

    def total(self, key: str) -> float:
        return median([s.total_s for s in self.samples[key]])

    def part(self, key: str, which: str) -> float:
        return median([getattr(s, which) for s in self.samples[key]])


# --- python -X importtime: pure parsing ------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass(frozen=True)
class ImportLine:
    module: str
    self_us: int
    cumulative_us: int
    depth: int  # 0: imported by the script itself


def parse_importtime(stderr: str) -> list[ImportLine]:
    """The lines of ``python -X importtime``'s report (``import time: self [us] | cumulative | module``, nested
    imports indented two spaces a level) in ``stderr``; other lines are skipped."""
    lines = []
    for text in stderr.splitlines():
        match = _IMPORT_LINE.match(text)
        if match:
            own, cumulative, indent, module = match.groups()
            lines.append(ImportLine(module, int(own), int(cumulative), max(0, (len(indent) - 1) // 2)))
    return lines


def package_of(module: str, first_party: Iterable[str] = FIRST_PARTY) -> str:
    """What ``module``'s time is counted under: a third party's top-level package; for the project's own code,
    its first two levels (``shared.models``, ``functions.api``), where a package is too big a unit."""
    parts = module.split(".")
    if parts[0] in set(first_party) and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def own_time_by_package(lines: list[ImportLine], top: int = 10) -> list[tuple[str, float]]:
    """``(package, ms)``: the modules' own time summed by :func:`package_of`, most first (the parts add up to the
    whole import; no time is counted twice)."""
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[package_of(line.module)] += line.self_us
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [(name, us / 1000) for name, us in ranked[:top]]


def beyond_floor(lines: list[ImportLine], floor: list[ImportLine]) -> list[ImportLine]:
    """The lines of ``lines`` whose module the floor's import does not load: what the handler adds to it."""
    loaded = {line.module for line in floor}
    return [line for line in lines if line.module not in loaded]


def own_time_by_module(lines: list[ImportLine], top: int = 10) -> list[tuple[str, float]]:
    """``(module, ms)``: the modules of most own time (their body: classes built, models' schemas, routes)."""
    ranked = sorted(lines, key=lambda line: (-line.self_us, line.module))
    return [(line.module, line.self_us / 1000) for line in ranked[:top]]


# --- the world the handlers answer in ----------------------------------------------------------------------------


def _http_event(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) GET."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com", "user-agent": "bench", **(headers or {})},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "abc",
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Dec/2026:12:00:00 +0000",
            "timeEpoch": 1796212800000,
        },
        "isBase64Encoded": False,
    }


def _sqs_event(body: str, queue: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


@dataclass(frozen=True)
class World:
    env: dict[str, str]
    api_key: str
    project_id: str


@contextmanager
def aws_world(home: Path) -> Iterator[World]:
    """A moto server on loopback, provisioned as the stack is, with a project (its key and one test) and the
    bootstrap key's secret; the environment a handler needs to use it."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    creds = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    os.environ.update(creds)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        from shared.aws.clients import client
        from shared.aws.factory import build_services
        from shared.aws.provision import provision
        from shared.models.tests import TestCreate
        from shared.settings import Settings

        secret = "autotest/bench/bootstrap-api-key"
        settings = Settings(aws_endpoint_url=endpoint, aws_region="us-east-1", bootstrap_api_key_secret=secret)
        provision(settings)
        client("secretsmanager", "us-east-1", endpoint).create_secret(Name=secret, SecretString="at_bench_bootstrap")
        services = build_services(settings)
        created = services.projects.create_project("bench")
        step = {"action": "request", "url": "http://127.0.0.1:9/healthz"}
        services.catalog.create_test(created.project.id, TestCreate.model_validate({"name": "t", "steps": [step]}))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            **creds,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AUTOTEST_BOOTSTRAP_API_KEY_SECRET": secret,
            "POWERTOOLS_SERVICE_NAME": "autotest",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        yield World(env=env, api_key=created.api_key, project_id=created.project.id)
    finally:
        server.stop()


def cases(world: World) -> list[Case]:
    from shared.models.events import RunStatusChanged
    from shared.models.messages import PlanMessage, RunMessage
    from shared.models.runs import RunStatus, RunSummary

    project = world.project_id
    changed = RunStatusChanged(
        project_id=project,
        run_id="run_bench",
        test_id=None,
        suite_run_id="srn_missing",
        status=RunStatus.passed,
        previous_status=RunStatus.running,
        attempt=1,
        summary=RunSummary(),
        at=datetime.now(UTC),
    )
    envelope = {"detail-type": RunStatusChanged.detail_type, "source": "autotest", "detail": changed.model_dump()}
    scheduled = {"project_id": project, "schedule_id": "sch_missing", "scheduled_time": "2026-12-02T12:00:00Z"}
    auth = {"authorization": f"Bearer {world.api_key}"}
    no_failures = '"batchItemFailures": []'
    return [
        Case("api GET /healthz", "api", "api", "functions.api.handler.handler", [_http_event("/healthz")],
             '"statusCode": 200', target=True),
        Case("api GET /v1/tests (key)", "api", "api", "functions.api.handler.handler",
             [_http_event("/v1/tests", auth)], '"statusCode": 200', target=True),
        Case("planner", "planner", "lambda", "functions.planner.handler.handler",
             [_sqs_event(PlanMessage(project_id=project, proposal_id="prp_missing").model_dump_json(), "plans")],
             no_failures),
        Case("scheduler", "scheduler", "lambda", "functions.scheduler.handler.handler", [scheduled],
             '"outcome": "dropped"'),
        Case("events", "events", "lambda", "functions.events.handler.handler",
             [_sqs_event(json.dumps(envelope, default=str), "events")], no_failures),
        Case("runner", "runner", "runner", "runner_container.runner.lambda_handler.handler",
             [_sqs_event(RunMessage(run_id="run_missing", project_id=project, attempt=1).model_dump_json(), "runs")],
             no_failures),
    ]  # fmt: skip


# --- the child processes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where a child process runs: a bundle per deployable (``bundles``), or the development virtualenv (None).
    With ``bytecode``, what the first run compiles is kept in ``pycache`` (the virtualenv: in its own
    ``__pycache__``) and read by the next; without, nothing is read or written (``pycache`` stays empty)."""

    bundles: dict[str, Path] | None
    pycache: Path
    bytecode: bool

    def command(self, *flags: str) -> list[str]:
        isolation = ["-E"] if self.bundles is None else ["-S", "-E"]
        if not self.bytecode:
            isolation += ["-B", "-X", f"pycache_prefix={self.pycache}"]
        elif self.bundles is not None:
            isolation += ["-X", f"pycache_prefix={self.pycache}"]
        return [sys.executable, *isolation, *flags, "-c", CHILD]

    def describe(self) -> str:
        where = "the virtualenv" if self.bundles is None else "each in its bundle alone"
        return f"{where}, bytecode {'kept (compiled once)' if self.bytecode else 'none (compiled on every import)'}"

    def path(self, deployable: str) -> Path:
        return self.bundles[deployable] if self.bundles is not None else ROOT


def run_child(
    where: Where, deployable: str, env: dict[str, str], *, imports: tuple[str, ...] = (), case: Case | None = None,
    flags: tuple[str, ...] = (),
) -> tuple[Sample, str]:  # fmt: skip
    """One fresh process: ``imports``, or ``case``'s handler and its events. The sample and the process's stderr."""
    path = where.path(deployable)
    request = {
        "path": str(path) if where.bundles is not None else "",
        "imports": list(imports),
        "handler": case.handler if case else "",
        "events": case.events if case else [],
    }
    done = subprocess.run(
        where.command(*flags), input=json.dumps(request), cwd=path, env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("COLD ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{case.name if case else imports}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    report = json.loads(lines[-1].removeprefix("COLD "))
    if case is not None:
        answer = json.dumps(report["results"])
        if case.expect not in answer:
            raise SystemExit(f"{case.name}: the handler answered {answer[:500]}, not {case.expect}")
    return Sample(report["import_s"], report["first_s"], report["cpu_s"]), done.stderr


def build_bundles(deployables: Iterable[str], out: Path) -> dict[str, Path]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # as the infra tests do
    from infra_cdk.bundling import build_bundle

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundles = {}
    for deployable in sorted(set(deployables)):
        bundles[deployable] = build_bundle(
            deployable, out / deployable, platform=None, python_version=python, offline=True
        )
    return bundles


# --- the run -----------------------------------------------------------------------------------------------------


def floor_key(case: Case) -> str:
    return f"floor {case.floor}"


def measure(where: Where, all_cases: list[Case], env: dict[str, str], rounds: int) -> Figures:
    """``rounds`` of each floor beside the handlers held to it (measured in the first one's bundle: the others'
    hold the same packages), the floor first in one round and last in the next."""
    figures = Figures()
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in all_cases:
        groups[case.floor].append(case)
    for index in range(rounds + 1):  # round 0 warms the page cache, writes the bytecode (when kept)
        for floor, group in groups.items():
            steps: list[Case | None] = [None, *group]
            if index % 2:
                steps.reverse()
            for step in steps:
                if step is None:
                    sample, _ = run_child(where, group[0].deployable, env, imports=FLOORS[floor])
                    key = f"floor {floor}"
                else:
                    sample, _ = run_child(where, step.deployable, env, case=step)
                    key = step.name
                if index:
                    figures.samples[key].append(sample)
        print(f"  round {index}/{rounds} done{' (warm-up)' if not index else ''}", flush=True)
    return figures


def importtime_of(
    where: Where, case: Case, env: dict[str, str], *, imports: tuple[str, ...] = (), runs: int = 3
) -> list[ImportLine]:
    """``case`` (or only ``imports``, in its bundle) under ``python -X importtime``, ``runs`` times: each module's
    median own and cumulative time."""
    reports = []
    for _ in range(runs):
        flags = ("-X", "importtime")
        _, stderr = run_child(where, case.deployable, env, imports=imports, case=None if imports else case, flags=flags)
        reports.append(parse_importtime(stderr))
    return median_lines(reports)


def median_lines(reports: list[list[ImportLine]]) -> list[ImportLine]:
    """One line per module of the first report, its times the medians over the reports that have it."""
    by_module = [{line.module: line for line in lines} for lines in reports]
    merged = []
    for line in reports[0] if reports else []:
        found = [lines[line.module] for lines in by_module if line.module in lines]
        own = int(median([f.self_us for f in found]))
        cumulative = int(median([f.cumulative_us for f in found]))
        merged.append(ImportLine(line.module, own, cumulative, line.depth))
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module on import, as Lambda does")
    parser.add_argument("--venv", action="store_true", help="the development virtualenv instead of the bundles")
    parser.add_argument("--only", default="", help="these cases only, by first word, comma-separated (api,runner)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    try:
        with aws_world(scratch) as world:
            all_cases = cases(world)
            if args.only:
                wanted = set(args.only.split(","))
                all_cases = [case for case in all_cases if case.name.split()[0] in wanted]
            bundles = None if args.venv else build_bundles({c.deployable for c in all_cases}, scratch / "bundles")
            where = Where(bundles, scratch / "pycache", not args.no_bytecode)
            print(f"{where.describe()}; {args.rounds} rounds")
            figures = measure(where, all_cases, world.env, args.rounds)
            api = next((case for case in all_cases if case.name.startswith("api GET /v1")), None)
            lines = importtime_of(where, api, world.env) if api else []
            floor = importtime_of(where, api, world.env, imports=FLOORS[api.floor]) if api else []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report(figures, all_cases, lines, floor, args.rounds, where)


def report(
    figures: Figures, all_cases: list[Case], lines: list[ImportLine], floor_lines: list[ImportLine], rounds: int,
    where: Where,
) -> None:  # fmt: skip
    by_package = own_time_by_package(lines)
    by_module = own_time_by_module(lines)
    added = beyond_floor(lines, floor_lines)
    added_by_package = own_time_by_package(added)
    added_by_module = own_time_by_module(added)
    print()
    print(f"{'handler':26} {'floor':>7} {'handler':>8} {'ratio':>6} {'import':>7} {'first':>7}  "
          f"{'CPU floor':>9} {'CPU':>6} {'ratio':>6}   (seconds; medians)")  # fmt: skip
    for case in all_cases:
        floor, total = figures.total(floor_key(case)), figures.total(case.name)
        cpu_floor, cpu = figures.part(floor_key(case), "cpu_s"), figures.part(case.name, "cpu_s")
        print(
            f"{case.name:26} {floor:7.3f} {total:8.3f} {ratio_of(total, floor):5.2f}x "
            f"{figures.part(case.name, 'import_s'):7.3f} {figures.part(case.name, 'first_s'):7.3f}  "
            f"{cpu_floor:9.3f} {cpu:6.3f} {ratio_of(cpu, cpu_floor):5.2f}x"
        )
    print("floors: " + "; ".join(f"{name}: import {' + '.join(mods)}" for name, mods in FLOORS.items()))
    if lines:
        print("\nthe API handler's GET /v1/tests under python -X importtime (medians of 3), own time")
        print(f"  {'by package':40} {'all':>7}      beyond the floor's modules")
        for (name, ms), (extra_name, extra_ms) in zip(by_package, added_by_package, strict=False):
            print(f"  {name:40} {ms:7.1f} ms   {extra_name:34} {extra_ms:7.1f} ms")
        print(f"  {'by module':40} {'all':>7}      beyond the floor's modules")
        for (name, ms), (extra_name, extra_ms) in zip(by_module, added_by_module, strict=False):
            print(f"  {name:40} {ms:7.1f} ms   {extra_name:34} {extra_ms:7.1f} ms")
        total_ms = sum(line.self_us for line in lines) / 1000
        added_ms = sum(line.self_us for line in added) / 1000
        print(f"  in all {total_ms:.0f} ms, of which {added_ms:.0f} ms in modules the floor does not load")
    for case in all_cases:
        floor, total = figures.total(floor_key(case)), figures.total(case.name)
        ratio = ratio_of(total, floor)
        met = ratio <= TARGET_RATIO
        notes = where.describe()
        if not case.target:
            notes += f"; no target of its own (the issue's is the API's), {TARGET_RATIO}x shown for comparison"
        elif not met and added_by_package:
            top = ", ".join(f"{name} {ms:.0f} ms" for name, ms in added_by_package[:4])
            notes += (
                f"; what it imports beyond the floor spends its own time (python -X importtime) most in {top}: "
                "pydantic building the models' validators and FastAPI its routes' at import"
            )
        extra: dict[str, Any] = {
            "import_s": round(figures.part(case.name, "import_s"), 4),
            "first_response_s": round(figures.part(case.name, "first_s"), 4),
            "cpu_s": round(figures.part(case.name, "cpu_s"), 4),
            "floor_cpu_s": round(figures.part(floor_key(case), "cpu_s"), 4),
        }
        if case.deployable == "api":
            extra["own_ms_by_package"] = [[name, round(ms, 1)] for name, ms in by_package]
            extra["own_ms_by_module"] = [[name, round(ms, 1)] for name, ms in by_module]
            extra["beyond_floor_own_ms_by_package"] = [[name, round(ms, 1)] for name, ms in added_by_package]
            extra["beyond_floor_own_ms_by_module"] = [[name, round(ms, 1)] for name, ms in added_by_module]
        emit(
            Result(
                bench="cold_start",
                work=f"{case.name}: import + first response, fresh process",
                peer=f"import {' + '.join(FLOORS[case.floor])}",
                peer_value=round(floor, 4),
                autotest_value=round(total, 4),
                unit="s",
                rounds=rounds,
                ratio=round(ratio, 3),
                target=f"<= {TARGET_RATIO}x" if case.target else "",
                met=met,
                notes=notes,
                extra=extra,
            )
        )


if __name__ == "__main__":
    main()
