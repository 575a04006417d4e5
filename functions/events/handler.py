"""The events function: consumes the events an EventBridge rule sends to its queue (``Run Status Changed``) and
hands each to the service that aggregates it: a child run's change goes to its suite run
(``SuiteService.on_run_changed``). SQS event source with partial batch responses (powertools
``BatchProcessor``): a record that fails comes back and is tried again (then the DLQ). Consumers are
idempotent, so a duplicate or out-of-order event is harmless. Local mode polls the same queue and calls
:func:`process` (``cli/local/events.py``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from shared.models.events import RunStatusChanged
from shared.observability import logger
from shared.services.container import Services

processor = BatchProcessor(event_type=EventType.SQS)
EventOutcome = Literal["aggregated", "ignored", "dropped"]


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


def process(body: str, services: Services) -> EventOutcome:
    """Handle one event (an EventBridge envelope). Raises when a service fails: the message comes back."""
    try:
        envelope = json.loads(body)
        kind = envelope["detail-type"]
        detail = envelope["detail"]
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("unreadable event dropped", error=str(exc), body=body[:200])
        return "dropped"
    if kind != RunStatusChanged.detail_type:
        return "ignored"
    try:
        event = RunStatusChanged.model_validate(detail)
    except ValidationError as exc:
        logger.error("unreadable run event dropped", error=str(exc).splitlines()[0])
        return "dropped"
    if event.suite_run_id is None or services.suites is None:
        return "ignored"
    services.suites.on_run_changed(event)
    return "aggregated"


def record_handler(record: SQSRecord) -> str:
    return process(record.body, _services())


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
