"""The response of a ``request`` step, as the expectations and extraction see it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.errors import DomainError

_NO_JSON = object()


@dataclass
class HttpResult:
    method: str
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    latency_ms: int
    redirects: list[str] = field(default_factory=list)
    #: the request as sent on its last hop (headers, httpx's own included, and body): for the run's report;
    #: not handed to the worker process that checks the response
    request_headers: httpx.Headers | None = field(default=None, repr=False)
    request_body: bytes | None = field(default=None, repr=False)
    _json: Any = field(default=_NO_JSON, repr=False)
    _text: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The body decoded (once: a step may check a 10 MB body a hundred times)."""
        if self._text is None:
            self._text = self.content.decode("utf-8", errors="replace")
        return self._text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (to be checked in a worker process) without its caches: the body once, and no sentinel
        object, which would not be this module's ``_NO_JSON`` once unpickled."""
        fields = (self.method, self.url, self.status, self.headers, self.content, self.latency_ms, self.redirects)
        return (HttpResult, fields)

    @property
    def is_json(self) -> bool:
        return self.json is not _NO_JSON

    @property
    def json(self) -> Any:
        if self._json is _NO_JSON and self.content:
            try:
                self._json = json.loads(self.content)
            except (ValueError, RecursionError):  # nested past the parser's depth: not JSON a check can read
                return _NO_JSON
        return self._json


class RequestFailed(DomainError):
    """The request could not be made, or the response did not meet the step's expectations."""

    code = "request_failed"
