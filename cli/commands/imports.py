"""``autotest import postman|openapi``: turn a Postman collection or an OpenAPI document into test files.

The translation runs here (``shared/imports/``, the same code as ``POST /v1/imports/...``); with ``--save``
it runs in the deployment instead, which saves the tests in the key's project. Either way the tests are
written as YAML files into ``-o DIR`` (names made safe: slugs, no path), each headed by the report entries
about it, and every part that was not translated as it was is printed on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.client import CliError
from cli.commands.common import json_option, print_json
from cli.output import safe, visible
from cli.state import CliState, pass_state

DEFAULT_DIR = Path("autotest-tests")
#: the order of a test file's keys (the rest follow in the model's order)
_FIRST_KEYS = ("name", "kind", "tags", "description", "variables", "dataset", "steps")


@click.group("import")
def import_group() -> None:
    """Bring tests from a Postman collection or an OpenAPI document."""


_out_option = click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DIR,
    show_default=True,
    help="The directory to write the test files into (created if needed).",
)
_force_option = click.option("--force", is_flag=True, help="Overwrite test files that already exist.")
_save_option = click.option(
    "--save", is_flag=True, help="Also save the tests in the deployment (the API key's project)."
)


@import_group.command("postman")
@click.argument("collection", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "-e",
    "--environment",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A Postman environment file: its values become the tests' variables.",
)
@_out_option
@_force_option
@_save_option
@json_option
@pass_state
def postman(
    state: CliState,
    collection: Path,
    environment: Path | None,
    out_dir: Path,
    force: bool,
    save: bool,
    as_json: bool,
) -> None:
    """Turn a Postman collection (v2.1) into API tests: one per top-level folder."""
    from shared.errors import InvalidInput
    from shared.imports.postman import import_collection
    from shared.models.imports import ImportResult

    source = _read_json(collection)
    env = _read_json(environment) if environment is not None else None
    if save:
        answer = state.client().post("/v1/imports/postman", {"collection": source, "environment": env, "save": True})
        result = ImportResult.model_validate(answer)
    else:
        try:
            result = import_collection(source, env)
        except InvalidInput as exc:
            raise CliError(f"{collection}: {exc.message}") from exc
    _finish(state, result, out_dir, force, as_json, f"Postman collection {collection.name}")


@import_group.command("openapi")
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--base-url", help="The URL the tests call ({{base_url}}). Default: the document's servers[0].url.")
@_out_option
@_force_option
@_save_option
@json_option
@pass_state
def openapi(
    state: CliState, spec: Path, base_url: str | None, out_dir: Path, force: bool, save: bool, as_json: bool
) -> None:
    """Turn an OpenAPI 3.x document (YAML or JSON) into one smoke test per operation."""
    from shared.errors import InvalidInput
    from shared.imports.openapi import import_openapi, parse_document
    from shared.models.imports import ImportResult

    try:
        text = spec.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{spec}: cannot read it ({exc})") from exc
    try:
        document = parse_document(text)
        if save:
            body = {"document": document, "base_url": base_url, "save": True}
            result = ImportResult.model_validate(state.client().post("/v1/imports/openapi", body))
        else:
            result = import_openapi(document, base_url)
    except InvalidInput as exc:
        raise CliError(f"{spec}: {exc.message}") from exc
    _finish(state, result, out_dir, force, as_json, f"OpenAPI document {spec.name}")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it ({exc})") from exc
    except ValueError as exc:
        raise CliError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise CliError(f"{path}: refused: it nests too deep") from exc


def file_body(test: Any) -> dict[str, Any]:
    """A test as the data of its file: defaults left out, each step's ``action`` kept, readable key order."""
    data: dict[str, Any] = test.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    dumped = test.model_dump(mode="json", by_alias=True)
    if "steps" in data:
        steps = zip(data["steps"], dumped["steps"], strict=True)
        data["steps"] = [{"action": full["action"], **step} for step, full in steps]
    ordered = {key: data[key] for key in _FIRST_KEYS if key in data}
    return ordered | {key: value for key, value in data.items() if key not in ordered}


def _finish(state: CliState, result: Any, out_dir: Path, force: bool, as_json: bool, source: str) -> None:
    import yaml

    if not result.tests:
        raise CliError(f"{source}: nothing to import (no request or operation autotest can send)")
    targets = [out_dir / item.file for item in result.tests]
    for target in targets:
        if target.parent != out_dir or target.name in ("", ".", ".."):  # the names are slugs: never happens
            raise CliError(f"refused to write {target}: not a plain file name")
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise CliError(f"{existing[0]} already exists: pass --force to overwrite, or -o another directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for item, target in zip(result.tests, targets, strict=True):
            notes = [entry for entry in result.report if entry.test == item.test.name]
            header = [f"# Imported from {source} by `autotest import`."]
            header += [f"# {visible(entry.shown())}" for entry in notes]
            text = yaml.safe_dump(file_body(item.test), sort_keys=False, allow_unicode=True, width=120)
            target.write_text("\n".join(header) + "\n" + text)
    except OSError as exc:
        raise CliError(f"cannot write the test files into {out_dir}: {exc.strerror or exc}") from exc
    for entry in result.report:
        click.echo(visible(entry.shown()), err=True)
    if as_json:
        print_json(state, result.model_dump(mode="json"))
        return
    for item, target in zip(result.tests, targets, strict=True):
        created = f"  saved as [bold]{safe(item.created.id)}[/]" if item.created is not None else ""
        state.console.print(
            f"wrote {safe(target)}  {safe(item.test.name)} ({len(item.test.steps or [])} steps){created}"
        )
    counts = {kind: sum(1 for e in result.report if e.kind.value == kind) for kind in ("dropped", "needs_value")}
    state.console.print(
        f"{len(result.tests)} tests from {safe(source)}; {counts['dropped']} parts not translated, "
        f"{counts['needs_value']} values to give (listed on stderr)"
    )
