"""The API: an HTTP API (API Gateway v2) in front of the Mangum Lambda (``functions/api``), throttled, with
access logs, and a custom domain when one is configured.

Authentication is the app's own (project API keys, checked by ``shared/services/projects.py``), so the routes
have no API Gateway authorizer. The bootstrap key is generated into Secrets Manager at deploy time (never in
the template); the function reads it on the first request that presents a key. So is the dashboard's cookie
signing key (``/ui``), read on the first dashboard request.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra_cdk.config import StackConfig
from infra_cdk.constructs.functions import log_group, python_function

#: API Gateway answers 504 after 30 s; the function stops a little before
TIMEOUT = Duration.seconds(29)


class Api(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, environment: dict[str, str]) -> None:
        super().__init__(scope, id)
        self.bootstrap_key = secretsmanager.Secret(
            self,
            "BootstrapKey",
            description="autotest's bootstrap API key (the admin key of the default project)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48, include_space=False
            ),
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        self.ui_session_key = secretsmanager.Secret(
            self,
            "DashboardSessionKey",
            description="the key that signs and encrypts autotest's dashboard session cookies (/ui)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64, include_space=False
            ),
            # a new key only ends the dashboard's logins: nothing is lost with it
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = python_function(
            self,
            "Function",
            deployable="api",
            description="autotest's HTTP API (FastAPI through Mangum)",
            environment={
                **environment,
                "AUTOTEST_BOOTSTRAP_API_KEY_SECRET": self.bootstrap_key.secret_arn,
                "AUTOTEST_UI_SESSION_KEY_SECRET": self.ui_session_key.secret_arn,
                # an HTTP API hands a function's answer over whole: a stream would arrive when the run ended (or
                # time out first); the route answers 404 and the CLI polls
                "AUTOTEST_EVENT_STREAMS": "false",
            },
            timeout=TIMEOUT,
            memory_mb=1024,
            log_days=config.log_retention_days,
            retain_logs=config.retain_data,
        )
        self.bootstrap_key.grant_read(self.function)
        self.ui_session_key.grant_read(self.function)

        self.http_api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"autotest-{config.stage}",
            description="autotest: tests, runs, suites, schedules",
            create_default_stage=False,
            default_integration=HttpLambdaIntegration("Lambda", self.function),
            disable_execute_api_endpoint=config.domain_name is not None,
        )
        access_logs = log_group(self, "AccessLogs", days=config.log_retention_days, retain=config.retain_data)
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=config.throttle_rate, burst_limit=config.throttle_burst),
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=json.dumps(_ACCESS_LOG)
        )
        self.url = self.stage.url
        if config.domain_name and config.certificate_arn:
            domain = apigw.DomainName(
                self,
                "Domain",
                domain_name=config.domain_name,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn),
            )
            apigw.ApiMapping(self, "Mapping", api=self.http_api, domain_name=domain, stage=self.stage)
            self.url = f"https://{config.domain_name}/"
            #: where the domain's DNS record (CNAME or alias) must point
            self.domain_target = domain.regional_domain_name
        self.access_logs = access_logs


#: one JSON line per request (API Gateway's context variables)
_ACCESS_LOG = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
    "userAgent": "$context.identity.userAgent",
}
