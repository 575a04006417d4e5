"""``bench/table.py``: the result lines it reads and the table it writes (no benchmark is run here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.common import Result, percentile
from bench.table import BENCHES, Ran, parse, render


def _result(**changes: object) -> Result:
    fields: dict[str, object] = {
        "bench": "runner_overhead",
        "work": "one 22-step browser flow, artifacts off",
        "peer": "bare Playwright script",
        "peer_value": 1.5,
        "autotest_value": 1.8,
        "unit": "s",
        "rounds": 9,
        "ratio": 1.2,
        "target": "<= 1.10x",
        "met": False,
        "notes": "progress | writes",
        "extra": {"per_step_ms": 13.6},
    }
    return Result(**{**fields, **changes})  # type: ignore[arg-type]


def test_result_lines_are_read_back_and_other_output_is_ignored() -> None:
    one, two = _result(), _result(work="default artifacts", met=True, ratio=1.4)
    output = f"a human table\n{one.line()}\nbench-results are not this\n{two.line()}\n"

    assert parse(output) == [one, two]


def test_the_table_has_a_row_per_figure_says_what_missed_and_marks_a_failed_benchmark() -> None:
    ran = [
        Ran("runner_overhead", "python -m bench.runner_overhead --runs 9", 80.0, 0, [_result()]),
        Ran("cost", "python -m bench.cost", 3.0, 1, []),
    ]

    text = render(ran, when=datetime(2026, 12, 4, 1, 2, tzinfo=UTC), commit="abc1234", where="2 cores")

    assert "2026-12-04 01:02 UTC, commit `abc1234`" in text and "**Machine:** 2 cores" in text
    row = next(line for line in text.splitlines() if "22-step" in line and line.startswith("| 1 "))
    assert "| 1.500 s | 1.800 s | 1.20x | <= 1.10x | **no** | 9 |" in row
    assert "progress \\| writes" in row  # a pipe in a note does not break the table
    assert f"| {len(BENCHES)} | cost | **failed (exit 1)** |" in text
    assert "1 of the 1 figures with a target miss it" in text
    assert "`.venv/bin/python -m bench.runner_overhead --runs 9` (80 s)" in text
    assert '"per_step_ms": 13.6' in text


def test_the_seven_benchmarks_are_listed_once_in_the_issues_order() -> None:
    names = [name for name, _ in BENCHES]
    assert names == [
        "runner_overhead",
        "suite_throughput",
        "newman_throughput",
        "cold_start",
        "latency",
        "memory",
        "cost",
    ]


def test_percentiles_interpolate() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([0, 10], 95) == 9.5


def test_the_results_are_saved_beside_the_readme_and_read_back(tmp_path: Path) -> None:
    from bench.table import load, save

    ran = [Ran("runner_overhead", "python -m bench.runner_overhead --runs 9", 80.0, 0, [_result()])]
    path = tmp_path / "results.json"

    save(ran, path, when=datetime(2026, 12, 4, tzinfo=UTC), commit="abc1234", where="2 cores")

    assert load(path) == (ran, "2 cores")
