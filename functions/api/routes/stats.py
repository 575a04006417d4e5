"""Run statistics: ``/v1/tests/{id}/stats`` and ``/v1/stats/flaky``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from functions.api.deps import ServicesDep, TestIdPath, ViewerDep
from shared.errors import Unavailable
from shared.models.stats import FlakyTests, TestStats
from shared.services.container import Services
from shared.services.stats import MAX_WINDOW, StatsService

router = APIRouter(tags=["stats"])


def _stats(services: Services) -> StatsService:
    if services.stats is None:
        raise Unavailable("this deployment keeps no run statistics")
    return services.stats


@router.get("/v1/tests/{test_id}/stats", response_model=TestStats, summary="Pass rate, flakiness and durations")
def test_stats(
    test_id: TestIdPath,
    principal: ViewerDep,
    services: ServicesDep,
    window: Annotated[
        int, Query(ge=1, le=MAX_WINDOW, description="How many of the test's newest ended runs (1 to 500).")
    ] = 50,
) -> TestStats:
    return _stats(services).test_stats(principal.project_id, test_id, window=window)


@router.get("/v1/stats/flaky", response_model=FlakyTests, summary="The project's flakiest tests")
def flaky_tests(
    principal: ViewerDep,
    services: ServicesDep,
    window: Annotated[
        int, Query(ge=1, le=MAX_WINDOW, description="How many of the project's newest ended runs (1 to 500).")
    ] = 500,
    limit: Annotated[int, Query(ge=1, le=100, description="How many tests to list at most (1 to 100).")] = 20,
) -> FlakyTests:
    return _stats(services).flaky_tests(principal.project_id, window_runs=window, limit=limit)
