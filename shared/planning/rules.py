"""The rule planner: the sentence grammar (``grammar.py``) behind the ``Planner`` port. No model, no network:
the local default (``AUTOTEST_PLANNER=rules``)."""

from __future__ import annotations

import time

from shared.models.planning import PlanFailed, PlanOutcome, PlanRequest, PlanUsage
from shared.planning.grammar import parse

#: the most steps a plan holds (``shared.models.plans.Plan``)
MAX_PLAN_STEPS = 500


class RulePlanner:
    """Turns a goal written in the grammar's sentences into steps, or fails naming every line it cannot read.

    A goal need not start with ``Go to``: a run opens the test's ``start_url`` before the first step unless that
    step is a ``goto``."""

    name = "rules"

    def plan(self, request: PlanRequest) -> PlanOutcome:
        started = time.perf_counter()
        try:
            steps = parse(request.goal)
            if len(steps) > MAX_PLAN_STEPS:
                raise PlanFailed(
                    f"the goal reads as {len(steps)} steps, more than the {MAX_PLAN_STEPS} a plan may hold: "
                    "split it into several tests"
                )
        except PlanFailed as exc:
            raise PlanFailed(exc.message, usage=PlanUsage(latency_ms=_ms_since(started)), details=exc.details) from exc
        notes = []
        if steps[0].action not in ("goto", "request") and not request.start_url:
            notes.append("the plan does not start with Go to and the test has no start_url: it starts on a blank page")
        return PlanOutcome(steps=steps, planner="rules", usage=PlanUsage(latency_ms=_ms_since(started)), notes=notes)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
