"""The CDK app: ``python -m infra_cdk.app`` synthesizes offline (no CDK CLI, no Docker) into ``cdk.out``;
``cdk.json`` points the CDK CLI here too (``npx aws-cdk synth``, ``cdk deploy``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment

from infra_cdk.config import KEYS, ConfigError, StackConfig
from infra_cdk.stack import AutotestStack


def build(app: App) -> AutotestStack:
    config = StackConfig.from_context({key: app.node.try_get_context(key) for key in KEYS})
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    return AutotestStack(app, f"autotest-{config.stage}", config=config, env=env)


CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def _context() -> dict[str, Any]:
    """``cdk.json``'s context when run as ``python -m infra_cdk.app`` (the CDK CLI hands it over itself)."""
    if "CDK_CONTEXT_JSON" in os.environ or not CDK_JSON.is_file():
        return {}
    context: dict[str, Any] = json.loads(CDK_JSON.read_text()).get("context", {})
    return context


def main(outdir: str | None = None) -> None:
    """Synthesize the stack into ``outdir``; a bad context value exits with an error naming it."""
    # the CDK CLI says where (CDK_OUTDIR); run as a module, it is cdk.out beside cdk.json
    app = App(outdir=outdir or os.environ.get("CDK_OUTDIR") or str(CDK_JSON.with_name("cdk.out")), context=_context())
    try:
        build(app)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
