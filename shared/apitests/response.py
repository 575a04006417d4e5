"""The response of a ``request`` step, as the expectations and extraction see it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

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
    _json: Any = field(default=_NO_JSON, repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def is_json(self) -> bool:
        return self.json is not _NO_JSON

    @property
    def json(self) -> Any:
        if self._json is _NO_JSON and self.content:
            try:
                self._json = json.loads(self.content)
            except ValueError:
                return _NO_JSON
        return self._json
