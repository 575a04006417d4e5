"""The notifier end to end on moto, against real receivers on 127.0.0.1: a run's end goes through EventBridge's
rule to the notifier's queue, the local notifier worker sends signed webhooks and Slack messages; a receiver
that answers 500 is retried and recorded, one that hangs times out without holding up the others or any run;
and ``autotest local`` (its notifier worker) sends a signed failure, then the recovery."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.local.mode import LocalModeThread, LocalOptions
from cli.local.notifier import NotifierWorker
from cli.local.workers import LocalContext, notifier_worker
from shared.aws.factory import build_services
from shared.models.messages import RunMessage
from shared.models.notifications import NotificationCreate
from shared.models.runs import RunCreate, RunStatus, StepResult
from shared.models.tests import TestCreate
from shared.netguard import NetworkGuard
from shared.notify.sender import WebhookSender
from shared.notify.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify_signature
from shared.services.container import Services
from shared.settings import Settings
from shared.wording import seconds

HANG_S = 2.0


class Receiver:
    """Records what it gets, per path: ``/ok`` 204, ``/slack`` 200 "ok", ``/fail`` 500, ``/hang`` no answer for
    a long time, ``/redirect`` 302 to ``/ok``."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.got.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "at": time.monotonic()}
                    )
                if self.path == "/hang":
                    time.sleep(HANG_S * 4)
                    return
                status = {"/ok": 204, "/slack": 200, "/fail": 500, "/redirect": 302}.get(self.path, 404)
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/ok")
                answer = b"ok" if status == 200 else b"boom" if status == 500 else b""
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [g for g in self.got if g["path"] == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()


def loopback_guard() -> NetworkGuard:
    return NetworkGuard.from_setting("127.0.0.0/8")


# ------------------------------------------------------------------------------------------ the sender


def test_the_sender_against_a_real_receiver(receiver: Receiver) -> None:
    send = WebhookSender(loopback_guard, timeout_s=1.0)
    ok = send.post(f"{receiver.url}/ok", '{"a":1}', {SIGNATURE_HEADER: "t=1,v1=x"})
    assert (ok.delivered, ok.http_status) == (True, 204)
    assert receiver.at("/ok")[0]["body"] == b'{"a":1}'
    assert receiver.at("/ok")[0]["headers"]["Content-Type"] == "application/json"

    failed = send.post(f"{receiver.url}/fail", "{}", {})
    assert (failed.delivered, failed.retryable, failed.http_status) == (False, True, 500)
    assert failed.error == "the receiver answered 500: boom"

    moved = send.post(f"{receiver.url}/redirect", "{}", {})
    assert (moved.delivered, moved.retryable, moved.http_status) == (False, False, 302)
    assert len(receiver.at("/ok")) == 1  # not followed

    started = time.monotonic()
    hung = send.post(f"{receiver.url}/hang", "{}", {})
    assert time.monotonic() - started < 1.8
    assert (hung.delivered, hung.retryable, hung.error) == (False, True, f"no answer within {seconds(1.0)}")

    refused = WebhookSender(lambda: NetworkGuard.from_setting(""), timeout_s=1.0).post(f"{receiver.url}/ok", "{}", {})
    assert (refused.delivered, refused.retryable) == (False, False)
    assert "private address" in (refused.error or "") or "loopback" in (refused.error or "")
    assert len(receiver.at("/ok")) == 1


# ------------------------------------------------------------------------------------------ end to end


@pytest.fixture
def services(aws_settings: Settings) -> Services:
    settings = aws_settings.model_copy(
        update={
            "network_allowlist": "127.0.0.0/8",
            "notify_timeout_s": HANG_S,
            "notify_backoff_s": 0,
            "notify_max_attempts": 3,
            "public_url": "http://127.0.0.1:8000",
        }
    )
    return build_services(settings)


@pytest.fixture
def notifier(services: Services, aws_settings: Settings, tmp_path: Path) -> Iterator[None]:
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    worker = NotifierWorker(LocalContext(settings=aws_settings, services=services, data_dir=tmp_path), wait_s=1)
    thread = threading.Thread(target=loop.run_until_complete, args=(worker.run(stop),), daemon=True)
    thread.start()
    yield
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=30)


def wait_for(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def end_run(services: Services, test_id: str, status: RunStatus) -> tuple[str, float]:
    run = services.runs.start_run("default", RunCreate(test_id=test_id))
    taken = services.runs.take(RunMessage(run_id=run.id, project_id="default", attempt=1))
    assert taken is not None
    steps = [StepResult(index=0, action="expect_text", detail="Welcome", status="failed", error="text not found")]
    started = time.monotonic()
    services.runs.end_attempt(taken, status, steps=steps if status != RunStatus.passed else [])
    return run.id, time.monotonic() - started


def create(services: Services, **fields: Any) -> Any:
    assert services.notifications is not None
    return services.notifications.create("default", NotificationCreate.model_validate(fields))


def test_a_failure_then_the_recovery_reach_the_receivers_and_a_hanging_one_holds_up_nothing(
    services: Services, receiver: Receiver, notifier: None
) -> None:
    # Given a webhook, a Slack target, a receiver that answers 500 and one that hangs
    hook = create(services, kind="webhook", url=f"{receiver.url}/ok")
    create(services, kind="slack", url=f"{receiver.url}/slack".replace("http:", "https:"), on=["always"])
    failing = create(services, kind="webhook", url=f"{receiver.url}/fail")
    hanging = create(services, kind="webhook", url=f"{receiver.url}/hang")
    test, _ = services.catalog.create_test(
        "default",
        TestCreate.model_validate({"name": "Login", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}),
    )

    # When a run of the test fails
    failed_run, took = end_run(services, test.id, RunStatus.failed)

    # Then the run's end did not wait for any receiver
    assert took < 1.0
    # and the webhook got a signed failure, before the hanging receiver's attempt timed out
    [first] = wait_for(lambda: receiver.at("/ok"))
    hung_at = wait_for(lambda: receiver.at("/hang"))[0]["at"]
    assert first["at"] - hung_at < HANG_S or first["at"] < hung_at
    body = first["body"]
    assert verify_signature(hook.secret, first["headers"][SIGNATURE_HEADER], body)
    assert first["headers"][EVENT_HEADER] == "run.failure"
    document = json.loads(body)
    assert (document["type"], document["run"]["id"]) == ("run.failure", failed_run)
    assert document["run"]["failing_step"]["error"] == "text not found"
    assert first["headers"][DELIVERY_HEADER] == document["delivery_id"]

    # When the next run passes
    passed_run, _ = end_run(services, test.id, RunStatus.passed)

    # Then the webhook gets the recovery (signed), Slack a readable message for each end
    second = wait_for(lambda: receiver.at("/ok")[1:])[0]
    assert verify_signature(hook.secret, second["headers"][SIGNATURE_HEADER], second["body"])
    recovery = json.loads(second["body"])
    assert (recovery["type"], recovery["run"]["id"], recovery["previous_status"]) == (
        "run.recovery",
        passed_run,
        "failed",
    )
    # (Slack gets https only: the receiver speaks http, so those attempts fail; what was built is checked in
    # tests/unit/test_notifications.py)

    # And the receiver that answered 500 was tried 3 times for each (the failure, the recovery) and recorded as
    # failed; the hanging one timed out
    assert services.notifications is not None
    notifications = services.notifications

    def settled(target_id: str) -> Any:
        items = notifications.deliveries("default", target_id).items
        return items if items and all(d.status != "pending" for d in items) else None

    failures = wait_for(lambda: settled(failing.id), timeout_s=30)
    assert [(d.status, d.attempt, d.http_status) for d in failures] == [("failed", 3, 500)] * 2
    assert [a.http_status for a in failures[0].attempts] == [500, 500, 500]
    assert len(receiver.at("/fail")) == 6
    hook_deliveries = notifications.deliveries("default", hook.id).items
    assert [(d.event.id, d.status) for d in hook_deliveries] == [(passed_run, "delivered"), (failed_run, "delivered")]
    hung = wait_for(lambda: settled(hanging.id), timeout_s=30)
    assert hung[0].attempts[0].error == f"no answer within {seconds(HANG_S)}"


def test_local_mode_sends_a_signed_failure_then_the_recovery(receiver: Receiver, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        table_name=f"local-{suffix}",
        run_queue_name=f"local-runs-{suffix}",
        run_dlq_name=f"local-dlq-{suffix}",
        notify_queue_name=f"local-notify-{suffix}",
        notify_dlq_name=f"local-notify-dlq-{suffix}",
        artifact_bucket=f"local-artifacts-{suffix}",
        event_bus_name=f"local-bus-{suffix}",
    )
    local = LocalModeThread(
        LocalOptions(
            port=0,
            example_port=None,
            data_dir=tmp_path / "data",
            workers={"notifier": notifier_worker},
            base_settings=settings,
        )
    )
    info = local.start()
    try:
        with httpx.Client(base_url=info.api_url, headers={"Authorization": f"Bearer {info.api_key}"}) as http:
            made = http.post("/v1/notifications", json={"kind": "webhook", "url": f"{receiver.url}/ok"})
            assert made.status_code == 201, made.text
            own = http.post("/v1/notifications", json={"kind": "webhook", "url": f"{info.api_url}/hook"})
            assert own.status_code == 422 and "closed to tests" in own.json()["error"]["message"]
            test = http.post("/v1/tests", json={"name": "t", "steps": [{"action": "goto", "url": "http://x/"}]})
        services = local.mode.services
        assert services is not None
        failed, _ = end_run(services, test.json()["id"], RunStatus.failed)
        passed, _ = end_run(services, test.json()["id"], RunStatus.passed)
        got = wait_for(lambda: receiver.at("/ok")[1:] and receiver.at("/ok"))
        secret = made.json()["secret"]
        # (two deliveries in flight at once may arrive in either order: webhooks promise no order)
        documents = sorted((json.loads(g["body"]) for g in got), key=lambda d: str(d["type"]))
        assert all(verify_signature(secret, g["headers"][SIGNATURE_HEADER], g["body"]) for g in got)
        assert [(d["type"], d["run"]["id"]) for d in documents] == [("run.failure", failed), ("run.recovery", passed)]
        assert documents[0]["links"]["run"] == f"{info.api_url}/v1/runs/{failed}"
    finally:
        local.stop()


def test_the_slack_message_of_a_failed_run_reaches_a_local_receiver_readable(
    services: Services, receiver: Receiver, notifier: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slack URLs are https; the local receiver speaks http: the real sender is used, over http
    notifications = services.notifications
    assert notifications is not None
    real = WebhookSender(loopback_guard, timeout_s=1.0)
    monkeypatch.setattr(
        notifications, "_send", lambda url, body, headers: real.post(url.replace("https:", "http:"), body, headers)
    )
    create(services, kind="slack", url=f"{receiver.url}/slack".replace("http:", "https:"))
    test, _ = services.catalog.create_test(
        "default",
        TestCreate.model_validate(
            {"name": "Checkout <works>", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
        ),
    )
    run_id, _ = end_run(services, test.id, RunStatus.failed)

    [got] = wait_for(lambda: receiver.at("/slack"))
    message = json.loads(got["body"])
    text = json.dumps(message["blocks"])
    assert got["headers"]["Content-Type"] == "application/json"
    assert SIGNATURE_HEADER not in got["headers"]  # Slack is not signed: its URL is its secret
    assert "failed" in message["text"] and "Checkout &lt;works&gt;" in message["text"]  # escaped, not a link
    assert "text not found" in text  # the failing step's error
    assert f"http://127.0.0.1:8000/v1/runs/{run_id}" in text  # a link to the run
    [delivery] = wait_for(
        lambda: [
            d
            for d in notifications.deliveries("default", notifications.list_targets("default").items[0].id).items
            if d.status == "delivered"
        ]
    )
    assert delivery.http_status == 200
