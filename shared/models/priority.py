"""Run priority: ``high``, ``normal`` or ``low``. Workers take high before normal before low; each priority has
a run queue of its own (``shared/aws/sqs.py``; ``docs/architecture.md``: priority)."""

from __future__ import annotations

from typing import Literal

Priority = Literal["high", "normal", "low"]
#: the order a worker asks the queues in
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")
#: what a run (or suite run, or a schedule's runs) gets when nobody says: a plain API call's, a schedule's
DEFAULT_PRIORITY: Priority = "normal"
#: what the CLI sends (CI runs it: a pull request's check goes before a nightly regression)
CLI_PRIORITY: Priority = "high"
