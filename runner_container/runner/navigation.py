"""Opening a URL in the page (a ``goto`` step, a test's ``start_url``) and judging what came back.

A navigation passes when its main document loaded with a status below 400, or with one the step allows
(``allow_status``). It fails when the page could not be reached, naming the cause the egress proxy saw (every
request of the browser goes through it, see ``egress.py``: ``could not connect to URL: connection refused``)
rather than Chromium's ``net::ERR_EMPTY_RESPONSE``. A same-document navigation (``#anchor``) loads nothing:
it is judged by the document it stays on.
"""

from __future__ import annotations

from collections.abc import Collection
from http import HTTPStatus

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from runner_container.runner.session import PageLogs
from shared.errors import DomainError


class NavigationFailed(DomainError):
    code = "navigation_failed"


async def navigate(
    page: Page, url: str, *, timeout_ms: float, logs: PageLogs, allow_status: Collection[int] = ()
) -> None:
    """Open ``url``; raise NavigationFailed when the page could not be reached or answered an error status."""
    refusals, unreachable = logs.refusal_count, logs.unreachable_count
    try:
        response = await page.goto(url, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise
    except PlaywrightError as exc:
        # The proxy closed the connection unanswered (Chromium: a network error); it said why.
        causes = logs.refusals_since(refusals) + logs.unreachable_since(unreachable)
        if causes:
            raise NavigationFailed("; ".join(causes)) from exc
        raise
    if response is not None:
        _judge(response.status, response.request.method, response.url, response.status_text, allow_status)
    elif logs.document is not None:  # a same-document navigation: the page is the document shown before
        status, method, shown = logs.document
        _judge(status, method, shown, "", allow_status, note=" (the page this same-document navigation stays on)")


def _judge(status: int, method: str, url: str, reason: str, allow_status: Collection[int], *, note: str = "") -> None:
    if status >= 400 and status not in allow_status:
        raise NavigationFailed(
            f"{method} {url} answered {status} {reason or _phrase(status)}".rstrip()
            + note
            + (f" (allowed: {', '.join(map(str, sorted(allow_status)))})" if allow_status else ""),
            details={"url": url, "status": status},
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
