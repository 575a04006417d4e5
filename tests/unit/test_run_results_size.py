"""A large data-driven run's results fit its record (DynamoDB's 400 KB item), through the service."""

from __future__ import annotations

import time

from shared.aws.dynamodb import MAX_ITEM_BYTES, _check_size, _item
from shared.models.runs import CheckResult, Iteration, Run, RunCreate, RunStatus, StepResult, StepStatus
from shared.services import results
from shared.services.runs import RunService
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeStore

PROJECT = "prj_a"
ROWS = 1000
STEPS = 4
CHECKS = 5


def _spec(rows: int) -> dict[str, object]:
    steps = [
        {
            "action": "request",
            "url": f"http://127.0.0.1:5000/api/items/{{{{id}}}}?step={n}",
            "expect": [
                {"status": 200},
                {"jsonpath": "$.name", "equals": "{{name}}"},
                {"jsonpath": "$.price", "exists": True},
                {"header": "content-type", "contains": "json"},
                {"expr": "size(body.name) > 0"},
            ],
        }
        for n in range(STEPS)
    ]
    dataset = [{"id": i, "name": f"Item number {i}"} for i in range(rows)]
    return {"spec": {"name": "Big dataset", "kind": "api", "steps": steps, "dataset": dataset}}


def _row(index: int, *, failed: bool) -> Iteration:
    steps = []
    for n in range(STEPS):
        bad = failed and n == 1
        checks = [
            CheckResult(
                check=f'jsonpath $.name equals "Item number {index}" (check {c})',
                passed=not (bad and c == 1),
                expected=f'"Item number {index}"',
                actual=f'"Item number {index + 1 if bad else index}"' + " padding" * 20,
            )
            for c in range(CHECKS)
        ]
        status: StepStatus = "failed" if bad else ("skipped" if failed and n > 1 else "passed")
        steps.append(
            StepResult(
                index=n,
                action="request",
                detail=f"GET http://127.0.0.1:5000/api/items/{index}?step={n}",
                status=status,
                duration_ms=12,
                error=("GET ... -> 200: expected $.name to equal ..." + "x" * 1500) if bad else None,
                checks=[] if status == "skipped" else checks,
                tries=None if status == "skipped" else 1,
            )
        )
    return Iteration(
        index=index,
        variables={"id": index, "name": f"Item number {index}"},
        status=RunStatus.failed if failed else RunStatus.passed,
        steps=steps,
    )


def _stores(run: Run) -> None:
    """The run as DynamoDB would store it passes the adapter's own size check."""
    _check_size(_item({"PK": f"RUN#{run.id}", "SK": "#RUN"}, run, type="run"), "the run")


def _service() -> tuple[RunService, FakeStore, FakeQueue]:
    store, queue = FakeStore(), FakeQueue()
    service = RunService(tests=store, runs=store, queue=queue, events=FakeEvents(), artifacts=FakeArtifacts())
    return service, store, queue


def test_the_budget_is_the_adapters_item_limit() -> None:
    assert results.RUN_ITEM_BYTES == MAX_ITEM_BYTES


def test_a_1000_row_run_of_4_steps_with_5_checks_each_stores() -> None:
    # Given a 1,000-row API run taken by a runner
    service, store, queue = _service()
    run = service.start_run(PROJECT, RunCreate.model_validate(_spec(ROWS)))
    taken = service.take(queue.sent[-1][0])
    assert taken is not None
    # and its rows' results in full (a few did not pass), megabytes of them
    iterations = [_row(i, failed=i % 97 == 5) for i in range(ROWS)]
    full = results.stored_size(
        Run.model_validate(taken.model_dump() | {"iterations": iterations}).model_dump_json().encode()
    )
    assert full > 3 * MAX_ITEM_BYTES

    # When the runner reports progress as rows end, and then the attempt's end
    started = time.perf_counter()
    held = taken
    for done in (100, 400, 700, ROWS):
        held = service.update_progress(held, iterations=iterations[:done])
        _stores(store.get_run(run.id))
    ended = service.end_attempt(held, RunStatus.failed, iterations=iterations, error="dataset rows ... did not pass")
    elapsed = time.perf_counter() - started

    # Then every write fits the item, every row is there with its status
    stored = store.get_run(run.id)
    _stores(stored)
    assert ended.status == RunStatus.failed
    assert [it.index for it in stored.iterations] == list(range(ROWS))
    assert [it.status for it in stored.iterations] == [it.status for it in iterations]
    # and what did not pass is kept first: the first rows that failed have their steps, checks and errors
    failing = [it for it in stored.iterations if it.status != RunStatus.passed]
    assert failing[0].steps[1].status == "failed" and failing[0].steps[1].error
    failed_checks = [c for c in failing[0].steps[1].checks if not c.passed]
    assert len(failed_checks) == 1 and failed_checks[0].expected and failed_checks[0].actual
    # and what passed went first, marked
    assert all(it.trimmed for it in stored.iterations if it.status == RunStatus.passed)
    assert elapsed < 10, f"fitting the results took {elapsed:.1f} s"


def test_a_small_run_keeps_every_check_in_full() -> None:
    service, store, queue = _service()
    run = service.start_run(PROJECT, RunCreate.model_validate(_spec(3)))
    taken = service.take(queue.sent[-1][0])
    assert taken is not None
    iterations = [_row(i, failed=False) for i in range(3)]
    service.end_attempt(taken, RunStatus.passed, iterations=iterations)
    stored = store.get_run(run.id)
    assert stored.iterations == iterations
    assert not any(it.trimmed for it in stored.iterations)
    assert stored.iterations[0].steps[0].checks[0].actual is not None
