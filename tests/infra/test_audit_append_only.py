"""The audit log is append-only in IAM too: every role that may write the table is denied updates, deletes and
batch writes in the audit partitions (``AUDIT#<project id>``), and may still append (PutItem)."""

from __future__ import annotations

import json

from aws_cdk.assertions import Template

from infra_cdk.stack import AutotestStack
from shared.resources import AUDIT_PARTITION_PREFIX
from tests.infra.helpers import actions, statements


def test_every_table_writer_is_denied_changing_or_deleting_audit_records(
    stack: AutotestStack, template: Template
) -> None:
    writers = {
        "api": stack.api.function.role,
        "planner": stack.planner.function.role,
        "scheduler": stack.scheduling.function.role,
        "events": stack.events.function.role,
        "notifications": stack.notifications.function.role,
        "deadletters": stack.dead_letters.function.role,
    }
    if stack.runner.function is not None:
        writers["runner"] = stack.runner.function.role
    if stack.runner.service is not None:
        writers["worker"] = stack.runner.service.task_definition.task_role
    assert {"api", "runner", "worker"} <= set(writers)

    for name, role in writers.items():
        denied = [s for s in statements(template, role) if s.get("Effect") == "Deny"]
        assert len(denied) == 1, name
        (deny,) = denied
        assert set(deny["Action"]) >= {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
        assert deny["Condition"] == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": [f"{AUDIT_PARTITION_PREFIX}*"]}}
        assert "Table" in json.dumps(deny["Resource"]) and "index" not in json.dumps(deny["Resource"])
        assert "dynamodb:PutItem" in actions(template, role), name  # appending stays allowed


def test_the_table_expires_items_by_the_ttl_attribute_audit_records_carry(template: Template) -> None:
    (table,) = template.find_resources("AWS::DynamoDB::GlobalTable").values()
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
