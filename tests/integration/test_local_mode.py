"""``autotest local`` in-process (no browser: no workers) and as a process: restart keeps the data,
pending runs are re-enqueued, the SSE stream ends with the terminal status, Ctrl-C stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.client import parse_sse
from cli.local.mode import LocalInfo, LocalModeError, LocalModeThread, LocalOptions
from shared.models.messages import RunMessage
from shared.models.runs import RunStatus, StepResult
from shared.settings import Settings

TEST = {"name": "Saved test", "tags": ["kept"], "steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}


def unique_settings() -> Settings:
    """Fresh resource names: a restart in the same process must find its data on disk, not in moto's memory."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        table_name=f"local-{suffix}",
        run_queue_name=f"local-runs-{suffix}",
        run_dlq_name=f"local-dlq-{suffix}",
        artifact_bucket=f"local-artifacts-{suffix}",
        event_bus_name=f"local-bus-{suffix}",
    )


Starter = Callable[..., tuple[LocalModeThread, LocalInfo]]


@pytest.fixture
def start_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Starter]:
    monkeypatch.delenv("AUTOTEST_API_KEY", raising=False)
    started: list[LocalModeThread] = []

    def start(**options_: Any) -> tuple[LocalModeThread, LocalInfo]:
        options = LocalOptions(
            port=0,
            example_port=None,
            data_dir=tmp_path / "data",
            workers={},
            snapshot_interval_s=1,
            base_settings=unique_settings(),
            **options_,
        )
        thread = LocalModeThread(options)
        started.append(thread)
        return thread, thread.start()

    yield start
    for thread in started:
        thread.stop()


def api(info: LocalInfo) -> httpx.Client:
    return httpx.Client(base_url=info.api_url, headers={"Authorization": f"Bearer {info.api_key}"}, timeout=10)


def test_a_restart_keeps_tests_runs_artifacts_and_requeues_pending_runs(start_local: Starter, tmp_path: Path) -> None:
    # Given a local mode with a test, a queued run, a run in the middle of executing, and an artifact
    first, info = start_local()
    with api(info) as http:
        test = http.post("/v1/tests", json=TEST).json()
        queued = http.post("/v1/runs", json={"test_id": test["id"]}).json()
        running = http.post("/v1/runs", json={"test_id": test["id"]}).json()
    services = first.mode.services
    assert services is not None
    taken = services.runs.take(RunMessage(run_id=running["id"], project_id="default", attempt=1))
    assert taken is not None
    services.runs.update_progress(taken, steps=[StepResult(index=0, action="goto", status="passed")])
    services.artifacts.put("runs/default/x/report.html", b"<h1>report</h1>", content_type="text/html")

    # When it stops (a snapshot) and starts again on new, empty resources
    first.stop()
    second, again = start_local()

    # Then everything is back, under the same API key
    assert again.api_key == info.api_key
    assert (again.restored_items, again.restored_objects, again.requeued_runs) >= (4, 1, 2)
    with api(again) as http:
        tests = http.get("/v1/tests").json()["items"]
        assert [(t["id"], t["tags"]) for t in tests] == [(test["id"], ["kept"])]
        assert http.get(f"/v1/runs/{queued['id']}").json()["status"] == "queued"
        back = http.get(f"/v1/runs/{running['id']}").json()
        assert (back["status"], back["attempt"], back["steps"]) == ("queued", 2, [])  # a new attempt, which says why
        assert [(i["attempt"], i["reason"]) for i in back["interruptions"]] == [
            (1, "local mode restarted while it ran")
        ]
    services = second.mode.services
    assert services is not None
    assert services.artifacts.get("runs/default/x/report.html") == b"<h1>report</h1>"
    messages = services.queue.receive(max_messages=10, wait_s=1)
    received = sorted((json.loads(m.body)["run_id"], json.loads(m.body)["attempt"]) for m in messages)
    assert received == sorted([(queued["id"], 1), (running["id"], 2)])
    config = json.loads((tmp_path / "data" / "config.json").read_text())
    assert config == {"api_url": again.api_url, "api_key": again.api_key}


def test_a_damaged_snapshot_loses_nothing_that_can_be_read(start_local: Starter, tmp_path: Path) -> None:
    # Given a local mode that saved two tests
    first, info = start_local()
    with api(info) as http:
        ids = [http.post("/v1/tests", json=TEST | {"name": f"test {i}"}).json()["id"] for i in range(2)]
    first.stop()
    state = tmp_path / "data" / "state"
    table = state / "table.jsonl"
    # When the table file gets a torn line and the artifact index is garbage
    table.write_bytes(table.read_bytes() + b'{"PK": {"S": "PROJECT#default"}, "SK": {"S": "TE')
    (state / "objects.json").write_text("{not json")

    # Then local mode starts, says what it skipped, keeps the damaged files aside
    second, again = start_local()
    assert any("damaged lines of table.jsonl" in line for line in again.damaged), again.damaged
    assert any("objects.json could not be read" in line for line in again.damaged), again.damaged
    assert len(list(state.glob("table.jsonl.damaged-*"))) == 1
    assert len(list(state.glob("objects.json.damaged-*"))) == 1
    # and every readable test is still there, and stays there after the next snapshot
    with api(again) as http:
        assert sorted(t["id"] for t in http.get("/v1/tests").json()["items"]) == sorted(ids)
    second.stop()
    _, third = start_local()
    assert third.damaged == ()  # the snapshot after the repair wrote clean files
    with api(third) as http:
        assert sorted(t["id"] for t in http.get("/v1/tests").json()["items"]) == sorted(ids)


def test_a_failed_restore_never_overwrites_the_data_directory(tmp_path: Path) -> None:
    from cli.local.persistence import LocalState

    class BrokenTable:
        def load(self, items: list[dict[str, Any]]) -> int:
            raise RuntimeError("the emulator refused the items")

        def dump(self) -> list[dict[str, Any]]:
            return []

    class EmptyBucket:
        def list(self) -> list[Any]:
            return []

    state_dir = tmp_path / "state"
    state_dir.mkdir()
    saved = b'{"PK": {"S": "PROJECT#p"}, "SK": {"S": "#PROJECT"}}\n'
    (state_dir / "table.jsonl").write_bytes(saved)
    state = LocalState(tmp_path, BrokenTable(), EmptyBucket())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        state.restore()
    assert state.snapshot() == (False, 0)  # the stop after a failed start writes nothing
    assert (state_dir / "table.jsonl").read_bytes() == saved


def test_the_event_stream_ends_with_the_terminal_status(start_local: Starter) -> None:
    # Given a queued run and a client following its events
    mode, info = start_local()
    with api(info) as http:
        run = http.post("/v1/runs", json={"spec": {"name": "inline", "steps": TEST["steps"]}}).json()
    services = mode.mode.services
    assert services is not None

    def execute() -> None:
        time.sleep(0.5)
        taken = services.runs.take(RunMessage(run_id=run["id"], project_id="default", attempt=1))
        assert taken is not None
        step = StepResult(index=0, action="goto", status="passed", duration_ms=3)
        taken = services.runs.update_progress(taken, steps=[step])
        time.sleep(0.6)
        services.runs.transition(taken, RunStatus.passed)

    # When a "runner" executes it
    worker = threading.Thread(target=execute)
    worker.start()
    with api(info) as http, http.stream("GET", f"/v1/runs/{run['id']}/events", timeout=20) as response:
        events = list(parse_sse(response.iter_lines()))
    worker.join()

    # Then the stream shows every transition and the step, and ends after "passed"
    seen = [(e.event, json.loads(e.data).get("status") or json.loads(e.data)["step"]["index"]) for e in events]
    assert seen == [("status", "queued"), ("status", "running"), ("step", 0), ("status", "passed")]
    assert mode.mode.hub.subscriber_count == 0


def test_one_local_mode_per_data_directory(start_local: Starter) -> None:
    start_local()
    with pytest.raises(LocalModeError, match="another `autotest local` is using"):
        start_local()


def test_ctrl_c_stops_the_process_cleanly(tmp_path: Path) -> None:
    # Given `autotest local` started as a process
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTEST_")}
    command = [sys.executable, "-m", "cli.main", "local", "--port", "0", "--example-port", "0"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        config = data / "config.json"
        deadline = time.monotonic() + 60
        while not config.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert config.exists(), process.stdout.read().decode() if process.stdout else ""
        settings: dict[str, Any] = json.loads(config.read_text())
        headers = {"X-API-Key": settings["api_key"]}
        created = httpx.post(f"{settings['api_url']}/v1/tests", json=TEST, headers=headers, timeout=10)
        assert created.status_code == 201

        # When it gets Ctrl-C
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Then it exits 0 after saving its state
    text = output.decode()
    assert process.returncode == 0, text
    assert "API key" in text and settings["api_key"] in text
    assert "state saved" in text
    assert created.json()["id"] in (data / "state" / "table.jsonl").read_text()


def aws_port(info: LocalInfo) -> int:
    return int(info.aws_endpoint.rsplit(":", 1)[1])


def test_the_aws_port_moves_when_the_saved_one_is_taken(start_local: Starter, tmp_path: Path) -> None:
    # Given a local mode that ran once (its AWS port saved in local.json), and that port now taken
    first, info = start_local()
    saved = json.loads((tmp_path / "data" / "local.json").read_text())
    assert saved == {"aws_port": aws_port(info)}
    first.stop()
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", aws_port(info)))
        blocker.listen()

        # When it starts again
        second, again = start_local()

        # Then it takes another port, says so, and remembers the new one
        assert aws_port(again) != aws_port(info)
        assert any(f"port {aws_port(info)} of the AWS emulator is in use" in note for note in again.notes)
        assert json.loads((tmp_path / "data" / "local.json").read_text()) == {"aws_port": aws_port(again)}
        second.stop()

        # and --aws-port N is that port or an error
        with pytest.raises(LocalModeError, match=f"cannot listen on 127.0.0.1:{aws_port(info)} .*--aws-port"):
            start_local(aws_port=aws_port(info))


def test_aws_port_zero_takes_any_port(start_local: Starter, tmp_path: Path) -> None:
    first, info = start_local()
    first.stop()
    (tmp_path / "data" / "local.json").write_text(json.dumps({"aws_port": aws_port(info)}))

    _, again = start_local(aws_port=0)

    assert again.notes == ()
    assert json.loads((tmp_path / "data" / "local.json").read_text()) == {"aws_port": aws_port(again)}


def _start_process(data: Path, root: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """`autotest local` as a process; returns it and its config.json once it answers."""
    config = data / "config.json"
    config.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTEST_")}
    command = [sys.executable, "-m", "cli.main", "local", "--port", "0", "--no-example", "--data-dir", str(data)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=root)
    deadline = time.monotonic() + 60
    while not config.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not config.exists():
        _stop_process(process)
        raise AssertionError(process.stdout.read().decode() if process.stdout else "no config.json")
    return process, json.loads(config.read_text())


def _stop_process(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output.decode(errors="replace")


def test_artifact_links_keep_working_across_a_restart(tmp_path: Path) -> None:
    # Given `autotest local` ran an API test (against its own /healthz) and printed its report's link
    root = Path(__file__).resolve().parents[2]
    data = tmp_path / "data"
    process, config = _start_process(data, root)
    try:
        headers = {"X-API-Key": config["api_key"]}
        step = {"action": "request", "url": f"{config['api_url']}/healthz", "expect": [{"status": 200}]}
        spec = {"name": "health", "kind": "api", "steps": [step]}
        run = httpx.post(f"{config['api_url']}/v1/runs", json={"spec": spec}, headers=headers, timeout=10).json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = httpx.get(f"{config['api_url']}/v1/runs/{run['id']}", headers=headers, timeout=10).json()
            if status["status"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert status["status"] == "passed", status
        listed = httpx.get(f"{config['api_url']}/v1/runs/{run['id']}/artifacts", headers=headers, timeout=10)
        url = next(a["url"] for a in listed.json()["artifacts"] if a["name"] == "report.html")
        before = httpx.get(url, timeout=10)
        assert before.status_code == 200
        port = json.loads((data / "local.json").read_text())["aws_port"]
        assert f"127.0.0.1:{port}/" in url
    finally:
        first_output = _stop_process(process)
    assert "state saved" in first_output, first_output

    # When it starts again (a new process: nothing left in memory)
    process, config = _start_process(data, root)
    try:
        # Then the AWS emulator is on the same port and the link from before still opens the report
        after = httpx.get(url, timeout=10)
        assert json.loads((data / "local.json").read_text())["aws_port"] == port
    finally:
        second_output = _stop_process(process)
    assert after.status_code == 200, after.text[:300]
    assert after.content == before.content
    assert f"AWS       http://127.0.0.1:{port}" in second_output
