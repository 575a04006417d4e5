"""Which runner takes a run: the container Lambda, for runs that fit in its 15-minute limit, or the Fargate
workers, for longer ones (``docs/architecture.md``: runners).

A run's message says which (``RunMessage.lane``); the run queue adapter sends a ``long`` one to the Fargate
workers' queue when the deployment has one (runner mode ``both``), else to the one run queue. A batch message
(child runs of a suite run, executed in turn) takes its runner the sum of their timeouts: where the container
Lambda takes the run queue (``AUTOTEST_RUN_MESSAGE_LIMIT_S``) it is split into messages that fit, and each is
routed by its sum.
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


def split_to_fit(timeouts_s: list[int], limit_s: int) -> list[range]:
    """Consecutive groups of ``timeouts_s`` (their indexes), each summing to at most ``limit_s`` (a single timeout
    above it is a group of its own): the messages a batch becomes where one runner may take only ``limit_s``."""
    groups: list[range] = []
    start, total = 0, 0
    for i, timeout in enumerate(timeouts_s):
        if i > start and total + timeout > limit_s:
            groups.append(range(start, i))
            start, total = i, 0
        total += timeout
    if timeouts_s:
        groups.append(range(start, len(timeouts_s)))
    return groups
