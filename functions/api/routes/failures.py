"""Failure clusters (``/v1/failures``) and run comparison (``/v1/runs/{id}/compare/{other_id}``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from functions.api.deps import RunIdPath, ServicesDep, ViewerDep
from shared.models.failures import FailureClusters, RunComparison
from shared.services.comparison import compare_runs
from shared.services.failures import OLD_RUN_LIMIT, SCAN_LIMIT, failure_clusters, parse_since

router = APIRouter(tags=["failures"])


@router.get(
    "/v1/failures",
    response_model=FailureClusters,
    summary="Failed runs grouped by failure signature",
    description=(
        "The project's runs that ended `failed`, `error` or `timed_out` (cancelled runs are not failures) created "
        "in the window, grouped by their failure signature: the first step that did not pass (action and target), "
        "the kind of error and its message without ids, numbers, timestamps, ports and URL query strings. The "
        "largest cluster first. One call reads at most "
        f"{SCAN_LIMIT} runs, newest first, and at most {OLD_RUN_LIMIT} runs recorded before signatures were stored "
        "(read in full to work theirs out); `truncated` says when it stopped there, and `covered_since` how far "
        "back it got."
    ),
)
def list_failures(
    principal: ViewerDep,
    services: ServicesDep,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The start of the window: a duration back from now (`30m`, `24h`, `7d`, `2w`; up to 366 "
            "days) or an ISO 8601 time (`2026-01-31T09:00:00Z`). Default: `24h`.",
        ),
    ] = None,
    test_id: Annotated[str | None, Query(max_length=64, description="Only the runs of this test (`tst_...`).")] = None,
    suite_id: Annotated[
        str | None,
        Query(max_length=64, description="Only the runs of this suite's suite runs started in the window (`ste_...`)."),
    ] = None,
) -> FailureClusters:
    return failure_clusters(
        services.runs,
        principal.project_id,
        since=parse_since(since, datetime.now(UTC)),
        test_id=test_id or None,
        suite_id=suite_id or None,
        tests=services.catalog,
        suites=services.suites,
    )


@router.get(
    "/v1/runs/{run_id}/compare/{other_id}",
    response_model=RunComparison,
    summary="Compare two runs step by step",
    description=(
        "Two runs of the project step by step, aligned by position: which steps changed status, each step's "
        "duration in both (and the difference), how its target was found or healed, and for `request` steps the "
        "response status and the checks that did not hold. `notes` says first when the runs are of different "
        "tests, revisions or plans, or have different step counts; `headline` is the first thing to look at "
        "(`step 4 'click ...' passed -> failed (...)`). A run of another project is a 404."
    ),
)
def compare(run_id: RunIdPath, other_id: RunIdPath, principal: ViewerDep, services: ServicesDep) -> RunComparison:
    base = services.runs.get_run(principal.project_id, run_id)
    other = services.runs.get_run(principal.project_id, other_id)
    return compare_runs(base, other)
