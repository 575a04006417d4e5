"""GitHub end to end in ``autotest local`` (moto, its events and notifier workers, its own secret store): a signed
push starts the mapped suite, the fake GitHub on 127.0.0.1 gets ``pending``, and once the child runs end (their
events go through EventBridge's rules to the events queue, the suite run's completion to the notifier's queue)
``failure``; a replayed delivery starts nothing."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from cli.local.mode import LocalModeThread, LocalOptions
from cli.local.workers import events_worker, notifier_worker
from shared.models.messages import RunMessage
from shared.models.runs import RunStatus
from shared.services.github import signature_of
from shared.settings import Settings
from tests.github_fake import fake_github

SECRET = "a-webhook-secret-for-local-mode"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


def wait_for(check: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_a_push_posts_pending_then_the_result_through_local_modes_workers(tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        table_name=f"local-{suffix}",
        run_queue_name=f"local-runs-{suffix}",
        run_dlq_name=f"local-dlq-{suffix}",
        notify_queue_name=f"local-notify-{suffix}",
        notify_dlq_name=f"local-notify-dlq-{suffix}",
        artifact_bucket=f"local-artifacts-{suffix}",
        event_bus_name=f"local-bus-{suffix}",
        notify_backoff_s=0,
    )
    local = LocalModeThread(
        LocalOptions(
            port=0,
            example_port=None,
            data_dir=tmp_path / "data",
            workers={"events": events_worker, "notifier": notifier_worker},
            base_settings=settings,
        )
    )
    with fake_github() as github:
        info = local.start()
        project = "default"  # the bootstrap project, whose key local mode made
        try:
            with httpx.Client(base_url=info.api_url, headers={"Authorization": f"Bearer {info.api_key}"}) as http:
                # Given two tests in a suite mapped to pushes to main, and the token in local mode's secret store
                ids = []
                for name in ("Login", "Search"):
                    made = http.post(
                        "/v1/tests", json={"name": name, "steps": [{"action": "goto", "url": "http://x/"}]}
                    )
                    ids.append(made.json()["id"])
                assert http.post("/v1/suites", json={"name": "smoke", "tests": ids}).status_code == 201
                assert http.put("/v1/secrets/GITHUB_TOKEN", json={"value": github.token}).status_code == 200
                rules = [{"repo": "acme/shop", "branches": ["main"], "suite": "smoke"}]
                put = http.put(
                    "/v1/integrations/github", json={"secret": SECRET, "api_url": github.url, "rules": rules}
                )
                assert put.status_code == 200, put.text
                assert put.json()["token_set"] is True

                # When GitHub delivers a signed push to main
                payload = {
                    "ref": "refs/heads/main",
                    "after": SHA,
                    "repository": {"full_name": "acme/shop", "pushed_at": int(time.time())},
                }
                body = json.dumps(payload).encode()
                headers = {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": signature_of(SECRET, body),
                }
                answer = http.post(put.json()["webhook_url"].removeprefix(info.api_url), content=body, headers=headers)
                assert answer.status_code == 202, answer.text
                suite_run_id = answer.json()["suite_runs"][0]["suite_run_id"]

                # Then GitHub gets pending, linked to the suite run's page
                [pending] = wait_for(github.statuses)
                assert pending.path == f"/repos/acme/shop/statuses/{SHA}"
                assert pending.json()["state"] == "pending" and pending.json()["context"] == "autotest/smoke"
                assert pending.json()["target_url"] == f"{info.api_url}/ui/suite-runs/{suite_run_id}"

                # and the same delivery again starts nothing
                replay = http.post(f"/v1/integrations/github/webhook/{project}", content=body, headers=headers)
                assert replay.status_code == 200 and replay.json()["handled"] == "duplicate"

            # When one child run passes and one fails (no runner here: they are ended as a runner would)
            services = local.mode.services
            assert services is not None and services.suites is not None
            suite_run = services.suites.get_run(project, suite_run_id)
            for child, status in zip(suite_run.children, (RunStatus.passed, RunStatus.failed), strict=True):
                message = RunMessage(run_id=child.run_id or "", project_id=project, attempt=1)
                taken = services.runs.take(message)
                assert taken is not None
                services.runs.end_attempt(taken, status, retryable=False)

            # Then the suite run's completion reaches GitHub as failure
            final = wait_for(lambda: [s for s in github.statuses() if s.json()["state"] != "pending"])[0]
            assert final.json()["state"] == "failure"
            assert final.json()["description"].startswith("smoke: 1 passed, 1 failed")
            assert final.headers["Authorization"] == f"Bearer {github.token}"
        finally:
            local.stop()
