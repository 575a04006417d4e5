"""Lambda code, one bundle per deployable: the handler's package, ``shared/``, and only that deployable's
dependency set (no Playwright, no moto, no CDK).

(First version: the source only; the dependency sets and their bundling come next.)
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[1]

#: each zip Lambda: its handler (``module.function``)
HANDLERS: dict[str, str] = {
    "api": "functions.api.handler.handler",
    "planner": "functions.planner.handler.handler",
    "scheduler": "functions.scheduler.handler.handler",
    "events": "functions.events.handler.handler",
    "notifications": "functions.notifications.handler.handler",
    "deadletters": "functions.deadletters.handler.handler",
    "teardown": "functions.teardown.handler.handler",
}


def lambda_code(deployable: str) -> lambda_.Code:
    """The code asset of ``deployable`` (a key of :data:`HANDLERS`)."""
    if deployable not in HANDLERS:
        raise KeyError(f"no deployable {deployable!r} (one of {', '.join(HANDLERS)})")
    return lambda_.Code.from_asset(
        str(ROOT), exclude=["**", "!shared", "!shared/**", "!functions", "!functions/**", "**/__pycache__"]
    )
