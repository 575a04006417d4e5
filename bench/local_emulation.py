"""How local mode should emulate AWS: a moto server over HTTP, or moto in this process? And what does
making every write durable (the journal's fsync) cost?

One realistic local-mode workload, through the real services and adapters (``build_services``): per
iteration, create a test, start a run of it (table write, queue message, event), take it, write its
progress after each of 8 steps, end it with its artifacts, put the artifacts (3 screenshots of 20 KB,
a 200 KB video, a report), read the run back and list the test's runs. Four ways, alternating, each
round on fresh resources:

- ``server``: ``moto.server.ThreadedMotoServer`` on loopback, clients over HTTP (the first release);
- ``in-process``: ``moto.mock_aws`` in this process, no journal;
- ``journal``: in-process with local mode's journal (``cli/local/persistence.py``), fsync'd per write
  (what ``autotest local`` runs now);
- ``journal, no fsync``: the same with fsync switched off, to show what fsync itself costs.

Prints the median milliseconds per iteration and per AWS call, and the ratios; lower is better.

    .venv/bin/python -m bench.local_emulation --rounds 5 --iterations 20
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cli.local.persistence import LocalState
from shared.aws.clients import ClientFactory, client, in_process_client
from shared.aws.factory import build_services
from shared.aws.journal import JOURNALED, JournaledClient
from shared.aws.provision import provision
from shared.models.messages import RunMessage
from shared.models.queries import RunQuery
from shared.models.runs import ArtifactRef, RunCreate, RunStatus, StepResult, artifact_prefix
from shared.models.tests import TestCreate
from shared.services.container import Services
from shared.settings import Settings

STEPS = 8
ARTIFACTS = [
    ("screenshots/step-001.png", 20_000, "image/png"),
    ("screenshots/step-002.png", 20_000, "image/png"),
    ("screenshots/step-003.png", 20_000, "image/png"),
    ("video.webm", 200_000, "video/webm"),
    ("report.html", 8_000, "text/html; charset=utf-8"),
]
#: AWS calls per iteration (create: 1, start: 3, take: 2, progress: 8, end: 2, puts: 5, reads: 2)
CALLS = 1 + 3 + 2 + STEPS + 2 + len(ARTIFACTS) + 2


class CountingClient:
    def __init__(self, inner: Any, counter: list[int]) -> None:
        self._inner, self._counter = inner, counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith(("get_paginator", "meta", "exceptions")):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter[0] += 1
            return attr(*args, **kwargs)

        return call


def settings_for(endpoint: str | None) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        aws_endpoint_url=endpoint,
        table_name=f"bench-{suffix}",
        run_queue_name=f"bench-runs-{suffix}",
        run_dlq_name=f"bench-dlq-{suffix}",
        artifact_bucket=f"bench-artifacts-{suffix}",
        event_bus_name=f"bench-bus-{suffix}",
        bootstrap_api_key="atk_bench",  # type: ignore[arg-type]
    )


def iteration(services: Services, n: int) -> None:
    test, _ = services.catalog.create_test("default", TestCreate.model_validate({
        "name": f"bench {n}", "steps": [{"action": "goto", "url": "https://example.com/"}],
    }))  # fmt: skip
    run = services.runs.start_run("default", RunCreate(test_id=test.id))
    taken = services.runs.take(RunMessage(run_id=run.id, project_id="default", attempt=1))
    assert taken is not None
    steps: list[StepResult] = []
    for i in range(STEPS):
        steps.append(StepResult(index=i, action="goto", status="passed", duration_ms=5))
        taken = services.runs.update_progress(taken, steps=steps)
    prefix = artifact_prefix("default", run.id, 1)
    refs = []
    for name, size, content_type in ARTIFACTS:
        services.artifacts.put(f"{prefix}/{name}", os.urandom(size), content_type=content_type)
        refs.append(ArtifactRef(name=name, kind="other", key=f"{prefix}/{name}", size=size, content_type=content_type))
    services.runs.transition(taken, RunStatus.passed, artifacts=refs)
    services.runs.get_run("default", run.id)
    services.runs.list_runs(RunQuery(project_id="default", test_id=test.id, limit=10))


@contextlib.contextmanager
def no_fsync() -> Iterator[None]:
    saved = os.fsync, os.fdatasync
    os.fsync = os.fdatasync = lambda fd: None
    try:
        yield
    finally:
        os.fsync, os.fdatasync = saved


def measure(make: Callable[[list[int]], Services], iterations: int, *, fsync: bool = True) -> tuple[float, int]:
    counter = [0]
    services = make(counter)
    with contextlib.nullcontext() if fsync else no_fsync():
        started = time.perf_counter()
        for n in range(iterations):
            iteration(services, n)
        elapsed = time.perf_counter() - started
    return elapsed / iterations * 1000, counter[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("autotest").setLevel(logging.ERROR)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "bench")

    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    mock = mock_aws()
    mock.start(reset=False)  # intercepts calls to AWS itself only: the server's clients still go over HTTP
    workdir = Path(tempfile.mkdtemp(prefix="bench-local-"))

    def over_http(counter: list[int]) -> Services:
        settings = settings_for(endpoint)
        provision(settings)
        return build_services(settings, clients=lambda s: CountingClient(client(s, "us-east-1", endpoint), counter))

    def in_process(counter: list[int]) -> Services:
        settings = settings_for(None)
        plain: ClientFactory = lambda s: in_process_client(s, "us-east-1")  # noqa: E731
        provision(settings, clients=plain)
        return build_services(settings, clients=lambda s: CountingClient(plain(s), counter))

    def journaled(counter: list[int]) -> Services:
        settings = settings_for(None)
        plain: ClientFactory = lambda s: in_process_client(s, "us-east-1")  # noqa: E731
        provision(settings, clients=plain)
        state = LocalState(
            workdir / uuid.uuid4().hex[:8], clients=plain, table=settings.table_name, bucket=settings.artifact_bucket
        )
        state.restore()
        wrapped = {s: JournaledClient(plain(s), s, state) for s in JOURNALED}
        return build_services(settings, clients=lambda s: CountingClient(wrapped.get(s) or plain(s), counter))

    variants: list[tuple[str, Callable[[list[int]], Services], bool]] = [
        ("server (HTTP)", over_http, True),
        ("in-process", in_process, True),
        ("in-process + journal (fsync)", journaled, True),
        ("in-process + journal, no fsync", journaled, False),
    ]
    results: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    calls: dict[str, int] = {}
    try:
        for _, make, fsync in variants:  # warm up every path once
            measure(make, 2, fsync=fsync)
        for _ in range(args.rounds):
            for name, make, fsync in variants:
                ms, count = measure(make, args.iterations, fsync=fsync)
                results[name].append(ms)
                calls[name] = count // args.iterations
    finally:
        mock.stop(remove_data=False)
        server.stop()

    base = statistics.median(results["server (HTTP)"])
    print(f"{args.rounds} rounds x {args.iterations} iterations, about {CALLS} AWS calls each; median per iteration")
    print(f"{'variant':34} {'ms/iter':>8} {'ms/call':>8} {'vs server':>10}")
    for name, _, _ in variants:
        ms = statistics.median(results[name])
        per_call = ms / max(calls[name], 1)
        print(f"{name:34} {ms:8.1f} {per_call:8.2f} {ms / base:9.2f}x")
    journal = statistics.median(results["in-process + journal (fsync)"])
    unsynced = statistics.median(results["in-process + journal, no fsync"])
    writes = STEPS + 1 + 3 + len(ARTIFACTS)  # the journaled writes of one iteration (about)
    cost = journal - unsynced
    print(f"fsync costs {cost:.1f} ms per iteration, about {cost / writes:.2f} ms per journaled write")


if __name__ == "__main__":
    main()
