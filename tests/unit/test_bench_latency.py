"""``bench/latency.py``'s pure parts: the API's timestamps as epoch seconds, the percentiles of each figure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.latency import Timing, at, figures


def test_api_timestamps_are_epoch_seconds_to_the_microsecond() -> None:
    expected = datetime(2026, 12, 4, 0, 51, 54, 783209, tzinfo=UTC).timestamp()

    assert at("2026-12-04T00:51:54.783209Z") == pytest.approx(expected, abs=1e-6)
    assert at("2026-12-04T00:51:54.783209+00:00") == pytest.approx(expected, abs=1e-6)


def timing(running: float, seen: float | None) -> Timing:
    return Timing(
        post_ms=10, running_ms=running, result_ms=running * 2, recorded_ms=running, queued_ms=1, seen_running_ms=seen
    )


def test_figures_are_p50_and_p95_over_the_runs_that_have_them() -> None:
    values = [timing(float(ms), None if ms % 2 else float(ms)) for ms in range(1, 102)]  # 1..101 ms

    out = figures(values)

    assert out["running_ms"] == (51.0, 96.0)
    assert out["result_ms"] == (102.0, 192.0)
    # only the even runs saw ``running`` (2..100): 50 of them
    assert out["seen_running_ms"] == pytest.approx((51.0, 95.1))


def test_a_figure_no_run_has_is_left_out() -> None:
    assert "seen_running_ms" not in figures([timing(5.0, None), timing(6.0, None)])
