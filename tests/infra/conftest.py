"""The CDK stack synthesized once per test session (offline: jsii runs on the installed Node.js), with asset
bundling skipped: the Lambdas' code is not built (no download, no install), so synthesis stays fast."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra_cdk.app import build

#: the context that makes the CDK skip every stack's asset bundling
NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")), context=NO_BUNDLING)
    return Template.from_stack(build(app))


@pytest.fixture
def new_app(tmp_path: Path) -> Callable[..., App]:
    """``new_app(**context)``: an app synthesizing into this test's directory, bundling skipped."""

    def make(**context: Any) -> App:
        return App(outdir=str(tmp_path / "cdk.out"), context={**NO_BUNDLING, **context})

    return make
