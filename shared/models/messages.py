"""Queue messages."""

from __future__ import annotations

from shared.models.common import Model


class RunMessage(Model):
    """Asks a runner to execute one attempt of one run."""

    run_id: str
    project_id: str
    attempt: int
    correlation_id: str | None = None


class ReceivedMessage(Model):
    body: str
    receipt: str
    message_id: str
    receive_count: int = 1
