"""The teardown custom resource (functions/teardown): deleting the stack removes what autotest made at run time,
against moto; only what carries the deployment's prefixes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.teardown import handler as teardown
from shared.aws.clients import endpoint_clients


@pytest.fixture
def clients(moto_endpoint: str) -> Any:
    return endpoint_clients("us-east-1", moto_endpoint)


def _deployment(clients: Any) -> dict[str, str]:
    """A bucket with objects, two projects' schedule groups and secrets, and a neighbour's of each."""
    suffix = "t" + uuid.uuid4().hex[:8]  # a stage: it starts with a letter
    names = {
        "Bucket": f"artifacts-{suffix}",
        "ScheduleGroupPrefix": f"autotest.{suffix}.",
        "SecretsPrefix": f"autotest/{suffix}/",
    }
    s3 = clients("s3")
    s3.create_bucket(Bucket=names["Bucket"])
    for i in range(3):
        s3.put_object(Bucket=names["Bucket"], Key=f"runs/p/r{i}/report.html", Body=b"<html>")
    for project in ("prj_a", "prj_b"):
        clients("scheduler").create_schedule_group(Name=names["ScheduleGroupPrefix"] + project)
        clients("secretsmanager").create_secret(Name=f"{names['SecretsPrefix']}{project}/TOKEN", SecretString="x")
    # one deleted through the API, waiting out its recovery window: it goes too
    clients("secretsmanager").create_secret(Name=f"{names['SecretsPrefix']}prj_a/OLD", SecretString="x")
    clients("secretsmanager").delete_secret(SecretId=f"{names['SecretsPrefix']}prj_a/OLD", RecoveryWindowInDays=7)
    clients("scheduler").create_schedule_group(Name=f"autotest.{suffix}x.prj_a")  # another stage's
    clients("secretsmanager").create_secret(Name=f"autotest/{suffix}x/prj_a/TOKEN", SecretString="x")
    return names


def test_clean_up_removes_the_deployments_objects_schedule_groups_and_secrets_only(clients: Any) -> None:
    names = _deployment(clients)
    removed = teardown.clean_up(
        bucket=names["Bucket"],
        schedule_group_prefix=names["ScheduleGroupPrefix"],
        secrets_prefix=names["SecretsPrefix"],
        clients=clients,
    )
    assert removed == {"objects": 3, "schedule_groups": 2, "secrets": 3}
    assert clients("s3").list_objects_v2(Bucket=names["Bucket"]).get("KeyCount") == 0
    groups = [g["Name"] for g in clients("scheduler").list_schedule_groups()["ScheduleGroups"]]
    assert not [g for g in groups if g.startswith(names["ScheduleGroupPrefix"])]
    assert any(g.endswith("x.prj_a") for g in groups)  # the other stage's is still there
    secrets = [s["Name"] for s in clients("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]]
    assert not [s for s in secrets if s.startswith(names["SecretsPrefix"])]
    assert any(s.endswith("x/prj_a/TOKEN") for s in secrets)


@pytest.mark.parametrize(
    ("groups", "secrets"),
    [("", "autotest/dev/"), ("autotest.dev", "autotest/dev/"), ("autotest", None), ("autotest.dev.", "autotest/"),
     ("autotest.*.", None), ("autotest.dev.", "autotest/dev")],
)  # fmt: skip
def test_anything_but_a_deployments_prefixes_is_refused(clients: Any, groups: str, secrets: str | None) -> None:
    with pytest.raises(ValueError, match="not a deployment's prefixes"):
        teardown.clean_up(bucket="b", schedule_group_prefix=groups, secrets_prefix=secrets, clients=clients)


def test_a_bucket_already_gone_is_empty_and_the_rest_is_still_removed(clients: Any) -> None:
    names = _deployment(clients)
    removed = teardown.clean_up(
        bucket="no-such-bucket-x",
        schedule_group_prefix=names["ScheduleGroupPrefix"],
        secrets_prefix=names["SecretsPrefix"],
        clients=clients,
    )
    assert removed == {"objects": 0, "schedule_groups": 2, "secrets": 3}


def test_running_out_of_time_stops_and_says_to_delete_again(clients: Any) -> None:
    names = _deployment(clients)
    with pytest.raises(RuntimeError, match="delete the stack again"):
        teardown.clean_up(
            bucket=names["Bucket"],
            schedule_group_prefix=names["ScheduleGroupPrefix"],
            secrets_prefix=names["SecretsPrefix"],
            clients=clients,
            time_left_s=lambda: 10.0,
        )
    assert clients("s3").list_objects_v2(Bucket=names["Bucket"])["KeyCount"] == 3  # stopped before deleting


class _Answers:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: Any, timeout: float) -> Any:
        self.sent.append({"url": request.full_url, "method": request.get_method(), **json.loads(request.data)})
        return _Closed()


class _Closed:
    def __enter__(self) -> _Closed:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return b""


def _event(kind: str, props: dict[str, str]) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/answer",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/autotest-dev/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Teardown",
        "PhysicalResourceId": "teardown-1",
        "ResourceProperties": props,
    }


@pytest.mark.parametrize(
    ("kind", "stack_status", "retain", "left"),
    [
        ("Delete", "DELETE_IN_PROGRESS", "false", (0, 0, 0)),  # everything goes
        ("Delete", "DELETE_IN_PROGRESS", "true", (3, 0, 2)),  # data kept; the schedules, which cannot fire, go
        ("Delete", "DELETE_IN_PROGRESS", "1", (3, 0, 2)),  # anything but "false" keeps the data
        ("Delete", "DELETE_IN_PROGRESS", None, (3, 0, 2)),
        ("Delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "false", (3, 2, 2)),  # replaced, not the stack deleted
        ("Create", "CREATE_IN_PROGRESS", "false", (3, 2, 2)),
    ],
)
def test_the_handler_cleans_up_only_when_the_stack_is_deleted_and_answers(
    clients: Any, monkeypatch: pytest.MonkeyPatch, kind: str, stack_status: str, retain: str, left: tuple[int, ...]
) -> None:
    names = _deployment(clients)
    monkeypatch.setattr(teardown, "clean_up", _with_clients(teardown.clean_up, clients))
    monkeypatch.setattr(teardown, "stack_deleting", lambda stack_id: stack_status == "DELETE_IN_PROGRESS")
    answers = _Answers()
    monkeypatch.setattr(teardown.urllib.request, "urlopen", answers)
    props = {**names, **({} if retain is None else {"Retain": retain})}
    teardown.handler(_event(kind, props), None)
    [answer] = answers.sent
    assert (answer["method"], answer["Status"], answer["PhysicalResourceId"]) == ("PUT", "SUCCESS", "teardown-1")
    objects = clients("s3").list_objects_v2(Bucket=names["Bucket"]).get("KeyCount")
    groups = [
        g
        for g in clients("scheduler").list_schedule_groups()["ScheduleGroups"]
        if g["Name"].startswith(names["ScheduleGroupPrefix"])
    ]
    secrets = [
        s
        for s in clients("secretsmanager").list_secrets()["SecretList"]
        if s["Name"].startswith(names["SecretsPrefix"])
    ]
    assert (objects, len(groups), len(secrets)) == left


@pytest.mark.parametrize(("status", "deleting"), [("DELETE_IN_PROGRESS", True), ("UPDATE_IN_PROGRESS", False)])
def test_the_stack_is_asked_whether_it_is_being_deleted(status: str, deleting: bool) -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x",
                                  aws_secret_access_key="x")  # fmt: skip
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/autotest-dev/1"
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": "autotest-dev", "StackStatus": status, "CreationTime": "2026-12-01T00:00:00Z"}]},
            {"StackName": stack_id},
        )
        assert teardown.stack_deleting(stack_id, clients=lambda service: cloudformation) is deleting


def test_a_failed_clean_up_answers_failed_with_the_reason(clients: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _Answers()
    monkeypatch.setattr(teardown.urllib.request, "urlopen", answers)
    monkeypatch.setattr(teardown, "clean_up", _with_clients(teardown.clean_up, clients))
    monkeypatch.setattr(teardown, "stack_deleting", lambda stack_id: True)
    props = {"Bucket": "b", "ScheduleGroupPrefix": "autotest.", "SecretsPrefix": "autotest/z/", "Retain": "false"}
    teardown.handler(_event("Delete", props), None)
    [answer] = answers.sent
    assert answer["Status"] == "FAILED" and "not a deployment's prefixes" in answer["Reason"]


def test_without_an_https_response_url_nothing_is_done(clients: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    names = _deployment(clients)
    monkeypatch.setattr(teardown, "clean_up", _with_clients(teardown.clean_up, clients))
    monkeypatch.setattr(teardown, "stack_deleting", lambda stack_id: True)
    event = {**_event("Delete", {**names, "Retain": "false"}), "ResponseURL": "http://169.254.169.254/"}
    with pytest.raises(ValueError, match="not https"):
        teardown.handler(event, None)
    assert clients("s3").list_objects_v2(Bucket=names["Bucket"])["KeyCount"] == 3


def _with_clients(clean_up: Any, clients: Any) -> Any:
    def call(**kwargs: Any) -> Any:
        return clean_up(**kwargs, clients=clients)

    return call
