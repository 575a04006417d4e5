"""After a restore, give back to the queue every run that was waiting or executing when local mode
stopped: the queue's messages lived in moto's memory and are gone.

- a ``queued`` run gets its message again (same attempt: it never started);
- a ``running`` run (local mode was killed mid-run) was interrupted: it goes back to the queue as its
  next attempt, the interruption recorded on it ("local mode restarted while it ran"), its partial
  results cleared. An interruption uses none of the run's retries (``RunService.interrupt``).

Both are safe to repeat: taking a run is a conditional write, so a duplicate message is dropped. A queued run
still waiting for its plan (a goal-only run, with Bedrock as the planner) gets its plan request again instead,
and so does every plan proposal still ``pending`` (filling one is conditional on it being pending).

Why the queue needs no journal of its own (``cli/local/persistence.py`` journals the table and the
bucket): every message the run queue can hold belongs to a run that is ``queued`` or ``running`` in
the table, and a run in either status must have one. A run is written before its message is sent
(start, retry, resume), so a crash between the two leaves a ``queued`` run without a message, which
this re-enqueues; a message of an ended run or of an older attempt is dropped when taken anyway. What
is not kept: a retry's delay (the run is enqueued at once) and a message's delivery count, so a run
whose message was on its way to the dead-letter queue gets another five deliveries. The SSE bridge's
events are not kept either: a follower reconnects and reads the run; nor are the events queue's, so every suite
run that had not ended is brought up to date from its child runs (``SuiteService.advance``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.aws.snapshot import runs_with_status
from shared.errors import Conflict, DomainError, NotFound
from shared.models.messages import PlanMessage
from shared.models.runs import RunStatus
from shared.observability import logger
from shared.services.container import Services
from shared.services.runs import LOCAL_RESTART


def requeue_pending(services: Services, items: Iterable[dict[str, Any]]) -> int:
    """Re-enqueue the runs that were pending in the snapshot, and ask again for the plans of the proposals that
    were pending; returns how many runs."""
    items = list(items)
    _replan_proposals(services, items)
    _advance_suite_runs(services, items)
    count = 0
    for project_id, run_id in runs_with_status(items, (RunStatus.queued, RunStatus.running)):
        try:
            run = services.runs.resume(services.runs.get_run(project_id, run_id), LOCAL_RESTART)
            if run.status == RunStatus.queued:
                count += 1
                logger.info("run re-enqueued after a restart", run_id=run.id, attempt=run.attempt)
        except (Conflict, NotFound) as exc:
            logger.warning("run not re-enqueued", run_id=run_id, reason=exc.message)
        except DomainError as exc:
            logger.error("could not re-enqueue a run", run_id=run_id, error=exc.message)
    return count


def _replan_proposals(services: Services, items: list[dict[str, Any]]) -> int:
    """Send the plan request of every proposal still pending in the snapshot again; returns how many."""
    if services.plan_queue is None:
        return 0
    count = 0
    for item in items:
        if item.get("type", {}).get("S") != "plan_proposal" or item.get("status", {}).get("S") != "pending":
            continue
        message = PlanMessage(project_id=item["project_id"]["S"], proposal_id=item["id"]["S"])
        try:
            services.plan_queue.send(message)
            count += 1
        except DomainError as exc:
            logger.error("could not ask again for a plan", proposal_id=message.proposal_id, error=exc.message)
    return count


def _advance_suite_runs(services: Services, items: list[dict[str, Any]]) -> int:
    """Bring every suite run that had not ended up to date: the events that would have done it were in the
    events queue, which did not survive the restart. Returns how many."""
    if services.suites is None:
        return 0
    count = 0
    for item in items:
        if item.get("type", {}).get("S") != "suite_run" or item.get("status", {}).get("S") not in ("queued", "running"):
            continue
        try:
            services.suites.advance(item["project_id"]["S"], item["id"]["S"])
            count += 1
        except DomainError as exc:
            logger.error("could not bring a suite run up to date", suite_run_id=item["id"]["S"], error=exc.message)
    return count
