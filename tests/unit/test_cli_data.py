"""``autotest run --data``: dataset rows from CSV or JSON, every problem named by file, line or row, and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.client import CliError
from cli.datafile import load_rows
from tests.unit.test_cli_run import FakeApi, a_run, invoke, step


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_headers_become_variables_and_values_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, "rows.csv", '\ufeffid,name,note\n1,Apples,"a, b"\n2,Bread,\n\n')
    assert load_rows(path) == [{"id": "1", "name": "Apples", "note": "a, b"}, {"id": "2", "name": "Bread", "note": ""}]


def test_json_rows_keep_their_types(tmp_path: Path) -> None:
    path = write(tmp_path, "rows.json", json.dumps([{"id": 1, "ok": True, "price": 2.5, "name": "Apples"}]))
    assert load_rows(path) == [{"id": 1, "ok": True, "price": 2.5, "name": "Apples"}]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("rows.csv", "id,name\n1,Apples,extra\n", "rows.csv: line 2: 3 values for 2 columns (id, name)"),
        ("rows.csv", "id,2bad\n1,x\n", "rows.csv: line 1, column 2: '2bad' cannot be a variable name"),
        ("rows.csv", "id,id\n1,2\n", "line 1, column 2: 'id' is named twice"),
        ("rows.csv", "id\n", "no rows"),
        ("rows.csv", "", "empty; the first line names the variables"),
        ("rows.csv", 'id\n"unclosed\n', "not valid CSV"),
        ("rows.json", '{"id": 1}', "a JSON data file is an array of objects"),
        ("rows.json", '[{"id": 1}, 3]', "row 2 is a number; every row is an object"),
        ("rows.json", '[{"id": {"a": 1}}]', "row 1: 'id' is an object; a variable holds a string, a number"),
        ("rows.json", '[{"id": null}]', "row 1: 'id' is null"),
        ("rows.json", '[{"id": NaN}]', "row 1: 'id' is not a finite number"),
        ("rows.json", '[{"a b": 1}]', "row 1: 'a b' cannot be a variable name"),
        ("rows.json", "[{", "not valid JSON: line 1, column 3"),
        ("rows.json", "[]", "no rows"),
    ],
)
def test_bad_data_files_say_what_and_where(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(CliError) as info:
        load_rows(write(tmp_path, name, text))
    assert message in str(info.value)


def test_too_many_rows_and_other_encodings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="1001 rows, more than the 1000"):
        load_rows(write(tmp_path, "rows.json", json.dumps([{"n": i} for i in range(1001)])))
    path = tmp_path / "rows.csv"
    path.write_bytes("id\nÄpfel\n".encode("latin-1"))
    with pytest.raises(CliError, match="not UTF-8"):
        load_rows(path)
    with pytest.raises(CliError, match="no such data file"):
        load_rows(tmp_path / "nope.csv")


def test_a_csv_file_named_otherwise_is_told_to_be_named_csv(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"not valid JSON: line 1, column 1: .* name CSV files \.csv"):
        load_rows(write(tmp_path, "rows.txt", "id,name\n1,Apples\n"))


def test_run_sends_the_rows_as_the_dataset_with_concurrency_and_rate_limit(tmp_path: Path) -> None:
    test_file = write(tmp_path, "t.yaml", "name: T\nsteps:\n  - {action: request, url: 'http://127.0.0.1:1/{{id}}'}\n")
    data = write(tmp_path, "rows.csv", "id,name\n1,Apples\n2,Bread\n")
    api = FakeApi(a_run("run_1", "passed", steps=[step(0)]))

    result = invoke(api, ["run", str(test_file), "--data", str(data), "--concurrency", "16", "--rate-limit", "50"])

    assert result.exit_code == 0, result.output
    body = json.loads(api.requests[0].content)
    assert body["dataset"] == [{"id": "1", "name": "Apples"}, {"id": "2", "name": "Bread"}]
    assert body["concurrency"] == 16 and body["rate_limit"] == 50


def test_a_variable_neither_the_file_var_nor_every_row_gives_is_a_warning_before_the_run(tmp_path: Path) -> None:
    url = "http://127.0.0.1:1/{{id}}/{{nmae}}/{{token}}/{{base}}"
    test_file = write(tmp_path, "t.yaml", f"name: T\nsteps:\n  - {{action: request, url: '{url}'}}\n")
    data = write(tmp_path, "rows.json", json.dumps([{"id": 1, "token": "a"}, {"id": 2}]))
    api = FakeApi(a_run("run_1", "passed", steps=[step(0)]))

    result = invoke(api, ["run", str(test_file), "--data", str(data), "--var", "base=x"])

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: T: step 1 (request) uses {{nmae}}, which neither the file, --var nor every data row gives: that "
        "step will fail",
        "warning: T: step 1 (request) uses {{token}}, which neither the file, --var nor every data row gives: that "
        "step will fail",
    ]
    assert len(api.requests) >= 1  # a warning: the run still starts (the API decides)


def test_a_bad_data_file_stops_the_command_before_anything_is_sent(tmp_path: Path) -> None:
    test_file = write(tmp_path, "t.yaml", "name: T\nsteps:\n  - {action: request, url: 'http://127.0.0.1:1/'}\n")
    data = write(tmp_path, "rows.csv", "id\n1,2\n")
    api = FakeApi(a_run("run_1", "passed"))
    result = invoke(api, ["run", str(test_file), "--data", str(data)])
    assert result.exit_code != 0 and "line 2: 2 values for 1 columns" in result.output
    assert api.requests == []


def test_the_results_of_a_data_driven_run_count_rows_and_show_each_failing_row_with_its_checks(tmp_path: Path) -> None:
    test_file = write(tmp_path, "t.yaml", "name: T\nsteps:\n  - {action: request, url: 'http://127.0.0.1:1/{{id}}'}\n")
    failed_step = {
        **step(0, "failed", "GET http://127.0.0.1:1/2 -> 200 in 3 ms: expected $.name to equal 'Pears'"),
        "checks": [
            {"check": "status below 400", "passed": True},
            {"check": "jsonpath $.name equals", "passed": False, "expected": "'Pears'", "actual": "'Bread'"},
        ],
    }
    rows = [
        {"index": 0, "status": "passed", "steps": [step(0)], "duration_ms": 4},
        {"index": 1, "status": "failed", "steps": [failed_step], "duration_ms": 5},
        {"index": 2, "status": "cancelled", "steps": [{**step(0, "skipped"), "duration_ms": 0}]},
    ]
    final = a_run("run_1", "failed", steps=[], iterations=rows, concurrency=8, error="dataset row 2 did not pass")
    result = invoke(FakeApi(final, stream_steps=False), ["run", str(test_file), "--wait", "--quiet"])
    out = result.output
    assert result.exit_code == 1, out
    assert "rows: 1 passed, 1 failed, 1 cancelled (of 3), 8 at once" in out
    assert "row 2" in out and "expected 'Pears' got 'Bread'" in out
    assert "row 3" in out and "not run" in out
    assert "row 1 " not in out  # a row that passed is counted, not listed


def test_the_cli_junit_of_a_data_driven_run_has_one_case_per_row(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    test_file = write(tmp_path, "t.yaml", "name: T\nsteps:\n  - {action: request, url: 'http://127.0.0.1:1/{{id}}'}\n")
    failed_step = {
        **step(0, "failed", "expected $.name to equal 'Pears'"),
        "checks": [{"check": "jsonpath $.name equals", "passed": False, "expected": "'Pears'", "actual": "'Bread'"}],
    }
    rows = [
        {"index": 0, "status": "passed", "steps": [step(0)], "duration_ms": 40},
        {"index": 1, "status": "failed", "steps": [failed_step], "duration_ms": 50},
        {"index": 2, "status": "timed_out", "steps": [step(0, "skipped")]},
    ]
    final = a_run("run_1", "timed_out", steps=[], iterations=rows, error="the run's timeout passed")
    out = tmp_path / "junit.xml"
    result = invoke(FakeApi(final, stream_steps=False), ["run", str(test_file), "--junit", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    root = ET.parse(out).getroot()  # noqa: S314 - the CLI's own output
    cases = root.findall(".//testcase")
    label = "Admin can log in"  # the name the API answered with (the fake's)
    assert [c.get("name") for c in cases] == [f"{label} row 1", f"{label} row 2", f"{label} row 3"]
    assert [e.tag for e in cases[0]] == ["system-out"] and cases[0].get("time") == "0.040"
    failure = cases[1].find("failure")
    assert failure is not None and "step 1 (goto)" in (failure.get("message") or "")
    assert "expected 'Pears', got 'Bread'" in (failure.text or "")
    not_run = cases[2].find("skipped")
    assert not_run is not None and "not run" in (not_run.get("message") or "")
    assert len(cases) == 3  # a row failed: the run needs no case of its own to say why it did not pass
