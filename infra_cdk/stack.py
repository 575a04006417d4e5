"""The autotest stack: one stack, one construct per concern (``infra_cdk/constructs/``)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra_cdk.config import StackConfig
from infra_cdk.constructs.storage import Storage


class AutotestStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.storage = Storage(self, "Storage", retention_days=config.retention_days, retain=config.retain_data)
        CfnOutput(self, "TableName", value=self.storage.table.table_name)
        CfnOutput(self, "ArtifactBucket", value=self.storage.bucket.bucket_name)
