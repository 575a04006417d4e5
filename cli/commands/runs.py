"""``autotest run``, ``status``, ``artifacts`` and ``runs list``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from cli import junit
from cli.client import ApiError, CliError
from cli.commands.common import (
    RUN_ID_ARG,
    TEST_ID_ARG,
    json_option,
    parse_labels,
    parse_vars,
    print_json,
    priority_option,
)
from cli.datafile import load_rows
from cli.output import (
    TERMINAL,
    artifact_lines,
    compact_artifact_lines,
    duration,
    heal_hint,
    interruption_lines,
    iteration_lines,
    print_run,
    queue_line,
    run_headline,
    safe,
    status_text,
    table,
    timestamp,
    visible,
)
from cli.state import CliState, pass_state
from cli.testfile import SUFFIXES, load_test_file, looks_like_file
from cli.waiting import follow

#: a saved test's id (``tst_`` + the id alphabet of the API's path parameters)
TEST_ID = re.compile(r"tst_[A-Za-z0-9_-]{1,60}")
#: terminals narrower than this get no "trigger" column in `runs list`
NARROW = 100


def _label(fallback: str, created: dict[str, Any]) -> str:
    """What to call a run: its test's name (the API answers with it), else the file or id it came from."""
    name = created.get("name")
    return str(name) if name else fallback


def _run_request(state: CliState, run_id: str, suffix: str = "", *, method: str = "GET") -> Any:
    """``/v1/runs/{run_id}{suffix}``; a test id given where a run id belongs gets a hint."""
    try:
        return state.client().request(method, f"/v1/runs/{run_id}{suffix}")
    except ApiError as exc:
        if exc.status == 404 and TEST_ID.fullmatch(run_id):
            raise CliError(
                f"{run_id} is a test id, not a run id: its runs are in `autotest runs list --test-id {run_id}`"
            ) from exc
        if exc.status == 404 and run_id.startswith("srn_"):
            verb = "cancel" if suffix == "/cancel" else "status"
            raise CliError(f"{run_id} is a suite run, not a run: `autotest suites {verb} {run_id}`") from exc
        raise


def _run_body(arg: str, variables: dict[str, Any], revision: int | None, retries: int | None) -> tuple[str, dict]:
    """The label and the ``POST /v1/runs`` body for a test file or a saved test's id."""
    body: dict[str, Any] = {"trigger": "cli", "variables": variables}
    if retries is not None:
        body["retries"] = retries
    if looks_like_file(arg):
        path = Path(arg)
        if not path.is_file():
            raise CliError(f"{arg}: no such file")
        if revision is not None:
            raise CliError("--revision is for a saved test's id, not a test file")
        spec = load_test_file(path)
        body["spec"] = spec
        body["labels"] = {"file": path.as_posix()[-200:]}
        return str(spec.get("name") or path.name), body
    if not TEST_ID.fullmatch(arg):
        raise CliError(f"no such file or test id: {arg}")
    body["test_id"] = arg
    if revision is not None:
        body["revision"] = revision
    return arg, body


def _undefined(body: dict[str, Any]) -> list[str]:
    """An inline run's variables that nothing gives (the file, ``--var``, every row of ``--data``): said before
    anything is sent, since the steps that use them will fail. A spec the API would refuse says nothing here
    (the API's 422 says what is wrong)."""
    if not isinstance(body.get("spec"), dict):
        return []
    from pydantic import ValidationError

    from shared.models.runs import InlineSpec
    from shared.placeholders import given, undefined

    try:
        spec = InlineSpec.model_validate(body["spec"])
    except (ValidationError, ValueError):
        return []
    rows = body.get("dataset") or spec.dataset
    known = given([*spec.variables, *body.get("variables", {})], rows)
    return [
        f"{problem}, which neither the file, --var nor {'every data row' if rows else 'a data file'} gives: "
        "that step will fail"
        for problem in undefined(spec.steps or [], known, start_url=spec.start_url)
    ]


def _expand(targets: tuple[str, ...]) -> list[str]:
    """The targets with each directory replaced by its test files (``*.yaml``, ``*.yml``, ``*.json``), sorted."""
    out: list[str] = []
    for arg in targets:
        path = Path(arg)
        if not path.is_dir():
            out.append(arg)
            continue
        files = sorted(str(f) for f in path.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise CliError(f"{arg}: a directory with no test files in it (*.yaml, *.yml, *.json)")
        out += files
    return out


@click.command("run")
@click.argument("targets", nargs=-1, required=True, metavar="FILE_DIR_OR_TEST_ID...")
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="A run variable (repeatable).")
@click.option("--wait", is_flag=True, help="Follow the run to the end; exit 0 passed, 1 failed, 2 error/timeout.")
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write JUnit XML here (implies --wait).",
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True,
              help="Seconds to wait with --wait.")  # fmt: skip
@click.option("--revision", type=click.IntRange(min=1), help="Run this revision of a saved test.")
@click.option("--retries", type=click.IntRange(0, 5), help="Retries of a failed run (overrides the test's).")
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Dataset rows from a CSV file (its header names the variables) or a JSON array of objects: the steps run "
    "once per row, instead of the test's own dataset.",
)
@click.option("--concurrency", type=click.IntRange(1, 64), help="Dataset rows run at once (default: the test's, else "
              "8 for an API test, 1 for a browser test).")  # fmt: skip
@click.option(
    "--rate-limit",
    "rate_limit",
    type=click.FloatRange(min=0.001, max=10_000),
    help="The most HTTP requests per second, all rows together (default: the test's, else no limit).",
)
@click.option("--quiet", is_flag=True, help="With --wait: no step-by-step progress, just the results.")
@priority_option
@click.option(
    "--download",
    "download_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Save each run's artifacts into DIR/<run id>/ (implies --wait).",
)
@json_option
@pass_state
def run(
    state: CliState,
    targets: tuple[str, ...],
    var_pairs: tuple[str, ...],
    wait: bool,
    junit_path: Path | None,
    timeout_s: float,
    revision: int | None,
    retries: int | None,
    data_path: Path | None,
    concurrency: int | None,
    rate_limit: float | None,
    quiet: bool,
    priority: str,
    download_dir: Path | None,
    as_json: bool,
) -> None:
    """Run test files (an inline run, nothing is saved; a directory runs each test file in it) or saved tests by id.

    \b
      autotest run examples/tests/login.yaml --wait
      autotest run tst_123 --var base_url=http://127.0.0.1:8001 --wait --junit out.xml
      autotest run examples/tests/api_items.yaml --data rows.csv --concurrency 16 --wait
    """
    variables = parse_vars(var_pairs)
    requests = [_run_body(arg, variables, revision, retries) for arg in _expand(targets)]  # check all first
    settings: dict[str, Any] = {"concurrency": concurrency, "rate_limit": rate_limit, "priority": priority}
    if data_path is not None:
        settings["dataset"] = load_rows(data_path)
    for label, body in requests:
        body.update({k: v for k, v in settings.items() if v is not None})
        for problem in _undefined(body):
            click.echo(visible(f"warning: {label}: {problem}"), err=True)
    client = state.client()
    started = []
    for fallback, body in requests:
        created = client.post("/v1/runs", body)
        started.append((_label(fallback, created), created))
    if not (wait or junit_path or download_dir):
        if as_json:
            print_json(state, [r for _, r in started] if len(started) > 1 else started[0][1])
            return
        for label, created in started:
            state.console.print(
                f"{status_text(str(created['status']))}  [bold]{safe(created['id'])}[/]  {safe(label)}  "
                f"[dim]follow it: autotest status {safe(created['id'])}[/]"
            )
        return
    for label, created in started:
        if not as_json:
            state.console.print(f"[bold]▶ {safe(label)}[/]  [dim]{safe(created['id'])}[/]")
    outcomes = follow(client, started, console=state.console, timeout_s=timeout_s, quiet=quiet or as_json)
    if download_dir is not None:
        for outcome in outcomes:
            if outcome.run is not None:
                outcome.files = _download_all(state, outcome.artifacts, download_dir / str(outcome.run["id"]))
    if junit_path is not None:
        junit.write(junit_path, outcomes)
    if as_json:
        print_json(state, [{"run": o.run, "artifacts": o.artifacts, "error": o.error} for o in outcomes])
    else:
        _print_results(state, outcomes, junit_path)
    code = junit.exit_code(outcomes)
    if code:
        raise click.exceptions.Exit(code)


def _print_results(state: CliState, outcomes: list[junit.RunOutcome], junit_path: Path | None) -> None:
    console = state.console
    console.print()
    console.rule("results")
    for outcome in outcomes:
        if outcome.run is not None:
            console.print(run_headline(outcome.run, outcome.label))
            waited = queue_line(outcome.run)
            if waited:
                console.print(waited)
            for line in interruption_lines(outcome.run):
                console.print(line)
            for line in iteration_lines(outcome.run):
                console.print(line)
            hint = heal_hint(outcome.run)
            if hint:
                console.print(hint)
        if outcome.error:
            console.print(f"  [magenta]{safe(outcome.error)}[/]")
        elif outcome.run is not None and outcome.run.get("error"):
            console.print(f"  [red]{safe(outcome.run['error'])}[/]")
        links = {name: path.resolve().as_uri() for name, path in outcome.files.items()}
        for line in compact_artifact_lines(outcome.artifacts, links):
            console.print(line)
    passed = sum(1 for o in outcomes if o.status == "passed")
    console.print(f"\n[bold]{passed}/{len(outcomes)} passed[/]")
    if junit_path is not None:
        console.print(f"JUnit XML: {safe(junit_path)}")


@click.command("status")
@click.argument("run_id", type=RUN_ID_ARG)
@json_option
@pass_state
def status(state: CliState, run_id: str, as_json: bool) -> None:
    """A run's status and step results."""
    run = _run_request(state, run_id)
    if as_json:
        print_json(state, run)
        return
    artifacts = []
    if run.get("status") in TERMINAL:
        artifacts = state.client().get(f"/v1/runs/{run_id}/artifacts").get("artifacts", [])
    print_run(state.console, run, artifacts)


def _safe_name(name: str) -> str:
    """A relative file path for an artifact name: each segment cleaned, no way out of the directory."""
    parts = [re.sub(r"[^A-Za-z0-9_.-]+", "_", part).strip("._") for part in name.split("/")]
    return "/".join(p for p in parts if p) or "artifact"


@click.command("artifacts")
@click.argument("run_id", type=RUN_ID_ARG)
@click.option(
    "--download",
    "download_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Save every artifact into this directory.",
)
@json_option
@pass_state
def artifacts(state: CliState, run_id: str, download_dir: Path | None, as_json: bool) -> None:
    """A run's artifacts (report, screenshots, video, trace) as links, or downloaded."""
    items = _run_request(state, run_id, "/artifacts").get("artifacts", [])
    if as_json and download_dir is None:
        print_json(state, {"artifacts": items})
        return
    if not items:
        state.console.print(f"run {safe(run_id)} has no artifacts (yet)")
        return
    if download_dir is None:
        for line in artifact_lines(items, indent=""):
            state.console.print(line, soft_wrap=True)
        return
    for name, path in _download_all(state, items, download_dir).items():
        state.console.print(f"saved {safe(path)}  [dim]{safe(name)}[/]")


def _download_all(state: CliState, items: list[dict[str, Any]], directory: Path) -> dict[str, Path]:
    """Save artifacts into ``directory`` under safe, unique file names; returns name -> file."""
    saved: dict[str, Path] = {}
    used: set[str] = set()
    for item in items:
        name = _safe_name(str(item.get("name")))
        stem, dot, suffix = name.rpartition(".")
        n = 1
        while name in used:
            n += 1
            name = f"{stem}-{n}.{suffix}" if dot else f"{suffix}-{n}"
        used.add(name)
        state.client().download(str(item["url"]), directory / name)
        saved[str(item.get("name"))] = directory / name
    return saved


@click.group("runs")
def runs_group() -> None:
    """Runs."""


@runs_group.command("show")
@click.argument("run_id", type=RUN_ID_ARG)
@json_option
@pass_state
@click.pass_context
def show(ctx: click.Context, state: CliState, run_id: str, as_json: bool) -> None:
    """A run's status, priority, queue wait and step results (as `autotest status`)."""
    ctx.invoke(status, run_id=run_id, as_json=as_json)


@runs_group.command("list")
@click.option("--test-id", type=TEST_ID_ARG, help="Only runs of this test.")
@click.option(
    "--status",
    "status_",
    type=click.Choice(["queued", "running", "passed", "failed", "error", "timed_out", "cancelled"]),
)
@click.option(
    "--label",
    "label_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only runs with this label (repeatable: all must match).",
)
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@json_option
@pass_state
def list_runs(
    state: CliState,
    test_id: str | None,
    status_: str | None,
    label_pairs: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """List runs, newest first."""
    labels = [f"{key}:{value}" for key, value in parse_labels(label_pairs).items()]
    page = state.client().get("/v1/runs", test_id=test_id, status=status_, label=labels or None, limit=limit)
    if as_json:
        print_json(state, page)
        return
    if not page["items"]:
        if test_id or status_ or labels:
            state.console.print("no runs match")
        else:
            state.console.print("no runs yet: start one with `autotest run FILE --wait`")
        return
    columns = ["id", "test", "status", "trigger", "created", "duration"]
    rows = [
        [
            r["id"],
            r.get("name") or r.get("test_id") or "",
            r["status"],
            r["trigger"],
            timestamp(r["created_at"]),
            duration(r.get("duration_ms")),
        ]
        for r in page["items"]
    ]
    if state.console.width < NARROW:  # room for the test's name before the trigger
        columns.remove("trigger")
        rows = [row[:3] + row[4:] for row in rows]
    state.console.print(table(columns, rows, wrap={"test": 1}))


@click.command("cancel")
@click.argument("run_id", type=RUN_ID_ARG)
@json_option
@pass_state
def cancel(state: CliState, run_id: str, as_json: bool) -> None:
    """Cancel a run: a queued one at once, a running one after its current step."""
    run = _run_request(state, run_id, "/cancel", method="POST")
    if as_json:
        print_json(state, run)
        return
    if run.get("status") == "cancelled":
        state.console.print(f"{status_text('cancelled')}  [bold]{safe(run_id)}[/]")
    else:
        state.console.print(
            f"cancel requested: [bold]{safe(run_id)}[/] is {safe(run.get('status'))} and stops after "
            f"its current step  [dim]follow it: autotest status {safe(run_id)}[/]"
        )
