"""Lambda code, one bundle per deployable: the handler's package, ``shared/``, and only that deployable's
dependency set (its group in ``pyproject.toml``'s ``[dependency-groups]``: no Playwright, no moto, no CDK).

A bundle is built on this machine, no Docker: the group is exported from ``uv.lock`` (``pylock.toml``: every
file pinned with its hash) and installed with ``uv pip install --target`` for the Lambda runtime (Python 3.14 on
arm64, wheels only), then the source is copied beside it (and, in the API's, Playwright's trace viewer: its
package is not in the API's set). :func:`build_bundle` does that; :func:`lambda_code` is
the CDK asset that runs it when a stack is synthesized (tests skip bundling: context ``aws:cdk:bundling-stacks``
``[]``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[1]

#: each zip Lambda: its handler (``module.function``)
HANDLERS: dict[str, str] = {
    "api": "functions.api.handler.handler",
    "planner": "functions.planner.handler.handler",
    "scheduler": "functions.scheduler.handler.handler",
    "events": "functions.events.handler.handler",
    "notifications": "functions.notifications.handler.handler",
    "deadletters": "functions.deadletters.handler.handler",
    "teardown": "functions.teardown.handler.handler",
}

#: each deployable (the zip Lambdas and the runner image): its dependency group in ``pyproject.toml``
GROUPS: dict[str, str] = {
    "api": "api",
    "planner": "lambda",
    "scheduler": "lambda",
    "events": "lambda",
    "notifications": "lambda",
    "deadletters": "lambda",
    "teardown": "teardown",
    "runner": "runner",
}

#: each deployable: the first-party source its code imports (paths in the repository)
SOURCES: dict[str, tuple[str, ...]] = {
    **{name: ("shared", "functions/__init__.py", f"functions/{name}") for name in HANDLERS},
    "teardown": ("shared/__init__.py", "shared/observability.py", "functions/__init__.py", "functions/teardown"),
    "runner": ("shared", "runner_container"),
}

#: where the API's bundle carries Playwright's trace viewer (``functions/api/ui/trace.py`` serves it), and where
#: the viewer is in the playwright package it is copied from
TRACE_VIEWER = Path("functions", "api", "ui", "trace_viewer")
TRACE_VIEWER_IN_PLAYWRIGHT = ("driver", "package", "lib", "vite", "traceViewer")

#: the zip Lambdas' runtime: Python 3.14 (the newest Lambda has, which cdk-nag's L1 asks for) on arm64, Amazon
#: Linux 2023 (glibc 2.34; some wheels need more than manylinux2014's 2.17: ada-url's and google-re2's aarch64
#: wheels are manylinux_2_24 / _2_28)
LAMBDA_PYTHON = "3.14"
LAMBDA_PLATFORM = "aarch64-manylinux_2_34"
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64

#: never copied into a bundle
_LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py")


class BundleError(RuntimeError):
    """A bundle could not be built; the message names the deployable and the command that failed."""


def find_uv() -> str:
    """uv: on ``PATH``, else the one ``make install`` put in ``.tools/``."""
    found = shutil.which("uv")
    if found:
        return found
    local = ROOT / ".tools" / "bin" / "uv"
    if local.is_file():
        return str(local)
    raise BundleError("bundling the Lambdas needs uv: `pip install uv` (or `make install`, which puts it in .tools/)")


def build_bundle(
    deployable: str,
    out_dir: str | Path,
    *,
    platform: str | None = LAMBDA_PLATFORM,
    python_version: str = LAMBDA_PYTHON,
    offline: bool = False,
) -> Path:
    """Fill ``out_dir`` with ``deployable``'s code: its dependency group from ``uv.lock`` installed for
    ``python_version`` on ``platform`` (a ``uv --python-platform``; None: this machine), wheels only, and its
    source (:data:`SOURCES`); the API's also carries the trace viewer (:func:`copy_trace_viewer`). ``offline``: from
    uv's cache only. Raises :class:`BundleError`."""
    if deployable not in GROUPS:
        raise BundleError(f"no deployable {deployable!r} (one of {', '.join(GROUPS)})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    uv = find_uv()
    network = ["--offline"] if offline else []
    target = ["--python-version", python_version, *(["--python-platform", platform] if platform else [])]
    with tempfile.TemporaryDirectory(prefix=f"autotest-{deployable}-") as tmp:
        # the group's packages as the lock pins them, each file with its hash (a requirements file would be
        # resolved again against the index, which --offline cannot read)
        lock = Path(tmp) / "pylock.toml"
        export = ["export", "--frozen", "--only-group", GROUPS[deployable], "--no-emit-project", "--quiet"]
        _run(deployable, [uv, *export, "--format", "pylock.toml", "--output-file", str(lock), *network])
        install = ["pip", "install", "--preview-features", "pylock", "--python", sys.executable, "--target", str(out)]
        wheels = ["--only-binary", ":all:", "--link-mode", "copy", "--quiet", *network, "-r", str(lock)]
        _run(deployable, [uv, *install, *target, *wheels])
    # the packages' console scripts: their first line names this machine's Python, of no use in a bundle
    shutil.rmtree(out / "bin", ignore_errors=True)
    for source in SOURCES[deployable]:
        src, dest = ROOT / source, out / source
        if src.is_dir():
            shutil.copytree(src, dest, ignore=_LEFT_OUT, dirs_exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    if deployable == "api":
        copy_trace_viewer(out)
    return out


def installed_trace_viewer() -> Path | None:
    """The trace viewer of this machine's ``playwright`` package (found, not imported), or None."""
    spec = importlib.util.find_spec("playwright")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location).joinpath(*TRACE_VIEWER_IN_PLAYWRIGHT)
        if (candidate / "index.html").is_file():
            return candidate
    return None


def copy_trace_viewer(out: str | Path, source: Path | None = None) -> Path:
    """Copy the trace viewer (``source``; default: this machine's playwright package's) into the bundle ``out``
    at :data:`TRACE_VIEWER`, where the API serves it from (the API's dependency set has no Playwright). Raises
    :class:`BundleError` when there is none."""
    viewer = source if source is not None else installed_trace_viewer()
    if viewer is None or not all((viewer / name).is_file() for name in ("index.html", "sw.bundle.js")):
        where = viewer or "playwright/" + "/".join(TRACE_VIEWER_IN_PLAYWRIGHT)
        raise BundleError(
            f"bundling api: no Playwright trace viewer at {where} (index.html and sw.bundle.js) to serve at "
            "/ui/trace/: install the playwright package here (`make install`)"
        )
    dest = Path(out) / TRACE_VIEWER
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(viewer, dest, ignore=_LEFT_OUT)
    return dest


def _run(deployable: str, command: list[str]) -> None:
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"bundling {deployable}: {' '.join(command)}: {exc}") from exc
    if done.returncode != 0:
        raise BundleError(
            f"bundling {deployable}: {' '.join(command)} failed (exit {done.returncode}):\n"
            f"{(done.stderr or done.stdout).strip()}"
        )


@jsii.implements(ILocalBundling)
class LocalBundling:
    """The CDK's local bundler of one deployable: :func:`build_bundle` into the asset's output directory."""

    def __init__(self, deployable: str) -> None:
        self.deployable = deployable

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        # (a keyword-only parameter: jsii then hands the bundling options over as keywords)
        build_bundle(self.deployable, output_dir)
        return True


def lambda_code(deployable: str) -> lambda_.Code:
    """The code asset of ``deployable`` (a key of :data:`HANDLERS`), bundled on this machine when synthesized.
    Its hash is the bundle's (the output), so synthesizing with bundling skipped fingerprints nothing."""
    if deployable not in HANDLERS:
        raise KeyError(f"no deployable {deployable!r} (one of {', '.join(HANDLERS)})")
    return lambda_.Code.from_asset(
        str(ROOT / "functions" / deployable),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # required by the CDK; never used: local bundling succeeds or raises
            image=LAMBDA_RUNTIME.bundling_image,
            local=LocalBundling(deployable),
        ),
    )
