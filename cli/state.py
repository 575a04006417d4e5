"""What every client command gets: the resolved config, a console, and an API client made on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
import httpx
from rich.console import Console

from cli.client import ApiClient
from cli.config import OPTIONS, resolve
from cli.output import SafeConsole


@dataclass
class CliState:
    api_url: str | None = None
    api_key: str | None = None
    #: where api_url / api_key came from ("--api-key", "AUTOTEST_API_KEY"...), for error messages
    api_url_source: str = OPTIONS
    api_key_source: str = OPTIONS
    #: tests hand in a transport (httpx.MockTransport, a FastAPI TestClient's) instead of the network
    transport: httpx.BaseTransport | None = None
    console: Console = field(default_factory=lambda: SafeConsole(highlight=False, soft_wrap=True))
    _client: ApiClient | None = None

    def client(self) -> ApiClient:
        if self._client is None:
            config = resolve(self.api_url, self.api_key, url_source=self.api_url_source, key_source=self.api_key_source)
            self._client = ApiClient(config, transport=self.transport)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


pass_state = click.make_pass_decorator(CliState)
