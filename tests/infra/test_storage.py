"""The storage construct: the table is the one the adapters query, the bucket keeps artifacts private."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

from infra_cdk.app import CDK_JSON, build
from infra_cdk.config import KEYS, ConfigError, StackConfig
from shared.resources import GSI_NAMES, TTL_ATTRIBUTE


def test_the_table_has_the_adapters_keys_indexes_and_ttl(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    (table,) = template.find_resources("AWS::DynamoDB::GlobalTable").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert sorted(i["IndexName"] for i in props["GlobalSecondaryIndexes"]) == sorted(GSI_NAMES)
    for index in props["GlobalSecondaryIndexes"]:
        name = index["IndexName"]
        assert index["KeySchema"] == [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "ALL"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}  # the AWS managed key
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["DeletionPolicy"] == "Delete"  # retain_data is off by default: nothing left behind


def test_the_bucket_is_private_encrypted_tls_only_and_expires_artifacts(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 30, "Status": "Enabled"})])
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_the_bucket_lets_a_presigned_url_be_read_from_any_origin_without_credentials(template: Template) -> None:
    # the trace viewer's service worker follows a large trace's redirect to its presigned URL
    (bucket,) = template.find_resources("AWS::S3::Bucket").values()
    assert bucket["Properties"]["CorsConfiguration"] == {
        "CorsRules": [{"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["*"], "MaxAge": 3600}]
    }
    assert "PublicAccessBlockConfiguration" in bucket["Properties"]  # CORS grants no access of its own


def test_retention_and_retain_data_come_from_the_context(new_app: Callable[..., App]) -> None:
    app = new_app(stage="prod", retention_days=7, retain_data="true")
    stack = build(app)
    assert stack.stack_name == "autotest-prod"
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"ExpirationInDays": 7})])}},
    )
    (table,) = template.find_resources("AWS::DynamoDB::GlobalTable").values()
    assert table["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"retention_days": 0}, "context retention_days"),
        ({"stage": "Prod!"}, "context stage"),
        ({"retention_days": "many"}, "context retention_days"),
        ({"model_id": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/x"}, "context model_id"),
        ({"model_id": "anthropic.*"}, "context model_id"),
    ],
)
def test_a_bad_context_value_is_an_error_naming_the_key(context: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        StackConfig.from_context(context)


def test_a_context_key_the_stack_does_not_read_is_an_error_with_the_closest_one(
    new_app: Callable[..., App],
) -> None:
    with pytest.raises(
        ConfigError, match=r"context retension_days: not a setting of the stack \(did you mean 'retention_days'\?;"
    ):
        build(new_app(retension_days=7))


def test_cdk_json_names_every_option_with_its_default() -> None:
    context = json.loads(CDK_JSON.read_text())["context"]
    assert set(context) == set(KEYS)
    defaults = StackConfig()
    for key, value in context.items():
        assert getattr(defaults, key) == value, key


def test_keys_of_the_cdk_or_other_tools_are_left_alone(new_app: Callable[..., App]) -> None:
    stack = build(new_app(**{"cli-telemetry": False, "acknowledged-issue-numbers": [1], "mytool:team": "qa"}))
    assert stack.stack_name == "autotest-dev"


@pytest.mark.parametrize("allowlist", ["http://internal.example", "10.0.0.0/99"])
def test_a_bad_network_allowlist_is_an_error_at_synth(allowlist: str) -> None:
    with pytest.raises(ConfigError, match="context network_allowlist"):
        StackConfig.from_context({"network_allowlist": allowlist})


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"stage": ""}, "context stage"),  # -c stage=$UNSET is not the dev stage
        ({"retention_days": "yes"}, "context retention_days"),  # not the number 1
        ({"max_fargate_workers": "0"}, "context max_fargate_workers"),
    ],
)
def test_a_context_text_is_read_as_its_key_takes_it(context: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        StackConfig.from_context(context)


def test_a_part_of_a_key_is_taken_for_a_mistake(new_app: Callable[..., App]) -> None:
    with pytest.raises(ConfigError, match=r"context vpc: not a setting of the stack \(did you mean 'vpc_id'\?;"):
        build(new_app(vpc="vpc-0123456789abcdef0"))


def test_any_other_key_is_an_error_naming_what_the_stack_reads(new_app: Callable[..., App]) -> None:
    with pytest.raises(ConfigError, match=r"context foo: not a setting of the stack \(the stack reads stage, "):
        build(new_app(foo="bar"))
