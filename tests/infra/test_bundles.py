"""One dependency set per deployable (``pyproject.toml``'s ``[dependency-groups]``, ``infra_cdk/bundling.py``'s
``GROUPS``), and each deployable works on its own set alone.

Each group declares the third-party packages its deployable's code imports (followed through the first-party
modules, imports inside functions included) and nothing else; none holds the CLI, moto or the CDK, and only the
runner's holds Playwright. Then each bundle is built (``build_bundle``: offline, from uv's cache, which
``make install`` filled; for this machine's platform and Python) and used in a Python that sees the bundle and the
standard library only: each zip Lambda's handler is invoked, its first invocation building the services, and
both runner entry points run through ``entrypoint.sh``, against fakes of AWS and of Lambda's runtime API on
loopback. Last, ``lambda_code``: the CDK bundles on this machine, and tests synthesize with bundling skipped."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra_cdk import bundling
from infra_cdk.bundling import GROUPS, HANDLERS, SOURCES, BundleError, build_bundle, lambda_code
from tests.infra.loopback import FakeAws, FakeRuntimeApi
from tests.lambda_events import sqs_event

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("bundle_probe.py")
FIRST_PARTY = {"shared", "functions", "runner_container", "cli", "infra_cdk", "examples"}
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

#: where each deployable's code starts
ENTRY_POINTS: dict[str, tuple[str, ...]] = {
    **{name: (handler.rpartition(".")[0],) for name, handler in HANDLERS.items()},
    "runner": ("runner_container.runner.worker", "runner_container.runner.lambda_handler"),
}
#: declared but imported by no code of ours: what for
RUNTIME_ONLY = {
    "tzdata": "zoneinfo's time zone data, not left to the runtime's system",
    "sniffio": "httpcore looks it up on every request",
    "awslambdaric": "the container Lambda's entry point (python -m awslambdaric, entrypoint.sh)",
}
#: in no bundle: the CLI and local mode, the CDK; Playwright only in the runner's (cryptography is the API's: the
#: dashboard's session cookie)
#: (click, rich and pygments are also what httpx's own command line needs: where they are installed, importing
#: httpx loads it, ``httpx._main``, 40 ms of a cold start)
NOT_DEPLOYED = {"moto", "aws-cdk-lib", "constructs", "cdk-nag", "jsii", "click", "rich", "pygments", "uvicorn"}
NOT_IMPORTABLE = ["moto", "aws_cdk", "cdk_nag", "constructs", "jsii", "click", "rich", "pygments", "uvicorn"]
AWS_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_file(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _reached(entry_points: Iterable[str]) -> tuple[set[Path], set[str]]:
    """The first-party files ``entry_points`` reach through their imports (at any depth, those inside functions
    included), and the top-level third-party modules those files import."""
    files: set[Path] = set()
    third_party: set[str] = set()
    todo = list(entry_points)
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if path is None or path in files:
            continue
        files.add(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        todo += [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]  # its packages
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in FIRST_PARTY:
                    todo.append(name)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    third_party.add(top)
    return files, third_party


def _declared(group: str) -> set[str]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    names: set[str] = set()
    for spec in groups[group]:
        if isinstance(spec, dict):
            names |= _declared(spec["include-group"])
        else:
            names.add(_normal(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]))
    return names


def _exported(group: str) -> set[str]:
    """Every package the lock installs for ``group``, its dependencies' dependencies included."""
    export = ["export", "--frozen", "--offline", "--only-group", group, "--no-emit-project", "--no-hashes"]
    done = subprocess.run(
        [bundling.find_uv(), *export, "--no-header", "--no-annotate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {_normal(line.split("==")[0]) for line in done.stdout.splitlines() if "==" in line}


def test_each_deployable_has_a_group_and_its_sources() -> None:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    assert set(GROUPS) == {*HANDLERS, "runner"} == set(SOURCES)
    assert set(GROUPS.values()) <= set(groups)


@pytest.mark.parametrize("deployable", sorted(GROUPS))
def test_its_group_declares_what_its_code_imports_and_nothing_else(deployable: str) -> None:
    _, modules = _reached(ENTRY_POINTS[deployable])
    distributions = importlib.metadata.packages_distributions()
    imported = {_normal(d) for module in modules for d in distributions.get(module, [module])}
    declared = _declared(GROUPS[deployable])
    missing = sorted(m for m in modules if not {_normal(d) for d in distributions.get(m, [m])} & declared)
    assert missing == [], f"{deployable} imports these, its group {GROUPS[deployable]!r} does not declare them"
    assert declared - imported - set(RUNTIME_ONLY) == set(), f"{deployable}'s group declares what it never imports"


@pytest.mark.parametrize("deployable", sorted(GROUPS))
def test_its_sources_hold_every_first_party_module_it_imports(deployable: str) -> None:
    files, _ = _reached(ENTRY_POINTS[deployable])
    sources = [ROOT / source for source in SOURCES[deployable]]
    outside = sorted(str(f.relative_to(ROOT)) for f in files if not any(f == s or s in f.parents for s in sources))
    assert outside == []


@pytest.mark.parametrize("group", sorted(set(GROUPS.values())))
def test_no_group_holds_the_cli_moto_or_the_cdk_and_only_the_runners_holds_playwright(group: str) -> None:
    exported = _exported(group)
    assert exported & NOT_DEPLOYED == set()
    assert ("playwright" in exported) == (group == "runner")
    if group == "runner":
        assert {"playwright", "awslambdaric", "jinja2"} <= exported
    if group == "api":
        assert {"fastapi", "mangum", "starlette", "jinja2", "cryptography"} <= exported
    else:
        assert "cryptography" not in exported or group == "runner", group


# --- the bundles, each on its own


def _http_event(path: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) GET, with no API key."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
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
        "body": "",
        "isBase64Encoded": False,
    }


#: each zip Lambda: events its first invocation handles without AWS, and what it answers
INVOCATIONS: dict[str, tuple[list[dict[str, Any]], Callable[[list[Any]], bool]]] = {
    # /healthz; a list without a key: the services are built for the request, which is refused before any call;
    # the trace viewer's service worker, from the bundle's copy (the bundle has no Playwright)
    "api": (
        [_http_event("/healthz"), _http_event("/v1/tests"), _http_event("/ui/trace/sw.bundle.js")],
        lambda results: (
            [r["statusCode"] for r in results] == [200, 401, 200]
            and results[2]["headers"]["content-type"] == "text/javascript; charset=utf-8"
        ),
    ),
    # an unreadable message is dropped (after the services were built), not failed
    **{
        name: ([sqs_event(["not a message"], ids="m-1")], lambda results: results == [{"batchItemFailures": []}])
        for name in ("planner", "events", "notifications", "deadletters")
    },
    "scheduler": ([{}], lambda results: results == [{"outcome": "dropped", "reason": "unreadable input"}]),
    # a Create, answered to CloudFormation: only over https (not reachable here), which it checks first
    "teardown": (
        [{"RequestType": "Create", "ResponseURL": "http://127.0.0.1:9/", "ResourceProperties": {}}],
        lambda results: results == [{"raised": "ValueError: CloudFormation's response URL is not https"}],
    ),
}


def _bundle(deployable: str, tmp_path: Path) -> Path:
    started = time.perf_counter()
    bundle = build_bundle(deployable, tmp_path / "bundle", platform=None, python_version=HOST_PYTHON, offline=True)
    print(f"{deployable}: bundle built offline in {time.perf_counter() - started:.2f} s")
    return bundle


def _probe(bundle: Path, request: dict[str, Any], home: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-S", "-E", "-B", str(PROBE), str(bundle)],
        input=json.dumps(request),
        cwd=bundle,
        env={"PATH": os.environ["PATH"], "HOME": str(home), **AWS_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = (line for line in done.stdout.splitlines() if line.startswith("PROBE "))
    report: dict[str, Any] = json.loads(line.removeprefix("PROBE "))
    return report


def _assert_alone(report: dict[str, Any], bundle: Path) -> None:
    """Only the bundle and the standard library were importable, and the code came from the bundle."""
    assert [p for p in report["sys_path"] if "-packages" in p or p.startswith(str(ROOT))] == []
    assert report["sys_path"][0] == str(bundle)
    assert all(Path(f).is_relative_to(bundle) for f in report["files"].values()), report["files"]
    assert report["found"] == []


@pytest.mark.parametrize("deployable", sorted(HANDLERS))
def test_a_lambda_runs_on_its_bundle_alone(deployable: str, tmp_path: Path) -> None:
    # Given the bundle, in a Python that sees nothing else
    bundle = _bundle(deployable, tmp_path)
    events, expected = INVOCATIONS[deployable]

    # When its handler is imported and invoked
    report = _probe(bundle, {"handler": HANDLERS[deployable], "events": events, "check": NOT_IMPORTABLE}, tmp_path)

    # Then it answered, having built its services, with the bundle's code only
    _assert_alone(report, bundle)
    assert expected(report["results"]), report["results"]
    assert report["services_built"] == (0 if deployable == "teardown" else 1)
    assert not (bundle / "bin").exists()
    assert {p.name for p in (bundle / "functions").iterdir()} == {"__init__.py", deployable}
    assert (bundle / bundling.TRACE_VIEWER / "index.html").is_file() == (deployable == "api")
    assert not list(bundle.glob("shared/**/__pycache__"))


@pytest.fixture(scope="module")
def runner_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _bundle("runner", tmp_path_factory.mktemp("runner"))


def test_the_runner_imports_both_entry_points_on_its_bundle_alone(runner_bundle: Path, tmp_path: Path) -> None:
    request = {"imports": list(ENTRY_POINTS["runner"]), "check": [*NOT_IMPORTABLE, "fastapi", "mangum"]}
    _assert_alone(_probe(runner_bundle, request, tmp_path), runner_bundle)
    assert (runner_bundle / "playwright").is_dir() and (runner_bundle / "awslambdaric").is_dir()
    assert not (runner_bundle / "functions").exists() and not (runner_bundle / "cli").exists()


def _entrypoint(bundle: Path, tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``entrypoint.sh`` from the bundle, its ``python`` the bundle and the standard library only."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" -S -E -B "$@"\n')
    (shim / "python").chmod(0o755)
    return subprocess.Popen(
        ["sh", str(bundle / "runner_container" / "entrypoint.sh")],
        cwd=bundle,  # python -m puts it first on sys.path (PYTHONPATH=/app in the image)
        env={"PATH": f"{shim}:{os.environ['PATH']}", "HOME": str(tmp_path), **AWS_ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait(condition: Callable[[], bool], process: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


RUN_MESSAGE = json.dumps({"run_id": "run_gone", "project_id": "prj_probe", "attempt": 1})


def test_the_runners_worker_entry_point_runs_on_its_bundle_alone(runner_bundle: Path, tmp_path: Path) -> None:
    # Given a queue holding a message for a run the table does not have
    with FakeAws(RUN_MESSAGE).serving() as aws:
        # When the image's entry point starts the worker, and is stopped once the message is handled
        worker = _entrypoint(runner_bundle, tmp_path, {"AWS_ENDPOINT_URL": aws.url})
        try:
            _wait(lambda: "DeleteMessage" in aws.calls, worker)
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=60)
        finally:
            worker.kill()

    # Then it received the message, looked the run up, dropped it, deleted the message and stopped cleanly
    assert worker.returncode == 0, output
    assert aws.calls[0] == "GetQueueUrl" and "GetItem" in aws.calls and "DeleteMessage" in aws.calls, aws.calls
    assert "message for an unknown run dropped" in output and "runner worker stopped" in output


def test_the_runners_lambda_entry_point_runs_on_its_bundle_alone(runner_bundle: Path, tmp_path: Path) -> None:
    # Given Lambda's runtime API with one SQS batch: a message for a run the table does not have
    with FakeAws().serving() as aws, FakeRuntimeApi(sqs_event([RUN_MESSAGE], ids="m-1")).serving() as runtime:
        # When the image's entry point starts the runtime client (AWS_LAMBDA_RUNTIME_API set)
        env = {"AWS_ENDPOINT_URL": aws.url, "AWS_LAMBDA_RUNTIME_API": runtime.address, "LAMBDA_TASK_ROOT": "/var/task"}
        client = _entrypoint(runner_bundle, tmp_path, env)
        try:
            _wait(runtime.answered.is_set, client)
        finally:
            client.kill()
            output, _ = client.communicate(timeout=60)

    # Then the handler ran the batch (the run looked up, the message dropped) and answered: no failed record
    assert runtime.posted == {
        f"/2018-06-01/runtime/invocation/{runtime.REQUEST_ID}/response": {"batchItemFailures": []}
    }
    assert "GetItem" in aws.calls and "message for an unknown run dropped" in output, output


# --- the trace viewer in the API's bundle


def test_the_trace_viewer_is_copied_where_the_api_looks_for_it(tmp_path: Path) -> None:
    from functions.api.ui import trace

    # Given this machine's playwright package (the one the API finds when it has no copy of its own)
    source = bundling.installed_trace_viewer()
    assert source is not None and source == trace.installed_viewer()

    # When it is copied into a bundle
    dest = bundling.copy_trace_viewer(tmp_path / "bundle")

    # Then the bundle holds every file of it, where the API's code looks first after its setting
    assert dest == tmp_path / "bundle" / bundling.TRACE_VIEWER
    assert ROOT / bundling.TRACE_VIEWER == trace.BUNDLED
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert copied == sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    assert {"index.html", "sw.bundle.js", "snapshot.html"} <= set(copied)
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) < 5_000_000


def test_a_copy_replaces_what_the_bundle_had(tmp_path: Path) -> None:
    stale = tmp_path / bundling.TRACE_VIEWER / "index.OLD12345.js"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    bundling.copy_trace_viewer(tmp_path)
    assert not stale.exists() and (tmp_path / bundling.TRACE_VIEWER / "index.html").is_file()


def test_without_a_trace_viewer_the_api_bundle_fails_saying_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BundleError, match=r"bundling api: no Playwright trace viewer at .*/ui/trace/.*make install"):
        bundling.copy_trace_viewer(tmp_path / "bundle", tmp_path / "nowhere")
    monkeypatch.setattr(bundling, "installed_trace_viewer", lambda: None)
    with pytest.raises(
        BundleError, match=r"no Playwright trace viewer at playwright/driver/package/lib/vite/traceViewer"
    ):
        bundling.copy_trace_viewer(tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


# --- the CDK asset


def _function_stack(app: App, deployable: str) -> Stack:
    stack = Stack(app, "Bundles")
    lambda_.Function(
        stack,
        "Function",
        runtime=bundling.LAMBDA_RUNTIME,
        architecture=bundling.LAMBDA_ARCHITECTURE,
        handler=HANDLERS[deployable],
        code=lambda_code(deployable),
    )
    return stack


def test_synthesis_with_bundling_skipped_builds_nothing(
    new_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> Path:
        raise AssertionError("bundled although bundling is skipped")

    monkeypatch.setattr(bundling, "build_bundle", refuse)
    started = time.perf_counter()
    template = Template.from_stack(_function_stack(new_app(), "api"))
    assert time.perf_counter() - started < 30
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": HANDLERS["api"], "Runtime": bundling.LAMBDA_RUNTIME.name}
    )


def test_the_asset_is_bundled_on_this_machine_for_the_lambda_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, dict[str, object]]] = []

    def bundle(deployable: str, out_dir: str, **kwargs: object) -> Path:
        calls.append((deployable, out_dir, kwargs))
        (Path(out_dir) / "built").write_text(deployable)
        return Path(out_dir)

    monkeypatch.setattr(bundling, "build_bundle", bundle)
    app = App(outdir=str(tmp_path / "cdk.out"))
    _function_stack(app, "planner")
    assembly = app.synth()

    ((deployable, _, kwargs),) = calls
    assert (deployable, kwargs) == ("planner", {})  # the defaults: bundling.LAMBDA_PLATFORM, LAMBDA_PYTHON
    assert (bundling.LAMBDA_PLATFORM, bundling.LAMBDA_PYTHON) == ("aarch64-manylinux_2_34", "3.14")
    assets = [p for p in Path(assembly.directory).glob("asset.*") if (p / "built").is_file()]
    assert [p.joinpath("built").read_text() for p in assets] == ["planner"]


def test_a_failed_bundle_fails_synthesis_naming_the_deployable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(deployable: str, out_dir: str, **kwargs: object) -> Path:
        raise BundleError(f"bundling {deployable}: uv pip install ... failed (exit 1)")

    monkeypatch.setattr(bundling, "build_bundle", fail)
    with pytest.raises(RuntimeError, match="bundling events: uv pip install"):
        _function_stack(App(outdir=str(tmp_path / "cdk.out")), "events")


def test_a_deployable_without_a_group_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no deployable 'cli'"):
        build_bundle("cli", tmp_path)
    with pytest.raises(KeyError, match="no deployable 'runner'"):
        lambda_code("runner")
