"""cdk-nag's AwsSolutions pack runs on every synth of the app and passes: each finding is fixed or acknowledged
with its reason (infra_cdk/nag.py). Every template the infra tests synthesize runs the pack as well:
``Template.from_stack`` fails on a finding."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk import aws_sqs as sqs

from infra_cdk.app import build


def _report(app: App) -> dict:
    report: dict = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    return report


def test_the_synthesized_app_passes_the_aws_solutions_pack(new_app: Callable[..., App]) -> None:
    app = new_app()
    build(app)
    app.synth()  # raises ValidationFailed on a finding nobody acknowledged
    assert [r for r in _report(app)["pluginReports"] if r["conclusion"] != "success"] == []


def test_a_finding_nobody_acknowledged_fails_the_synth(new_app: Callable[..., App]) -> None:
    # Given a queue with neither a dead-letter queue nor TLS enforced, added to the stack
    app = new_app()
    stack = build(app)
    sqs.Queue(stack, "Careless")
    # When synthesized, Then cdk-nag fails it, naming the rules and the construct
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    [aws_solutions] = [r for r in _report(app)["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    found = {(v["ruleName"], c["constructPath"]) for v in aws_solutions["violations"] for c in v["violatingConstructs"]}
    assert found == {
        ("AwsSolutions-SQS3", "autotest-dev/Careless/Resource"),
        ("AwsSolutions-SQS4", "autotest-dev/Careless/Resource"),
    }  # and nothing else of the stack is a finding
