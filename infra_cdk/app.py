"""The CDK app: ``python -m infra_cdk.app`` synthesizes offline (no CDK CLI, no Docker) into ``cdk.out``;
``cdk.json`` points the CDK CLI here too (``npx aws-cdk synth``, ``cdk deploy``)."""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment

from infra_cdk import nag
from infra_cdk.config import KEYS, ConfigError, StackConfig
from infra_cdk.stack import AutotestStack


def build(app: App) -> AutotestStack:
    """The stack, with cdk-nag's AwsSolutions pack run over it when synthesized (a finding not acknowledged in
    ``infra_cdk/nag.py`` fails the synth)."""
    unknown(app.node.get_all_context())
    config = StackConfig.from_context({key: app.node.try_get_context(key) for key in KEYS})
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    if config.vpc_id and not (account and region):
        raise ConfigError(
            "context vpc_id: looking the VPC up needs the account and region: run the CDK CLI with AWS credentials "
            "(or set CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION)"
        )
    env = Environment(account=account, region=region)
    stack = AutotestStack(app, config.stack_name, config=config, env=env)
    nag.check(app)
    nag.acknowledge(stack)
    return stack


def unknown(context: dict[str, Any]) -> None:
    """A context key that is not the stack's but close to one of its keys (spelled nearly so, or a part of one:
    ``vpc`` for ``vpc_id``) is a mistake that would otherwise be ignored in silence: an error naming it and the
    key it is closest to. Other keys are left alone (the CDK's
    own, ``cli-telemetry`` or a feature flag, or another tool's)."""
    for key in context:
        if key in KEYS or ":" in key or key.startswith("@"):
            continue
        close = (
            difflib.get_close_matches(key, KEYS, n=1, cutoff=0.8)
            or [k for k in KEYS if key.replace("-", "_") in k.split("_") or k.startswith(f"{key}_")][:1]
        )
        if close:
            raise ConfigError(f"cdk.json / -c: context {key}: not a setting of the stack (did you mean {close[0]!r}?)")


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
