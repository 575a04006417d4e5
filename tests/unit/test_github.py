"""GitHub over in-memory services and a fake GitHub on 127.0.0.1: the integration's 422s (naming the rule and
field), the webhook's signature (good, bad, missing, an unknown project answered alike), replayed deliveries,
pushes and pull requests mapped to suites with their labels, and the commit status round trip: ``pending`` when
the suite run starts, ``success`` or ``failure`` when it completes (driven through the events and notifier
handlers, as EventBridge does), a GitHub 5xx retried and recorded, the token never in a record."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from functions.events import handler as events_handler
from functions.notifications import handler as notifier
from shared.errors import Unavailable
from shared.models.events import Event
from shared.models.messages import RunMessage
from shared.models.runs import RunStatus
from shared.models.suites import SuiteCreate
from shared.models.tests import TestCreate
from shared.netguard import NetworkGuard
from shared.notify.sender import WebhookSender
from shared.services.container import Services
from shared.services.github import GithubService, signature_of
from tests.conftest import BOOTSTRAP_KEY, FakeServices
from tests.github_fake import FakeGithub, fake_github

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
PROJECT = "default"
SECRET = "a-webhook-secret-for-the-tests"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
HOOK = f"/v1/integrations/github/webhook/{PROJECT}"
#: when the tests' pushes happened (now: a push older than the deliveries remembered is a replay)
PUSHED_AT = int(time.time())


@pytest.fixture
def github() -> Any:
    with fake_github() as fake:
        yield fake


@pytest.fixture
def services(fakes: FakeServices, github: FakeGithub) -> Services:
    """The fakes, with statuses sent for real (the notifier's guarded sender) to the fake GitHub."""

    def guard() -> NetworkGuard:
        return NetworkGuard.from_setting("127.0.0.0/8")

    assert fakes.services.suites is not None and fakes.services.notifications is not None
    service = GithubService(
        store=fakes.github_store,
        suites=fakes.services.suites,
        secrets=fakes.services.secrets,
        notifications=fakes.services.notifications,
        send=WebhookSender(guard, timeout_s=2.0).post,
        guard=guard,
        public_url="http://127.0.0.1:8000",
    )
    return replace(fakes.services, github=service)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services, max_body_bytes=256 * 1024))


def a_suite(services: Services, name: str, *test_names: str) -> str:
    ids = []
    for test_name in test_names:
        spec = {"name": test_name, "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
        test, _ = services.catalog.create_test(PROJECT, TestCreate.model_validate(spec))
        ids.append(test.id)
    assert services.suites is not None
    return services.suites.create(PROJECT, SuiteCreate(name=name, tests=ids)).id


@pytest.fixture
def configured(client: TestClient, services: Services, github: FakeGithub) -> dict[str, str]:
    """Two suites mapped: pushes to main (and release/*) run smoke, pull requests to main run regression."""
    smoke = a_suite(services, "smoke", "Login", "Search")
    regression = a_suite(services, "regression", "Checkout")
    body = {
        "secret": SECRET,
        "api_url": github.url,
        "rules": [
            {"repo": "acme/shop", "branches": ["main", "release/*"], "suite": "smoke", "labels": {"env": "ci"}},
            {"repo": "acme/shop", "events": ["pull_request"], "branches": ["main"], "suite": regression},
        ],
    }
    put = client.put("/v1/integrations/github", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert client.put("/v1/secrets/GITHUB_TOKEN", json={"value": github.token}, headers=ADMIN).status_code == 200
    return {"smoke": smoke, "regression": regression}


def push(branch: str = "main", *, ref: str | None = None, repo: str = "acme/shop") -> dict[str, Any]:
    return {
        "ref": ref or f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": SHA,
        "deleted": False,
        "repository": {"full_name": repo, "pushed_at": PUSHED_AT},
        "head_commit": {"id": SHA, "message": "Fix the login"},
    }


def pull_request(action: str = "opened", base: str = "main", number: int = 42) -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(PUSHED_AT)),
            "head": {"ref": "feature/login", "sha": SHA},
            "base": {"ref": base, "sha": "1" * 40},
        },
        "repository": {"full_name": "acme/shop"},
    }


def deliver(
    client: TestClient,
    payload: dict[str, Any],
    *,
    event: str = "push",
    delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    secret: str | None = SECRET,
    path: str = HOOK,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if secret is not None:
        headers["X-Hub-Signature-256"] = signature_of(secret, body)
    return client.post(path, content=body, headers=headers)


def pump(fakes: FakeServices, services: Services) -> None:
    """Carry what was published to the events and notifier handlers and make the queued deliveries, until
    nothing is left (EventBridge's rules and the two queues, in memory)."""
    while fakes.events.events or fakes.notification_queue.sent:
        published: list[Event] = fakes.events.events[:]
        fakes.events.events.clear()
        for event in published:
            detail = json.loads(event.model_dump_json())
            envelope = json.dumps({"source": "autotest", "detail-type": event.detail_type, "detail": detail})
            events_handler.process(envelope, services)
            notifier.process(envelope, services)
        for received in fakes.notification_queue.receive(max_messages=100):
            notifier.process(received.body, services)


def end_children(fakes: FakeServices, services: Services, suite_run_id: str, *statuses: RunStatus) -> None:
    assert services.suites is not None
    run = services.suites.get_run(PROJECT, suite_run_id)
    for child, status in zip(run.children, statuses, strict=True):
        taken = services.runs.take(RunMessage(run_id=child.run_id or "", project_id=PROJECT, attempt=1))
        assert taken is not None
        services.runs.end_attempt(taken, status, retryable=False)


# ------------------------------------------------------------------------------------------ configuration


def test_the_integration_validates_each_rule_and_says_which(
    client: TestClient, services: Services, github: FakeGithub
) -> None:
    a_suite(services, "smoke", "Login")
    good = {"repo": "acme/shop", "suite": "smoke"}

    def put(rules: list[Any], **more: Any) -> Any:
        body = {"secret": SECRET, "rules": rules, "api_url": github.url, **more}
        return client.put("/v1/integrations/github", json=body, headers=ADMIN)

    missing_suite = put([good, {"repo": "acme/shop", "suite": "ste_nope"}])
    assert missing_suite.status_code == 422
    assert missing_suite.json()["error"]["message"].startswith("rules[1].suite: ")
    assert "ste_nope" in missing_suite.json()["error"]["message"]

    bad_repo = put([good, {"repo": "not a repo", "suite": "smoke"}])
    assert (
        bad_repo.status_code == 422
        and "body.rules[1].repo: Value error, 'not a repo' is not a repository" in bad_repo.json()["error"]["message"]
    )

    empty = put([{}])
    assert empty.status_code == 422
    assert "rules[0].repo" in empty.json()["error"]["message"] and "rules[0].suite" in empty.json()["error"]["message"]

    assert put([]).status_code == 422
    reserved = put([{**good, "labels": {"sha": "x"}}])
    assert reserved.status_code == 422 and "rules[0]" in reserved.json()["error"]["message"]
    event = put([{**good, "events": ["release"]}])
    assert event.status_code == 422 and "rules[0].events" in event.json()["error"]["message"]

    many = put([{**good, "labels": {f"l{i}": "x" for i in range(17)}}])
    assert many.status_code == 422 and many.json()["error"]["message"].startswith("rules[0].labels: ")

    metadata = put([good], api_url="http://169.254.169.254/latest")
    assert metadata.status_code == 422 and metadata.json()["error"]["message"].startswith("api_url: ")
    assert put([good], api_url="ftp://api.github.com").status_code == 422

    assert client.get("/v1/integrations/github", headers=ADMIN).status_code == 404  # nothing was stored


def test_the_secret_is_write_only_and_a_made_one_is_shown_once(
    client: TestClient, services: Services, github: FakeGithub
) -> None:
    a_suite(services, "smoke", "Login")
    rules = [{"repo": "Acme/Shop", "suite": "smoke"}]

    made = client.put("/v1/integrations/github", json={"rules": rules, "api_url": github.url}, headers=ADMIN)
    assert made.status_code == 200, made.text
    secret = made.json()["secret"]
    assert secret.startswith("ghws_") and made.json()["secret_hint"] == secret[-4:]
    shown = client.get("/v1/integrations/github", headers=ADMIN)
    assert shown.status_code == 200 and secret not in shown.text and "secret" not in shown.json()
    assert shown.json()["webhook_url"] == f"http://127.0.0.1:8000{HOOK}"
    assert (shown.json()["token_secret"], shown.json()["token_set"]) == ("GITHUB_TOKEN", False)
    assert shown.json()["rules"][0]["suite"].startswith("ste_")  # the name is stored as the id

    # a PUT without a secret keeps it; with one replaces it
    kept = client.put("/v1/integrations/github", json={"rules": rules, "api_url": github.url}, headers=ADMIN)
    assert "secret" not in kept.json() and kept.json()["secret_hint"] == secret[-4:]
    assert kept.json()["id"] == made.json()["id"]
    again = {"rules": rules, "secret": SECRET, "api_url": github.url}
    replaced = client.put("/v1/integrations/github", json=again, headers=ADMIN)
    assert replaced.json()["secret_hint"] == SECRET[-4:] and SECRET not in replaced.text

    assert client.delete("/v1/integrations/github", headers=ADMIN).status_code == 204
    assert client.get("/v1/integrations/github", headers=ADMIN).status_code == 404
    assert client.delete("/v1/integrations/github", headers=ADMIN).status_code == 404


# ------------------------------------------------------------------------------------------ signatures


def test_a_missing_or_bad_signature_is_a_401_and_an_unknown_project_reads_the_same(
    client: TestClient, configured: dict[str, str], fakes: FakeServices
) -> None:
    missing = deliver(client, push(), secret=None)
    assert missing.status_code == 401 and "X-Hub-Signature-256 header is missing" in missing.json()["error"]["message"]

    bad = deliver(client, push(), secret="another-secret-altogether")
    assert bad.status_code == 401 and "does not sign this body" in bad.json()["error"]["message"]

    unknown = deliver(client, push(), path="/v1/integrations/github/webhook/prj_nobody")
    assert unknown.status_code == 401 and unknown.json()["error"] == bad.json()["error"]

    body = json.dumps(push()).encode()
    tampered = client.post(
        HOOK,
        content=body.replace(b"main", b"mainx"),
        headers={"X-Hub-Signature-256": signature_of(SECRET, body), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d"},
    )
    assert tampered.status_code == 401
    assert fakes.queue.sent == []  # nothing started


def test_ping_answers_200(client: TestClient, configured: dict[str, str]) -> None:
    pong = deliver(client, {"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping")
    assert pong.status_code == 200 and pong.json()["handled"] == "pong"


# ------------------------------------------------------------------------------------------ mapping


def test_a_push_to_a_mapped_branch_starts_its_suite_with_the_labels_and_a_replay_starts_nothing(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices
) -> None:
    answer = deliver(client, push("main"))
    assert answer.status_code == 202, answer.text
    [started] = answer.json()["suite_runs"]
    assert (started["suite_id"], started["error"]) == (configured["smoke"], None)
    assert services.suites is not None
    run = services.suites.get_run(PROJECT, started["suite_run_id"])
    assert run.labels == {"env": "ci", "repo": "acme/shop", "branch": "main", "sha": SHA}
    assert run.trigger == "github" and len(fakes.queue.sent) == 2  # both tests queued
    assert run.priority == "high" and {m.priority for m, _ in fakes.queue.sent} == {"high"}  # a check goes first

    # the same delivery again: 200, nothing started
    replay = deliver(client, push("main"))
    assert replay.status_code == 200 and replay.json()["handled"] == "duplicate"
    assert replay.json()["suite_runs"] == [] and len(fakes.queue.sent) == 2

    # a pattern matches; the repository is compared without regard to case
    release = deliver(client, push("release/1.2", repo="ACME/shop"), delivery="d-release")
    assert release.status_code == 202 and len(release.json()["suite_runs"]) == 1


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (push("feature/x"), "no rule maps push of acme/shop on 'feature/x'"),
        (push(repo="acme/other"), "no rule maps push of acme/other"),
        (push(ref="refs/tags/v1.0"), "a push to refs/tags/v1.0 starts nothing"),
        ({**push(), "deleted": True}, "a branch deletion starts nothing"),
    ],
)
def test_a_push_that_no_rule_maps_starts_nothing(
    client: TestClient, configured: dict[str, str], fakes: FakeServices, payload: dict[str, Any], why: str
) -> None:
    answer = deliver(client, payload)
    assert answer.status_code == 202 and answer.json()["suite_runs"] == []
    assert answer.json()["handled"] == "ignored" and answer.json()["reason"].startswith(why)
    assert fakes.queue.sent == [] and fakes.notification_queue.sent == []


def test_a_pull_request_starts_the_pull_request_rule_with_its_number(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices
) -> None:
    answer = deliver(client, pull_request("opened"), event="pull_request")
    assert answer.status_code == 202, answer.text
    [started] = answer.json()["suite_runs"]
    assert started["suite_id"] == configured["regression"]  # not the push rule's suite
    assert services.suites is not None
    run = services.suites.get_run(PROJECT, started["suite_run_id"])
    assert run.labels == {"repo": "acme/shop", "branch": "feature/login", "sha": SHA, "pr": "42"}

    again = deliver(client, pull_request("synchronize"), event="pull_request", delivery="d-sync")
    assert len(again.json()["suite_runs"]) == 1
    closed = deliver(client, pull_request("closed"), event="pull_request", delivery="d-closed")
    assert closed.status_code == 202 and closed.json()["handled"] == "ignored"
    other_base = deliver(client, pull_request(base="develop"), event="pull_request", delivery="d-develop")
    assert other_base.json()["suite_runs"] == []
    issue = deliver(client, {"action": "opened"}, event="issues", delivery="d-issue")
    assert issue.status_code == 202 and issue.json()["handled"] == "ignored"


def test_the_form_encoding_is_read_too(client: TestClient, configured: dict[str, str]) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(push())}).encode()
    answer = client.post(
        HOOK,
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Hub-Signature-256": signature_of(SECRET, body),
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "d-form",
        },
    )
    assert answer.status_code == 202 and len(answer.json()["suite_runs"]) == 1


# ------------------------------------------------------------------------------------------ statuses


def test_the_status_goes_pending_then_success_when_every_test_passes(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    # When a push to main starts the smoke suite
    started = deliver(client, push("main")).json()["suite_runs"][0]["suite_run_id"]
    pump(fakes, services)

    # Then GitHub got a pending status for the commit, with GitHub's headers and the token
    [pending] = github.statuses()
    assert pending.path == f"/repos/acme/shop/statuses/{SHA}"
    assert pending.headers["Authorization"] == f"Bearer {github.token}"
    assert pending.headers["Accept"] == "application/vnd.github+json"
    assert pending.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert pending.headers["User-Agent"] == "autotest-github"
    assert pending.json() == {
        "state": "pending",
        "description": "smoke: 2 tests, 0 done",
        "context": "autotest/smoke",
        "target_url": f"http://127.0.0.1:8000/ui/suite-runs/{started}",
    }

    # When both tests pass (their events reach the suite run, its completion the notifier)
    end_children(fakes, services, started, RunStatus.passed, RunStatus.passed)
    pump(fakes, services)

    # Then GitHub got success
    final = github.statuses()[-1].json()
    assert (final["state"], final["context"]) == ("success", "autotest/smoke")
    assert final["description"].startswith("smoke: 2 passed")
    assert len(github.statuses()) == 2

    # and both are recorded, the token in neither
    deliveries = client.get("/v1/integrations/github/deliveries", headers=ADMIN)
    assert deliveries.status_code == 200
    items = deliveries.json()["items"]
    assert sorted(d["event"]["status"] for d in items) == ["pending", "success"]
    assert all(d["status"] == "delivered" and d["http_status"] == 201 for d in items)
    assert items[0]["event"]["detail"] == f"acme/shop@{SHA[:12]} autotest/smoke"
    stored = json.dumps([d.model_dump(mode="json") for d in fakes.notification_store.deliveries.values()])
    assert github.token not in deliveries.text and github.token not in stored


def test_the_status_goes_failure_when_one_test_fails(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    started = deliver(client, push("main")).json()["suite_runs"][0]["suite_run_id"]
    end_children(fakes, services, started, RunStatus.passed, RunStatus.failed)
    pump(fakes, services)

    states = [r.json()["state"] for r in github.statuses()]
    # the pending status went after the suite run ended: it is sent as the suite run is, so it cannot hide it
    assert states[-1] == "failure" and "pending" not in states
    assert github.statuses()[-1].json()["description"].startswith("smoke: 1 passed, 1 failed")


def test_a_push_larger_than_the_apis_body_limit_is_taken_by_the_webhook(
    client: TestClient, configured: dict[str, str]
) -> None:
    # a push of many files: its payload is over the API's limit (256 KiB here), under the webhook's (4 MiB)
    big = {**push(), "commits": [{"id": SHA, "modified": [f"src/file_{i:06d}.py" for i in range(20_000)]}]}
    assert len(json.dumps(big)) > 256 * 1024
    answer = deliver(client, big)
    assert answer.status_code == 202 and len(answer.json()["suite_runs"]) == 1
    # other routes keep the API's limit
    too_big = client.post("/v1/tests", content=b"x" * (300 * 1024), headers=ADMIN)
    assert too_big.status_code == 413


def test_a_github_5xx_is_retried_and_recorded(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    github.fail_next(2, 502)
    deliver(client, pull_request(), event="pull_request")
    pump(fakes, services)

    [status] = github.statuses()
    assert status.json()["state"] == "pending" and status.json()["context"] == "autotest/regression"
    assert [r.answered for r in github.requests] == [502, 502, 201]
    [delivery] = client.get("/v1/integrations/github/deliveries", headers=ADMIN).json()["items"]
    assert (delivery["status"], delivery["attempt"]) == ("delivered", 3)
    assert [a["http_status"] for a in delivery["attempts"]] == [502, 502, 201]
    assert delivery["attempts"][0]["error"].startswith("the receiver answered 502")


def test_no_token_fails_the_status_saying_which_secret(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    assert client.delete("/v1/secrets/GITHUB_TOKEN", headers=ADMIN).status_code == 204
    deliver(client, push())
    pump(fakes, services)

    assert github.requests == []
    [delivery] = client.get("/v1/integrations/github/deliveries", headers=ADMIN).json()["items"]
    assert delivery["status"] == "failed" and "GITHUB_TOKEN" in delivery["error"]


def test_a_rule_whose_suite_cannot_start_posts_an_error_status(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    assert services.suites is not None
    services.suites.delete(PROJECT, configured["smoke"])
    answer = deliver(client, push())
    assert answer.status_code == 202
    [started] = answer.json()["suite_runs"]
    assert started["suite_run_id"] is None and "no longer exists" in started["error"]
    pump(fakes, services)
    [status] = github.statuses()
    assert status.json()["state"] == "error" and status.json()["description"].startswith("could not start")


def test_a_token_that_cannot_be_a_header_fails_without_being_recorded(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    bad = "ghp_first_line\r\nX-Injected: yes"
    assert client.put("/v1/secrets/GITHUB_TOKEN", json={"value": bad}, headers=ADMIN).status_code == 200
    deliver(client, push())
    pump(fakes, services)

    assert github.requests == []
    listed = client.get("/v1/integrations/github/deliveries", headers=ADMIN)
    [delivery] = listed.json()["items"]
    assert delivery["status"] == "failed" and "control characters" in delivery["error"]
    assert "ghp_first_line" not in listed.text


def test_a_delivery_that_failed_half_way_starts_each_suite_run_once_when_it_comes_again(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices, github: FakeGithub
) -> None:
    # Given two rules that match one push, and a table that fails while the second suite run starts
    body = {
        "secret": SECRET,
        "api_url": github.url,
        "rules": [{"repo": "acme/shop", "suite": "smoke"}, {"repo": "acme/shop", "suite": "regression"}],
    }
    assert client.put("/v1/integrations/github", json=body, headers=ADMIN).status_code == 200
    suites = services.suites
    assert suites is not None
    real = suites.start
    calls = []

    def flaky_start(project_id: str, suite_id: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(suite_id)
        if len(calls) == 2:
            raise Unavailable("the table is unavailable")
        return real(project_id, suite_id, *args, **kwargs)

    # When the delivery fails half-way, then GitHub delivers it again
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(suites, "start", flaky_start)
        failed = deliver(client, push(), delivery="d-half")
    assert failed.status_code == 503
    again = deliver(client, push(), delivery="d-half")

    # Then each suite has one suite run, the first the same as before
    assert again.status_code == 202, again.text
    started = [s["suite_run_id"] for s in again.json()["suite_runs"]]
    assert len(started) == 2 and all(started)
    listed = suites.list_runs(PROJECT).items
    assert sorted(r.id for r in listed) == sorted(started)
    assert deliver(client, push(), delivery="d-half").json()["handled"] == "duplicate"


def test_the_integrations_changes_and_the_suite_runs_its_webhook_starts_are_audited(
    client: TestClient, configured: dict[str, str], fakes: FakeServices
) -> None:
    # Given the integration set by an admin (the fixture's PUT)
    records = list(fakes.audit_store.records.values())
    [put] = [r for r in records if r.action == "integration.update"]
    assert (put.resource_kind, put.resource_id, put.key_id) == ("integration", "github", "bootstrap")
    assert SECRET not in str(records)

    # When GitHub's webhook starts a suite run, Then it is recorded with GitHub as the actor
    started = deliver(client, push("main"), delivery="d-audit").json()["suite_runs"][0]["suite_run_id"]
    [by_webhook] = [r for r in fakes.audit_store.records.values() if r.action == "suite_run.start_by_webhook"]
    assert (by_webhook.resource_id, by_webhook.key_id, by_webhook.key_name) == (started, "github", "GitHub webhook")
    assert by_webhook.details["delivery"] == "d-audit" and by_webhook.project_id == PROJECT

    # And a replay, which starts nothing, records nothing; the delete is recorded
    deliver(client, push("main"), delivery="d-audit")
    assert [r.action for r in fakes.audit_store.records.values()].count("suite_run.start_by_webhook") == 1
    assert client.delete("/v1/integrations/github", headers=ADMIN).status_code == 204
    assert "integration.delete" in [r.action for r in fakes.audit_store.records.values()]


# ------------------------------------------------------------------------------------------ attacks


def test_one_delivery_id_sent_to_two_projects_starts_each_its_own_suite_run(
    client: TestClient, configured: dict[str, str], services: Services, fakes: FakeServices
) -> None:
    # Given a second project whose admin maps the same repository (its own webhook secret)
    other = client.post("/v1/projects", json={"name": "other team"}, headers=ADMIN).json()
    theirs = {"Authorization": f"Bearer {other['api_key']}"}
    spec = {"name": "Theirs", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    test_id = client.post("/v1/tests", json=spec, headers=theirs).json()["id"]
    suite_id = client.post("/v1/suites", json={"name": "theirs", "tests": [test_id]}, headers=theirs).json()["id"]
    rules = [{"repo": "acme/shop", "suite": suite_id}]
    body = {"secret": "the-other-projects-secret", "api_url": "http://127.0.0.1:9", "rules": rules}
    assert client.put("/v1/integrations/github", json=body, headers=theirs).status_code == 200
    other_hook = f"/v1/integrations/github/webhook/{other['project']['id']}"

    # When one delivery id with the same payload reaches both projects (a replay of the first project's delivery
    # id, signed by the second project's admin, or one push sent to two webhooks)
    mine = deliver(client, push("main"), delivery="d-shared").json()["suite_runs"][0]["suite_run_id"]
    answer = deliver(client, push("main"), delivery="d-shared", secret="the-other-projects-secret", path=other_hook)

    # Then each project has a suite run and child runs of its own: neither takes the other's ids
    assert answer.status_code == 202, answer.text
    [started] = answer.json()["suite_runs"]
    assert started["error"] is None and started["suite_run_id"] != mine
    assert services.suites is not None
    for project_id, suite_run_id in ((PROJECT, mine), (other["project"]["id"], started["suite_run_id"])):
        run = services.suites.get_run(project_id, suite_run_id)
        for child in run.children:
            assert child.run_id is not None
            assert services.runs.get_run(project_id, child.run_id).suite_run_id == suite_run_id


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("pull_request", b'{"action": "opened", "pull_request": "x", "repository": {"full_name": "acme/shop"}}'),
        ("pull_request", b'{"action": "opened", "pull_request": [1], "repository": {"full_name": "acme/shop"}}'),
        (
            "pull_request",
            b'{"action": "opened", "number": 1, "pull_request": {"head": "x", "base": 1}, '
            b'"repository": {"full_name": "acme/shop"}}',
        ),
        ("push", b"[" * 100_000 + b"]" * 100_000),
        ("push", b'{"a": ' * 50_000 + b"1" + b"}" * 50_000),
    ],
)
def test_a_signed_body_that_is_not_a_github_payload_is_a_422_not_a_500(
    client: TestClient, configured: dict[str, str], fakes: FakeServices, event: str, body: bytes
) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "d-odd",
        "X-Hub-Signature-256": signature_of(SECRET, body),
    }
    answer = client.post(HOOK, content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert fakes.queue.sent == []


def test_a_branch_too_long_for_a_label_says_so_in_the_error_status(
    client: TestClient, configured: dict[str, str], fakes: FakeServices
) -> None:
    answer = deliver(client, push("release/" + "x" * 300), delivery="d-long-branch")
    assert answer.status_code == 202, answer.text
    [started] = answer.json()["suite_runs"]
    assert started["suite_run_id"] is None
    assert "labels.branch" in started["error"] and "256 characters" in started["error"], started["error"]


def test_a_delivery_replayed_after_the_deliveries_remembered_starts_nothing(
    client: TestClient, configured: dict[str, str], fakes: FakeServices
) -> None:
    """GitHub's signature has no time in it: a delivery captured once (a proxy's log) stays signed for ever.
    Its id is remembered for ``github_dedupe_s`` (7 days); an event older than that is refused as a replay."""
    week_and_a_day = 8 * 24 * 3600
    old_push = {**push(), "repository": {"full_name": "acme/shop", "pushed_at": PUSHED_AT - week_and_a_day}}
    answer = deliver(client, old_push, delivery="d-captured-long-ago")
    assert answer.status_code == 202 and answer.json()["handled"] == "ignored", answer.text
    assert "replay" in answer.json()["reason"]
    old_pr = pull_request()
    old_pr["pull_request"]["updated_at"] = "2020-01-01T00:00:00Z"
    assert deliver(client, old_pr, event="pull_request", delivery="d-old-pr").json()["handled"] == "ignored"
    assert fakes.queue.sent == [] and fakes.notification_queue.sent == []

    # a push of a day ago (GitHub's "Redeliver" of a recent delivery) still starts its suite
    recent = {**push(), "repository": {"full_name": "acme/shop", "pushed_at": PUSHED_AT - 24 * 3600}}
    assert deliver(client, recent, delivery="d-redelivered").json()["handled"] == "started"
