"""What ``request`` steps sent and received, for the run's ``report.html``: a side table in the runner's memory.

The run record cannot hold requests and responses (DynamoDB's 400 KB item limit, and a data-driven run has
up to 1,000 rows of steps), so the steps note them here, keyed by (dataset row, step index), and the report
is built from the run and this table. Everything is masked when it is noted: secret values (the run's
:class:`~runner_container.runner.masking.Masker`), and the values of the headers that carry credentials
(``Authorization``, ``Cookie``, ``Set-Cookie``, ``Proxy-Authorization``, API-key headers), whatever they hold.
Bodies are cut to :data:`MAX_BODY_CHARS`; past :data:`BUDGET_CHARS` of noted text in one run, further
exchanges keep no bodies (the report says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from runner_container.runner.masking import Masker
from shared.apitests.response import HttpResult

#: the most characters of a request or response body the report shows
MAX_BODY_CHARS = 4000
#: the most characters of one header value shown
MAX_HEADER_CHARS = 500
#: what one run's exchanges may hold in all (bodies left out past it): about 1,000 rows x 4 steps x 4 KB
BUDGET_CHARS = 16 * 1024 * 1024
#: headers whose values are credentials: never shown, whatever they hold
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"}
)
MASKED = "***"


@dataclass(frozen=True)
class Message:
    """A request or a response as the report shows it (masked, cut)."""

    headers: list[tuple[str, str]]
    body: str | None  # None: no body (or none kept)
    body_size: int  # bytes
    body_note: str = ""  # "cut to 4,000 characters", "not kept: ..."


@dataclass(frozen=True)
class Exchange:
    """One request step's last try: the request as sent and the response received (or why there was none)."""

    method: str
    url: str
    request: Message
    response: Message | None
    status: int | None = None
    latency_ms: int | None = None
    redirects: list[str] = field(default_factory=list)
    tries: int = 1
    error: str | None = None  # why there is no response


class Exchanges:
    """The exchanges of one run (every row of it), by ``(row label, step index)``; ``label`` is ``""`` or
    ``"row-3/"`` as the artifact names have it."""

    def __init__(self, *, budget_chars: int = BUDGET_CHARS) -> None:
        self._items: dict[tuple[str, int], Exchange] = {}
        self._left = budget_chars

    def get(self, label: str, index: int) -> Exchange | None:
        return self._items.get((label, index))

    def __len__(self) -> int:
        return len(self._items)

    def to_json(self) -> bytes:
        """Every exchange noted, as the run's ``exchanges.json`` (what the dashboard shows under each request
        step): ``{"exchanges": [{"row", "index", "method", "url", "request", "response", ...}]}``, rows as their
        labels (``""``, ``"row-1/"``), in the order they were noted."""
        items = [
            {"row": label, "index": index, **(as_view(item) or {})} for (label, index), item in self._items.items()
        ]
        return json.dumps({"exchanges": items}, ensure_ascii=False).encode()

    def note_response(self, label: str, index: int, result: HttpResult, masker: Masker, *, tries: int = 1) -> Exchange:
        """Note a try that got a response."""
        request = self._message(
            _raw(result.request_headers) if result.request_headers is not None else [],
            result.request_body,
            masker,
        )
        response = self._message(_raw(result.headers), result.content, masker)
        exchange = Exchange(
            method=result.method,
            url=masker.clip(result.url, 2000),
            request=request,
            response=response,
            status=result.status,
            latency_ms=result.latency_ms,
            redirects=[masker.clip(url, 2000) for url in result.redirects],
            tries=tries,
        )
        self._items[(label, index)] = exchange
        return exchange

    def note_failure(
        self,
        label: str,
        index: int,
        *,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        error: str,
        masker: Masker,
    ) -> Exchange:
        """Note a request that got no response (refused, unreachable, timed out): the request as the step
        would have sent it, and why."""
        exchange = Exchange(
            method=method,
            url=masker.clip(url, 2000),
            request=self._message(list(headers.items()), body, masker),
            response=None,
            error=masker.clip(error, 2000),
        )
        self._items[(label, index)] = exchange
        return exchange

    def _message(self, headers: list[tuple[str, str]], body: bytes | None, masker: Masker) -> Message:
        shown = [(name, _header_value(name, value, masker)) for name, value in headers]
        if not body:
            return Message(headers=shown, body=None, body_size=0)
        if self._left <= 0:
            note = "not kept: the report's room for bodies is used up by the exchanges before this one"
            return Message(headers=shown, body=None, body_size=len(body), body_note=note)
        text = body[: MAX_BODY_CHARS * 4].decode("utf-8", errors="replace")
        cut = len(text) > MAX_BODY_CHARS or len(body) > MAX_BODY_CHARS * 4
        # masked whole first, then cut: a cut must not keep the start of a secret
        masked = masker.clip(text, MAX_BODY_CHARS, marker="")
        self._left -= len(masked)
        note = f"cut to {MAX_BODY_CHARS:,} characters" if cut else ""
        return Message(headers=shown, body=masked, body_size=len(body), body_note=note)


def _raw(headers: httpx.Headers) -> list[tuple[str, str]]:
    """The headers as they went over the wire (their names' case kept)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def _header_value(name: str, value: str, masker: Masker) -> str:
    if name.lower() in SENSITIVE_HEADERS:
        return MASKED
    return masker.clip(value, MAX_HEADER_CHARS)


def as_view(exchange: Exchange | None) -> dict[str, Any] | None:
    """The exchange as the report's template reads it (plain values)."""
    if exchange is None:
        return None

    def message(m: Message | None) -> dict[str, Any] | None:
        if m is None:
            return None
        return {"headers": m.headers, "body": m.body, "size": m.body_size, "note": m.body_note}

    return {
        "method": exchange.method,
        "url": exchange.url,
        "request": message(exchange.request),
        "response": message(exchange.response),
        "status": exchange.status,
        "latency": f"{exchange.latency_ms} ms" if exchange.latency_ms is not None else "",
        "redirects": exchange.redirects,
        "tries": exchange.tries,
        "error": exchange.error or "",
    }


def request_headers(headers: dict[str, str], has_json: bool) -> dict[str, str]:
    """The headers a step sends (as ``send`` adds ``Content-Type`` for a JSON body), for a request that got no
    response."""
    out = dict(headers)
    if has_json and not any(k.lower() == "content-type" for k in out):
        out["Content-Type"] = "application/json"
    return out
