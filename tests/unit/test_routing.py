"""Which runner takes a run (shared/services/routing.py)."""

from __future__ import annotations

import pytest

from shared.services.routing import LAMBDA_LIMIT_S, LAMBDA_RUN_LIMIT_S, lane_for


@pytest.mark.parametrize(
    ("timeout_s", "limit_s", "lane"),
    [(840, 840, "short"), (841, 840, "long"), (3600, 840, "long"), (3600, None, "short"), (None, 840, "short")],
)
def test_a_run_longer_than_the_short_lane_allows_takes_the_long_lane(
    timeout_s: int | None, limit_s: int | None, lane: str
) -> None:
    assert lane_for(timeout_s, short_limit_s=limit_s) == lane


def test_the_lambda_lane_leaves_time_to_start_the_browser_and_upload() -> None:
    assert LAMBDA_LIMIT_S - LAMBDA_RUN_LIMIT_S >= 60
