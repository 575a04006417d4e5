"""Every third-party package the shipped code imports is declared in ``pyproject.toml``'s dependencies (or an
extra: ``cdk`` for ``infra_cdk/``): an
import that works only because another package happens to pull it in breaks when that package stops."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("shared", "functions", "runner_container", "cli", "infra_cdk", "examples")
#: in a deployable's dependency group, not in the wheel's dependencies: the container Lambda's runtime client
#: (local mode calls the runner's handler itself)
DEPLOYED_ONLY = {"awslambdaric"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [
        *project["dependencies"],
        *(s for extra in project.get("optional-dependencies", {}).values() for s in extra),
    ]
    return {_name(spec) for spec in specs}


def _name(spec: str) -> str:
    return _normal(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0])


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported() -> dict[str, set[str]]:
    """Top-level module -> the files importing it (third-party modules only)."""
    out: dict[str, set[str]] = {}
    for top in SHIPPED:
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    module = name.split(".")[0]
                    if module not in sys.stdlib_module_names and module not in SHIPPED:
                        out.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return out


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        module: sorted(files)[:3]
        for module, files in _imported().items()
        if not any(_normal(d) in declared for d in distributions.get(module, [module]))
    }
    assert undeclared == {}, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_wheel_depends_on_every_package_a_deployable_gets() -> None:
    # the wheel runs every deployable's code in local mode (the API, the handlers, the runner), so what one of the
    # dependency groups declares (pyproject.toml, infra_cdk/bundling.py GROUPS), [project].dependencies declares too
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = {_name(spec) for spec in pyproject["project"]["dependencies"]}
    missing = {
        group: sorted(extra)
        for group, specs in pyproject["dependency-groups"].items()
        if group != "dev" and (extra := {_name(s) for s in specs if isinstance(s, str)} - wheel - DEPLOYED_ONLY)
    }
    assert missing == {}, f"in a dependency group, not in [project].dependencies: {missing}"


def test_the_wheel_holds_every_package_the_shipped_code_imports() -> None:
    # `autotest local` from the built wheel once failed with ModuleNotFoundError: examples (the example app)
    packed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    )
    first_party = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}
    used: set[str] = set()
    for top in packed:
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    used.add(node.module.split(".")[0])
                elif isinstance(node, ast.Import):
                    used |= {alias.name.split(".")[0] for alias in node.names}
    assert used & first_party <= packed, sorted((used & first_party) - packed)
