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


class SuiteClient:
    """A suite run of two children polled three times: ``r1`` ends first, ``r2`` on the last read."""

    def __init__(self) -> None:
        self.states = [
            [("r1", "passed"), ("r2", "running")],
            [("r1", "passed"), ("r2", "running")],
            [("r1", "passed"), ("r2", "failed")],
        ]
        self.polls = 0
        self.reads: list[tuple[str, int]] = []  # (path, suite run polls so far)

    def suite_run(self) -> dict[str, Any]:
        children = self.states[min(self.polls, len(self.states) - 1)]
        done = all(status != "running" for _, status in children)
        return {
            "id": "sr",
            "status": "failed" if done else "running",
            "children": [
                {"index": i, "run_id": run_id, "test_id": f"t{i}", "status": status}
                for i, (run_id, status) in enumerate(children)
            ],
        }

    def get(self, path: str) -> dict[str, Any]:
        if path == "/v1/suite-runs/sr":
            self.polls += 1
            return self.suite_run()
        self.reads.append((path, self.polls))
        run_id = path.rsplit("/", 1)[-1]
        status = dict(self.states[min(self.polls, len(self.states) - 1)])[run_id]
        return {"id": run_id, "status": status}


def test_a_suite_runs_child_is_read_when_it_ends_and_again_only_if_it_changed(monkeypatch: Any) -> None:
    from cli.commands import suites

    monkeypatch.setattr(suites, "POLL_S", 0.01)
    client = SuiteClient()
    state = cast(Any, type("State", (), {"console": Console(quiet=True)})())
    child_runs = suites.ChildRuns(cast(ApiClient, client), wanted=True)
    final, timed_out = suites._follow(
        state, cast(ApiClient, client), client.suite_run(), 10, quiet=True, ended=child_runs.ended
    )
    runs = child_runs.of(final)
    assert not timed_out and final["status"] == "failed"
    assert runs == {"r1": {"id": "r1", "status": "passed"}, "r2": {"id": "r2", "status": "failed"}}
    # r1 read once, before the suite run's last poll; r2 once, when it showed ended
    assert [path for path, _ in client.reads].count("/v1/runs/r1") == 1
    assert [path for path, _ in client.reads].count("/v1/runs/r2") == 1
    assert dict(client.reads)["/v1/runs/r1"] < 2


def test_a_suite_runs_children_are_not_read_when_nothing_wants_them() -> None:
    from cli.commands import suites

    client = SuiteClient()
    client.polls = 2
    child_runs = suites.ChildRuns(cast(ApiClient, client), wanted=False)
    child_runs.ended({"run_id": "r1", "status": "passed"})
    assert child_runs.of(client.suite_run()) == {}
    assert client.reads == []


def test_a_child_run_whose_early_read_failed_is_read_again_at_the_end() -> None:
    from cli.client import CliError
    from cli.commands import suites

    class FlakyOnce(SuiteClient):
        failed = False

        def get(self, path: str) -> dict[str, Any]:
            if path == "/v1/runs/r1" and not self.failed:
                self.failed = True
                raise CliError("503: try again")
            return super().get(path)

    client = FlakyOnce()
    client.polls = 2
    child_runs = suites.ChildRuns(cast(ApiClient, client), wanted=True)
    final = client.suite_run()
    child_runs.ended(final["children"][0])
    child_runs.reads["r1"][1].exception(timeout=5)  # the early read failed
    assert child_runs.of(final)["r1"] == {"id": "r1", "status": "passed"}


def test_background_reads_run_at_most_limit_at_once_in_daemon_threads() -> None:
    from cli.waiting import BackgroundReads

    reads = BackgroundReads(2)
    lock, running, most = threading.Lock(), [0], [0]
    release = threading.Event()
    daemons: list[bool] = []

    def read(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            daemons.append(threading.current_thread().daemon)
        release.wait(5)
        with lock:
            running[0] -= 1
        if n == 3:
            raise ValueError("three")
        return n * 10

    futures = [reads.submit(read, n) for n in range(5)]
    threading.Event().wait(0.2)
    release.set()
    assert [f.result(5) for f in futures if f is not futures[3]] == [0, 10, 20, 40]
    assert isinstance(futures[3].exception(5), ValueError)
    assert most[0] == 2 and all(daemons)
