"""The repository documents itself: every link of the README and docs/ resolves inside a clone, and
docs/architecture.md names every route the API has and only files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from functions.api.app import create_app
from tests.conftest import FakeServices

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: markdown links [text](target), and documents named in code spans (`../shared/DESIGN.md`)
LINK = re.compile(r"\]\(([^)\s]+)\)|`([^`\s]+\.md)`")
#: repository paths the architecture page names
REPO_PATH = re.compile(
    r"(?<![\w/.<-])((?:shared|functions|runner_container|cli|tests|bench|examples|scripts|docs|infra_cdk)/[\w./-]*)"
)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(doc: Path) -> None:
    found = [link or named for link, named in LINK.findall(doc.read_text())]
    links = [t for t in found if not re.match(r"[a-z]+:", t) and not t.startswith("#")]

    assert doc.name != "README.md" or links

    for target in links:
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert path.exists(), f"{doc.name} links to a missing file: {target}"


def test_the_readme_points_at_the_architecture_page() -> None:
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text()


def test_the_architecture_page_names_only_files_that_exist() -> None:
    named = {m.rstrip(".,;:)") for m in REPO_PATH.findall(ARCHITECTURE.read_text())}

    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []


def test_the_architecture_page_names_every_route(fakes: FakeServices) -> None:
    spec = create_app(fakes.services).openapi()
    text = re.sub(r"\{[^}]*\}", "{}", ARCHITECTURE.read_text())

    missing = [path for path in spec["paths"] if re.sub(r"\{[^}]*\}", "{}", path) not in text]

    assert len(spec["paths"]) > 10
    assert missing == []
