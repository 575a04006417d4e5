"""The powertools Logger singleton: import it, never build your own."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="autotest")
