"""Powertools Logger and Metrics singletons: import these, never build your own.

The Tracer is created on first use (``get_tracer``) because it needs the X-Ray SDK, which only the
Lambda images install; locally and in tests tracing is off.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="autotest")
metrics = Metrics(namespace="autotest", service="autotest")


@lru_cache
def get_tracer() -> Any:
    try:
        from aws_lambda_powertools import Tracer

        return Tracer(service="autotest")
    except ImportError:  # pragma: no cover - X-Ray SDK not installed
        return None
