"""The teardown function: a CloudFormation custom resource of the CDK stack that, when the stack is deleted,
removes what autotest made at run time and CloudFormation does not know of, so a torn-down deployment leaves
nothing behind:

- the artifacts bucket's objects (CloudFormation cannot delete a bucket that is not empty);
- the projects' EventBridge Scheduler schedule groups (``<scheduler group prefix><project id>``; deleting a
  group deletes its schedules);
- the projects' secrets in Secrets Manager (``<secrets prefix><project id>/<NAME>``), deleted without recovery
  (those already deleted through the API and waiting out their recovery window too).

With ``Retain`` (the stack's ``retain_data``) it keeps the objects and the secrets; the schedule groups go anyway
(their schedules would invoke the deleted function with a deleted role). Creating and updating the resource do
nothing, and so does a Delete that is not the stack's deletion (CloudFormation also sends one when the resource
is replaced or removed from the template): the stack is asked its status first.

The answer to CloudFormation is a PUT of a small JSON document to the pre-signed URL in the event, written here
rather than taken from a library: the CDK's provider framework would add two functions (and their log groups,
which it leaves behind) for it, and ``crhelper`` would add polling machinery this function has no use for.
A cleanup that fails answers FAILED with the reason, so the stack's deletion stops and says what is left,
rather than reporting success over orphans.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

from shared.observability import logger

#: S3's limit on the keys of one DeleteObjects call
_DELETE_BATCH = 1000
#: the only prefixes it deletes under, whatever an event says: the stack's (``infra_cdk/config.py``), whose
#: separator no stage holds, so one stage's never matches another's
_GROUP_PREFIX = re.compile(r"^autotest\.[a-z][a-z0-9-]{0,19}\.$")
_SECRETS_PREFIX = re.compile(r"^autotest/[a-z][a-z0-9-]{0,19}/$")
#: what must be left of the invocation to stop and still answer CloudFormation (a huge bucket: the stack's
#: deletion fails saying so, and deleting it again goes on where this one stopped)
ANSWER_MARGIN_S = 30.0


class OutOfTime(Exception):
    """The invocation is nearly over: stop, and answer."""


def handler(event: dict[str, Any], context: Any) -> None:
    url = event.get("ResponseURL")
    if not isinstance(url, str) or not url.startswith("https://"):  # nobody to answer: do nothing at all
        raise ValueError("CloudFormation's response URL is not https")
    props = event.get("ResourceProperties") or {}
    physical_id = event.get("PhysicalResourceId") or f"teardown-{props.get('Bucket', 'autotest')}"
    status, reason, removed = "SUCCESS", "", {}
    try:
        if event.get("RequestType") == "Delete" and stack_deleting(str(event.get("StackId", ""))):
            # anything but an explicit "false" keeps the data: a mistake here must not delete it
            retain = str(props.get("Retain", "")).strip().lower() != "false"
            removed = clean_up(
                bucket=None if retain else props["Bucket"],
                schedule_group_prefix=props["ScheduleGroupPrefix"],
                secrets_prefix=None if retain else props["SecretsPrefix"],
                time_left_s=_time_left(context),
            )
            logger.info("teardown: removed", extra={"removed": removed})
    except Exception as exc:  # answered as FAILED, with the reason, so CloudFormation does not wait an hour
        logger.exception("teardown failed")
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:1000]
    respond(event, status=status, reason=reason or "ok", physical_id=physical_id, data=removed)


def stack_deleting(stack_id: str, *, clients: Any = boto3.client) -> bool:
    """Whether the stack itself is being deleted (not this resource replaced, or dropped from the template)."""
    [stack] = clients("cloudformation").describe_stacks(StackName=stack_id)["Stacks"]
    return bool(stack["StackStatus"] == "DELETE_IN_PROGRESS")


def clean_up(
    *,
    bucket: str | None,
    schedule_group_prefix: str,
    secrets_prefix: str | None,
    clients: Any = boto3.client,
    time_left_s: Callable[[], float] | None = None,
) -> dict[str, int]:
    """Empty ``bucket``, delete the schedule groups and secrets with the prefixes (none: keep them); returns how
    many of each were removed. Each of the three is tried whatever the others did; what failed is raised after,
    all of it in one error."""
    if not _GROUP_PREFIX.fullmatch(schedule_group_prefix) or (
        secrets_prefix is not None and not _SECRETS_PREFIX.fullmatch(secrets_prefix)
    ):
        raise ValueError(
            f"refusing to clean up under {schedule_group_prefix!r} / {secrets_prefix!r}: not a deployment's prefixes "
            "(autotest.<stage>. and autotest/<stage>/)"
        )

    def enough_time() -> None:
        if time_left_s is not None and time_left_s() < ANSWER_MARGIN_S:
            raise OutOfTime("stopped before the invocation's end: delete the stack again to go on")

    removed: dict[str, int] = {}
    failures: list[str] = []
    steps: list[tuple[str, Callable[[], int]]] = [
        ("objects", lambda: _empty_bucket(clients("s3"), bucket, enough_time) if bucket else 0),
        ("schedule_groups", lambda: _delete_schedule_groups(clients("scheduler"), schedule_group_prefix, enough_time)),
        (
            "secrets",
            lambda: _delete_secrets(clients("secretsmanager"), secrets_prefix, enough_time) if secrets_prefix else 0,
        ),
    ]
    for name, step in steps:
        try:
            removed[name] = step()
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    if failures:
        raise RuntimeError("; ".join(failures))
    return removed


def _time_left(context: Any) -> Callable[[], float] | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: remaining() / 1000) if callable(remaining) else None


def _empty_bucket(s3: Any, bucket: str, enough_time: Callable[[], None]) -> int:
    removed = 0
    try:
        # page by page (the bucket is unversioned), deleting as it goes: a page is at most a DeleteObjects call
        for page in _pages(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket), enough_time):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not keys:
                continue
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[:_DELETE_BATCH], "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(f"s3://{bucket}/{first.get('Key')}: {first.get('Code')} {first.get('Message')}")
            removed += len(keys)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":  # gone already: nothing to empty
            return removed
        raise
    return removed


def _delete_schedule_groups(scheduler: Any, prefix: str, enough_time: Callable[[], None]) -> int:
    names = [
        group["Name"]
        for page in scheduler.get_paginator("list_schedule_groups").paginate(NamePrefix=prefix)
        for group in page.get("ScheduleGroups", [])
        if group["Name"].startswith(prefix)  # the filter is a prefix; check it exactly
    ]
    for name in names:
        enough_time()
        scheduler.delete_schedule_group(Name=name)  # its schedules with it
    return len(names)


def _delete_secrets(secrets: Any, prefix: str, enough_time: Callable[[], None]) -> int:
    names = [
        secret["Name"]
        for page in secrets.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}], IncludePlannedDeletion=True
        )
        for secret in page.get("SecretList", [])
        if secret["Name"].startswith(prefix)
    ]
    for name in names:
        enough_time()
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    return len(names)


def respond(event: dict[str, Any], *, status: str, reason: str, physical_id: str, data: dict) -> None:
    """CloudFormation's custom resource answer, PUT to the event's pre-signed (https) URL."""
    url = event["ResponseURL"]
    if not url.startswith("https://"):
        raise ValueError("CloudFormation's response URL is not https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": event.get("StackId", ""),
            "RequestId": event.get("RequestId", ""),
            "LogicalResourceId": event.get("LogicalResourceId", ""),
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # https checked above
        answer.read()


def _pages(pages: Iterable[dict[str, Any]], enough_time: Callable[[], None]) -> Iterator[dict[str, Any]]:
    for page in pages:
        enough_time()
        yield page
