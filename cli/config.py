"""Where the CLI finds its API URL and key.

Each value comes from the first of:

1. ``--api-url`` / ``--api-key`` (before or after the subcommand: the one after wins);
2. the environment, ``AUTOTEST_API_URL`` / ``AUTOTEST_API_KEY``;
3. a config file (JSON ``{"api_url", "api_key"}``), the first of
   a. ``AUTOTEST_CONFIG`` (set, it must name a file that exists),
   b. ``.autotest/config.json`` in the current directory or the nearest parent that has one,
   c. the config file of the newest ``autotest local`` of this user that still runs (local mode records
      itself, with its process id, in ``$XDG_STATE_HOME/autotest/last-local.json``, by default under
      ``~/.local/state``, when it starts, and removes its own record when it stops: stopping one leaves the
      others found);
4. for the URL only, ``http://127.0.0.1:8000``.

``autotest local`` writes ``<data-dir>/config.json``. Every value carries where it came from, so an error
can say which setting to fix.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cli.errors import CliError

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = ".autotest"
CONFIG_NAME = "config.json"
CONFIG_ENV = "AUTOTEST_CONFIG"
#: the per-user pointer to the config file of the last local mode started
POINTER_NAME = "last-local.json"

#: where a value came from when nothing says otherwise (values handed in directly)
OPTIONS = "options"
DEFAULT = "the default"

#: how to point the CLI at a deployment, for error messages
HOW_TO_POINT = (
    "pass --api-url and --api-key, set AUTOTEST_API_URL and AUTOTEST_API_KEY, or "
    f"export {CONFIG_ENV}=DATA_DIR/{CONFIG_NAME} for an `autotest local --data-dir DATA_DIR`"
)


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    #: how the CLI found it: through AUTOTEST_CONFIG, from the current directory, or the pointer file
    kind: Literal["env", "cwd", "last"]
    #: the same for a person: "AUTOTEST_CONFIG", "found from /some/dir", "the last `autotest local` started"
    found_by: str

    def __str__(self) -> str:
        return f"{self.path} ({self.found_by})"


@dataclass(frozen=True)
class Lookup:
    """The config file the CLI uses, or what it looked at and did not find."""

    file: ConfigFile | None
    misses: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.file is not None:
            return str(self.file)
        return "no config file: " + "; ".join(self.misses)


@dataclass(frozen=True)
class ClientConfig:
    api_url: str
    api_key: str | None
    #: where each value came from, for error messages: "--api-key", "AUTOTEST_API_KEY", a file...
    url_source: str = OPTIONS
    key_source: str = OPTIONS
    #: the config file lookup, when a value was missing from the options and the environment
    lookup: Lookup | None = None


def pointer_path() -> Path:
    """The per-user file naming the config of the last ``autotest local`` started (XDG state directory)."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "autotest" / POINTER_NAME


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _alive(pid: object) -> bool:
    """Whether process ``pid`` runs (a record without a pid, from an earlier version, counts as running)."""
    if not isinstance(pid, int) or isinstance(pid, bool):
        return pid is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


def _records() -> list[dict[str, Any]]:
    """The local modes recorded as started, oldest first: ``{"config", "pid"}`` each."""
    data = read_config_file(pointer_path())
    if isinstance(data.get("running"), list):
        return [r for r in data["running"] if isinstance(r, dict) and isinstance(r.get("config"), str)]
    return [{"config": data["config"], "pid": None}] if isinstance(data.get("config"), str) else []


@contextmanager
def _pointer_lock() -> Iterator[Path]:
    """The pointer file, locked for a read-modify-write (two local modes may start at once)."""
    path = pointer_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (path.parent / f".{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def _write_records(path: Path, records: list[dict[str, Any]]) -> None:
    if not records:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"running": records}, indent=1) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def record_last_local(config: Path, *, pid: int | None = None) -> None:
    """Remember ``config`` as the newest local mode started (by process ``pid``, this one by default), beside
    the others still running (owner-only, written atomically)."""
    entry = {"config": str(config.resolve()), "pid": os.getpid() if pid is None else pid}
    with _pointer_lock() as path:
        kept = [r for r in _records() if r["config"] != entry["config"] and _alive(r.get("pid"))]
        _write_records(path, [*kept, entry])


def last_local() -> Path | None:
    """The config file of the newest recorded local mode that still runs (it may no longer exist), else of the
    newest recorded one, or None."""
    records = _records()
    running = [r for r in records if _alive(r.get("pid"))]
    chosen = (running or records)[-1:]
    return Path(chosen[0]["config"]) if chosen else None


def forget_last_local(config: Path) -> None:
    """Drop the record of ``config`` (when it stops); the others, and the CLI's view of them, stay."""
    with _pointer_lock() as path:
        records = _records()
        kept = [r for r in records if not _same(Path(r["config"]), config)]
        if kept != records:
            _write_records(path, kept)


def locate(cwd: Path | None = None) -> Lookup:
    """The config file the CLI reads in ``cwd`` (see the module docstring for the order)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise CliError(
                f"{CONFIG_ENV} is {explicit}, which is not a file: point it at the config.json in the "
                f"data directory of `autotest local` (DATA_DIR/{CONFIG_NAME}), or unset it"
            )
        return Lookup(ConfigFile(path, "env", CONFIG_ENV))
    misses = [f"{CONFIG_ENV} is not set"]
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / DEFAULT_DATA_DIR / CONFIG_NAME
        if candidate.is_file():
            return Lookup(ConfigFile(candidate, "cwd", f"found from {here}"))
    misses.append(f"no {DEFAULT_DATA_DIR}/{CONFIG_NAME} in {here} or a parent")
    recorded = last_local()
    if recorded is not None and recorded.is_file():
        return Lookup(ConfigFile(recorded, "last", "the last `autotest local` started"))
    if recorded is not None:
        misses.append(f"the last `autotest local` started used {recorded}, which is gone")
    else:
        misses.append(f"no running `autotest local` recorded in {pointer_path()}")
    return Lookup(None, tuple(misses))


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _load(file: ConfigFile) -> dict[str, Any]:
    try:
        data = json.loads(file.path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from exc
    if not isinstance(data, dict):
        raise CliError(f"{file} is not a config file: expected a JSON object with api_url and api_key")
    return data


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
    lookup = None
    if api_url is None or api_key is None:
        lookup = locate(cwd)
        if lookup.file is not None:
            data = _load(lookup.file)
            if api_url is None and isinstance(data.get("api_url"), str):
                api_url, url_source = data["api_url"], str(lookup.file)
            if api_key is None and isinstance(data.get("api_key"), str):
                api_key, key_source = data["api_key"], str(lookup.file)
    if api_url is None:
        url_source = DEFAULT
    return ClientConfig(
        api_url=(api_url or DEFAULT_API_URL).rstrip("/"),
        api_key=api_key,
        url_source=url_source,
        key_source=key_source,
        lookup=lookup,
    )
