"""The container Lambda runner: an SQS event source feeds run messages; each batch is executed with
powertools' ``AsyncBatchProcessor`` (records run concurrently, bounded by the browser pool) and reports
partial batch failures, so only the failed or busy records come back.

The browser pool lives as long as the Lambda execution environment (warm invocations reuse it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from runner_container.runner.browser import LAMBDA_ARGS
from runner_container.runner.executor import Disposition
from runner_container.runner.runtime import Runtime, build_runtime
from shared.models.messages import RunMessage
from shared.observability import logger
from shared.services.container import Services
from shared.settings import get_settings

processor = AsyncBatchProcessor(event_type=EventType.SQS)


class RunBusy(Exception):
    """Another worker holds this run attempt; the record goes back to the queue."""


class _State:
    runtime: Runtime | None = None
    loop: asyncio.AbstractEventLoop | None = None
    services: Services | None = None


def configure(services: Services) -> None:
    """Use these services instead of the AWS ones (tests, local embedding)."""
    _State.services = services
    _State.runtime = None


def _services() -> Services:
    if _State.services is None:
        from shared.aws.factory import get_services

        _State.services = get_services()
    return _State.services


async def _runtime() -> Runtime:
    # Playwright objects belong to the event loop that made them: rebuild if the loop changed.
    loop = asyncio.get_running_loop()
    if _State.runtime is None or _State.loop is not loop:
        _State.runtime = build_runtime(_services(), get_settings(), extra_args=LAMBDA_ARGS)
        _State.loop = loop
    return _State.runtime


async def record_handler(record: SQSRecord) -> str:
    message = RunMessage.model_validate_json(record.body)
    runtime = await _runtime()
    result = await runtime.executor.execute(message)
    if result.disposition == Disposition.busy:
        raise RunBusy(f"run {message.run_id} attempt {message.attempt} is held by another worker")
    status = result.run.status.value if result.run is not None else "dropped"
    logger.info("run message handled", run_id=message.run_id, status=status)
    return status


def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
