"""``autotest local`` in-process (no browser: no workers) and as a process: restart keeps the data,
pending runs are re-enqueued, the SSE stream ends with the terminal status, Ctrl-C stops cleanly."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from cli.client import parse_sse
from cli.local.mode import LOCAL_STREAMS_PER_PROJECT, LocalInfo, LocalModeError, LocalModeThread, LocalOptions
from examples.webapp import serve
from shared.models.messages import RunMessage
from shared.models.runs import RunStatus, StepResult
from shared.settings import Settings
from tests.conftest import free_port

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


def saved_test_ids(info: LocalInfo) -> list[str]:
    with api(info) as http:
        return sorted(t["id"] for t in http.get("/v1/tests").json()["items"])


def create_tests(info: LocalInfo, *names: str) -> list[str]:
    with api(info) as http:
        return [http.post("/v1/tests", json=TEST | {"name": name}).json()["id"] for name in names]


def snapshot_dirs(state: Path) -> list[Path]:
    return sorted(p for p in state.glob("snapshot-*") if p.is_dir() and p.name[len("snapshot-") :].isdigit())


def test_a_torn_last_journal_line_loses_nothing_that_was_acknowledged(start_local: Starter, tmp_path: Path) -> None:
    # Given a local mode that saved two tests, then died in the middle of appending a third write
    first, info = start_local()
    ids = create_tests(info, "one", "two")
    first.stop()
    journal = tmp_path / "data" / "state" / "journal"
    current = sorted(journal.glob("*.jsonl"))[-1]
    with current.open("ab") as out:
        out.write(b'1234abcd {"op":"PutItem","params":{"Item":{"PK":{"S":"PROJ')

    # When it starts again
    second, again = start_local()

    # Then the torn line is dropped and said so, everything acknowledged is there, and writes go on
    assert again.damaged == ()
    assert any("cut short" in note for note in again.notes), again.notes
    assert saved_test_ids(again) == sorted(ids)
    ids += create_tests(again, "three")
    second.stop()
    _, third = start_local()
    assert (third.damaged, third.notes) == ((), ())
    assert saved_test_ids(third) == sorted(ids)


def test_a_damaged_snapshot_falls_back_to_the_one_before_and_the_journal(start_local: Starter, tmp_path: Path) -> None:
    # Given two snapshots, with a test written before each
    first, info = start_local()
    ids = create_tests(info, "before the first snapshot")
    assert first.mode._state is not None
    assert first.mode._state.snapshot()
    ids += create_tests(info, "before the second snapshot")
    first.stop()
    state = tmp_path / "data" / "state"
    newest = snapshot_dirs(state)[-1]
    assert len(snapshot_dirs(state)) == 2
    # When the newest snapshot's table is cut in half (a disk that lied), and a snapshot was cut short
    table = newest / "table.jsonl"
    table.write_bytes(table.read_bytes()[: len(table.read_bytes()) // 2])
    (state / ".snapshot-tmp-cafe0001").mkdir()
    (state / ".snapshot-tmp-cafe0001" / "table.jsonl").write_text("{")

    # Then local mode says so, keeps it aside, and loses nothing: the snapshot before and the journal after it
    second, again = start_local()
    assert any("does not match its checksums" in line for line in again.damaged), again.damaged
    assert len(list(state.glob("snapshot-*.damaged-*"))) == 1
    assert not list(state.glob(".snapshot-tmp-*"))
    assert saved_test_ids(again) == sorted(ids)
    second.stop()
    _, third = start_local()
    assert third.damaged == ()  # the snapshot after the repair is whole
    assert saved_test_ids(third) == sorted(ids)


def test_with_no_whole_snapshot_what_can_be_read_is_kept(start_local: Starter, tmp_path: Path) -> None:
    # Given one snapshot holding two tests and an empty journal after it
    first, info = start_local()
    ids = create_tests(info, "one", "two")
    first.stop()
    state = tmp_path / "data" / "state"
    for older in snapshot_dirs(state)[:-1]:
        shutil.rmtree(older)
    only = snapshot_dirs(state)[-1]
    # When its table gets a torn line and its meta.json is garbage
    (only / "table.jsonl").write_bytes((only / "table.jsonl").read_bytes() + b'{"PK": {"S": "PROJECT#default"}, "SK"')
    (only / "meta.json").write_text("{not json")

    # Then every readable item is back, the damage is reported, the damaged snapshot kept aside
    second, again = start_local()
    assert any("no whole snapshot" in line for line in again.damaged), again.damaged
    assert saved_test_ids(again) == sorted(ids)
    second.stop()
    _, third = start_local()
    assert third.damaged == ()
    assert saved_test_ids(third) == sorted(ids)


def test_the_first_release_format_is_read_once_damage_and_all(start_local: Starter, tmp_path: Path) -> None:
    # Given the state files of the first release (table.jsonl, objects.json, objects/), one line torn
    first, info = start_local()
    ids = create_tests(info, "old one", "old two")
    services = first.mode.services
    assert services is not None
    table = first.mode._state._table.dump()  # type: ignore[union-attr]
    first.stop()
    data = tmp_path / "data"
    shutil.rmtree(data / "state")
    state = data / "state"
    (state / "objects" / "runs" / "default" / "x").mkdir(parents=True)
    (state / "objects" / "runs" / "default" / "x" / "report.html").write_bytes(b"<h1>old report</h1>")
    lines = [json.dumps(item) for item in table]
    (state / "table.jsonl").write_text("\n".join(lines) + '\n{"PK": {"S": "PROJECT#default"}, "SK": {"S": "TE')
    index = {"runs/default/x/report.html": {"file": "runs/default/x/report.html", "content_type": "text/html"}}
    (state / "objects.json").write_text(json.dumps(index))

    # When the new version starts on it
    second, again = start_local()

    # Then it reads what can be read, says what it skipped, and moves the old files aside
    assert any("1 damaged lines of table.jsonl" in line for line in again.damaged), again.damaged
    assert saved_test_ids(again) == sorted(ids)
    services = second.mode.services
    assert services is not None
    assert services.artifacts.get("runs/default/x/report.html") == b"<h1>old report</h1>"
    assert (state / "format-1.old" / "objects.json").is_file()
    assert not (state / "table.jsonl").exists()
    second.stop()
    _, third = start_local()
    assert third.damaged == ()
    assert saved_test_ids(third) == sorted(ids)


def test_a_failed_restore_never_overwrites_the_data_directory(tmp_path: Path) -> None:
    from cli.local.persistence import LocalState

    class BrokenTable:
        def batch_write_item(self, **_: Any) -> Any:
            raise RuntimeError("the emulator refused the items")

    state_dir = tmp_path / "state" / "snapshot-000000000003"
    state_dir.mkdir(parents=True)
    saved = b'{"PK": {"S": "PROJECT#p"}, "SK": {"S": "#PROJECT"}}\n'
    (state_dir / "table.jsonl").write_bytes(saved)
    (state_dir / "objects.json").write_bytes(b"{}")
    meta = {"format": 2, "seq": 3, "table_sha256": hashlib.sha256(saved).hexdigest()}
    (state_dir / "meta.json").write_text(json.dumps(meta | {"objects_sha256": hashlib.sha256(b"{}").hexdigest()}))
    state = LocalState(tmp_path, clients=lambda service: BrokenTable(), table="t", bucket="b")
    with pytest.raises(RuntimeError):
        state.restore()
    assert state.snapshot() is False  # the stop after a failed start writes nothing
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["snapshot-000000000003"]
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


def test_a_project_may_follow_a_directory_of_runs_with_streams_unless_told_otherwise(
    start_local: Starter, tmp_path: Path
) -> None:
    # autotest run DIR --wait opens a stream per run: local mode allows more than the API's default of 20 ...
    mode, _ = start_local()
    assert mode.mode.settings is not None
    assert (
        mode.mode.settings.event_streams_per_project == LOCAL_STREAMS_PER_PROJECT > Settings().event_streams_per_project
    )
    mode.stop()

    # ... unless the setting is given
    options = LocalOptions(
        port=0,
        example_port=None,
        data_dir=tmp_path / "other",
        workers={},
        base_settings=unique_settings().model_copy(update={"event_streams_per_project": 7}),
    )
    given = LocalModeThread(options)
    try:
        given.start()
        assert given.mode.settings is not None
        assert given.mode.settings.event_streams_per_project == 7
    finally:
        given.stop()


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
    assert "autotest local stopped; state saved" in text
    newest = snapshot_dirs(data / "state")[-1]
    assert created.json()["id"] in (newest / "table.jsonl").read_text()


def _start_process(data: Path, root: Path, port: int = 0) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """`autotest local` as a process; returns it and its config.json once it answers."""
    config = data / "config.json"
    config.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTEST_")}
    command = [sys.executable, "-m", "cli.main", "local", "--port", str(port), "--no-example", "--data-dir", str(data)]
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
    # Given `autotest local` ran an API test (against an app on this machine) and printed its report's link
    root = Path(__file__).resolve().parents[2]
    data, port = tmp_path / "data", free_port()
    process, config = _start_process(data, root, port)
    try:
        with serve() as app:
            headers = {"X-API-Key": config["api_key"]}
            step = {"action": "request", "url": f"{app.url}/api/items", "expect": [{"status": 200}]}
            spec = {"name": "items", "kind": "api", "steps": [step]}
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
        assert url.startswith(f"{config['api_url']}/v1/artifacts/")  # served by the API: no emulator port
        before = httpx.get(url, timeout=10)
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/html")
    finally:
        first_output = _stop_process(process)
    assert "autotest local stopped; state saved" in first_output, first_output

    # When it starts again on the same port (a new process: nothing left in memory)
    process, config = _start_process(data, root, port)
    try:
        # Then the link from before still opens the report (the signing key is kept in the data directory)
        after = httpx.get(url, timeout=10)
    finally:
        _stop_process(process)
    assert after.status_code == 200, after.text[:300]
    assert after.content == before.content
    assert (data / "artifact-links.key").stat().st_mode & 0o777 == 0o600


def _run_with_artifacts(mode: LocalModeThread, info: LocalInfo) -> str:
    """A passed run of the bootstrap project with a report and a screenshot it links to."""
    from shared.models.runs import ArtifactRef, artifact_prefix

    with api(info) as http:
        run = http.post("/v1/runs", json={"spec": {"name": "inline", "steps": TEST["steps"]}}).json()
    services = mode.mode.services
    assert services is not None
    taken = services.runs.take(RunMessage(run_id=run["id"], project_id="default", attempt=1))
    assert taken is not None
    prefix = artifact_prefix("default", run["id"], 1)
    files: dict[str, tuple[bytes, str, Literal["report", "screenshot"]]] = {
        "report.html": (b'<img src="screenshots/step-001.png">', "text/html; charset=utf-8", "report"),
        "screenshots/step-001.png": (b"\x89PNG fake", "image/png", "screenshot"),
    }
    refs = []
    for name, (data, content_type, kind) in files.items():
        services.artifacts.put(f"{prefix}/{name}", data, content_type=content_type)
        refs.append(
            ArtifactRef(name=name, kind=kind, key=f"{prefix}/{name}", size=len(data), content_type=content_type)
        )
    services.runs.transition(taken, RunStatus.passed, artifacts=refs)
    return str(run["id"])


def test_artifact_links_open_that_runs_artifacts_and_nothing_else(start_local: Starter) -> None:
    # Given a run with a report and a screenshot, and a second project with its own key
    mode, info = start_local()
    run_id = _run_with_artifacts(mode, info)
    with api(info) as http:
        other_key = http.post("/v1/projects", json={"name": "other"}).json()["api_key"]
        listed = {a["name"]: a for a in http.get(f"/v1/runs/{run_id}/artifacts").json()["artifacts"]}
    report_url = listed["report.html"]["url"]
    base, token = f"{info.api_url}/v1/artifacts", report_url.split("/v1/artifacts/", 1)[1].split("/", 1)[0]

    with httpx.Client(timeout=10) as anonymous:  # a browser: no API key
        # Then the link opens the bytes, with the stored content type; the report's relative link works too
        report = anonymous.get(report_url)
        assert (report.status_code, report.content) == (200, b'<img src="screenshots/step-001.png">')
        assert report.headers["content-type"] == "text/html; charset=utf-8"
        picture = anonymous.get(f"{report_url.rsplit('/', 1)[0]}/screenshots/step-001.png")
        assert (picture.status_code, picture.headers["content-type"]) == (200, "image/png")
        # a junk or tampered signature is refused; a name that is not one of the run's artifacts is not found
        assert anonymous.get(f"{base}/junk.sig/report.html").status_code == 403
        # a character in the middle of the signature: the last one of base64 carries padding bits, and changing
        # it may not change the bytes it decodes to ('B' -> 'A' with the low bits unused), a flaky test
        middle = len(token) - 5
        flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
        assert anonymous.get(f"{base}/{flipped}/report.html").status_code == 403
        for name in ("nope.png", "%2e%2e/attempt-2/report.html", "screenshots", "", "%2e%2e/%2e%2e/config.json"):
            assert anonymous.get(f"{base}/{token}/{name}").status_code == 404, name
        assert anonymous.get(f"{base}/{token}/../../runs/{run_id}").status_code in (401, 403, 404)
        # a link signed with any other key is refused (the key never leaves the data directory)
        from itsdangerous import URLSafeSerializer

        forged = URLSafeSerializer(b"x" * 32, salt="autotest.artifact-link.v1").dumps(
            {"p": "default", "r": run_id, "a": 1, "e": int(time.time()) + 600}
        )
        assert anonymous.get(f"{base}/{forged}/report.html").status_code == 403

    # And the second project's key cannot list the first project's run's artifacts
    with httpx.Client(base_url=info.api_url, headers={"X-API-Key": other_key}, timeout=10) as other:
        assert other.get(f"/v1/runs/{run_id}/artifacts").status_code == 404
        own = other.post("/v1/runs", json={"spec": {"name": "mine", "steps": TEST["steps"]}}).json()
        assert other.get(f"/v1/runs/{own['id']}/artifacts").status_code == 200  # its own run's (none yet, or some)


def test_local_mode_and_the_test_suites_moto_server_never_wipe_each_other(
    start_local: Starter, aws_settings: Settings
) -> None:
    # Given an item on the test suite's moto server (which shares moto's process-wide state)
    from shared.aws.clients import client

    db = client("dynamodb", aws_settings.aws_region, aws_settings.aws_endpoint_url)
    item = {"PK": {"S": "PROJECT#kept"}, "SK": {"S": "#PROJECT"}}
    db.put_item(TableName=aws_settings.table_name, Item=item)

    # When local mode (moto in-process) starts, writes, and stops
    mode, info = start_local()
    ids = create_tests(info, "local")
    mode.stop()

    # Then the server's item is still there, and a local mode started meanwhile kept its own data
    assert db.get_item(TableName=aws_settings.table_name, Key=item)["Item"] == item
    _, again = start_local()
    assert saved_test_ids(again) == ids
    assert db.get_item(TableName=aws_settings.table_name, Key=item)["Item"] == item


def test_a_damaged_artifact_is_said_at_start_and_never_served_cut_short(start_local: Starter, tmp_path: Path) -> None:
    # Given a run with a report, and local mode stopped
    mode, info = start_local()
    run_id = _run_with_artifacts(mode, info)
    mode.stop()
    # When the report's file is cut short on disk (a disk error, a careless hand)
    blobs = tmp_path / "data" / "state" / "blobs"
    report = next(p for p in blobs.iterdir() if p.read_bytes().startswith(b"<img"))
    report.write_bytes(report.read_bytes()[:5])

    # Then the next start says which artifact is damaged, and its link does not answer the cut bytes
    _, again = start_local()
    assert any("artifact runs/default/" in line and "report.html is not restored" in line for line in again.damaged)
    with api(again) as http:
        links = {a["name"]: a["url"] for a in http.get(f"/v1/runs/{run_id}/artifacts").json()["artifacts"]}
        assert http.get(links["report.html"]).status_code == 404
        assert http.get(links["screenshots/step-001.png"]).content == b"\x89PNG fake"


def test_a_damaged_config_never_changes_the_api_key_silently(start_local: Starter, tmp_path: Path) -> None:
    mode, info = start_local()
    mode.stop()
    config = tmp_path / "data" / "config.json"
    config.write_text('{"api_url":')

    with pytest.raises(LocalModeError, match="holds no readable API key"):
        start_local()

    config.unlink()
    _, again = start_local()
    assert again.api_key != info.api_key  # a new key, as asked by removing the file
