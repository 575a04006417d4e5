"""The CDK stack synthesized once per test session (offline: jsii runs on the installed Node.js)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra_cdk.app import build


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return Template.from_stack(build(app))
