"""Storage: the one DynamoDB table every adapter uses and the artifacts bucket.

The table's keys, indexes and TTL attribute come from ``shared/resources.py``, the module the adapters and
local mode's provisioning (``shared/aws/provision.py``) read, so the deployed table cannot drift from what the
code queries.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from shared.resources import GSI_NAMES, TTL_ATTRIBUTE


class Storage(Construct):
    """The table (on demand, point-in-time recovery, encrypted, TTL on ``expires_at``, the adapters' GSIs) and
    the artifacts bucket (encrypted, no public access, TLS only, artifacts expire after ``retention_days``, read
    cross-origin through presigned URLs)."""

    def __init__(self, scope: Construct, id: str, *, retention_days: int, retain: bool) -> None:
        super().__init__(scope, id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="PK", type=string),
            sort_key=dynamodb.Attribute(name="SK", type=string),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            time_to_live_attribute=TTL_ATTRIBUTE,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=name,
                    partition_key=dynamodb.Attribute(name=f"{name}pk", type=string),
                    sort_key=dynamodb.Attribute(name=f"{name}sk", type=string),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
                for name in GSI_NAMES
            ],
            removal_policy=removal,
        )
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            # the trace viewer's service worker (on the API's origin) follows a large trace's redirect to its
            # presigned URL: a CORS read from any origin, with no credentials (the URL carries its own signature)
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=["*"],
                    max_age=3600,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-artifacts",
                    expiration=Duration.days(retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # a torn-down stack leaves no bucket behind unless asked to: the teardown function empties it first
            # (the CDK's auto_delete_objects would leave its own function's log group behind)
            removal_policy=removal,
        )
