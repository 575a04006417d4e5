"""``autotest suites``: create, list, show, delete, run (and wait, with JUnit), status of a suite run."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import click

from cli import junit
from cli.client import ApiClient, CliError
from cli.commands.common import ObjectId, json_option, parse_labels, parse_vars, print_json, priority_option
from cli.output import duration, safe, status_text, table, timestamp
from cli.state import CliState, pass_state
from cli.testfile import read_test_file
from cli.waiting import BackgroundReads
from shared import junit as junit_xml

SUITE_RUN_ID_ARG = ObjectId("suite run")
#: how often a waiting `suites run` reads its suite run
POLL_S = 1.0
SUITE_DONE = frozenset({"passed", "failed", "error", "cancelled"})
CHILD_ENDED = frozenset({"passed", "failed", "error", "timed_out", "cancelled"})  # a child whose run ended


def load_suite_file(path: Path) -> dict[str, Any]:
    """A suite file (YAML or JSON, the shape of ``POST /v1/suites``), checked before it is sent."""
    from pydantic import ValidationError

    from shared.models.suites import SuiteCreate
    from shared.models.validation import describe_errors

    data = read_test_file(path)
    try:
        SuiteCreate.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc.errors())
        lines = [f"{p['loc'] or '(the file)'}: {p['msg']}" for p in problems[:20]]
        raise CliError(f"{path}: " + "\n  ".join(lines)) from exc
    return data


def resolve_suite(client: ApiClient, name_or_id: str) -> dict[str, Any]:
    """A suite by id (``ste_...``) or by name."""
    if name_or_id.startswith("ste_"):
        found: dict[str, Any] = client.get(f"/v1/suites/{name_or_id}")
        return found
    items = client.get("/v1/suites", name=name_or_id).get("items", [])
    if not items:
        raise CliError(f"no suite is named {name_or_id!r}: `autotest suites list` shows them")
    return dict(items[0])


@click.group("suites")
def suites_group() -> None:
    """Suites: sets of tests run together (in parallel, or in sequence as a scenario)."""


@suites_group.command("create")
@click.option("-f", "--file", "path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="A suite file (YAML or JSON): name, tests and/or selector, mode, ...")  # fmt: skip
@click.option("--replace", is_flag=True, help="Update the suite of the same name instead of failing when it exists.")
@json_option
@pass_state
def create_suite(state: CliState, path: Path, replace: bool, as_json: bool) -> None:
    """Create a suite from a file.

    \b
      autotest suites create -f examples/suites/smoke.yaml
    """
    body = load_suite_file(path)
    client = state.client()
    existing = client.get("/v1/suites", name=str(body["name"])).get("items", []) if replace else []
    if existing:
        suite = client.patch(f"/v1/suites/{existing[0]['id']}", {k: v for k, v in body.items()})
        verb = "updated"
    else:
        suite = client.post("/v1/suites", body)
        verb = "created"
    if as_json:
        print_json(state, suite)
        return
    state.console.print(
        f"{verb} suite [bold]{safe(suite['name'])}[/]  {safe(suite['id'])}  "
        f"[dim]run it: autotest suites run {safe(suite['id'])} --wait[/]"
    )


@suites_group.command("list")
@json_option
@pass_state
def list_suites(state: CliState, as_json: bool) -> None:
    """List the project's suites by name."""
    page = state.client().get("/v1/suites", limit=200)
    if as_json:
        print_json(state, page)
        return
    if not page["items"]:
        state.console.print("no suites yet: create one with `autotest suites create -f FILE`")
        return
    rows = []
    for s in page["items"]:
        takes = [f"{len(s['tests'])} tests"] if s.get("tests") else []
        if s.get("selector"):
            takes.append("tags " + ",".join(s["selector"]["tags"]))
        parallel = str(s["max_parallel"]) if s["mode"] == "parallel" else "-"
        rows.append([s["id"], s["name"], s["mode"], " + ".join(takes), parallel])
    state.console.print(table(["id", "name", "mode", "tests", "parallel"], rows, wrap={"name": 1}))


@suites_group.command("delete")
@click.argument("suite")
@pass_state
def delete_suite(state: CliState, suite: str) -> None:
    """Delete a suite (by name or id); its suite runs stay."""
    client = state.client()
    found = resolve_suite(client, suite)
    client.delete(f"/v1/suites/{found['id']}")
    state.console.print(f"deleted suite {safe(found['name'])}  {safe(found['id'])}")


@suites_group.command("run")
@click.argument("suite")
@click.option("--label", "label_pairs", multiple=True, metavar="KEY=VALUE",
              help="A label of the suite run and its child runs (repeatable): app_version=1.4.2.")  # fmt: skip
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="A variable for every test.")
@click.option("--retries", type=click.IntRange(0, 5), help="Retries of each child run (over the suite's).")
@click.option("--wait", is_flag=True, help="Follow it to the end; exit 0 passed, 1 failed, 2 error/cancelled.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write JUnit XML here, a test case per child run (implies --wait).")  # fmt: skip
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="Seconds to wait with --wait.")  # fmt: skip
@priority_option
@json_option
@pass_state
def run_suite(
    state: CliState,
    suite: str,
    label_pairs: tuple[str, ...],
    var_pairs: tuple[str, ...],
    retries: int | None,
    wait: bool,
    junit_path: Path | None,
    timeout_s: float,
    priority: str,
    as_json: bool,
) -> None:
    """Start a suite run (by the suite's name or id), optionally wait for it.

    \b
      autotest suites run Smoke --label app_version=1.4.2 --wait --junit junit.xml
    """
    body: dict[str, Any] = {
        "trigger": "cli",
        "labels": parse_labels(label_pairs),
        "variables": parse_vars(var_pairs),
        "priority": priority,
    }
    if retries is not None:
        body["retries"] = retries
    client = state.client()
    found = resolve_suite(client, suite)
    started = client.post(f"/v1/suites/{found['id']}/runs", body)
    if not (wait or junit_path):
        if as_json:
            print_json(state, started)
            return
        state.console.print(
            f"{status_text(str(started['status']))}  [bold]{safe(started['id'])}[/]  {safe(found['name'])}  "
            f"[dim]{started['counts']['total']} tests; follow it: autotest suites status {safe(started['id'])}[/]"
        )
        return
    if not as_json:
        state.console.print(
            f"[bold]▶ {safe(found['name'])}[/]  [dim]{safe(started['id'])}, {started['counts']['total']} tests[/]"
        )
    child_runs = ChildRuns(client, wanted=junit_path is not None or as_json)
    final, timed_out = _follow(state, client, started, timeout_s, quiet=as_json, ended=child_runs.ended)
    runs = child_runs.of(final)
    if junit_path is not None:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_bytes(suite_junit(final, runs, timed_out=timed_out))
    if as_json:
        print_json(state, {"suite_run": final, "runs": list(runs.values())})
    else:
        _print_suite_run(state, final)
        if junit_path is not None:
            state.console.print(f"JUnit XML: {safe(junit_path)}")
        if timed_out:
            state.console.print(f"[magenta]stopped waiting after {timeout_s:g}s; the suite run goes on[/]")
    code = 2 if timed_out else {"passed": 0, "failed": 1}.get(str(final["status"]), 2)
    if code:
        raise click.exceptions.Exit(code)


class ChildRuns:
    """A suite run's child runs, for its JUnit XML and JSON: each read as soon as the suite run shows it ended,
    ``READERS`` at a time, while the others still run (read one after the other once the suite run ended, a
    40-test suite's took about 2 s more), and read again only if its status changed since or the read failed."""

    READERS = 4

    def __init__(self, client: ApiClient, *, wanted: bool) -> None:
        self.client = client
        self.wanted = wanted
        self.pool = BackgroundReads(self.READERS)
        self.reads: dict[str, tuple[str, Future[dict[str, Any]]]] = {}  # run id: (child status read at, run)

    def _read(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self.client.get(f"/v1/runs/{run_id}")
        return run

    def ended(self, child: dict[str, Any]) -> None:
        run_id = child.get("run_id")
        if self.wanted and run_id and child["status"] in CHILD_ENDED:
            self._read_unless_fresh(run_id, child["status"])

    def _read_unless_fresh(self, run_id: str, status: str) -> None:
        """Read the run unless it was read at this status and that read has not failed (a 429, a timeout)."""
        known = self.reads.get(run_id)
        if known is not None and known[0] == status and not (known[1].done() and known[1].exception()):
            return
        self.reads[run_id] = (status, self.pool.submit(self._read, run_id))

    def of(self, suite_run: dict[str, Any]) -> dict[str, dict[str, Any]]:
        if not self.wanted:
            return {}
        for child in suite_run["children"]:
            if child.get("run_id"):
                self._read_unless_fresh(child["run_id"], child["status"])
        return {
            child["run_id"]: self.reads[child["run_id"]][1].result()
            for child in suite_run["children"]
            if child.get("run_id")
        }


def _follow(
    state: CliState,
    client: ApiClient,
    started: dict[str, Any],
    timeout_s: float,
    *,
    quiet: bool,
    ended: Callable[[dict[str, Any]], None] = lambda child: None,
) -> tuple[dict[str, Any], bool]:
    """Read the suite run until it ends (printing each child's changes, telling ``ended`` of each child that
    ended); ``(suite run, timed out)``."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + timeout_s
    current = started
    while True:
        for child in current["children"]:
            ended(child)
            if seen.get(child["index"]) != child["status"] and not quiet:
                seen[child["index"]] = child["status"]
                if child["status"] != "pending":
                    extra = (
                        f"  [dim]{safe(child['error'])}[/]"
                        if child.get("error") and child["status"] != "passed"
                        else ""
                    )
                    state.console.print(
                        f"  {status_text(child['status'])}  {safe(child.get('name') or child['test_id'])}{extra}"
                    )
        if current["status"] in SUITE_DONE:
            return current, False
        if time.monotonic() > deadline:
            return current, True
        time.sleep(POLL_S)
        current = client.get(f"/v1/suite-runs/{started['id']}")


def _print_suite_run(state: CliState, run: dict[str, Any], *, header: bool = False) -> None:
    console = state.console
    if header:
        labels = ", ".join(f"{k}={v}" for k, v in sorted((run.get("labels") or {}).items()))
        if run.get("scheduled_for"):
            labels = f"for {run['scheduled_for']}" + (f"; {labels}" if labels else "")
        console.print(
            f"[bold]{safe(run['suite_name'])}[/]  {safe(run['id'])}  {safe(run['mode'])}, started by "
            f"{safe(run['trigger'])} {timestamp(run['created_at'])}" + (f"  [dim]{safe(labels)}[/]" if labels else "")
        )
    console.print()
    console.rule("results")
    for child in run["children"]:
        flaky = " [yellow](flaky)[/]" if child.get("flaky") else ""
        attempts = f"  [dim]attempt {child['attempt']}[/]" if child.get("attempt", 0) > 1 else ""
        console.print(
            f"{status_text(child['status'])}  {safe(child.get('name') or child['test_id'])}"
            f"  [dim]{safe(child.get('run_id') or '')} {duration(child.get('duration_ms'))}[/]{flaky}{attempts}"
        )
        if child.get("error") and child["status"] != "passed":
            console.print(f"    [red]{safe(child['error'])}[/]")
    counts = run["counts"]
    flaky = f", {counts['flaky']} flaky" if counts.get("flaky") else ""
    skipped = f", {counts['skipped']} skipped" if counts.get("skipped") else ""
    console.print(
        f"\n{status_text(run['status'])}  [bold]{counts['passed']}/{counts['total']} passed[/]{flaky}{skipped}  "
        f"[dim]{safe(run['id'])} {duration(run.get('duration_ms'))}[/]"
    )


def suite_junit(suite_run: dict[str, Any], runs: dict[str, dict[str, Any]], *, timed_out: bool = False) -> bytes:
    """JUnit XML of a suite run: one testsuite, one testcase per child run; retries and flakiness in each case's
    output (a flaky pass is a pass: CI goes green, the case says it needed a retry)."""
    cases = []
    for child in suite_run["children"]:
        name = str(child.get("name") or child["test_id"])
        run = runs.get(child.get("run_id") or "")
        if child["status"] in ("skipped", "pending"):
            cases.append(
                junit_xml.Case(
                    name=name,
                    classname=f"autotest.suite.{suite_run['suite_name']}",
                    outcome="error" if timed_out and child["status"] == "pending" else "skipped",
                    message=child.get("error") or "not run",
                    type=child["status"],
                )
            )
            continue
        outcome = junit.RunOutcome(label=name, run=run)
        if run is None:
            outcome.error = child.get("error") or "the run could not start"
        elif timed_out and child["status"] not in SUITE_DONE | {"timed_out"}:
            outcome.error = "the CLI stopped waiting before this run ended"
        case = junit.case_of(outcome)
        notes = [f"suite run: {suite_run['id']}", f"attempts: {child.get('attempt', 1)}"]
        if child.get("flaky"):
            notes.append("flaky: passed after an attempt that failed")
        case = junit_xml.Case(
            name=case.name,
            classname=f"autotest.suite.{suite_run['suite_name']}",
            time_s=case.time_s,
            outcome=case.outcome,
            message=case.message,
            type=case.type,
            detail=case.detail,
            system_out="\n".join([*notes, case.system_out or ""]),
            reruns=case.reruns,
        )
        cases.append(case)
    suite = junit_xml.Suite(
        name=str(suite_run["suite_name"]),
        cases=cases,
        id=str(suite_run["id"]),
        properties=[(f"label.{k}", str(v)) for k, v in sorted((suite_run.get("labels") or {}).items())],
    )
    return junit_xml.document([suite], name=str(suite_run["suite_name"]))


@suites_group.command("status")
@click.argument("suite_run_id", type=SUITE_RUN_ID_ARG)
@json_option
@pass_state
def suite_run_status(state: CliState, suite_run_id: str, as_json: bool) -> None:
    """A suite run's status and its child runs."""
    run = state.client().get(f"/v1/suite-runs/{suite_run_id}")
    if as_json:
        print_json(state, run)
        return
    _print_suite_run(state, run, header=True)


@suites_group.command("cancel")
@click.argument("suite_run_id", type=SUITE_RUN_ID_ARG)
@json_option
@pass_state
def cancel_suite_run(state: CliState, suite_run_id: str, as_json: bool) -> None:
    """Cancel a suite run: its running child runs stop after their current step, the rest are skipped."""
    run = state.client().post(f"/v1/suite-runs/{suite_run_id}/cancel")
    if as_json:
        print_json(state, run)
        return
    counts = run["counts"]
    state.console.print(
        f"{status_text(str(run['status']))}  [bold]{safe(run['id'])}[/]  {safe(run['suite_name'])}  "
        f"[dim]{counts['cancelled']} cancelled, {counts['skipped']} skipped; follow it: "
        f"autotest suites status {safe(run['id'])}[/]"
    )


@suites_group.command("runs")
@click.argument("suite", required=False)
@click.option("--label", "label_pairs", multiple=True, metavar="KEY=VALUE", help="Only runs with this label.")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@json_option
@pass_state
def list_suite_runs(
    state: CliState, suite: str | None, label_pairs: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """List suite runs, newest first (of one suite, by name or id, or of them all)."""
    client = state.client()
    params: dict[str, Any] = {"limit": limit}
    if suite:
        params["suite_id"] = resolve_suite(client, suite)["id"]
    labels = [f"{k}:{v}" for k, v in parse_labels(label_pairs).items()]
    if labels:
        params["label"] = labels
    page = client.get("/v1/suite-runs", **params)
    if as_json:
        print_json(state, page)
        return
    if not page["items"]:
        state.console.print("no suite runs match")
        return
    rows = [
        [
            r["id"],
            r["suite_name"],
            r["status"],
            f"{r['counts']['passed']}/{r['counts']['total']}",
            r["trigger"],
            timestamp(r["created_at"]),
            duration(r.get("duration_ms")),
        ]
        for r in page["items"]
    ]
    state.console.print(table(["id", "suite", "status", "passed", "trigger", "created", "duration"], rows))
