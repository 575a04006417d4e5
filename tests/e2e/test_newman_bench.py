"""The Newman benchmark's own parts hold: its collection translates whole, its orders API answers as the
collection expects, and the imported test over the 200-row data file fails exactly the 10 rows made to fail
(``bench/newman_throughput.py`` compares those with Newman's; here, the runner alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from bench.newman_throughput import COLLECTION, ROWS
from bench.orders_api import OrdersServer, serve
from shared.imports.postman import import_collection
from shared.models.runs import RunStatus
from tests.e2e.conftest import NoBrowser, make_harness

FAILING = [13, 33, 53, 73, 93, 113, 133, 153, 173, 193]


@pytest.fixture(scope="module")
def api() -> Iterator[OrdersServer]:
    with serve(latency_ms=1) as server:
        yield server


def test_the_orders_api_signs_in_places_and_reads_orders(api: OrdersServer) -> None:
    with httpx.Client(base_url=api.url) as client:
        token = client.post("/auth", json={"user": "ann"}).json()["token"]
        assert client.post("/orders", json={"sku": "CHS", "qty": 2}).status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        order = client.post("/orders", json={"sku": "CHS", "qty": 2}, headers=headers)
        assert order.status_code == 201 and order.json()["total"] == 14
        read = client.get(f"/orders/{order.json()['id']}", headers=headers).json()
        assert read["status"] == "open" and read["sku"] == "CHS"
        assert client.post("/orders", json={"sku": "NOPE", "qty": 1}, headers=headers).status_code == 404
        assert client.get("/stock/APL").json()["available"] == 100


async def test_the_collection_translates_whole_and_fails_the_rows_made_to_fail(api: OrdersServer) -> None:
    # Given the bench's collection imported, and its data file
    result = import_collection(json.loads(COLLECTION.read_text()))
    assert [e for e in result.report if e.kind.value == "dropped"] == []
    (test,) = result.tests
    spec = test.test.model_dump(mode="json", exclude_none=True)
    rows = json.loads(ROWS.read_text())
    assert len(rows) == 200

    # When it runs over the 200 rows against the orders API
    h = make_harness(NoBrowser(), api.url)
    before = api.requests
    run = await h.run(spec["steps"], spec={"variables": {"baseUrl": api.url}}, dataset=rows, timeout_s=120)

    # Then the 10 rows that expect a wrong total fail at their order step; the others pass every check
    assert [it.index for it in run.iterations if it.status != RunStatus.passed] == FAILING
    for index in FAILING:
        steps = run.iterations[index].steps
        assert [s.status for s in steps] == ["passed", "failed", "skipped", "skipped"]
        assert "$.total" in (steps[1].error or "")
    assert api.requests - before == 200 * 4 - 2 * len(FAILING)
