"""Dead-letter consumer: a run message that used up its deliveries ends its run as ``error`` with
the reason (docs/architecture.md: delivery guarantees). In AWS an SQS event source on the runs DLQ calls
``handler``; local mode polls the DLQ and calls :func:`process` (``cli/local/deadletters.py``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from shared.models.messages import RunMessage
from shared.observability import logger
from shared.services.runs import DeadLetterOutcome, RunService

processor = BatchProcessor(event_type=EventType.SQS)


class RunStillHeld(Exception):
    """A worker still heartbeats the run: keep the letter and look again later."""


def process(body: str, runs: RunService) -> DeadLetterOutcome:
    try:
        message = RunMessage.model_validate_json(body)
    except ValidationError as exc:
        logger.error("unreadable dead letter dropped", error=str(exc).splitlines()[0], body=body[:200])
        return "dropped"
    return runs.dead_letter(message)


def record_handler(record: SQSRecord) -> str:
    from shared.aws.factory import get_services

    outcome = process(record.body, get_services().runs)
    if outcome == "pending":
        raise RunStillHeld(f"message {record.message_id}: its run is still held by a worker")
    return outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
