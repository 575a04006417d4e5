"""Local mode's notifier: what the notifier queue's SQS event source does in AWS. Polls the notifier's queue
(run and suite-run events from the EventBridge rule, delivery attempts) and hands each message to
``functions/notifications`` in a thread of its own, ``settings.notify_concurrency`` at a time: a receiver that
hangs until its timeout holds one thread, not the others, and never a run."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from cli.local.workers import LocalContext
from functions.notifications.handler import process
from shared.errors import DomainError
from shared.models.messages import ReceivedMessage
from shared.observability import logger

WAIT_S = 1
#: a message is hidden this long while it is handled (an attempt takes at most the send timeout)
VISIBILITY_S = 60


class NotifierWorker:
    def __init__(self, ctx: LocalContext, *, wait_s: int = WAIT_S) -> None:
        self._services = ctx.services
        self._wait_s = wait_s
        self._concurrency = ctx.settings.notify_concurrency
        self._free = threading.Semaphore(self._concurrency)
        self._pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="notifier")

    def poll(self) -> int:
        """Receive what there is room for and start handling it (not waiting for it); returns how many started."""
        notifications = self._services.notifications
        if notifications is None:
            return 0
        if not self._free.acquire(timeout=self._wait_s):
            return 0  # every thread is busy
        room = 1
        while room < min(self._concurrency, 10) and self._free.acquire(blocking=False):
            room += 1
        try:
            received = notifications.queue.receive(
                max_messages=room, wait_s=self._wait_s, visibility_timeout_s=VISIBILITY_S
            )
        except BaseException:
            for _ in range(room):
                self._free.release()
            raise
        for _ in range(room - len(received)):
            self._free.release()
        for message in received:
            self._pool.submit(self._handle, message)
        return len(received)

    def _handle(self, received: ReceivedMessage) -> None:
        notifications = self._services.notifications
        assert notifications is not None
        try:
            process(received.body, self._services, receive_count=received.receive_count)
            notifications.queue.delete(received.receipt)
        except Exception as exc:  # it comes back after its visibility timeout
            logger.warning("notifier message failed; it will be retried", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._free.release()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(self.poll)
                except DomainError as exc:
                    logger.warning("notifier poll failed; trying again", error=exc.message)
                    await asyncio.sleep(1)
        finally:
            await asyncio.to_thread(self._pool.shutdown, wait=True)
