"""``autotest demo`` (what ``make demo`` runs), on one example test: it prints the results and the dashboard's URL,
and without a terminal (or with ``--no-serve``) it stops local mode again by itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_the_dashboard_url_and_stops(tmp_path: Path) -> None:
    example = ROOT / "examples" / "tests" / "api_items.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--data-dir", str(tmp_path / "demo"), str(example)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,  # not a terminal: the demo does not wait for Enter
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/ui +\(log in with the API key atk_", done.stdout)
    assert "press Enter" not in done.stdout
    assert "1/1 passed" in done.stdout and "stopping autotest local" in done.stdout
    assert f"autotest local --data-dir {tmp_path / 'demo'}" in done.stdout
