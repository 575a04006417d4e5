"""``autotest github ...`` against the API over in-memory services: set (a made secret printed once, a typed
one read from standard input and never printed), show, deliveries, delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.models.suites import SuiteCreate
from shared.models.tests import TestCreate
from tests.conftest import BOOTSTRAP_KEY, FakeServices

Invoke = Callable[..., Result]


@pytest.fixture
def run_cli(fakes: FakeServices) -> Invoke:
    app = TestClient(create_app(fakes.services))

    def invoke(*args: str, stdin: str | None = None) -> Result:
        state = CliState(api_url="http://testserver", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state, input=stdin)

    return invoke


@pytest.fixture
def rules(fakes: FakeServices, tmp_path: Path) -> Path:
    spec = {"name": "Login", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}
    test, _ = fakes.services.catalog.create_test("default", TestCreate.model_validate(spec))
    assert fakes.services.suites is not None
    fakes.services.suites.create("default", SuiteCreate(name="Smoke", tests=[test.id]))
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([{"repo": "acme/shop", "branches": ["main"], "suite": "Smoke"}]))
    return path


#: the integration's GitHub API: a loopback address the guard lets out (no DNS here)
API = ("--github-api-url", "http://127.0.0.1:9")


def test_set_makes_a_secret_once_then_keeps_it_and_show_tells_the_token_is_missing(
    run_cli: Invoke, rules: Path
) -> None:
    made = run_cli("github", "set", "--rules", str(rules), *API)
    assert made.exit_code == 0, made.output
    assert "webhook secret (shown once, keep it): ghws_" in made.output
    assert "/v1/integrations/github/webhook/default" in made.output and "acme/shop" in made.output

    again = run_cli("github", "set", "--rules", str(rules), *API)
    assert again.exit_code == 0 and "shown once" not in again.output

    shown = run_cli("github", "show")
    assert shown.exit_code == 0 and "NOT SET: autotest secrets set GITHUB_TOKEN" in shown.output
    as_json = json.loads(run_cli("github", "show", "--json").output)
    assert as_json["rules"][0]["suite"].startswith("ste_") and "secret" not in as_json


def test_a_typed_secret_comes_from_stdin_and_is_never_printed(run_cli: Invoke, rules: Path) -> None:
    secret = "a-webhook-secret-typed-in-github"
    saved = run_cli(
        "github", "set", "--rules", str(rules), "--secret", "--from-stdin", *API,
        stdin=secret + "\n",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert secret not in saved.output and f"...{secret[-4:]}" in saved.output

    assert run_cli("github", "deliveries").output.strip() == "no statuses sent yet"
    assert run_cli("github", "delete").exit_code == 0
    gone = run_cli("github", "show")
    assert gone.exit_code != 0 and "no GitHub integration" in gone.output


def test_a_bad_rules_file_is_refused_before_anything_is_sent(run_cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text("{}")
    refused = run_cli("github", "set", "--rules", str(path))
    assert refused.exit_code != 0 and "give a list of rules" in refused.output
    missing = run_cli("github", "set", "--rules", str(path), "--from-stdin")
    assert missing.exit_code != 0 and "give --secret too" in missing.output
