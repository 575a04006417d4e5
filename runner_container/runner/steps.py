"""One step of a plan: render it, perform it (in the page, or with httpx for ``request`` steps), and record
the result (status, duration, resolved locator, error, screenshot)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
from aiolimiter import AsyncLimiter
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from runner_container.runner.artifacts import ArtifactCollector
from runner_container.runner.exchanges import request_headers
from runner_container.runner.healing import TargetFinder
from runner_container.runner.masking import Masker, origin
from runner_container.runner.navigation import navigate
from runner_container.runner.onpage import ScanFailed, SecretScanner
from runner_container.runner.render import Renderer, RenderError, placeholders
from runner_container.runner.session import PageLogs
from runner_container.runner.targets import Resolved
from shared import regex
from shared.apitests.checks import ResponseChecker
from shared.apitests.http import RequestFailed, run_request, with_query
from shared.errors import DomainError
from shared.models.common import MAX_VARIABLE_CHARS
from shared.models.plans import (
    BROWSER_ACTIONS,
    Check,
    Click,
    ExpectText,
    ExpectTitle,
    ExpectUrl,
    ExpectVisible,
    Extract,
    Fill,
    Goto,
    Hover,
    Press,
    Request,
    Screenshot,
    Select,
    Step,
    Uncheck,
    WaitFor,
    describe_step,
    describe_target,
)
from shared.models.runs import CheckResult, Heal, StepResult
from shared.netguard import NetworkGuard
from shared.observability import logger
from shared.wording import seconds

MAX_ERROR_CHARS = 2000
SCREENSHOT_TIMEOUT_MS = 5000
FAILURE_SCREENSHOT_TIMEOUT_MS = 1500  # a page stuck mid-navigation cannot be captured; don't wait long
ScreenshotMode = Literal["every_step", "on_failure", "off"]


#: the most check results one step records (100 expectations, the error-status rule, 100 extractions)
MAX_CHECKS = 201


class StepFailed(DomainError):
    code = "step_failed"


@dataclass
class _Noted:
    """What a request step's run found besides its status: its checks and how many tries it took."""

    checks: list[CheckResult] = field(default_factory=list)
    tries: int | None = None


@dataclass
class StepContext:
    """Everything the steps of one pass over the plan share."""

    page: Page | None  # None when the pass runs without a browser (an API run)
    guard: NetworkGuard
    renderer: Renderer
    masker: Masker
    collector: ArtifactCollector
    workdir: Path
    label: str  # "" or "row-1/" (artifact name prefix)
    http: httpx.AsyncClient
    start_url: str | None
    logs: PageLogs
    scanner: SecretScanner
    checker: ResponseChecker  # checks responses and long texts in worker processes, stopped on time
    watch: bool = False  # the session records pictures that cannot be masked (video, screencast)
    finder: TargetFinder = field(default_factory=TargetFinder)  # the element cache and the healer of the run
    secret_locators: list[Locator] = field(default_factory=list)
    limiter: AsyncLimiter | None = None  # the run's rate limit of requests, all its passes together

    def require_page(self, action: str) -> Page:
        if self.page is None:
            raise StepFailed(f"{action!r} needs a browser, and this run executes without one (an API run)")
        return self.page


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left_s(self) -> float:
        return max(0.001, self._end - time.monotonic())

    def left_ms(self) -> float:
        return self.left_s() * 1000

    def expired(self) -> bool:
        return time.monotonic() >= self._end


class StepRunner:
    def __init__(self, *, step_timeout_s: float, screenshots: ScreenshotMode) -> None:
        self.step_timeout_s = step_timeout_s
        self.screenshots = screenshots

    def timeout(self, step: Step | None, deadline: float) -> float:
        wanted = (step.timeout_s if step is not None else None) or self.step_timeout_s
        if isinstance(step, WaitFor) and step.ms is not None and step.timeout_s is None:
            wanted = max(wanted, step.ms / 1000 + 1.0)  # a fixed wait gets the time it asks for
        return max(0.001, min(wanted, deadline - time.monotonic()))

    async def open_start_url(self, page: Page, it: StepContext, deadline: float) -> str | None:
        """Open the test's ``start_url``; returns why that failed, or None."""
        assert it.start_url is not None
        try:
            url = it.renderer.render(it.start_url)
            await it.guard.check_async(url)
            await navigate(page, url, timeout_ms=self.timeout(None, deadline) * 1000, logs=it.logs)
        except (DomainError, PlaywrightError) as exc:
            return it.masker.clip(f"could not open start_url: {message(exc)}", MAX_ERROR_CHARS)
        return None

    async def run(self, index: int, step: Step, it: StepContext, deadline: float) -> StepResult:
        masker = it.masker
        noted = _Noted()
        started = time.perf_counter()
        refusals_before = it.logs.refusal_count
        resolved: Resolved | None = None
        screenshot: str | None = None
        status: Literal["passed", "failed", "error"] = "passed"
        error: str | None = None
        target_text = describe_target(getattr(step, "target", None))
        detail = describe_step(step)
        try:
            rendered = it.renderer.render_step(step)
            target_text = describe_target(getattr(rendered, "target", None))
            detail = describe_step(rendered)
            if isinstance(rendered, Request):
                await it.checker.ready()  # the step's time starts once its response can be checked
            budget = Budget(self.timeout(step, deadline))
            try:
                resolved, screenshot = await asyncio.wait_for(
                    self._perform(index, rendered, step, it, budget, noted), timeout=budget.seconds + 1.0
                )
            except TimeoutError as exc:  # asyncio's: the step overran its budget without Playwright noticing
                raise StepFailed(f"the step did not finish within {seconds(budget.seconds)}") from exc
        except RenderError as exc:
            status, error = "error", exc.message
        except (DomainError, AssertionError, PlaywrightError) as exc:
            status, error = "failed", message(exc)
            if isinstance(exc, PlaywrightError) and not isinstance(exc, PlaywrightTimeout) and _is_crash(exc):
                status = "error"
        except Exception as exc:  # a bug or an unexpected failure: the run ends as an error
            status, error = "error", f"{type(exc).__name__}: {exc}"
            logger.error(
                "unexpected error in a step",
                step=index,
                action=step.action,
                error=masker.clip(error, MAX_ERROR_CHARS),
                origin=origin(exc),
            )
        new_refusals = it.logs.refusals_since(refusals_before)
        if new_refusals:
            refused = "; ".join(new_refusals)
            if status == "passed":
                status, error = "failed", refused
            elif error is not None and refused not in error:
                error = f"{refused} ({error})"
        if it.page is not None and step.action in BROWSER_ACTIONS and step.action != "screenshot":
            taken = await self._screenshot(it.page, index, it, failed=status != "passed")
            if taken is None and it.watch:
                await self._watch(it.page, index, it)
            screenshot = taken or screenshot
        return StepResult(
            index=index,
            action=step.action,
            description=masker.maybe(step.description),
            target=masker.maybe(target_text),
            detail=masker.maybe(detail),
            locator=masker.maybe(resolved.expression if resolved else None),
            matched_by=resolved.matched_by if resolved else None,
            cache=resolved.cache if resolved else None,
            heal=_masked_heal(resolved.heal, masker) if resolved and resolved.heal else None,
            healed=bool(resolved and resolved.heal),
            status=status,
            duration_ms=int((time.perf_counter() - started) * 1000),
            error=masker.clip(error, MAX_ERROR_CHARS) if error else None,
            screenshot=screenshot,
            checks=noted.checks,
            tries=noted.tries,
        )

    async def _screenshot(self, page: Page, index: int, it: StepContext, *, failed: bool) -> str | None:
        """The screenshot after a step (as the run's screenshot mode asks), or None. Never raises."""
        mode = self.screenshots
        if mode == "off" or (mode == "on_failure" and not failed):
            return None
        number = index + 1  # as results, reports and the CLI count steps
        name = f"step-{number:03d}-failure.png" if failed else f"step-{number:03d}.png"
        timeout = FAILURE_SCREENSHOT_TIMEOUT_MS if failed else SCREENSHOT_TIMEOUT_MS
        try:
            return await self._capture(page, index, it, name, full_page=failed, timeout_ms=timeout)
        except PlaywrightError as exc:
            logger.warning("could not take a screenshot", step=index, error=str(exc).splitlines()[0])
        except (ScanFailed, StepFailed) as exc:
            it.collector.note(f"{it.label}screenshots/{name}: not taken: {exc}")
            it.logs.show_secret(f"{exc} (step {index + 1})")
        return None

    async def _capture(
        self, page: Page, index: int, it: StepContext, name: str, *, full_page: bool, timeout_ms: float
    ) -> str:
        """A screenshot with every secret the page shows masked (``onpage.py``); returns its artifact key.
        A picture during which the page showed a secret somewhere new is taken again, then not kept."""
        path = it.workdir / "screenshots" / name
        for _ in range(2):
            sighting = await it.scanner.mark(page)
            if sighting.shown:
                it.logs.show_secret(f"the page showed a secret (step {index + 1}: {', '.join(sighting.shown)})")
            masks = [*sighting.masks, *it.secret_locators]
            await page.screenshot(path=path, full_page=full_page, timeout=timeout_ms, mask=masks or None)
            if not await it.scanner.uncovered(page, sighting):
                for note in sighting.notes:  # what could only be masked whole (a frame)
                    it.collector.note(f"{it.label}screenshots/{name}: {it.masker.text(note)}")
                return it.collector.add(f"{it.label}screenshots/{name}", "screenshot", path)
            path.unlink(missing_ok=True)
        it.logs.show_secret(f"the page showed a secret while it was pictured (step {index + 1})")
        raise StepFailed("the page showed a secret in a new place each time it was pictured; no screenshot kept")

    async def _watch(self, page: Page, index: int, it: StepContext) -> None:
        """Whether the page shows a secret after a step that took no screenshot (for the video's sake)."""
        try:
            shown = await it.scanner.shown(page)
        except ScanFailed as exc:
            it.logs.show_secret(f"{exc} (step {index + 1})")
            return
        if shown:
            it.logs.show_secret(f"the page showed a secret (step {index + 1}: {', '.join(shown)})")

    async def _perform(
        self, index: int, step: Step, original: Step, it: StepContext, budget: Budget, noted: _Noted
    ) -> tuple[Resolved | None, str | None]:
        """Run one rendered step; returns (the target as resolved, screenshot key). A request step's checks and
        tries go into ``noted``, its exchange into the run's side table (for the report)."""
        if isinstance(step, Request):
            await self._request(index, step, it, budget, noted)
            return None, None
        page = it.require_page(step.action)
        if not isinstance(step, Fill) and placeholders(original.model_dump(mode="json"))[1]:
            # (a fill is judged by the field it fills, below)
            it.logs.show_secret(f"step {index + 1} ({step.action}) uses a secret, which the page may show")
        if isinstance(step, Goto):
            url = self._absolute(step.url, page, it)
            await it.guard.check_async(url)
            await navigate(page, url, timeout_ms=budget.left_ms(), logs=it.logs, allow_status=step.allow_status)
            return None, None
        if isinstance(step, WaitFor) and step.ms is not None:
            wait_s = step.ms / 1000
            if wait_s > budget.left_s():  # only the run's timeout cuts a fixed wait short: that is no pass
                await asyncio.sleep(budget.left_s())
                raise StepFailed(f"the wait of {step.ms} ms was cut short by the run's timeout")
            await asyncio.sleep(wait_s)
            return None, None
        if isinstance(step, ExpectUrl):
            await expect_url(page, step.pattern, budget, it.checker)
            return None, None
        if isinstance(step, ExpectTitle):
            await expect(page).to_have_title(re.compile(re.escape(step.text)), timeout=budget.left_ms())
            return None, None
        if isinstance(step, Screenshot):
            name = f"{step.name or f'step-{index + 1:03d}'}.png"
            try:
                key = await self._capture(page, index, it, name, full_page=True, timeout_ms=budget.left_ms())
            except ScanFailed as exc:
                it.logs.show_secret(f"{exc} (step {index + 1})")
                raise StepFailed(f"no screenshot taken: {exc}") from exc
            return None, key
        if isinstance(step, Press) and step.target is None:
            await page.keyboard.press(step.key)
            return None, None
        if isinstance(step, ExpectText) and step.target is None:
            await expect_text(page.locator("body"), step.text, budget, "the page", it.masker, absent=step.absent)
            return None, None

        target = getattr(step, "target", None)
        if target is None:  # every remaining action has a target (the models guarantee it)
            raise StepFailed(f"step {step.action} needs a target")
        resolved = await it.finder.find(
            page,
            target,
            action=step.action,
            written=original,
            timeout_s=budget.left_s(),
            clip=it.masker.clip,
            mask=it.masker.text,
        )
        loc = resolved.locator
        ms = budget.left_ms()
        if isinstance(step, Click):
            await loc.click(timeout=ms)
        elif isinstance(step, Fill):
            secret = bool(placeholders(original.value if isinstance(original, Fill) else "")[1])
            hidden = secret and await _is_password_field(loc)
            await loc.fill(step.value, timeout=ms)
            if secret:
                it.secret_locators.append(loc)
                if not hidden:
                    it.logs.show_secret(
                        f"a secret was typed into a visible field (step {index + 1}: fill {resolved.expression})"
                    )
        elif isinstance(step, Press):
            await loc.press(step.key, timeout=ms)
        elif isinstance(step, Select):
            await loc.select_option(step.value, timeout=ms)
        elif isinstance(step, Check):
            await loc.check(timeout=ms)
        elif isinstance(step, Uncheck):
            await loc.uncheck(timeout=ms)
        elif isinstance(step, Hover):
            await loc.hover(timeout=ms)
        elif isinstance(step, WaitFor | ExpectVisible):
            await expect(loc).to_be_visible(timeout=ms)
        elif isinstance(step, ExpectText):
            await expect_text(loc, step.text, budget, resolved.expression, it.masker, absent=step.absent)
        elif isinstance(step, Extract):
            text = str(await _text_of(loc, ms)).strip()
            if len(text) > MAX_VARIABLE_CHARS:
                raise StepFailed(
                    f"the element's text is {len(text) // 1024} KB, more than the {MAX_VARIABLE_CHARS // 1024} KB "
                    f"a variable may hold: extract a smaller element into {step.var}"
                )
            it.renderer.variables[step.var] = text
        else:
            raise StepFailed(f"the runner does not know the action {step.action!r}")
        return resolved, None

    async def _request(self, index: int, step: Request, it: StepContext, budget: Budget, noted: _Noted) -> None:
        exchanges = it.collector.exchanges
        try:
            outcome = await run_request(
                step,
                client=it.http,
                guard=it.guard,
                timeout_s=budget.left_s(),
                checker=it.checker,
                clip=it.masker.clip,
                variables=it.renderer.variables,
                limiter=it.limiter,
            )
        except RequestFailed as exc:
            body = json.dumps(step.json_body).encode() if step.json_body is not None else None
            if step.body is not None:
                body = step.body.encode()
            exchanges.note_failure(
                it.label,
                index,
                method=step.method,
                url=with_query(
                    step.url, {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in step.query.items()}
                ),
                headers=request_headers(step.headers, step.json_body is not None),
                body=body,
                error=exc.message,
                masker=it.masker,
            )
            raise
        exchanges.note_response(it.label, index, outcome.result, it.masker, tries=outcome.tries)
        noted.checks = [
            CheckResult(check=o.check, passed=o.passed, expected=o.expected, actual=o.actual)
            for o in outcome.checks[:MAX_CHECKS]
        ]
        noted.tries = outcome.tries
        if not outcome.passed:
            raise RequestFailed(outcome.error())
        it.renderer.variables.update(outcome.variables)

    @staticmethod
    def _absolute(url: str, page: Page, it: StepContext) -> str:
        if urlsplit(url).scheme:
            return url
        current = page.url
        base = current if urlsplit(current).scheme in ("http", "https") else it.start_url
        if not base:
            raise StepFailed(f"{url!r} is a relative URL and the test has no start_url to resolve it against")
        return urljoin(it.renderer.render(base), url)


# ---------------------------------------------------------------------------------- helpers


def _masked_heal(heal: Heal, masker: Masker) -> Heal:
    """A heal as a result shows it: what the test or the page wrote, secrets masked."""
    return heal.model_copy(
        update={
            "before": masker.text(heal.before),
            "after": masker.text(heal.after),
            "locator": masker.text(heal.locator),
            "replacement": masker.data(heal.replacement),
            "rejected": [masker.text(r) for r in heal.rejected],
        }
    )


# Both below ask the page through Playwright's own calls (a count, ``input_value``, ``inner_text``), which run
# in the world of its injected script, where every step's locators are already resolved. An ``evaluate`` runs in
# the page's main world, where the first one of each document costs ~40 ms more (Playwright injects its script
# there for it), and takes three calls (a handle, the evaluation, the handle's release).

#: what ``e instanceof HTMLInputElement && e.type.toLowerCase() === 'password'`` is as a selector (``type``'s
#: value matches ASCII case aside, as ``e.type`` reads it; an invalid type reads "text" and matches neither)
_BULLETED_FIELD = "input[type=password i]"
#: the elements whose value, not text, ``extract`` reads
_VALUE_FIELDS = "input, textarea, select"


async def _is_password_field(loc: Locator) -> bool:
    """Whether the element shows bullets for what is typed into it (``<input type=password>``), at fill time (it
    was just resolved to one element: one count, no wait)."""
    try:
        return await loc.and_(loc.page.locator(_BULLETED_FIELD)).count() == 1
    except PlaywrightError:
        return False  # cannot tell: assume the page shows it


async def _text_of(loc: Locator, timeout_ms: float) -> object:
    """What ``extract`` reads: an input's, a textarea's or a select's value, else the element's ``innerText``
    (as ``e => ['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName) ? e.value : e.innerText`` would). An element
    Playwright's ``inner_text`` refuses (one that is no HTML element: SVG) is read by that evaluation."""
    try:
        if await loc.and_(loc.page.locator(_VALUE_FIELDS)).count() == 1:
            return await loc.input_value(timeout=timeout_ms)
        return await loc.inner_text(timeout=timeout_ms)
    except PlaywrightTimeout:
        raise
    except PlaywrightError:
        return await loc.evaluate(
            "e => (['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName) ? e.value : e.innerText)", timeout=timeout_ms
        )


#: how long an absent text is waited for to go away before the element is looked at again (it may be hidden)
ABSENT_POLL_MS = 250


async def expect_text(
    loc: Locator, text: str, budget: Budget, where: str, masker: Masker, *, absent: bool = False
) -> None:
    """``expect_text``: the text shows in ``loc`` before the step's time is up; with ``absent``, it does not (it
    is not there, or goes away in time). The text is read as the page shows it (``innerText`` of a visible
    element): a text that is hidden (``hidden``, ``display: none``...), or in a hidden element, is not shown."""
    shown_loc = loc.filter(visible=True)  # a hidden element shows no text (its innerText would be its source's)
    try:
        if absent:
            while await loc.is_visible():  # (a hidden one shows nothing)
                try:
                    await expect(loc).not_to_contain_text(
                        text, timeout=min(ABSENT_POLL_MS, budget.left_ms()), use_inner_text=True
                    )
                    break
                except AssertionError:
                    if budget.expired():
                        raise
        else:
            await expect(shown_loc).to_contain_text(text, timeout=budget.left_ms(), use_inner_text=True)
    except AssertionError as exc:
        actual = ""
        with contextlib.suppress(PlaywrightError):
            actual = " ".join((await shown_loc.inner_text(timeout=1000)).split())
        shown = masker.clip(actual, 300)
        if absent:
            raise StepFailed(
                f"expected {where} not to show the text {text!r}, and it still did after {seconds(budget.seconds)}; "
                f"it shows: {shown!r}"
            ) from exc
        raise StepFailed(
            f"expected {where} to contain the text {text!r} within {seconds(budget.seconds)}; "
            + (f"it shows: {shown!r}" if actual else "it has no text")
        ) from exc


URL_POLL_S = 0.05


async def expect_url(page: Page, pattern: str, budget: Budget, checker: ResponseChecker) -> None:
    """``expect_url``: ``pattern`` (RE2 syntax, checked when the test was saved) is searched in the page's
    URL until it matches or the step's time is up. The URL is read in Python and matched with RE2, not handed
    to Playwright's ``to_have_url``, which would run the pattern in the browser's backtracking engine.
    (``page.url`` is Playwright's local copy of the main frame's URL, kept current by navigation events: a
    poll costs no round trip to the browser.) A URL can be 2 MB long, which a large pattern takes seconds to
    search: a search that could take more than a few milliseconds (``regex.cheap``) runs in ``checker``'s
    worker, stopped when the step's time is up, never on the event loop."""
    compiled = regex.compile_pattern(pattern)
    while True:
        url = page.url
        if regex.cheap(pattern, url):
            matched: bool | None = compiled.search(url) is not None
        else:
            matched = await checker.search(pattern, url, timeout_s=budget.left_s())
        if matched:
            return
        if matched is None or budget.expired():
            raise StepFailed(
                f"expected the URL to match /{pattern}/ within {seconds(budget.seconds)}; it is {_shown_url(url)}"
                + (" (the search was still running when the time ran out, and was stopped)" if matched is None else "")
            )
        await asyncio.sleep(min(URL_POLL_S, budget.left_s()))


def _shown_url(url: str, limit: int = 500) -> str:
    return repr(url) if len(url) <= limit else f"{url[:limit]!r}... ({len(url)} characters)"


def message(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    text = str(exc).strip()
    # Playwright appends a call log; the first lines say what happened.
    head = text.split("Call log:", 1)[0].strip()
    head = re.sub(r"Timeout (\d+)\.\d+ms", r"Timeout \1ms", head)
    lines = [line for line in head.splitlines() if line.strip()]
    # Not cut here: callers mask first, then cut (a cut could keep the start of a secret).
    return " ".join(lines[:6]) or type(exc).__name__


def _is_crash(exc: PlaywrightError) -> bool:
    text = str(exc)
    return "has been closed" in text or "Browser closed" in text or "Target crashed" in text


def skipped(steps: list[Step], start: int, masker: Masker) -> list[StepResult]:
    return [
        StepResult(
            index=i,
            action=step.action,
            description=masker.maybe(step.description),
            target=masker.maybe(describe_target(getattr(step, "target", None))),
            detail=masker.maybe(describe_step(step)),
            status="skipped",
        )
        for i, step in enumerate(steps)
        if i >= start
    ]
