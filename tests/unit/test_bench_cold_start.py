"""The cold-start benchmark's pure parts: reading ``python -X importtime``'s report and ranking what it shows."""

from __future__ import annotations

from bench.cold_start import (
    ImportLine,
    beyond_floor,
    median_lines,
    own_time_by_module,
    own_time_by_package,
    package_of,
    parse_importtime,
)

REPORT = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:       300 |        900 |     botocore.exceptions
import time:      2000 |       2900 |   boto3
some other line a module printed
import time:      5000 |       5000 |       shared.models.runs
import time:      1000 |       6000 |     shared.models
import time:       700 |      13600 | functions.api.handler
"""


def test_the_report_is_read_line_by_line_with_its_nesting() -> None:
    lines = parse_importtime(REPORT)

    assert [line.module for line in lines] == [
        "_io",
        "botocore.exceptions",
        "boto3",
        "shared.models.runs",
        "shared.models",
        "functions.api.handler",
    ]
    assert lines[1] == ImportLine("botocore.exceptions", 300, 900, 2)
    assert [line.depth for line in lines] == [1, 2, 1, 3, 2, 0]


def test_third_parties_count_by_package_the_projects_code_by_its_first_two_levels() -> None:
    assert package_of("botocore.exceptions") == "botocore"
    assert package_of("boto3") == "boto3"
    assert package_of("shared.models.runs") == "shared.models"
    assert package_of("shared") == "shared"
    assert package_of("functions.api.handler") == "functions.api"


def test_own_time_adds_up_by_package_most_first() -> None:
    lines = parse_importtime(REPORT)

    assert own_time_by_package(lines) == [
        ("shared.models", 6.0),
        ("boto3", 2.0),
        ("functions.api", 0.7),
        ("botocore", 0.3),
        ("_io", 0.12),
    ]
    assert own_time_by_package(lines, top=1) == [("shared.models", 6.0)]
    assert sum(ms for _, ms in own_time_by_package(lines)) == sum(line.self_us for line in lines) / 1000


def test_the_modules_of_most_own_time_come_first() -> None:
    assert own_time_by_module(parse_importtime(REPORT), top=2) == [("shared.models.runs", 5.0), ("boto3", 2.0)]


def test_several_reports_merge_into_each_modules_median() -> None:
    first = [ImportLine("a", 10, 30, 0), ImportLine("b", 20, 20, 1)]
    second = [ImportLine("a", 30, 50, 0), ImportLine("b", 40, 40, 1)]
    third = [ImportLine("a", 20, 10, 0)]  # b imported elsewhere in this run

    assert median_lines([first, second, third]) == [ImportLine("a", 20, 30, 0), ImportLine("b", 30, 30, 1)]
    assert median_lines([]) == []


def test_what_the_handler_adds_to_the_floor_is_what_the_floor_does_not_load() -> None:
    lines = parse_importtime(REPORT)
    floor = [ImportLine("_io", 1, 1, 0), ImportLine("boto3", 9, 9, 0), ImportLine("botocore.exceptions", 1, 1, 1)]

    assert [line.module for line in beyond_floor(lines, floor)] == [
        "shared.models.runs",
        "shared.models",
        "functions.api.handler",
    ]
    assert beyond_floor(lines, []) == lines


def test_no_report_no_lines() -> None:
    assert parse_importtime("Traceback (most recent call last):\n") == []
