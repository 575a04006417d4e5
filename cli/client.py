"""A thin HTTP client for the autotest API. Every failure becomes a :class:`CliError`: one line a
person can act on, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cli.config import CONFIG_ENV, CONFIG_NAME, DEFAULT, HOW_TO_POINT, OPTIONS, ClientConfig
from cli.errors import CliError
from shared.controlchars import escape_controls


def checked_path(path: str) -> str:
    """``path`` as built from the ids and names a command was given, or a CliError when one of them would take
    the request to another route: a ``.`` or ``..`` segment (HTTP clients resolve them: ``keys revoke
    ../tests/tst_1`` would be ``DELETE /v1/tests/tst_1``), a ``?`` or a ``#``."""
    if "?" in path or "#" in path or any(segment in (".", "..") for segment in path.split("/")):
        raise CliError(
            f"{escape_controls(path)!r}: one of the ids or names given is not an id (it holds '.', '..', '?' or '#')"
        )
    return path


class ApiError(CliError):
    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class EventsUnavailable(Exception):
    """The deployment does not stream run events (an older API, or a proxy that buffers)."""


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str
    id: str | None = None


def parse_sse(lines: Iterator[str]) -> Iterator[ServerEvent]:
    """Server-sent events from a stream of lines (comments and ``retry:`` ignored)."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield ServerEvent(event=event, data="\n".join(data), id=event_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    if data:
        yield ServerEvent(event=event, data="\n".join(data), id=event_id)


def _error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The server's message (control and bidi characters escaped, line breaks kept: a goal's error names one
    line of it per line) and code."""
    message, code = _server_message(response)
    return escape_controls(message, keep="\n"), code


def _server_message(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code")
        return str(error.get("message") or response.reason_phrase), str(code) if code is not None else None
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else response.reason_phrase
    return text, None


class ApiClient:
    def __init__(
        self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None, timeout_s: float = 30.0
    ) -> None:
        self.config = config
        self.base_url = config.api_url
        headers = {"User-Agent": "autotest-cli/1"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._http = httpx.Client(
            base_url=config.api_url, headers=headers, transport=transport, timeout=timeout_s, follow_redirects=False
        )
        # artifact downloads go to presigned URLs: no API key on those
        self._plain = httpx.Client(transport=transport, timeout=120.0, follow_redirects=True)

    def close(self) -> None:
        self._http.close()
        self._plain.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------- requests

    def _check_key(self) -> None:
        if self.config.api_key:
            return
        lookup = self.config.lookup
        if lookup is None:
            looked = ""
        elif lookup.file is not None:
            looked = f" ({lookup.file} has none)"
        else:
            looked = f" ({lookup.describe()})"
        raise CliError(f"no API key{looked}: {HOW_TO_POINT}")

    def _unreachable(self, exc: httpx.TransportError) -> CliError:
        config = self.config
        source = config.url_source
        if source == OPTIONS:
            where = ""
        elif source == DEFAULT:
            lookup = config.lookup
            where = " (the default API URL" + (f"; {lookup.describe()}" if lookup is not None else "") + ")"
        else:
            where = f" (API URL from {source})"
        if isinstance(exc, httpx.TimeoutException):
            return CliError(f"{self.base_url}{where} did not answer in time ({type(exc).__name__})")
        hint = "is `autotest local` running?"
        lookup = config.lookup
        if lookup is not None and lookup.file is not None and source == str(lookup.file):
            hint = f"is `autotest local --data-dir {lookup.file.path.parent}` running?"
        elif source == DEFAULT:
            hint += f" Otherwise {HOW_TO_POINT}"
        return CliError(f"cannot reach {self.base_url}{where}: {hint}")

    def _unauthorized(self, message: str, code: str | None) -> CliError:
        """A rejected key: where the key and the URL came from, and how to give the right ones."""
        config = self.config
        if config.key_source == OPTIONS and config.url_source == OPTIONS:
            return ApiError(f"{message} (HTTP 401)", status=401, code=code)
        return ApiError(
            f"{message} (HTTP 401): the key came from {config.key_source}, the URL {self.base_url} from "
            f"{config.url_source}; give that deployment's key with --api-key or AUTOTEST_API_KEY, or "
            f"export {CONFIG_ENV}=DATA_DIR/{CONFIG_NAME} of its `autotest local`",
            status=401,
            code=code,
        )

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        self._check_key()
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, checked_path(path), json=json, params=clean)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            message, code = _error_message(response)
            if response.status_code == 401:
                raise self._unauthorized(message, code)
            raise ApiError(f"{message} (HTTP {response.status_code})", status=response.status_code, code=code)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"{self.base_url}{path} answered with something that is not JSON") from exc

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    # -------------------------------------------------------------------------------- streams

    def run_events(self, run_id: str, *, read_timeout_s: float = 60.0) -> Iterator[ServerEvent]:
        """The run's server-sent events until the server ends the stream.

        Read the run first (a 404 there is an unknown run); here a 404 or a non-SSE answer raises
        EventsUnavailable: the deployment does not stream, and the caller polls instead. So does a 429: the
        project (or the run) has as many open streams as the deployment allows."""
        self._check_key()
        timeout = httpx.Timeout(10.0, read=read_timeout_s)
        try:
            with self._http.stream(
                "GET", f"/v1/runs/{run_id}/events", headers={"Accept": "text/event-stream"}, timeout=timeout
            ) as response:
                if response.status_code in (404, 405):  # the caller has read the run: the route is missing
                    raise EventsUnavailable(f"HTTP {response.status_code} from the events endpoint")
                if response.status_code == 429:  # too many streams open: polling works as well, if less promptly
                    raise EventsUnavailable("the deployment streams no more events to this project for now")
                if response.status_code >= 400:
                    response.read()
                    message, code = _error_message(response)
                    if response.status_code == 401:
                        raise self._unauthorized(message, code)
                    raise ApiError(f"{message} (HTTP {response.status_code})", status=response.status_code, code=code)
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    raise EventsUnavailable("the events endpoint did not answer with text/event-stream")
                yield from parse_sse(response.iter_lines())
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def download(self, url: str, dest: Path) -> int:
        """Save ``url`` (a presigned artifact URL) to ``dest``; returns the size."""
        try:
            with self._plain.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise CliError(f"could not download {dest.name}: HTTP {response.status_code}")
                dest.parent.mkdir(parents=True, exist_ok=True)
                size = 0
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        size += len(chunk)
                return size
        except httpx.TransportError as exc:
            raise CliError(f"could not download {dest.name}: {type(exc).__name__}") from exc
