"""``autotest tests ...``: create, list, show, revise, archive and unarchive saved tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import ApiClient, CliError
from cli.commands.common import TEST_ID_ARG, json_option, print_json
from cli.output import safe, table, timestamp, visible
from cli.state import CliState, pass_state
from cli.testfile import load_test_file


@click.group("tests")
def tests_group() -> None:
    """Saved tests."""


@tests_group.command("create")
@click.option(
    "-f",
    "--file",
    "files",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A test file (YAML or JSON, the shape of POST /v1/tests). Repeatable.",
)
@click.option("--allow-duplicate", is_flag=True, help="Create it even if an active test has the same name.")
@json_option
@pass_state
def create(state: CliState, files: tuple[Path, ...], allow_duplicate: bool, as_json: bool) -> None:
    """Create tests from test files (refused when an active test has the same name)."""
    bodies = [(path, load_test_file(path)) for path in files]  # check every file before creating any
    client = state.client()
    if not allow_duplicate:
        seen: dict[str, Path] = {}
        for path, body in bodies:
            name = str(body["name"]).strip()
            if name in seen:
                raise CliError(
                    f"{path} and {seen[name]} are both named {name!r}: pass --allow-duplicate to create both"
                )
            seen[name] = path
            existing = find_by_name(client, name)
            if existing is not None:
                raise CliError(
                    f"a test named {name!r} already exists ({existing['id']}): update it with "
                    f"`autotest tests revise {existing['id']} -f {path}`, or pass --allow-duplicate"
                )
    created = [client.post("/v1/tests", body) for _, body in bodies]
    if as_json:
        print_json(state, created if len(created) > 1 else created[0])
        return
    for (path, body), test in zip(bodies, created, strict=True):
        state.console.print(
            f"created [bold]{safe(test['id'])}[/]  {safe(test['name'])}  "
            f"({safe(test['kind'])}, revision {safe(test['revision'])})  [dim]from {safe(path)}[/]"
        )
        print_warnings(state, test)
        if not body.get("steps"):
            state.console.print(
                f"  [yellow]note[/]: it has a goal but no steps: a run plans it first; see the plan with "
                f"`autotest plans request {safe(test['id'])} --wait`"
            )


def print_warnings(state: CliState, saved: dict[str, Any]) -> None:
    """The API's warnings about a saved test or revision (variables nothing defines)."""
    for warning in saved.get("warnings") or []:
        state.console.print(f"  [yellow]warning[/]: {safe(warning)}")


#: pages of ``GET /v1/tests?q=`` read looking for an exact name (200 tests each)
MAX_NAME_PAGES = 10


def _a_test(kind: object) -> str:
    return "an API test" if kind == "api" else f"a {kind} test"


def find_by_name(client: ApiClient, name: str, *, other_than: str | None = None) -> dict[str, Any] | None:
    """The active test named exactly ``name``, other than ``other_than`` (the API's ``q`` is a
    case-insensitive substring match)."""
    cursor = None
    for _ in range(MAX_NAME_PAGES):
        page = client.get("/v1/tests", q=name, status="active", limit=200, cursor=cursor)
        for test in page.get("items", []):
            if test.get("name") == name and test.get("id") != other_than:
                return dict(test)
        cursor = page.get("next_cursor")
        if not cursor:
            return None
    return None


@tests_group.command("list")
@click.option("--tag", help="Only tests with this tag.")
@click.option("--kind", type=click.Choice(["browser", "api"]), help="Only this kind of test.")
@click.option("-q", "--query", "q", help="Name contains (case-insensitive).")
@click.option("--archived", is_flag=True, help="Archived tests instead of active ones.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@json_option
@pass_state
def list_tests(
    state: CliState, tag: str | None, kind: str | None, q: str | None, archived: bool, limit: int, as_json: bool
) -> None:
    """List saved tests, most recently updated first."""
    page = state.client().get(
        "/v1/tests", tag=tag, kind=kind, q=q, status="archived" if archived else "active", limit=limit
    )
    if as_json:
        print_json(state, page)
        return
    rows = [
        [t["id"], t["name"], t["kind"], ", ".join(t.get("tags") or []), t["revision"], timestamp(t["updated_at"])]
        for t in page["items"]
    ]
    if not rows:
        if tag or kind or q or archived:
            state.console.print("no tests match")
        else:
            state.console.print("no tests yet: create one with `autotest tests create -f FILE`")
        return
    state.console.print(table(["id", "name", "kind", "tags", "rev", "updated"], rows, wrap={"name": 2, "tags": 1}))
    if page.get("next_cursor"):
        state.console.print(f"[dim]showing the first {limit}; use --limit for more[/]")


def _unset_dropped(value: Any) -> Any:
    """``value`` without the fields the API filled in as null or empty: what a test file would say."""
    if isinstance(value, dict):
        cleaned = {k: _unset_dropped(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_unset_dropped(v) for v in value]
    return value


#: test-level fields of a test file: not part of a revision's spec
TEST_FIELDS = ("name", "kind", "tags", "description")


@tests_group.command("show")
@click.argument("test_id", type=TEST_ID_ARG)
@json_option
@pass_state
def show(state: CliState, test_id: str, as_json: bool) -> None:
    """A saved test and its latest revision's spec (printed as a test file)."""
    test = state.client().get(f"/v1/tests/{test_id}")
    if as_json:
        print_json(state, test)
        return
    import yaml

    console = state.console
    console.print(f"[bold]{safe(test['name'])}[/]  [dim]{safe(test['id'])}[/]")
    tags = ", ".join(test.get("tags") or []) or "-"
    console.print(
        f"  {safe(test['kind'])}, {safe(test['status'])}, revision {safe(test['revision'])}, tags: {safe(tags)}, "
        f"updated {safe(timestamp(test.get('updated_at')))}"
    )
    if test.get("description"):
        console.print(f"  {safe(test['description'], multiline=True)}")
    spec = _unset_dropped(test.get("spec") or {})
    if spec:
        console.print()
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
        console.print(visible(text.rstrip(), multiline=True), markup=False, highlight=False)


@tests_group.command("revisions")
@click.argument("test_id", type=TEST_ID_ARG)
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@json_option
@pass_state
def revisions(state: CliState, test_id: str, limit: int, as_json: bool) -> None:
    """A test's revisions, oldest first: when each was saved, what it holds, and how it was made (an accepted
    plan or heals)."""
    page = state.client().get(f"/v1/tests/{test_id}/revisions", limit=limit)
    if as_json:
        print_json(state, page)
        return
    rows = [
        [
            r["revision"],
            timestamp(r["created_at"]),
            f"{len(r.get('steps') or [])} steps" if r.get("steps") else "goal only",
            r.get("note") or "",
        ]
        for r in page["items"]
    ]
    state.console.print(table(["rev", "saved", "plan", "how it was made"], rows, wrap={"how it was made": 3}))
    if page.get("next_cursor"):
        state.console.print(f"[dim]showing the first {limit}; use --limit for more[/]")


@tests_group.command("revise")
@click.argument("test_id", type=TEST_ID_ARG)
@click.option(
    "-f",
    "--file",
    "path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The test file with the new spec (its name and tags update the test too).",
)
@click.option("--allow-duplicate", is_flag=True, help="Rename it even if another active test has the file's name.")
@json_option
@pass_state
def revise(state: CliState, test_id: str, path: Path, allow_duplicate: bool, as_json: bool) -> None:
    """Save a test file as a saved test's new revision."""
    data = load_test_file(path)
    client = state.client()
    test = client.get(f"/v1/tests/{test_id}")
    if data.get("kind") and data["kind"] != test["kind"]:
        raise CliError(f"{path} is {_a_test(data['kind'])} but {test_id} is {_a_test(test['kind'])}: create a new test")
    changes: dict[str, Any] = {}
    name = str(data["name"]).strip()
    if name != test["name"]:
        namesake = None if allow_duplicate else find_by_name(client, name, other_than=test_id)
        if namesake is not None:
            raise CliError(
                f"{path} would rename {test_id} to {name!r}, the name of {namesake['id']}: revise that test "
                f"(`autotest tests revise {namesake['id']} -f {path}`), or pass --allow-duplicate"
            )
        changes["name"] = data["name"]
    if "tags" in data and set(data["tags"] or []) != set(test.get("tags") or []):  # the API sorts them
        changes["tags"] = data["tags"] or []
    if "description" in data and data["description"] != test.get("description"):
        changes["description"] = data["description"]
    spec = {k: v for k, v in data.items() if k not in TEST_FIELDS}
    revision = client.post(f"/v1/tests/{test_id}/revisions", spec)
    updated = client.patch(f"/v1/tests/{test_id}", changes) if changes else None
    if as_json:
        print_json(state, {"revision": revision, "test": updated or test})
        return
    name = (updated or test)["name"]
    state.console.print(
        f"saved revision {safe(revision['revision'])} of [bold]{safe(test_id)}[/]  {safe(name)}  "
        f"[dim]from {safe(path)}[/]"
    )
    print_warnings(state, revision)
    for field, value in changes.items():
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        state.console.print(f"  {field}: {safe(shown, multiline=field == 'description')}")


def _set_status(state: CliState, test_id: str, status: str) -> tuple[dict[str, Any], bool]:
    """The test with ``status`` (archived / active) and whether it changed (it may have had it already)."""
    client = state.client()
    before = client.get(f"/v1/tests/{test_id}")
    if before["status"] == status:
        return before, False
    return client.patch(f"/v1/tests/{test_id}", {"status": status}), True


@tests_group.command("archive")
@click.argument("test_id", type=TEST_ID_ARG)
@json_option
@pass_state
def archive(state: CliState, test_id: str, as_json: bool) -> None:
    """Archive a saved test (nothing is deleted; `tests list --archived` shows it)."""
    test, changed = _set_status(state, test_id, "archived")
    if as_json:
        print_json(state, test)
        return
    verb = "archived" if changed else "already archived:"
    state.console.print(
        f"{verb} [bold]{safe(test['id'])}[/]  {safe(test['name'])}  "
        f"[dim]undo: autotest tests unarchive {safe(test['id'])}[/]"
    )


@tests_group.command("unarchive")
@click.argument("test_id", type=TEST_ID_ARG)
@json_option
@pass_state
def unarchive(state: CliState, test_id: str, as_json: bool) -> None:
    """Make an archived test active again, so it can be run and revised."""
    test, changed = _set_status(state, test_id, "active")
    if as_json:
        print_json(state, test)
        return
    verb = "unarchived" if changed else "already active:"
    state.console.print(f"{verb} [bold]{safe(test['id'])}[/]  {safe(test['name'])}")
    namesake = find_by_name(state.client(), test["name"], other_than=test["id"])
    if namesake is not None:
        state.console.print(
            f"[yellow]note[/]: {safe(namesake['id'])} is an active test with the same name "
            f"(archive one of them with `autotest tests archive ID`)"
        )
