"""The container Lambda runner: an SQS event source feeds run messages; each batch is executed with
powertools' ``AsyncBatchProcessor`` (records run concurrently, bounded by the browser pool) and reports
partial batch failures, so only the failed or busy records come back. A record that is a batch message (child
runs of a suite run) executes its runs in turn (``RunExecutor.execute_batch``): one invocation for them all. Under
``--single-process`` the pool launches a browser per context, so there a batch saves the invocations and the
Playwright driver's start, not the browser launches.

The browser pool lives as long as the Lambda execution environment (warm invocations reuse it). Playwright's
objects belong to the event loop that made them, and the loop powertools runs a batch on is not guaranteed to
outlive the invocation (outside Lambda it is a fresh ``asyncio.run`` every time; a closed loop cannot close
the browser it made, which would then be left running). So the runtime has a loop of its own, running in a
daemon thread for the life of the process; record handlers hand their message over to it and wait.
"""

from __future__ import annotations

import asyncio
import threading
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
from runner_container.runner.executor import Disposition, Execution
from runner_container.runner.runtime import Runtime, build_runtime
from shared.models.messages import RunMessage
from shared.observability import logger
from shared.services.container import Services
from shared.settings import get_settings

# One record per invocation (the CDK stack's batch size): a record handed back (its run held by another worker)
# would otherwise fail the whole invocation, a Lambda error for what is routine; a run that keeps failing ends
# in the dead-letter queue (alarmed), and the run records its error itself.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
SHUTDOWN_TIMEOUT_S = 30.0
#: a record whose run another worker holds is looked at again after this long
BUSY_RETRY_S = 30


class RunBusy(Exception):
    """Another worker holds this run attempt; the record goes back to the queue."""


class _State:
    runtime: Runtime | None = None  # lives on ``loop``
    loop: asyncio.AbstractEventLoop | None = None  # the runtime's own loop, run by ``thread``
    thread: threading.Thread | None = None
    services: Services | None = None
    lock = threading.Lock()


def configure(services: Services) -> None:
    """Use these services instead of the AWS ones (tests, local embedding). Closes the current runtime."""
    shutdown()
    _State.services = services


def shutdown() -> None:
    """Close the browser and stop the runtime's loop (tests, local embedding; Lambda just freezes)."""
    with _State.lock:
        loop, runtime, thread = _State.loop, _State.runtime, _State.thread
        _State.loop = _State.runtime = _State.thread = None
    if loop is None:
        return
    if runtime is not None:
        try:
            asyncio.run_coroutine_threadsafe(runtime.close(), loop).result(SHUTDOWN_TIMEOUT_S)
        except Exception as exc:
            logger.warning("could not close the runner's browser", error=f"{type(exc).__name__}: {exc}")
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(SHUTDOWN_TIMEOUT_S)
    loop.close()


def _services() -> Services:
    if _State.services is None:
        from shared.aws.factory import get_services

        _State.services = get_services()
    return _State.services


def _runtime_loop() -> asyncio.AbstractEventLoop:
    with _State.lock:
        if _State.loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="autotest-runner-loop", daemon=True)
            thread.start()
            _State.loop, _State.thread = loop, thread
        return _State.loop


async def _execute(message: RunMessage) -> Execution:
    """On the runtime's loop: build the runtime once, execute the message."""
    if _State.runtime is None:
        _State.runtime = build_runtime(_services(), get_settings(), extra_args=LAMBDA_ARGS)
    return await _State.runtime.executor.execute(message)


async def record_handler(record: SQSRecord) -> str:
    message = RunMessage.model_validate_json(record.body)
    result = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_execute(message), _runtime_loop()))
    if result.disposition == Disposition.busy:
        # back soon, not after the queue's visibility timeout (six times the function's: 90 minutes)
        await asyncio.to_thread(
            _services().queue.extend, record.receipt_handle, BUSY_RETRY_S, priority=message.priority
        )
        raise RunBusy(f"a run of message {record.message_id} (run {message.run_id}) is held by another worker")
    statuses = [_status(e) for e in result.members or (result,)]
    logger.info("run message handled", run_ids=[m.run_id for m in message.members()], statuses=statuses)
    return ",".join(statuses)


def _status(result: Execution) -> str:
    return result.run.status.value if result.run is not None else "dropped"


def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
