"""The planner worker: an SQS event source on the planner's queue feeds plan requests (``PlanMessage``): a plan
proposal to fill, or a goal-only run waiting for its steps. Partial batch responses (powertools
``BatchProcessor``): only the records that failed come back.

A planner that answers "no plan" (``PlanFailed``) fails the proposal or the run with its reason: that is an
outcome, not an error. Any other error (Bedrock throttled past its retries, the table unavailable) raises, so the
message comes back; on its last delivery (``MAX_RECEIVE_COUNT``) the proposal or run is failed with that error
instead, so nothing waits forever. Duplicates are harmless: filling a proposal and planning a run are conditional
on them still waiting. Local mode polls the same queue and calls :func:`process` (``cli/local/planner.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from shared.errors import DomainError, NotFound
from shared.models.messages import PlanMessage
from shared.observability import logger
from shared.resources import MAX_RECEIVE_COUNT
from shared.services.container import Services

processor = BatchProcessor(event_type=EventType.SQS)
PlanOutcomeName = Literal["proposal", "run", "failed", "dropped"]


class _State:
    services: Services | None = None


def configure(services: Services | None) -> None:
    """Use these services instead of the AWS ones (tests, local embedding)."""
    _State.services = services


def _services() -> Services:
    if _State.services is None:
        from shared.aws.factory import get_services

        _State.services = get_services()
    return _State.services


def process(body: str, services: Services, *, receive_count: int = 1) -> PlanOutcomeName:
    """Handle one plan request. Raises (the message comes back) on an error before its last delivery."""
    try:
        message = PlanMessage.model_validate_json(body)
    except ValidationError as exc:
        logger.error("unreadable plan request dropped", error=str(exc).splitlines()[0], body=body[:200])
        return "dropped"
    planning = services.planning
    if planning is None:
        raise RuntimeError("this deployment has no planning service")
    try:
        if message.proposal_id is not None:
            planning.fill_proposal(message.project_id, message.proposal_id, correlation_id=message.correlation_id)
            return "proposal"
        services.runs.plan_waiting_run(message)
        return "run"
    except NotFound as exc:  # no such proposal (or run) in that project: no delivery will find one
        logger.error("plan request for nothing dropped", error=exc.message, proposal_id=message.proposal_id)
        return "dropped"
    except Exception as exc:
        if receive_count < MAX_RECEIVE_COUNT:
            raise
        why = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        reason = f"planning failed on each of {receive_count} tries; the last error: {why}"
        logger.error("plan request failed for good", proposal_id=message.proposal_id, run_id=message.run_id)
        if message.proposal_id is not None:
            planning.fail_proposal(message.project_id, message.proposal_id, reason)
        else:
            services.runs.fail_waiting_run(message, reason)
        return "failed"


def record_handler(record: SQSRecord) -> str:
    count = int(record.attributes.approximate_receive_count or 1)
    outcome = process(record.body, _services(), receive_count=count)
    logger.info("plan request handled", message_id=record.message_id, outcome=outcome)
    return outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
