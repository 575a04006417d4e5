"""Local mode's environment secrets: ``AUTOTEST_SECRET_<NAME>`` environment variables, then a ``secrets.env``
file (``NAME=value`` lines). A deployment-wide :class:`~shared.ports.SecretSource`: the secrets service
(``shared/services/secrets.py``) lets only the bootstrap project use it, below the project's own secrets."""

from __future__ import annotations

import os
from pathlib import Path

from shared.models.secrets import name_problem

ENV_PREFIX = "AUTOTEST_SECRET_"


class EnvSecrets:
    def __init__(self, file: Path | None = None) -> None:
        self._file = file
        self._file_values: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        value = os.environ.get(f"{ENV_PREFIX}{name}")
        if value is not None:
            return value
        return self._from_file().get(name)

    def names(self) -> list[str]:
        from_env = {key.removeprefix(ENV_PREFIX) for key in os.environ if key.startswith(ENV_PREFIX)}
        return sorted(n for n in from_env | set(self._from_file()) if name_problem(n) is None)

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
