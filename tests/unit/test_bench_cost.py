"""bench/cost.py's arithmetic: item sizes and request units, the dollar lines of a run, the scalings."""

from __future__ import annotations

from typing import Any

import pytest

from bench.cost import (
    PRICES,
    Meter,
    Tally,
    Usage,
    costs,
    dynamodb_item_size,
    per_thousand,
    planning_cost,
    read_units,
    scaled_to,
    synthetics_per_run,
    tokens_of,
    with_consumers,
    write_units,
)


def test_an_items_size_counts_names_and_values_as_dynamodb_does() -> None:
    item = {
        "PK": {"S": "RUN#1"},  # 2 + 5
        "n": {"N": "12345"},  # 1 + (3 + 1)
        "ok": {"BOOL": True},  # 2 + 1
        "m": {"M": {"a": {"S": "xy"}}},  # 1 + (3 + 1 + 1 + 2)
        "l": {"L": [{"S": "z"}, {"NULL": True}]},  # 1 + (3 + (1 + 1) + (1 + 1))
    }
    assert dynamodb_item_size(item) == 7 + 5 + 3 + 8 + 8
    assert dynamodb_item_size({"s": {"S": "é"}}) == 1 + 2  # UTF-8 bytes


@pytest.mark.parametrize(("size", "units"), [(0, 1), (1024, 1), (1025, 2), (10 * 1024, 10)])
def test_write_units_are_a_kilobyte_each_and_at_least_one(size: int, units: int) -> None:
    assert write_units(size) == units


def test_read_units_are_four_kilobytes_each_half_when_eventually_consistent() -> None:
    assert read_units(100, consistent=False) == 0.5
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1


def test_a_runs_dollars_are_its_units_times_the_prices() -> None:
    usage = Usage(
        runner_s=10,
        runner_memory_mb=2048,
        lambda_requests=2,
        other_lambda_gb_s_arm=0.5,
        dynamodb_wru=100,
        dynamodb_rru=4,
        dynamodb_bytes=1024**3,
        sqs_requests=10,
        s3_puts=11,
        s3_gets=1,
        s3_bytes=2 * 1024**3,
        events=3,
        secrets_calls=1,
        api_requests=1,
    )
    lines = costs(usage, runner="lambda_x86", retention_days=15)
    assert lines["runner compute"] == pytest.approx(10 * 2 * 0.0000166667)
    assert lines["Lambda requests"] == pytest.approx(2 * 0.20 / 1e6)
    assert lines["API and consumer Lambdas"] == pytest.approx(0.5 * 0.0000133334)
    assert lines["DynamoDB writes"] == pytest.approx(100 * 0.625 / 1e6)
    assert lines["DynamoDB reads"] == pytest.approx(4 * 0.125 / 1e6)
    assert lines["DynamoDB storage (a month)"] == pytest.approx(0.25)
    assert lines["SQS"] == pytest.approx(10 * 0.40 / 1e6)
    assert lines["S3 requests"] == pytest.approx(11 * 0.005 / 1000 + 0.0004 / 1000)
    assert lines["S3 storage"] == pytest.approx(2 * 0.023 / 2)  # half a month
    assert lines["EventBridge"] == pytest.approx(3 / 1e6)
    assert lines["Secrets Manager"] == pytest.approx(0.05 / 10_000)
    assert lines["API Gateway"] == pytest.approx(1 / 1e6)
    assert per_thousand(lines) == pytest.approx(1000 * sum(lines.values()))
    assert costs(usage, runner="lambda_arm")["runner compute"] == pytest.approx(10 * 2 * 0.0000133334)


def test_on_fargate_a_run_pays_its_share_of_the_task_and_no_runner_invocation() -> None:
    usage = Usage(runner_s=3600, runner_memory_mb=3008, lambda_requests=2)
    lines = costs(usage, runner="fargate_x86")
    assert lines["runner compute"] == pytest.approx((2 * 0.04048 + 4 * 0.004445) / 2)  # two runs at once
    assert lines["Lambda requests"] == pytest.approx(0.20 / 1e6)
    assert costs(usage, runner="fargate_arm")["runner compute"] == pytest.approx((2 * 0.03238 + 4 * 0.00356) / 2)


def test_each_event_reaches_two_queues_and_their_consumers() -> None:
    usage = with_consumers(Usage(runner_s=1, runner_memory_mb=3008, lambda_requests=2, sqs_requests=3, events=3))
    assert usage.sqs_requests == 3 + 3 * 3 * 2  # send, receive, delete of 6 messages
    assert usage.lambda_requests == 2 + 6
    assert usage.other_lambda_gb_s_arm == pytest.approx(6 * 0.05 * 0.5)


def test_a_longer_run_scales_its_time_and_its_growing_artifacts_only() -> None:
    usage = Usage(runner_s=2, runner_memory_mb=3008, s3_bytes=1000, s3_puts=11)
    ten = scaled_to(usage, 10, growing_bytes=600)
    assert (ten.runner_s, ten.s3_bytes, ten.s3_puts) == (10, 400 + 3000, 11)


def test_peer_and_planning_prices() -> None:
    assert synthetics_per_run(10) == pytest.approx(0.0012 + 10 * 1000 / 1024 * 0.0000166667)
    assert planning_cost(1_000_000, 1_000_000) == pytest.approx(1 + 5)
    assert tokens_of("x" * 35) == 10
    assert all(price.source for price in PRICES.values())


class _Probe:
    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Item": self.item}


class _Model:
    def __init__(self, service: str, name: str) -> None:
        self.name = name
        self.service_model = type("S", (), {"service_name": service})()


def test_the_meter_counts_a_write_once_per_copy_and_a_transaction_twice() -> None:
    big = {"PK": {"S": "RUN#1"}, "gsi1pk": {"S": "x"}, "blob": {"S": "y" * 2000}}  # 3 KB, in one GSI
    meter = Meter(_Probe(big), ("gsi1", "gsi2"), "table")
    with meter.during("run") as tally:
        meter._after(None, {}, _Model("dynamodb", "PutItem"), context={"bench_params": {"Item": big}})
        meter._after(None, {"Attributes": big}, _Model("dynamodb", "UpdateItem"), context={"bench_params": {}})
        update = {"TransactItems": [{"Update": {"Key": {"PK": {"S": "RUN#1"}}}}, {"ConditionCheck": {}}]}
        meter._after(None, {}, _Model("dynamodb", "TransactWriteItems"), context={"bench_params": update})
        meter._after(None, {"Item": big}, _Model("dynamodb", "GetItem"), context={"bench_params": {}})
        meter._after(None, {}, _Model("events", "PutEvents"), context={"bench_params": {"Entries": [{}, {}]}})
    assert isinstance(tally, Tally)
    assert tally.wru == 2 * 2 + 2 * 2 + 2 * (2 * 2) + 2 * 1
    assert tally.rru == 0.5
    assert tally.events == 2
    assert tally.count("dynamodb") == 4 and tally.count("events", "PutEvents") == 1
