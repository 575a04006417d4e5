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
            "context vpc_id: looking the VPC up needs AWS: run the CDK CLI (npx aws-cdk@2 synth or deploy) with "
            "credentials for the account; it caches what it finds in cdk.context.json"
        )
    env = Environment(account=account, region=region)
    stack = AutotestStack(app, config.stack_name, config=config, env=env)
    nag.check(app)
    nag.acknowledge(stack)
    return stack


def unknown(context: dict[str, Any]) -> None:
    """A context key the stack does not read is an error naming it (a mistake would otherwise be ignored in
    silence: ``-c retain=true`` keeps nothing), with the key it is closest to. Left alone: the CDK's own keys
    (a feature flag ``@aws-cdk/...``, a lookup or setting with a ``:`` in it, :data:`_CDK_KEYS`), and so any
    other tool's key written ``tool:key``."""
    for key in context:
        if key in KEYS or ":" in key or key.startswith("@") or key in _CDK_KEYS:
            continue
        close = (
            difflib.get_close_matches(key, KEYS, n=1, cutoff=0.7)
            or [k for k in KEYS if key.replace("-", "_") in k.split("_") or k.startswith(f"{key}_")][:1]
        )
        hint = f"did you mean {close[0]!r}?" if close else f"the stack reads {', '.join(KEYS)}"
        raise ConfigError(
            f"cdk.json / -c: context {key}: not a setting of the stack ({hint}; another tool's key is written tool:key)"
        )


#: context keys the CDK CLI itself reads that have no ``:`` in them
_CDK_KEYS = {"acknowledged-issue-numbers", "cli-telemetry", "notices"}


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
