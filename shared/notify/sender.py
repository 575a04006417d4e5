"""POST one notification: through the network guard (checked again at send time, the connection pinned to the
checked addresses: ``shared/apitests/http.py``), no redirects followed, a hard deadline on the whole exchange
and at most :data:`MAX_ANSWER_BYTES` of the answer read.

Outcomes are values, not exceptions: :class:`SendResult` says whether it was delivered and, when not, whether
trying again may help (a timeout, a refused connection, a 5xx, 408, 429, an unexpected error) or not (another
4xx, a redirect, a URL the guard refuses or the HTTP client cannot send to).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.netguard import NetworkGuard, NetworkRefused
from shared.wording import connect_error, seconds

MAX_ANSWER_BYTES = 2048
_RETRYABLE_4XX = frozenset({408, 425, 429})

GuardFactory = Callable[[], NetworkGuard]


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    retryable: bool
    http_status: int | None
    error: str | None
    duration_ms: int


def _answer_error(status: int, text: str) -> str:
    snippet = " ".join(text.split())[:200]
    return f"the receiver answered {status}" + (f": {snippet}" if snippet else "")


class WebhookSender:
    """Sends with a fresh guard per request (so its resolutions are not reused across sends)."""

    def __init__(self, guard: GuardFactory, *, timeout_s: float = 5.0) -> None:
        self._guard = guard
        self._timeout_s = timeout_s

    def post(self, url: str, body: str, headers: dict[str, str]) -> SendResult:
        """Blocking; call it from a worker thread (it runs its own event loop)."""
        return asyncio.run(self.post_async(url, body, headers))

    async def post_async(self, url: str, body: str, headers: dict[str, str]) -> SendResult:
        # the HTTP client (httpx, httpcore, h2) loaded by the first send, not by every function that wires the
        # notification service (the API's cold start: 0.1-0.2 s)
        import httpx

        from shared.apitests.http import guarded_client

        started = time.monotonic()

        def result(delivered: bool, retryable: bool, status: int | None, error: str | None) -> SendResult:
            return SendResult(delivered, retryable, status, error, int((time.monotonic() - started) * 1000))

        guard = self._guard()
        try:
            async with asyncio.timeout(self._timeout_s):
                async with guarded_client(guard) as client:
                    request = client.build_request(
                        "POST",
                        url,
                        content=body.encode("utf-8"),
                        headers={"Content-Type": "application/json", "User-Agent": "autotest-notifier", **headers},
                        timeout=httpx.Timeout(self._timeout_s),
                    )
                    response = await client.send(request, stream=True, follow_redirects=False)
                    try:
                        answer = b""
                        async for chunk in response.aiter_raw():
                            answer += chunk
                            if len(answer) >= MAX_ANSWER_BYTES:
                                break
                    finally:
                        await response.aclose()
        except NetworkRefused as exc:
            return result(False, False, None, exc.message)
        except TimeoutError:
            return result(False, True, None, f"no answer within {seconds(self._timeout_s)}")
        except httpx.TimeoutException:
            return result(False, True, None, f"no answer within {seconds(self._timeout_s)}")
        except httpx.HTTPError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, NetworkRefused):
                return result(False, False, None, cause.message)
            return result(False, True, None, f"could not reach the receiver: {connect_error(exc)}")
        except (httpx.InvalidURL, ValueError) as exc:  # a URL saved before URLs were checked as they are now
            return result(False, False, None, f"the URL cannot be sent to: {exc}")
        except Exception as exc:  # an outcome too: never an attempt left unrecorded
            return result(False, True, None, f"the notifier failed to send it: {type(exc).__name__}: {exc}")
        status = response.status_code
        text = answer[:MAX_ANSWER_BYTES].decode("utf-8", "replace")
        if 200 <= status < 300:
            return result(True, False, status, None)
        if 300 <= status < 400:
            where = response.headers.get("location", "")
            return result(False, False, status, f"the receiver answered {status} (redirects are not followed) {where}")
        retryable = status >= 500 or status in _RETRYABLE_4XX
        return result(False, retryable, status, _answer_error(status, text))
