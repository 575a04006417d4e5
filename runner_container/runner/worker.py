"""The Fargate runner: long-polls the run queues and executes up to ``runner_concurrency`` runs at once, high
priority before normal before low (the queue's ``receive`` asks them in that order: ``shared/aws/sqs.py``).

While a run executes, its message's visibility is extended with every heartbeat; the message is deleted
only once the result is stored (or the message turned out to be a duplicate). A batch message (child runs of a
suite run) takes one of the ``runner_concurrency`` slots and its runs execute in turn, on the one browser
(``RunExecutor.execute_batch``); it is deleted once every one of them is handled. ``run_forever`` stops
cleanly when its event is set, so ``autotest local`` can embed the worker in its own event loop.

    python -m runner_container.runner.worker
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any

from pydantic import ValidationError

from runner_container.runner.executor import Abandoned, Disposition, RunExecutor
from runner_container.runner.protection import TaskProtection
from runner_container.runner.runtime import build_runtime
from shared.models.messages import ReceivedMessage, RunMessage
from shared.observability import logger
from shared.ports import RunQueue
from shared.services.container import Services
from shared.settings import Settings, get_settings

RECEIVE_ERROR_BACKOFF_S = 2.0
#: a worker with every slot busy looks again this often (its task's scale-in protection is renewed then)
PROTECTION_TURN_S = 60.0


class Worker:
    def __init__(
        self,
        *,
        executor: RunExecutor,
        queue: RunQueue,
        concurrency: int,
        visibility_timeout_s: int,
        wait_s: int = 10,
        idle_s: float = 0.2,
        drain_timeout_s: float = 60.0,
        protection: TaskProtection | None = None,
    ) -> None:
        self._executor = executor
        self._queue = queue
        self._concurrency = max(1, concurrency)
        self._visibility_timeout_s = visibility_timeout_s
        self._wait_s = wait_s
        self._idle_s = idle_s
        self._drain_timeout_s = drain_timeout_s
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        #: protected from scale-in while it holds runs (Fargate); outside ECS it calls nothing
        self._protection = protection or TaskProtection(None, expires_minutes=60)

    def stop(self) -> None:
        self._stop.set()

    async def run_forever(self, stop_event: asyncio.Event | None = None) -> None:
        """Poll until ``stop_event`` (or :meth:`stop`) is set, then let in-flight runs finish
        (up to ``drain_timeout_s``; an unfinished run's message comes back and is taken over)."""
        stopping = asyncio.create_task(self._wait_stop(stop_event))
        logger.info("runner worker started", concurrency=self._concurrency)
        try:
            while not stopping.done():
                if not self._in_flight:
                    await self._protection.release()
                else:
                    await self._protection.renew_if_due()
                free = self._concurrency - len(self._in_flight)
                if free <= 0:  # (a turn a minute at least, to renew the protection)
                    await asyncio.wait(
                        {*self._in_flight, stopping}, timeout=PROTECTION_TURN_S, return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                polled_at = time.monotonic()
                receiving = asyncio.create_task(
                    asyncio.to_thread(
                        self._queue.receive,
                        max_messages=min(free, 10),
                        wait_s=self._wait_s,
                        visibility_timeout_s=self._visibility_timeout_s,
                    )
                )
                await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    # Stopping: messages this poll still returns stay invisible until their timeout, then
                    # another worker gets them.
                    receiving.add_done_callback(_ignore_result)
                    break
                try:
                    messages = receiving.result()
                except Exception as exc:
                    logger.error("could not receive run messages", error=str(exc))
                    await _sleep_unless(stopping, RECEIVE_ERROR_BACKOFF_S)
                    continue
                if not messages:
                    # An empty answer before the long poll's time was up: a queue that does not wait, so pause (never
                    # spin). One that waited its whole time is polled again at once: a run sent now starts now.
                    if time.monotonic() - polled_at < max(self._wait_s, self._idle_s):
                        await _sleep_unless(stopping, self._idle_s)
                else:  # before they start: scaling in now stops another worker (or none)
                    await self._protection.hold()
                for received in messages:
                    task = asyncio.create_task(self.handle(received))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
        except asyncio.CancelledError:
            self._abandon()
            raise
        finally:
            stopping.cancel()
            await self._drain()
            await self._protection.release()
            logger.info("runner worker stopped")

    def _abandon(self) -> None:
        """Cancelled (a stop at once): the runs held are left unwritten and their messages undeleted, so they
        are executed again as their next attempt; never ended on what the shutdown did to their browser."""
        abandon = getattr(self._executor, "abandon", None)
        if abandon is not None:
            abandon()
        for task in self._in_flight:
            task.cancel()

    async def _wait_stop(self, stop_event: asyncio.Event | None) -> None:
        waits = [asyncio.create_task(self._stop.wait())]
        if stop_event is not None:
            waits.append(asyncio.create_task(stop_event.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        logger.info("waiting for in-flight runs", count=len(self._in_flight))
        try:
            _, pending = await asyncio.wait(self._in_flight, timeout=self._drain_timeout_s)
        except asyncio.CancelledError:  # stopped at once while the runs were finishing
            self._abandon()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            raise
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def handle(self, received: ReceivedMessage) -> None:
        """Execute one message; delete it once handled. Failures leave it for redelivery (then the DLQ)."""
        try:
            message = RunMessage.model_validate_json(received.body)
        except ValidationError as exc:
            logger.error(
                "unreadable run message left for the dead-letter queue",
                message_id=received.message_id,
                error=str(exc).splitlines()[0],
            )
            return

        def keepalive() -> None:
            self._queue.extend(received.receipt, self._visibility_timeout_s, priority=message.priority)

        try:
            result = await self._executor.execute(message, keepalive=keepalive)
        except Abandoned as exc:
            logger.warning("run left for its next attempt", run_id=message.run_id, reason=str(exc))
            return
        except Exception:
            logger.exception("run message failed; it will be redelivered", run_id=message.run_id)
            return
        if result.disposition == Disposition.done:
            try:
                await asyncio.to_thread(self._queue.delete, received.receipt, priority=message.priority)
            except Exception as exc:
                logger.warning("could not delete a handled message", run_id=message.run_id, error=str(exc))


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _sleep_unless(stopping: asyncio.Task[None], seconds: float) -> None:
    await asyncio.wait({stopping}, timeout=seconds)


async def run_forever(
    stop_event: asyncio.Event, *, services: Services, settings: Settings | None = None, wait_s: int = 10
) -> None:
    """Run a worker (with its own browser pool) until ``stop_event`` is set; for embedding."""
    settings = settings or get_settings()
    runtime = build_runtime(services, settings)
    worker = Worker(
        executor=runtime.executor,
        queue=services.queue,
        concurrency=settings.runner_concurrency,
        visibility_timeout_s=settings.visibility_timeout_s,
        wait_s=wait_s,
        # long enough for the longest run a worker may be given, and some
        protection=TaskProtection.from_environment(expires_minutes=settings.max_run_timeout_s // 60 + 30),
    )
    try:
        await worker.run_forever(stop_event)
    finally:
        await runtime.close()


def main() -> None:
    """The container's entry point: run until SIGTERM / SIGINT."""
    from shared.aws.factory import get_services

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await run_forever(stop, services=get_services(), wait_s=20)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
