"""``lazy_clients``: each client made when first used, once, and then used as itself."""

from __future__ import annotations

import threading
from typing import Any

from shared.aws.clients import LazyClient, lazy_clients


class FakeClient:
    def __init__(self, service: str) -> None:
        self.service = service

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"service": self.service, **kwargs}


def test_a_client_is_made_on_its_first_use_only_and_once() -> None:
    # Given a factory that counts what it makes
    made: list[str] = []

    def make(service: str) -> FakeClient:
        made.append(service)
        return FakeClient(service)

    # When the services are wired with lazy clients
    dynamodb = lazy_clients(make)("dynamodb")
    lazy_clients(make)("sqs")

    # Then nothing is made until a client is used, and the one used is made once
    assert made == []
    assert repr(dynamodb) == "<LazyClient dynamodb (not made yet)>"
    assert dynamodb.get_item(Key={"PK": "a"}) == {"service": "dynamodb", "Key": {"PK": "a"}}
    assert dynamodb.service == "dynamodb"
    assert made == ["dynamodb"]
    assert repr(dynamodb) == "<LazyClient dynamodb (made)>"


def test_threads_using_it_at_once_share_one_client() -> None:
    made: list[FakeClient] = []
    gate = threading.Barrier(4)

    def make(service: str) -> FakeClient:
        made.append(FakeClient(service))
        return made[-1]

    lazy = LazyClient(make, "s3")
    seen: list[Any] = []

    def use() -> None:
        gate.wait()
        seen.append(lazy.get_item)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(made) == 1
    assert {bound.__self__ for bound in seen} == {made[0]}
