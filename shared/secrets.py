"""Local secret source: ``AUTOTEST_SECRET_<NAME>`` environment variables, then a ``secrets.env`` file
(``NAME=value`` lines). In AWS, ``shared/aws/secrets.py`` reads Secrets Manager / SSM instead."""

from __future__ import annotations

import os
from pathlib import Path


class EnvSecrets:
    def __init__(self, file: Path | None = None) -> None:
        self._file = file
        self._file_values: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        value = os.environ.get(f"AUTOTEST_SECRET_{name}")
        if value is not None:
            return value
        return self._from_file().get(name)

    def _from_file(self) -> dict[str, str]:
        if self._file_values is None:
            values: dict[str, str] = {}
            if self._file is not None and self._file.is_file():
                for raw in self._file.read_text().splitlines():
                    line = raw.strip()
                    if not line or line.startswith("#") or "=" not in line:
                        continue
                    key, _, value = line.partition("=")
                    values[key.strip()] = value.strip().strip('"').strip("'")
            self._file_values = values
        return self._file_values
