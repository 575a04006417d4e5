"""The notifier: an SQS event source on the notifier's queue. Two kinds of message arrive there:

- EventBridge's (its rule puts every ``Run Status Changed`` and ``Suite Run Completed`` on the queue): the
  service decides which targets want the event and queues one delivery message per target;
- delivery messages: one attempt of one delivery (a failed attempt that may succeed later queues the next
  with a delay).

The records of a batch are handled concurrently (powertools ``AsyncBatchProcessor``, each record in a thread),
so a receiver that hangs until its timeout holds up only its own delivery. Partial batch responses: only
records that raised (the table or queue unavailable) come back. Local mode polls the same queue and calls
:func:`process` (``cli/local/notifier.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from shared.errors import NotFound
from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.models.notifications import DeliveryMessage
from shared.observability import logger
from shared.services.container import Services

processor = AsyncBatchProcessor(event_type=EventType.SQS)
Outcome = Literal["queued", "ignored", "delivered", "retrying", "failed", "dropped", "deferred"]


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


def process(body: str, services: Services, *, receive_count: int = 1) -> Outcome:
    """Handle one message of the notifier's queue. Raises (the message comes back) when a dependency fails."""
    notifications = services.notifications
    if notifications is None:
        raise RuntimeError("this deployment has no notifications service")
    try:
        data = json.loads(body)
        if isinstance(data, dict) and "detail-type" in data:
            detail_type, detail = data["detail-type"], data.get("detail")
            event: RunStatusChanged | SuiteRunCompleted
            if detail_type == RunStatusChanged.detail_type:
                event = RunStatusChanged.model_validate(detail)
            elif detail_type == SuiteRunCompleted.detail_type:
                event = SuiteRunCompleted.model_validate(detail)
            else:
                return "ignored"
            try:
                made = notifications.on_event(event)
                if isinstance(event, SuiteRunCompleted) and services.github is not None:
                    made = [*made, *services.github.on_event(event)]  # the commit status of a GitHub push or PR
            except NotFound as exc:  # the run or suite run is gone (another project's id, deleted): nothing to say
                logger.warning("event for nothing dropped", error=exc.message)
                return "dropped"
            return "queued" if made else "ignored"
        message = DeliveryMessage.model_validate(data)
    except (ValueError, ValidationError) as exc:
        logger.error("unreadable notifier message dropped", error=str(exc).splitlines()[0], body=body[:200])
        return "dropped"
    return notifications.deliver(message)


async def record_handler(record: SQSRecord) -> str:
    count = int(record.attributes.approximate_receive_count or 1)
    outcome = await asyncio.to_thread(process, record.body, _services(), receive_count=count)
    logger.info("notifier message handled", message_id=record.message_id, outcome=outcome)
    return outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
