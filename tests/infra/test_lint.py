"""The synthesized template passes cfn-lint (W3005, which flags CDK's explicit DependsOn, excepted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aws_cdk.assertions import Template


def test_cfn_lint_finds_nothing(template: Template, tmp_path: Path) -> None:
    path = tmp_path / "autotest.template.json"
    path.write_text(json.dumps(template.to_json()))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
