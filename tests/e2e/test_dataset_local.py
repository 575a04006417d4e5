"""A large data-driven run end to end in local mode, through the CLI as a user runs it: ``autotest run FILE
--data rows.csv --wait``, 200 rows of 4 requests against the example app, 5 rows made to fail. Every row is
stored with its status, the failing ones named, whatever the size of the results: moto once refused the
run's updates past ~200 KB of results (corrected by ``cli/local/moto_fixes.py``) and a run ended with about
half its rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.local.mode import LocalInfo
from cli.main import cli
from cli.state import CliState
from tests.e2e.conftest import local_mode_thread

pytestmark = pytest.mark.e2e
NAMES = {1: "Apples", 2: "Bread", 3: "Cheese"}
FAILING = (17, 55, 99, 140, 188)

TEST = """\
name: many rows
kind: api
variables:
  base_url: {base_url}
steps:
  - action: request
    url: "{{{{base_url}}}}/api/items"
    expect:
      - status: 200
      - jsonpath: $.count
        equals: 3
  - action: request
    url: "{{{{base_url}}}}/api/items/{{{{id}}}}"
    expect:
      - status: 200
      - jsonpath: $.name
        equals: "{{{{name}}}}"
  - action: request
    method: POST
    url: "{{{{base_url}}}}/api/echo"
    json: {{row: "{{{{n}}}}", pad: "{pad}"}}
    expect:
      - status: 200
      - jsonpath: $.method
        equals: POST
  - action: request
    url: "{{{{base_url}}}}/api/items/1"
    expect:
      - status: 200
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfo]:
    with local_mode_thread(tmp_path_factory, "dataset") as (_, info):
        yield info


def test_two_hundred_rows_of_four_requests_are_all_stored(local: LocalInfo, tmp_path: Path) -> None:
    # Given a test of 4 requests and 200 rows, 5 of them expecting a name the app does not answer
    test_file = tmp_path / "many.yaml"
    test_file.write_text(TEST.format(base_url=local.example_url, pad="p" * 400))
    rows = tmp_path / "rows.csv"
    with rows.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["n", "id", "name"])
        for n in range(200):
            out.writerow([n, n % 3 + 1, "Wrong" if n in FAILING else NAMES[n % 3 + 1]])

    # When it runs through the CLI and waits
    state = CliState(api_url=local.api_url, api_key=local.api_key)
    result = CliRunner().invoke(cli, ["run", str(test_file), "--data", str(rows), "--wait", "--json"], obj=state)

    # Then it failed (exit 1), and every row is in the record, in order, the 5 failing ones by name
    assert result.exit_code == 1, result.output
    run = json.loads(result.stdout)[0]["run"]
    assert run["status"] == "failed"
    assert [it["index"] for it in run["iterations"]] == list(range(200))
    assert [it["index"] for it in run["iterations"] if it["status"] != "passed"] == list(FAILING)
    assert {it["status"] for it in run["iterations"]} == {"passed", "failed"}
    assert run["error"].startswith("dataset rows 18, 56, 100, 141, 189 did not pass (of 200)")
    # the failing rows keep their steps and checks: the one that failed says what came back
    for it in (run["iterations"][i] for i in FAILING):
        failed = [s for s in it["steps"] if s["status"] == "failed"]
        assert len(failed) == 1 and "Wrong" in failed[0]["error"]
