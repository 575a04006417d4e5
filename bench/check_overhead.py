"""What checking a response in a worker process (``shared/apitests/checks.py``) costs over checking it in a
thread of this process (the first release's way, which could not be stopped), side by side.

The same response (a small JSON body, or a 1 MB one) and the same expectations (status, a JSONPath value, a
pattern, a JSON schema, an extraction), checked alternately both ways, ``--checks`` times each. Prints the
median milliseconds per check and the difference; lower is better.

    .venv/bin/python -m bench.check_overhead --checks 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from runner_container.runner.masking import Masker
from shared.apitests.checks import Checked, ResponseChecker, extract_outcomes
from shared.apitests.expectations import outcomes
from shared.apitests.response import HttpResult
from shared.models.plans import Request

STEP = Request.model_validate(
    {
        "url": "http://127.0.0.1/items",
        "expect": [
            {"status": 200},
            {"jsonpath": "$.user.name", "equals": "admin"},
            {"body_matches": '"id":\\s*\\d+'},
            {"json_schema": {"type": "object", "required": ["id", "user"]}},
        ],
        "extract": {"uid": "$.id"},
    }
)
MASKER = Masker(["s3cret-value"])


def response(items: int) -> HttpResult:
    body = json.dumps(
        {"id": 7, "user": {"name": "admin"}, "items": [{"n": i, "name": f"item {i}"} for i in range(items)]}
    )
    headers = httpx.Headers({"content-type": "application/json"})
    return HttpResult("GET", "http://127.0.0.1/items", 200, headers, body.encode(), 3)


async def in_thread(result: HttpResult) -> Checked:
    fresh = HttpResult(result.method, result.url, result.status, result.headers, result.content, result.latency_ms)
    found = await asyncio.to_thread(outcomes, fresh, STEP.expect, clip=MASKER.clip)
    variables, extracted = await asyncio.to_thread(extract_outcomes, fresh, STEP.extract, MASKER.clip)
    return Checked(found + extracted, variables)


async def timed(run: Callable[[], Awaitable[Checked]], samples: list[float]) -> None:
    started = time.perf_counter()
    checked = await run()
    samples.append(time.perf_counter() - started)
    assert not checked.failures and checked.variables == {"uid": 7}, checked


async def main(checks: int) -> None:
    checker = ResponseChecker(keep=1)
    await checker.ready()
    try:
        for label, items in (("small body", 20), ("1 MB body", 30_000)):
            result = response(items)
            threads: list[float] = []
            workers: list[float] = []
            for _ in range(max(5, checks // 10)):  # warm both ways
                await in_thread(result)
                await checker.check(result, STEP.expect, STEP.extract, clip=MASKER.clip, timeout_s=30)
            for _ in range(checks):
                await timed(lambda r=result: in_thread(r), threads)  # type: ignore[misc]
                await timed(
                    lambda r=result: checker.check(r, STEP.expect, STEP.extract, clip=MASKER.clip, timeout_s=30),  # type: ignore[misc]
                    workers,
                )
            thread_ms, worker_ms = statistics.median(threads) * 1000, statistics.median(workers) * 1000
            print(
                f"{label} ({len(result.content) / 1e6:.2f} MB): in a thread {thread_ms:.3f} ms, "
                f"in a worker process {worker_ms:.3f} ms per check (+{worker_ms - thread_ms:.3f} ms)"
            )
    finally:
        checker.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=300)
    asyncio.run(main(parser.parse_args().checks))
