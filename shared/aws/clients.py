"""boto3 clients, built once per process and service. The only place clients are made.

``AWS_ENDPOINT_URL`` (read into ``Settings.aws_endpoint_url``) points every client at an emulator
(the moto server of the integration tests); botocore's standard retry mode retries throttling and
transient errors with backoff. Local mode runs moto in its own process (``moto.mock_aws``, which
answers the calls of clients addressed to AWS itself): its clients come from :func:`in_process_client`,
which ignores any configured endpoint, so an ``AWS_ENDPOINT_URL`` in the environment cannot send local
mode's calls anywhere else.

boto3 and botocore's ``Config`` are imported when the first client is made, not with this module (0.2-0.4 s):
a cold start that answers without AWS (``/healthz``, the docs) never loads them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from botocore.config import Config

_lock = threading.Lock()

#: Bedrock (``bedrock-runtime``): a model's answer can take a minute or two, and throttling (ThrottlingException,
#: ModelNotReadyException, ServiceUnavailableException) is common, so a longer read and more attempts, with
#: botocore's standard backoff (exponential, with jitter) between them
BEDROCK_RETRY_MODE: Literal["standard"] = "standard"
#: attempts in all, the first included (botocore's ``max_attempts`` would count retries only)
BEDROCK_MAX_ATTEMPTS = 6


@lru_cache(maxsize=1)
def retry_config() -> Config:
    """Every client's but Bedrock's: botocore's standard retries, 5 attempts, a 30 s read."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@lru_cache(maxsize=1)
def in_process_config() -> Config:
    """:func:`retry_config`, any configured endpoint ignored."""
    from botocore.config import Config

    # (the stubs lag behind botocore, which has had this option since 1.31)
    return retry_config().merge(Config(ignore_configured_endpoint_urls=True))  # type: ignore[call-arg]


@lru_cache(maxsize=1)
def bedrock_config() -> Config:
    from botocore.config import Config

    return Config(
        retries={"mode": BEDROCK_RETRY_MODE, "total_max_attempts": BEDROCK_MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=180,
    )


def _session(region: str) -> Any:
    import boto3.session

    return boto3.session.Session(region_name=region)


#: service name ("dynamodb", "s3", ...) -> a client: what ``build_services`` and ``provision`` take
ClientFactory = Callable[[str], Any]


@lru_cache(maxsize=64)
def client(service: str, region: str, endpoint_url: str | None) -> Any:
    with _lock:  # boto3's default session is not thread-safe while it creates clients
        return _session(region).client(service, endpoint_url=endpoint_url, config=retry_config())


@lru_cache(maxsize=16)
def bedrock_client(region: str, endpoint_url: str | None) -> Any:
    """The ``bedrock-runtime`` client of ``region`` (:func:`bedrock_config`)."""
    return new_bedrock_client(region, endpoint_url)


def new_bedrock_client(region: str, endpoint_url: str | None) -> Any:
    """A new ``bedrock-runtime`` client, not shared (tests hook its events)."""
    with _lock:
        return _session(region).client("bedrock-runtime", endpoint_url=endpoint_url, config=bedrock_config())


@lru_cache(maxsize=64)
def in_process_client(service: str, region: str) -> Any:
    """A client for AWS itself, never a configured endpoint: answered by ``moto.mock_aws`` in local mode."""
    with _lock:
        return _session(region).client(service, config=in_process_config())


def endpoint_clients(region: str, endpoint_url: str | None) -> ClientFactory:
    """The default factory: clients for ``region`` at ``endpoint_url`` (None: AWS, or ``AWS_ENDPOINT_URL``)."""
    return lambda service: client(service, region, endpoint_url)


class LazyClient:
    """A stand-in for the client ``make(service)`` returns, which makes it when first used (its first attribute
    read) and then hands every attribute on to it. Building one reads its service's model and endpoint rules
    (tens of milliseconds each): a cold start then builds the clients its first request uses, not all of them."""

    __slots__ = ("_client", "_lock", "_make", "_service")

    def __init__(self, make: ClientFactory, service: str) -> None:
        self._make = make
        self._service = service
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        made = self._client
        if made is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make(self._service)
                made = self._client
        return getattr(made, name)

    def __repr__(self) -> str:
        state = "made" if self._client is not None else "not made yet"
        return f"<LazyClient {self._service} ({state})>"


def lazy_clients(make: ClientFactory) -> ClientFactory:
    """``make``, each client made on first use (:class:`LazyClient`)."""
    return lambda service: LazyClient(make, service)
