"""Where the CLI finds its API URL and key.

In order: ``--api-url`` / ``--api-key``, the environment (``AUTOTEST_API_URL`` / ``AUTOTEST_API_KEY``),
then a config file: ``AUTOTEST_CONFIG`` if set, else ``.autotest/config.json`` in the current
directory or the nearest parent that has one (``autotest local`` writes it into its data directory).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = ".autotest"
CONFIG_NAME = "config.json"
CONFIG_ENV = "AUTOTEST_CONFIG"


#: where a value came from when nothing says otherwise (values handed in directly)
OPTIONS = "options"
DEFAULT = "the default"


@dataclass(frozen=True)
class ClientConfig:
    api_url: str
    api_key: str | None
    #: where each value came from, for error messages: "--api-key", "AUTOTEST_API_KEY", a file...
    url_source: str = OPTIONS
    key_source: str = OPTIONS


def find_config_file(cwd: Path | None = None) -> Path | None:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / DEFAULT_DATA_DIR / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_config_file(path: Path, *, api_url: str, api_key: str) -> None:
    """Write the file the CLI reads (owner-only: it holds the key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"api_url": api_url, "api_key": api_key}, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def resolve(
    api_url: str | None,
    api_key: str | None,
    *,
    cwd: Path | None = None,
    url_source: str = OPTIONS,
    key_source: str = OPTIONS,
) -> ClientConfig:
    """``api_url`` / ``api_key`` come from the options or the environment (click reads both; the
    caller says which in ``url_source`` / ``key_source``); what is missing comes from the config file."""
    if api_url is None or api_key is None:
        path = find_config_file(cwd)
        if path is not None:
            data = read_config_file(path)
            if api_url is None and isinstance(data.get("api_url"), str):
                api_url, url_source = data["api_url"], str(path)
            if api_key is None and isinstance(data.get("api_key"), str):
                api_key, key_source = data["api_key"], str(path)
    if api_url is None:
        url_source = DEFAULT
    return ClientConfig(
        api_url=(api_url or DEFAULT_API_URL).rstrip("/"), api_key=api_key, url_source=url_source, key_source=key_source
    )
