"""boto3 clients, built once per process and service. The only place clients are made.

``AWS_ENDPOINT_URL`` (read into ``Settings.aws_endpoint_url``) points every client at an emulator
(the embedded moto server in local mode and tests); botocore's standard retry mode retries
throttling and transient errors with backoff.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_lock = threading.Lock()

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@lru_cache(maxsize=64)
def client(service: str, region: str, endpoint_url: str | None) -> Any:
    with _lock:  # boto3's default session is not thread-safe while it creates clients
        session = boto3.session.Session(region_name=region)
        return session.client(service, endpoint_url=endpoint_url, config=RETRY_CONFIG)  # type: ignore[call-overload]
