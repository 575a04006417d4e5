"""Failure clusters and run comparison over real runs: the runner executes a passing revision of a login test in
Chromium against the example web app (loopback), then a failing revision twice; the two failures are one cluster
and the comparison points at the step that changed."""

from __future__ import annotations

from typing import Any

import pytest

from examples.webapp import WebApp
from runner_container.runner.browser import BrowserPool
from shared.models.runs import Run, RunCreate, RunStatus
from shared.models.tests import RevisionCreate, TestCreate
from shared.services.catalog import Catalog
from shared.services.comparison import compare_runs
from shared.services.failures import failure_clusters
from tests.e2e.conftest import PROJECT, Harness, make_harness

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


def login(password: str) -> list[dict[str, Any]]:
    return [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
        {"action": "fill", "target": {"label": "Password"}, "value": password},
        {"action": "click", "target": {"role": "button", "name": "Log in"}},
        {"action": "expect_text", "text": "Welcome, admin", "timeout_s": 1},
    ]


async def _run(h: Harness, test_id: str) -> Run:
    h.runs.start_run(PROJECT, RunCreate(test_id=test_id, variables={"base_url": h.base_url}))
    message, _ = h.queue.sent.pop()
    result = await h.execute(message)
    assert result.run is not None
    return h.store.get_run(result.run.id)


async def test_a_login_that_broke_reads_as_one_cluster_and_its_comparison_names_the_step(
    pool: BrowserPool, webapp: WebApp
) -> None:
    # Given a login test that passes, then a revision of it with the wrong password
    h = make_harness(pool, webapp.url, step_timeout_s=2.0)
    catalog = Catalog(h.store)
    test, _ = catalog.create_test(
        PROJECT, TestCreate.model_validate({"name": "Admin can log in", "steps": login("{{secret:ADMIN_PASSWORD}}")})
    )
    good = await _run(h, test.id)
    assert good.status == RunStatus.passed, good.error
    catalog.new_revision(PROJECT, test.id, RevisionCreate.model_validate({"steps": login("not the password")}))

    # When it runs twice more
    bad = [await _run(h, test.id) for _ in range(2)]

    # Then both failures are one cluster, at the step that expects the welcome
    assert [r.status for r in bad] == [RunStatus.failed, RunStatus.failed]
    got = failure_clusters(h.runs, PROJECT, since=good.created_at)
    assert [c.count for c in got.clusters] == [2], [c.summary for c in got.clusters]
    assert got.old_run_reads == 0  # the runner's runs stored their signatures when they ended
    cluster = got.clusters[0]
    assert (cluster.step_action, cluster.kind) == ("expect_text", "expectation")
    assert cluster.sample_run_id == bad[-1].id and [t.test_id for t in cluster.tests] == [test.id]

    # And the comparison of the pass with a failure names that step, and the other revision
    compared = compare_runs(good, bad[0])
    assert compared.headline.startswith("step 5 'expect_text \"Welcome, admin\"' passed -> failed (expected the page")
    assert compared.changed_steps == [4]
    assert "the runs are of different revisions: 1 and 2" in compared.notes
    click = compared.steps[3]
    assert click.base is not None and click.base.locator and click.base.status == click.other.status == "passed"  # type: ignore[union-attr]
