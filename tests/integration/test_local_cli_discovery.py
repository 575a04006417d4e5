"""`autotest local --data-dir /somewhere` as a process, and the CLI as a process in another directory with no
flags and no AUTOTEST_* variables: it finds that deployment while it runs, and says how to point at it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

READY = "Ctrl-C stops it"


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.timeout(180)
def test_the_cli_finds_a_local_mode_with_a_custom_data_dir_from_another_directory(tmp_path: Path) -> None:
    # Given `autotest local --data-dir /somewhere` started in one directory...
    data, launched_in, elsewhere = tmp_path / "somewhere", tmp_path / "launch", tmp_path / "elsewhere"
    launched_in.mkdir()
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTEST_")}
    env["AUTOTEST_SECRETS_KEY_FILE"] = os.environ["AUTOTEST_SECRETS_KEY_FILE"]  # the tests' key, not ~/.config's
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    command = [sys.executable, "-m", "cli.main", "local", "--port", "0", "--no-example", "--data-dir", str(data)]
    process = subprocess.Popen(
        command, cwd=launched_in, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    banner: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner.append(line)
            if READY in line:
                break
        assert any(READY in line for line in banner), "".join(banner)

        # ...when the CLI runs in another directory, with no flags and no AUTOTEST_* variables
        listed = run_cli("tests", "list", cwd=elsewhere, env=env)
        created = run_cli("tests", "create", "-f", str(Path(__file__).parents[2] / "examples/tests/api_items.yaml"),
                          cwd=elsewhere, env=env)  # fmt: skip
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()

    # Then it reaches that deployment, and the banner said how the CLI finds it
    assert listed.returncode == 0, listed.stderr
    assert "no tests yet" in listed.stdout
    assert created.returncode == 0 and "created tst_" in created.stdout, created.stderr
    text = "".join(banner)
    assert "finds it from any directory without a .autotest/ of its own" in text, text
    assert f"export AUTOTEST_CONFIG={data.resolve() / 'config.json'}" in text

    # and once it has stopped, the CLI no longer points there, and says where it looked
    after = run_cli("tests", "list", cwd=elsewhere, env=env)
    assert after.returncode == 2
    assert "no API key (no config file: AUTOTEST_CONFIG is not set;" in after.stderr, after.stderr
