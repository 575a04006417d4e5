"""``--wait``'s follow: an ended run's outcome is read while the others still run, not all at the end."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, cast

from rich.console import Console

from cli.client import ApiClient, ServerEvent
from cli.waiting import follow


class SlowTailClient:
    """Run ``a`` ends at once; run ``b`` ends only after ``a``'s outcome (its artifacts) was read."""

    def __init__(self) -> None:
        self.a_read = threading.Event()
        self.b_ended = threading.Event()
        self.reads: list[str] = []
        self.lock = threading.Lock()

    def run_events(self, run_id: str, **_: Any) -> Iterator[ServerEvent]:
        if run_id == "b":
            if not self.a_read.wait(3):
                return  # b's stream ends without a result, as a dropped one: b still runs
            self.b_ended.set()
        yield ServerEvent("status", json.dumps({"status": "passed", "attempt": 1}))

    def get(self, path: str) -> dict[str, Any]:
        with self.lock:
            self.reads.append(path)
        if path.endswith("/artifacts"):
            if path == "/v1/runs/a/artifacts":
                self.a_read.set()
            return {"artifacts": [{"name": "report.html"}]}
        run_id = path.rsplit("/", 1)[-1]
        ended = run_id == "a" or self.b_ended.is_set()
        return {"id": run_id, "status": "passed" if ended else "running", "attempt": 1, "steps": []}


def test_an_ended_runs_outcome_is_read_before_the_last_run_ends() -> None:
    client = SlowTailClient()
    started = [("a.yaml", {"id": "a"}), ("b.yaml", {"id": "b"})]
    outcomes = follow(cast(ApiClient, client), started, console=Console(quiet=True), timeout_s=4, quiet=True)
    assert [(o.label, o.status, o.error) for o in outcomes] == [("a.yaml", "passed", None), ("b.yaml", "passed", None)]
    assert [o.artifacts for o in outcomes] == [[{"name": "report.html"}]] * 2
    assert client.reads.index("/v1/runs/a/artifacts") < client.reads.index("/v1/runs/b")


def test_a_run_still_going_at_the_deadline_says_so_in_order() -> None:
    class NeverEnds(SlowTailClient):
        def run_events(self, run_id: str, **_: Any) -> Iterator[ServerEvent]:
            if run_id == "a":
                yield ServerEvent("status", json.dumps({"status": "passed", "attempt": 1}))
            else:
                threading.Event().wait(3)
                yield ServerEvent("status", json.dumps({"status": "running", "attempt": 1}))

        def get(self, path: str) -> dict[str, Any]:
            if path == "/v1/runs/b":
                return {"id": "b", "status": "running", "attempt": 1, "steps": []}
            return super().get(path)

    started = [("a.yaml", {"id": "a"}), ("b.yaml", {"id": "b"})]
    outcomes = follow(cast(ApiClient, NeverEnds()), started, console=Console(quiet=True), timeout_s=1, quiet=True)
    assert outcomes[0].label == "a.yaml" and outcomes[0].error is None and outcomes[0].status == "passed"
    assert outcomes[1].label == "b.yaml" and outcomes[1].error is not None
    assert "gave up waiting after 1 s: the run is still running" in outcomes[1].error
