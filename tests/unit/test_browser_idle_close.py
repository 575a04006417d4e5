"""The browser pool's idle close over a fake Playwright: when it closes, and what keeps the browser open."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runner_container.runner import browser as browser_module
from runner_container.runner.browser import BrowserPool

IDLE_S = 0.2


class FakeContext:
    async def close(self) -> None:
        return None


class FakeBrowser:
    version = "1.0"

    def __init__(self, driver: FakeDriver) -> None:
        self.driver = driver
        self.connected = True

    def is_connected(self) -> bool:
        return self.connected

    async def new_context(self, **_: Any) -> FakeContext:
        return FakeContext()

    async def close(self) -> None:
        self.connected = False
        self.driver.browser_closes += 1


class FakeDriver:
    def __init__(self) -> None:
        self.starts = self.stops = self.launches = self.browser_closes = 0
        self.chromium = self

    async def launch(self, **_: Any) -> FakeBrowser:
        self.launches += 1
        return FakeBrowser(self)

    async def start(self) -> FakeDriver:
        self.starts += 1
        return self

    async def stop(self) -> None:
        self.stops += 1


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    fake = FakeDriver()
    monkeypatch.setattr(browser_module, "async_playwright", lambda: fake)
    monkeypatch.setattr(browser_module, "find_browser", lambda override=None: Path("/bin/true"))
    monkeypatch.setattr(browser_module, "ensure_ffmpeg", lambda: False)
    monkeypatch.setattr(browser_module, "detach_driver", lambda: None)
    return fake


async def test_the_idle_close_stops_browser_and_driver_and_the_next_run_starts_them(driver: FakeDriver) -> None:
    pool = BrowserPool(idle_close_s=IDLE_S)
    async with pool.context():
        pass
    await asyncio.sleep(IDLE_S / 2)
    assert driver.stops == 0 and pool.running
    await asyncio.sleep(IDLE_S)
    assert (driver.starts, driver.stops, driver.browser_closes) == (1, 1, 1) and not pool.running
    async with pool.context():
        assert pool.running
    assert (driver.starts, driver.launches) == (2, 2)
    await pool.close()


async def test_a_run_that_raises_or_is_cancelled_still_leads_to_the_idle_close(driver: FakeDriver) -> None:
    pool = BrowserPool(idle_close_s=IDLE_S)
    with pytest.raises(RuntimeError):
        async with pool.context():
            raise RuntimeError("the run failed")
    await asyncio.sleep(IDLE_S * 2)
    assert driver.stops == 1

    async def hold() -> None:
        async with pool.context():
            await asyncio.sleep(10)

    task = asyncio.create_task(hold())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(IDLE_S * 2)
    assert driver.stops == 2
    await pool.close()


async def test_a_run_that_asked_for_the_browser_is_not_closed_under(driver: FakeDriver) -> None:
    """A session asks for the browser, then does other work (its proxy), then opens its context: an idle close
    falling due in between waits for it."""
    pool = BrowserPool(idle_close_s=IDLE_S)
    async with pool.context():
        pass
    await asyncio.sleep(IDLE_S * 0.9)
    await pool.browser()  # just before the close was due
    await asyncio.sleep(IDLE_S * 0.5)  # past the first due time
    assert driver.stops == 0 and pool.running
    async with pool.context():
        await asyncio.sleep(IDLE_S * 1.5)  # an open context is never closed under
        assert driver.stops == 0
    assert driver.launches == 1
    # a browser asked for and never used in a context closes after the idle time too
    await pool.browser()
    await asyncio.sleep(IDLE_S * 2)
    assert driver.stops == 1
    await pool.close()


async def test_off_by_zero_and_for_a_single_process_browser(driver: FakeDriver) -> None:
    for pool in (BrowserPool(idle_close_s=0), BrowserPool(idle_close_s=None)):
        async with pool.context():
            pass
        await asyncio.sleep(IDLE_S)
        assert pool.running
        await pool.close()
    assert driver.stops == 2  # by close() alone
    assert BrowserPool(extra_args=browser_module.LAMBDA_ARGS, idle_close_s=IDLE_S)._idle_close_s is None


async def test_close_during_the_idle_window_cancels_the_timer(driver: FakeDriver) -> None:
    pool = BrowserPool(idle_close_s=IDLE_S)
    async with pool.context():
        pass
    await pool.close()
    await asyncio.sleep(IDLE_S * 2)
    assert (driver.stops, driver.browser_closes) == (1, 1)
