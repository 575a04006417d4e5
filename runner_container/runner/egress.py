"""A small forward proxy, one per browser context, that puts the network guard on the wire.

``context.route`` sees the requests a page starts, but Chromium follows redirects without asking it
again. So every context also talks to the network through this proxy: each connection (every redirect
hop is a new request) is checked by the guard, and the proxy connects to the address the guard checked,
so a hostname cannot resolve to something else a moment later (DNS rebinding).

Plain HTTP requests are forwarded one per connection (``Connection: close``); HTTPS and WebSockets over
TLS arrive as ``CONNECT host:port`` tunnels.

When the proxy does not forward a request (the guard refuses it, or the server cannot be reached), it closes
the browser's connection without an answer, and says why through ``on_refused`` / ``on_unreachable``. So the
browser sees a network error, as it would without a proxy (a page's ``fetch`` rejects, a navigation fails),
and every HTTP status a page or a step sees is the server's own: a real 502 stays a 502, and no status is
ever made up by the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit

from shared.netguard import NetworkGuard, NetworkRefused
from shared.observability import logger
from shared.wording import connect_error

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 15.0
_HOP_HEADERS = frozenset({"proxy-connection", "connection", "keep-alive", "proxy-authorization"})


class EgressProxy:
    def __init__(
        self,
        guard: NetworkGuard,
        on_refused: Callable[[str], None],
        on_unreachable: Callable[[str], None] = lambda message: None,
    ) -> None:
        self._guard = guard
        self._on_refused = on_refused
        self._on_unreachable = on_unreachable
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; returns the proxy URL for Playwright's ``proxy`` option."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=HEAD_LIMIT)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("egress proxy connection failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host = host.strip("[]")
            port = int(port_text)
            scheme = "https" if port != 80 else "http"
            url = f"{scheme}://{_bracket(host)}:{port}/"
            upstream = await self._open(url, port)
            if upstream is None:
                return
            up_reader, up_writer = upstream
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await _splice(reader, writer, up_reader, up_writer)
            return

        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            await _reply(writer, 400, f"the autotest proxy only forwards absolute http:// URLs, not {target!r}")
            return
        port = parts.port or 80
        upstream = await self._open(target, port)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [line for line in header_lines if line and line.split(":", 1)[0].strip().lower() not in _HOP_HEADERS]
        headers.append("Connection: close")
        head_out = f"{method} {path} {version}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
        up_writer.write(head_out.encode("latin-1"))
        await up_writer.drain()
        await _splice(reader, writer, up_reader, up_writer)

    async def _open(self, url: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the server of ``url``; None (the reason reported) when the guard refuses it or
        no address of it accepts a connection: the caller then closes the browser's connection unanswered."""
        try:
            addresses = await self._guard.check_async(url)
        except NetworkRefused as exc:
            self._on_refused(exc.message)
            return None
        last: BaseException | None = None
        for address in addresses:
            try:
                return await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                last = exc
        self._on_unreachable(f"could not connect to {url}: {connect_error(last, timeout_s=CONNECT_TIMEOUT_S)}")
        return None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = text.encode()
    reason = {400: "Bad Request"}.get(status, "Error")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


async def _splice(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until either side is done, then close both."""
    tasks = [
        asyncio.create_task(_pipe(client_reader, up_writer)),
        asyncio.create_task(_pipe(up_reader, client_writer)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            up_writer.close()
