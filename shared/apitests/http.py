"""Execute one ``request`` step with httpx: every hop (redirects included) passes the network guard,
then the response is checked against the step's expectations and values are extracted.

The step is expected to be rendered already (placeholders replaced); secrets are the caller's to mask.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from shared.apitests.expectations import check
from shared.apitests.jsonpath import is_definite, query
from shared.apitests.response import HttpResult
from shared.errors import DomainError
from shared.models.plans import Request
from shared.netguard import NetworkGuard

MAX_REDIRECTS = 10
MAX_BODY_BYTES = 10 * 1024 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SENSITIVE = ("authorization", "cookie", "proxy-authorization")


class RequestFailed(DomainError):
    """The request could not be made, or the response did not meet the step's expectations."""

    code = "request_failed"


@dataclass
class RequestOutcome:
    result: HttpResult
    variables: dict[str, Any]
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        return f"{self.result.method} {self.result.url} -> {self.result.status} in {self.result.latency_ms} ms"


async def send(step: Request, *, client: httpx.AsyncClient, guard: NetworkGuard, timeout_s: float) -> HttpResult:
    """Send the request, following redirects by hand so that the guard checks every hop."""
    method = step.method
    url = step.url
    headers = dict(step.headers)
    content: bytes | None = step.body.encode() if step.body is not None else None
    if step.json_body is not None:
        content = json.dumps(step.json_body).encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    params: dict[str, str] | None = {k: _param(v) for k, v in step.query.items()} or None
    redirects: list[str] = []
    deadline = time.monotonic() + timeout_s
    started = time.perf_counter()
    while True:
        await guard.check_async(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RequestFailed(f"{method} {url}: no response within {timeout_s:g}s")
        try:
            request = client.build_request(
                method, url, headers=headers, params=params, content=content, timeout=remaining
            )
            response = await client.send(request, follow_redirects=False, stream=True)
            try:
                body = await _read(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise RequestFailed(f"{method} {url}: no response within {timeout_s:g}s") from exc
        except httpx.HTTPError as exc:
            raise RequestFailed(f"{method} {url} failed: {type(exc).__name__}: {exc}") from exc
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or not location:
            return HttpResult(
                method=method,
                url=str(request.url),
                status=response.status_code,
                headers=response.headers,
                content=body,
                latency_ms=int((time.perf_counter() - started) * 1000),
                redirects=redirects,
            )
        if len(redirects) >= MAX_REDIRECTS:
            raise RequestFailed(f"{method} {step.url}: more than {MAX_REDIRECTS} redirects")
        current = str(request.url)
        redirects.append(current)
        nxt = urljoin(current, location)
        if urlsplit(nxt).netloc != urlsplit(current).netloc:
            headers = {k: v for k, v in headers.items() if k.lower() not in _SENSITIVE}
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method = "HEAD" if method == "HEAD" else "GET"
            content = None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        url, params = nxt, None


async def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestFailed(f"the response body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _param(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def extract(result: HttpResult, spec: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Values for ``{var: jsonpath}``; a path that matches nothing is a failure."""
    values: dict[str, Any] = {}
    failures: list[str] = []
    if not spec:
        return values, failures
    if not result.is_json:
        return values, [f"cannot extract {', '.join(spec)}: the response body is not JSON"]
    for var, path in spec.items():
        matches = query(result.json, path)
        if not matches:
            failures.append(f"cannot extract {var!r}: {path} matched nothing in the response")
            continue
        values[var] = matches[0] if is_definite(path) else matches
    return values, failures


async def run_request(
    step: Request, *, client: httpx.AsyncClient, guard: NetworkGuard, timeout_s: float
) -> RequestOutcome:
    """Send, check expectations, extract. Network refusals and transport errors raise; expectation
    and extraction failures are returned in ``failures``."""
    result = await send(step, client=client, guard=guard, timeout_s=timeout_s)
    failures = check(result, step.expect)
    variables, extract_failures = extract(result, step.extract)
    return RequestOutcome(result=result, variables=variables, failures=failures + extract_failures)
