"""ECS task scale-in protection for a Fargate worker: while it holds runs, the task is protected, so scaling in
(the service scales on its queue's depth) and deployments stop idle workers instead of one in the middle of a
run; when it holds none, the protection is lifted.

The call is the ECS agent's task-protection endpoint (``PUT $ECS_AGENT_URI/task-protection/v1/state``), which is
how a task protects itself (the ``UpdateTaskProtection`` API would need the cluster's and the task's ARNs and a
permission on them); no library wraps it, so it is written here. Outside ECS (no ``ECS_AGENT_URI``: local mode,
tests) nothing is called. A failed call is logged, never a run's failure: without protection a stopped worker's
runs still come back on the queue (an interruption).
"""

from __future__ import annotations

import asyncio
import os
import time

import httpx

from shared.observability import logger

#: where the ECS agent tells a task its endpoint (Fargate platform 1.4+)
AGENT_URI_ENV = "ECS_AGENT_URI"


class TaskProtection:
    def __init__(self, agent_uri: str | None, *, expires_minutes: int, timeout_s: float = 5.0) -> None:
        self._url = f"{agent_uri.rstrip('/')}/task-protection/v1/state" if agent_uri else None
        self._expires_minutes = max(1, min(expires_minutes, 2880))  # ECS takes 1 minute to 48 hours
        self._timeout_s = timeout_s
        self._held = False
        self._held_at = 0.0  # monotonic, when it was last set on
        self._lock = asyncio.Lock()

    @classmethod
    def from_environment(cls, *, expires_minutes: int) -> TaskProtection:
        return cls(os.environ.get(AGENT_URI_ENV), expires_minutes=expires_minutes)

    @property
    def held(self) -> bool:
        return self._held

    async def hold(self) -> None:
        """Protect the task (again: each call renews the expiry, for a worker busy for longer than it)."""
        await self._put(True)

    async def renew_if_due(self) -> None:
        """While held, set it on again once half its expiry has passed (a worker busy for longer than it)."""
        if self._held and time.monotonic() - self._held_at > self._expires_minutes * 30:
            await self._put(True)

    async def release(self) -> None:
        if self._held:
            await self._put(False)

    async def _put(self, enabled: bool) -> None:
        async with self._lock:
            if self._url is None:
                self._held, self._held_at = enabled, time.monotonic()
                return
            body: dict[str, object] = {"ProtectionEnabled": enabled}
            if enabled:
                body["ExpiresInMinutes"] = self._expires_minutes
            try:
                async with asyncio.timeout(self._timeout_s), httpx.AsyncClient(timeout=self._timeout_s) as client:
                    answer = await client.put(self._url, json=body)
                answer.raise_for_status()
                # the agent answers 200 with {"failure": ...} when ECS refused: only {"protection": ...} is done
                if not isinstance(answer.json(), dict) or "protection" not in answer.json():
                    raise ValueError(f"the ECS agent did not confirm it: {answer.text[:200]}")
            except Exception as exc:  # any of it (a bad URI, a slow agent, garbage): logged, never a run's failure
                logger.warning("could not set the task's scale-in protection", enabled=enabled, error=str(exc))
                return
            self._held = enabled
            self._held_at = time.monotonic()
