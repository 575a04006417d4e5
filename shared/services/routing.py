"""Which runner takes a run: the container Lambda, for runs that fit in its 15-minute limit, or the Fargate
workers, for longer ones (``docs/architecture.md``: runners).

A run's message says which (``RunMessage.lane``); the run queue adapter sends a ``long`` one to the Fargate
workers' queue when the deployment has one (runner mode ``both``), else to the one run queue.
"""

from __future__ import annotations

from typing import Literal

Lane = Literal["short", "long"]

#: Lambda's hard limit on one invocation (seconds)
LAMBDA_LIMIT_S = 900
#: the longest run timeout the container Lambda takes: its limit less time to start the browser before the run
#: and to upload the artifacts and report after it
LAMBDA_RUN_LIMIT_S = 840


def lane_for(timeout_s: int | None, *, short_limit_s: int | None) -> Lane:
    """``long`` when the run may outlast what the short lane's runner is given (``short_limit_s``; none: one
    lane for every run); a run without a timeout of its own is short (the default timeout is well within)."""
    if short_limit_s is None or timeout_s is None:
        return "short"
    return "long" if timeout_s > short_limit_s else "short"
