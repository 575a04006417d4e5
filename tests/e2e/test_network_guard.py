"""The network guard in a real browser: schemes, metadata, redirects, the allow-list."""

from __future__ import annotations

import pytest

from examples.webapp import WebApp
from runner_container.runner.browser import BrowserPool
from shared.models.runs import RunStatus
from tests.e2e.conftest import Harness, make_harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_loopback_is_refused_unless_allow_listed(pool: BrowserPool, webapp: WebApp) -> None:
    h = make_harness(pool, webapp.url, network_allowlist="")
    run = await h.run([{"action": "goto", "url": "{{base_url}}/"}])

    assert run.status == RunStatus.failed
    error = run.steps[0].error or ""
    assert "127.0.0.1" in error and "loopback" in error and "AUTOTEST_NETWORK_ALLOWLIST" in error


async def test_file_urls_are_refused(harness: Harness) -> None:
    run = await harness.run([{"action": "goto", "url": "file:///etc/passwd"}])

    assert run.status == RunStatus.failed
    assert "file: is not allowed" in (run.steps[0].error or "")


async def test_a_redirect_to_the_metadata_endpoint_is_refused(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/"},
            {"action": "goto", "url": "{{base_url}}/redirect?to=http://169.254.169.254/latest/meta-data/"},
        ]
    )

    assert run.status == RunStatus.failed
    assert [s.status for s in run.steps] == ["passed", "failed"]
    assert "169.254.169.254 is the cloud metadata endpoint" in (run.steps[1].error or "")
    network_log = next(a for a in run.artifacts if a.name == "network.log")
    assert b"REFUSED" in harness.artifacts.objects[network_log.key][0]


async def test_a_redirect_in_a_request_step_is_checked(harness: Harness) -> None:
    run = await harness.run([{"action": "request", "url": "{{base_url}}/redirect?to=http://169.254.169.254/&code=307"}])

    assert run.status == RunStatus.failed
    assert "cloud metadata endpoint" in (run.steps[0].error or "")
