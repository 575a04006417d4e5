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
import urllib.request
from typing import Any

import boto3

from shared.observability import logger

#: S3's limit on the keys of one DeleteObjects call
_DELETE_BATCH = 1000


def handler(event: dict[str, Any], context: Any) -> None:
    props = event.get("ResourceProperties", {})
    physical_id = event.get("PhysicalResourceId") or f"teardown-{props.get('Bucket', 'autotest')}"
    status, reason, removed = "SUCCESS", "", {}
    try:
        if event.get("RequestType") == "Delete" and stack_deleting(event["StackId"]):
            retain = str(props.get("Retain", "false")).lower() == "true"
            removed = clean_up(
                bucket=None if retain else props["Bucket"],
                schedule_group_prefix=props["ScheduleGroupPrefix"],
                secrets_prefix=None if retain else props["SecretsPrefix"],
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
    *, bucket: str | None, schedule_group_prefix: str, secrets_prefix: str | None, clients: Any = boto3.client
) -> dict:
    """Empty ``bucket``, delete the schedule groups and secrets with the prefixes (none: keep them); returns how
    many of each were removed."""
    if not schedule_group_prefix or secrets_prefix == "":
        raise ValueError("refusing to clean up with an empty prefix (it would match everything in the account)")
    return {
        "objects": _empty_bucket(clients("s3"), bucket) if bucket else 0,
        "schedule_groups": _delete_schedule_groups(clients("scheduler"), schedule_group_prefix),
        "secrets": _delete_secrets(clients("secretsmanager"), secrets_prefix) if secrets_prefix else 0,
    }


def _empty_bucket(s3: Any, bucket: str) -> int:
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):  # the bucket is unversioned
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(f"s3://{bucket}/{first.get('Key')}: {first.get('Code')} {first.get('Message')}")
            removed += len(batch)
    return removed


def _delete_schedule_groups(scheduler: Any, prefix: str) -> int:
    names = [
        group["Name"]
        for page in scheduler.get_paginator("list_schedule_groups").paginate(NamePrefix=prefix)
        for group in page.get("ScheduleGroups", [])
        if group["Name"].startswith(prefix)  # the filter is a prefix; check it exactly
    ]
    for name in names:
        scheduler.delete_schedule_group(Name=name)  # its schedules with it
    return len(names)


def _delete_secrets(secrets: Any, prefix: str) -> int:
    names = [
        secret["Name"]
        for page in secrets.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}], IncludePlannedDeletion=True
        )
        for secret in page.get("SecretList", [])
        if secret["Name"].startswith(prefix)
    ]
    for name in names:
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
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # https checked above
        answer.read()
