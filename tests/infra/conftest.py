"""The CDK stack synthesized offline (jsii runs on the installed Node.js), with cdk-nag's AwsSolutions pack:
``Template.from_stack`` fails on a finding ``infra_cdk/nag.py`` does not acknowledge, so every template here
is also a cdk-nag check. Bundling is skipped (``aws:cdk:bundling-stacks``): no package is downloaded."""

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
from infra_cdk.stack import AutotestStack

Synth = Callable[..., tuple[AutotestStack, Template]]

#: the context that makes the CDK skip every stack's asset bundling
NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """``synth(**context)``: the stack and its template for that context (each variant made once a session)."""
    made: dict[tuple[tuple[str, Any], ...], tuple[AutotestStack, Template]] = {}

    def make(**context: Any) -> tuple[AutotestStack, Template]:
        key = tuple(sorted(context.items()))
        if key not in made:
            outdir: Path = tmp_path_factory.mktemp("cdk.out")
            app = App(outdir=str(outdir), context={**NO_BUNDLING, **context})
            stack = build(app)
            made[key] = (stack, Template.from_stack(stack))
        return made[key]

    return make


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    """The default configuration's template (cdk.json's defaults: runner mode both, Bedrock planner)."""
    return synth()[1]


@pytest.fixture(scope="session")
def stack(synth: Synth) -> AutotestStack:
    return synth()[0]


@pytest.fixture
def new_app(tmp_path: Path) -> Callable[..., App]:
    """``new_app(**context)``: an app synthesizing into this test's directory, bundling skipped."""

    def make(**context: Any) -> App:
        return App(outdir=str(tmp_path / "cdk.out"), context={**NO_BUNDLING, **context})

    return make
