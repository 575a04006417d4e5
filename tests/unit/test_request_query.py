"""A ``request`` step's ``query`` is merged into the URL's own query string (``query`` wins on a key)."""

from __future__ import annotations

import httpx
import pytest

from shared.apitests.http import send, with_query
from shared.models.plans import Request
from shared.netguard import NetworkGuard

LOOPBACK = NetworkGuard.from_setting("127.0.0.0/8")


async def _sent_query(url: str, query: dict[str, object]) -> bytes:
    """The query string the server received for a step with ``url`` and ``query``."""
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    step = Request.model_validate({"url": url, "query": query})
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        await send(step, client=client, guard=LOOPBACK, timeout_s=5)
    assert len(seen) == 1
    return bytes(seen[0].url.query)


@pytest.mark.parametrize(
    ("url", "query", "sent"),
    [
        # the URL's parameters are kept, query's are added
        ("http://127.0.0.1/items?page=2&sort=name", {"limit": 10}, b"page=2&sort=name&limit=10"),
        # query wins on the same key (every occurrence of it in the URL), the rest keeps its order
        ("http://127.0.0.1/items?tag=a&page=2&tag=b", {"tag": "c"}, b"page=2&tag=c"),
        # repeated keys query does not name are kept, as written (encoding included)
        (
            "http://127.0.0.1/items?tag=a&tag=b&q=caf%C3%A9+au+lait",
            {"n": True},
            b"tag=a&tag=b&q=caf%C3%A9+au+lait&n=true",
        ),
        # a key is matched decoded; query's values are encoded
        ("http://127.0.0.1/s?a%20b=1&x=2", {"a b": "y z&w"}, b"x=2&a+b=y+z%26w"),
        # no query: the URL as it is
        ("http://127.0.0.1/s?x=1&x=2", {}, b"x=1&x=2"),
        ("http://127.0.0.1/s", {"x": 1.5}, b"x=1.5"),
    ],
)
async def test_query_is_merged_into_the_urls_query_string(url: str, query: dict[str, object], sent: bytes) -> None:
    assert await _sent_query(url, query) == sent


def test_the_fragment_and_the_rest_of_the_url_are_kept() -> None:
    assert with_query("https://127.0.0.1:8443/a/b?x=1#top", {"y": "2"}) == "https://127.0.0.1:8443/a/b?x=1&y=2#top"
