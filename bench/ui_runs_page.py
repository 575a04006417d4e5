"""The dashboard's runs page against the JSON API's run list, over the same 200 runs, side by side.

Local mode's wiring (moto in this process, the real DynamoDB adapter through ``build_services``) holds 200
ended browser runs of 10 tests, each with 8 step results, labels and artifacts, like a morning of CI. Each round,
alternating, asks the app in this process (ASGI, no socket) for:

- peer: ``GET /v1/runs?limit=200`` (the JSON the CLI reads);
- autotest: ``GET /ui/runs?limit=200`` (the HTML page: the same query, the filter's test list, the template);
- and the live refresh alone, ``GET /ui/runs/rows?limit=200``.

Prints the median and p95 milliseconds of server time (request in, last byte out) over the rounds, the ratios,
and whether the page meets its target (200 rows under 300 ms).

    .venv/bin/python -m bench.ui_runs_page --rounds 15
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import uuid
from datetime import timedelta

import httpx

from functions.api.app import create_app
from shared.aws.clients import ClientFactory, in_process_client
from shared.aws.factory import build_services
from shared.aws.provision import provision
from shared.ids import utcnow
from shared.models.runs import ArtifactRef, RunCreate, RunStatus, StepResult, artifact_prefix
from shared.models.tests import TestCreate
from shared.services.container import Services
from shared.settings import Settings

KEY = "atk_bench"
ROWS = 200
TARGET_MS = 300.0


def _settings() -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        table_name=f"bench-ui-{suffix}",
        run_queue_name=f"bench-ui-runs-{suffix}",
        run_dlq_name=f"bench-ui-dlq-{suffix}",
        artifact_bucket=f"bench-ui-artifacts-{suffix}",
        event_bus_name=f"bench-ui-bus-{suffix}",
        bootstrap_api_key=KEY,  # type: ignore[arg-type]
    )


def _fill(services: Services) -> None:
    tests = []
    for n in range(10):
        body = {
            "name": f"Checkout flow {n}",
            "tags": ["smoke"],
            "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}] * 8,
        }
        tests.append(services.catalog.create_test("default", TestCreate.model_validate(body))[0])
    for i in range(ROWS):
        test = tests[i % len(tests)]
        run = services.runs.start_run(
            "default", RunCreate(test_id=test.id, labels={"branch": "main", "sha": f"{i:07x}"}), enqueue=False
        )
        failed = i % 7 == 0
        steps = [
            StepResult(
                index=s,
                action="click",
                target=f'role=button name="Step {s}"',
                locator=f'get_by_role("button", name="Step {s}")',
                matched_by="exact",
                status="failed" if failed and s == 7 else "passed",
                duration_ms=120 + s,
                error="expected the page to show 'Order placed'" if failed and s == 7 else None,
                screenshot=f"{artifact_prefix('default', run.id, 1)}/screenshots/step-{s + 1:03d}.png",
            )
            for s in range(8)
        ]
        refs = [
            ArtifactRef(name=f"screenshots/step-{s + 1:03d}.png", kind="screenshot", key=step.screenshot or "", size=1)
            for s, step in enumerate(steps)
        ]
        ended = utcnow() - timedelta(seconds=ROWS - i)
        services.runs._runs.update_run(  # the bench writes ended runs directly, as a runner would
            run.id,
            {
                "status": (RunStatus.failed if failed else RunStatus.passed).value,
                "started_at": (ended - timedelta(seconds=5)).isoformat(),
                "ended_at": ended.isoformat(),
                "duration_ms": 5000,
                "steps": [s.model_dump(mode="json") for s in steps],
                "artifacts": [r.model_dump(mode="json") for r in refs],
                "error": steps[7].error,
            },
        )


def _timed(client: httpx.Client, path: str, **kwargs: object) -> float:
    started = time.perf_counter()
    response = client.get(path, **kwargs)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from cli.local import moto_fixes

    moto_fixes.apply()  # as local mode runs moto
    with mock_aws():
        settings = _settings()
        plain: ClientFactory = lambda s: in_process_client(s, "us-east-1")  # noqa: E731
        provision(settings, clients=plain)
        services = build_services(settings, clients=plain)
        _fill(services)
        client = TestClient(create_app(services, ui_session_key=b"b" * 32), base_url="http://127.0.0.1")
        login = client.get("/ui/login")
        csrf = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/ui/login", data={"api_key": KEY, "csrf": csrf})
        page = client.get(f"/ui/runs?limit={ROWS}")
        assert page.text.count('<a href="/ui/runs/run_') == ROWS, "the page does not show every run"
        samples: dict[str, list[float]] = {"json": [], "page": [], "rows": []}
        for _ in range(2):  # warm up: templates compiled, moto's indexes built
            _timed(client, f"/v1/runs?limit={ROWS}", headers={"X-API-Key": KEY})
            _timed(client, f"/ui/runs?limit={ROWS}")
        for r in range(args.rounds):
            order = ["json", "page", "rows"] if r % 2 == 0 else ["rows", "page", "json"]
            for name in order:
                if name == "json":
                    samples[name].append(_timed(client, f"/v1/runs?limit={ROWS}", headers={"X-API-Key": KEY}))
                elif name == "page":
                    samples[name].append(_timed(client, f"/ui/runs?limit={ROWS}"))
                else:
                    samples[name].append(_timed(client, f"/ui/runs/rows?limit={ROWS}"))

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, round(0.95 * len(values)) - 1)]

    json_ms, page_ms, rows_ms = (statistics.median(samples[k]) for k in ("json", "page", "rows"))
    print(f"runs list, {ROWS} runs of 8 steps each, local mode's wiring (moto in process), {args.rounds} rounds")
    print(f"  peer      GET /v1/runs?limit={ROWS}      p50 {json_ms:7.1f} ms   p95 {p95(samples['json']):7.1f} ms")
    print(f"  autotest  GET /ui/runs?limit={ROWS}      p50 {page_ms:7.1f} ms   p95 {p95(samples['page']):7.1f} ms")
    print(f"            GET /ui/runs/rows?limit={ROWS} p50 {rows_ms:7.1f} ms   p95 {p95(samples['rows']):7.1f} ms")
    print(f"  ratio     page / JSON {page_ms / json_ms:.2f}x   rows / JSON {rows_ms / json_ms:.2f}x")
    met = "met" if page_ms < TARGET_MS else "MISSED"
    print(f"  target    the page under {TARGET_MS:.0f} ms: {met} ({page_ms:.0f} ms)")


if __name__ == "__main__":
    main()
