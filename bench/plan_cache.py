"""What a plain-English test costs to start once its plan is cached, against the same test written as steps.

Two saved tests with the same steps: one holds them (``explicit``), the other only the goal they were planned from
(``goal``; its plan cached by the first run). ``RunService.start_run`` of each, alternating, through the real
services and adapters on moto in this process (as local mode runs them): the goal's start reads the cached plan
(one more DynamoDB read) and calls no planner. Prints the median milliseconds per start and the ratio; lower is
better.

    .venv/bin/python -m bench.plan_cache --starts 300
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
import uuid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--starts", type=int, default=300, help="starts of each test")
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    logging.getLogger().setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

    from moto import mock_aws

    from shared.aws.clients import in_process_client
    from shared.aws.factory import build_services
    from shared.aws.provision import provision
    from shared.models.runs import RunCreate
    from shared.models.tests import TestCreate
    from shared.settings import Settings
    from tests.fakes import FakePlanner

    goal_text = "\n".join(
        [
            "Go to http://127.0.0.1:8001/login",
            'Fill "Username" with "admin"',
            'Click "Log in"',
            'Expect to see "Welcome, admin"',
        ]
    )
    with mock_aws():
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(
            table_name=f"bench-{suffix}",
            run_queue_name=f"bench-runs-{suffix}",
            run_dlq_name=f"bench-dlq-{suffix}",
            plan_queue_name=f"bench-plans-{suffix}",
            plan_dlq_name=f"bench-plans-dlq-{suffix}",
            artifact_bucket=f"bench-artifacts-{suffix}",
            event_bus_name=f"bench-bus-{suffix}",
        )

        def make(service: str) -> object:
            return in_process_client(service, settings.aws_region)

        provision(settings, clients=make)
        planner = FakePlanner()
        services = build_services(settings, clients=make, planner=planner)
        goal, _ = services.catalog.create_test("bench", TestCreate.model_validate({"name": "goal", "goal": goal_text}))
        first = services.runs.start_run("bench", RunCreate(test_id=goal.id))  # plans it, caches the plan
        steps = [step.model_dump(mode="json", exclude_none=True) for step in first.spec.steps or []]
        explicit, _ = services.catalog.create_test(
            "bench", TestCreate.model_validate({"name": "steps", "steps": steps})
        )
        times: dict[str, list[float]] = {"explicit": [], "goal": []}
        order = [("explicit", explicit.id), ("goal", goal.id)]
        for i in range(args.starts):
            for name, test_id in order if i % 2 else order[::-1]:
                started = time.perf_counter()
                run = services.runs.start_run("bench", RunCreate(test_id=test_id))
                times[name].append(time.perf_counter() - started)
                assert run.stats.planner_calls == 0 and run.spec.steps
        medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"start_run, median of {args.starts} each (moto in process):")
    print(f"  explicit steps          {medians['explicit']:7.2f} ms")
    print(f"  goal, plan cached       {medians['goal']:7.2f} ms   ({medians['goal'] / medians['explicit']:.2f}x)")
    print(f"  planner calls: {len(planner.calls)} (the first run's)")


if __name__ == "__main__":
    main()
