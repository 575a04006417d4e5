"""Which runner takes a run (shared/services/routing.py)."""

from __future__ import annotations

import pytest

from shared.services.routing import LAMBDA_LIMIT_S, LAMBDA_RUN_LIMIT_S, lane_for, split_to_fit


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


@pytest.mark.parametrize(
    ("timeouts", "limit", "groups"),
    [
        ([300, 300, 300, 300], 840, [[0, 1], [2, 3]]),
        ([300, 300, 200], 840, [[0, 1, 2]]),
        ([900, 60, 60], 840, [[0], [1, 2]]),  # a run above the limit alone (it takes the long lane)
        ([60], 840, [[0]]),
        ([], 840, []),
    ],
)
def test_a_batch_is_split_into_consecutive_messages_that_fit(
    timeouts: list[int], limit: int, groups: list[list[int]]
) -> None:
    assert [list(g) for g in split_to_fit(timeouts, limit)] == groups
