"""bench/suite_throughput.py's pure parts: the 40 cases, both suites written from them, the overlap count."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from bench.suite_throughput import TESTS, cases, junit_counts, most_at_once, write_autotest_suite, write_pytest_suite
from shared.models.runs import RunCreate


def test_forty_cases_ten_of_each_flow_each_named_once() -> None:
    all_cases = cases()
    assert len(all_cases) == TESTS
    assert Counter(c.flow for c in all_cases) == {"login": 10, "preferences": 10, "shopping": 10, "delayed": 10}
    assert len({c.name for c in all_cases}) == TESTS
    assert len({(c.params["color"], c.params["size"]) for c in all_cases if c.flow == "preferences"}) == 9


def test_both_suites_hold_the_forty_tests(tmp_path: Path) -> None:
    ours = write_autotest_suite(tmp_path / "autotest", "http://127.0.0.1:9")
    files = sorted(ours.glob("*.yaml"))
    assert len(files) == TESTS
    for file in files:  # each is a test file autotest accepts
        RunCreate.model_validate({"spec": yaml.safe_load(file.read_text())})
    peer = write_pytest_suite(tmp_path / "pytest", "http://127.0.0.1:9", "/usr/bin/chromium")
    source = (peer / "test_suite.py").read_text()
    compile(source, "test_suite.py", "exec")
    compile((peer / "conftest.py").read_text(), "conftest.py", "exec")
    assert source.count("def test_") == 4 and "CASES = " in source


def test_most_at_once_counts_overlapping_runs() -> None:
    runs = [
        {"started_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T00:00:03Z"},
        {"started_at": "2026-01-01T00:00:01Z", "ended_at": "2026-01-01T00:00:02Z"},
        {"started_at": "2026-01-01T00:00:02.5Z", "ended_at": "2026-01-01T00:00:04Z"},
        {"started_at": "2026-01-01T00:00:05Z", "ended_at": "2026-01-01T00:00:06Z"},
    ]
    assert most_at_once(runs) == 2


def test_junit_counts_reads_both_shapes(tmp_path: Path) -> None:
    one = tmp_path / "one.xml"
    one.write_text('<testsuite tests="40" failures="1" errors="0" skipped="0"/>')
    many = tmp_path / "many.xml"
    many.write_text('<testsuites><testsuite tests="2" failures="0"/><testsuite tests="3" errors="1"/></testsuites>')
    assert junit_counts(one) == (40, 1)
    assert junit_counts(many) == (5, 1)
