"""Local mode's state on disk: moto keeps everything in memory, so the table and the artifact bucket
are snapshotted into the data directory (on shutdown and every few seconds) and restored after
``provision()`` on start.

Layout under ``<data-dir>/state/``:

- ``table.jsonl``: every item of the table, one per line, in DynamoDB's attribute-value JSON;
  rewritten atomically, only when something changed.
- ``objects/<key>``: one file per S3 object. Artifacts are immutable, so only new keys are copied.
- ``objects.json``: key -> file, size, etag, content type (written after the files it names).

Nothing saved is ever lost to a damaged file: unreadable lines or entries are skipped with a
warning and the damaged file is kept beside the new one (``*.damaged-<time>``); and no snapshot is
written until a restore has completed, so a failed start never overwrites the data directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shared.aws.snapshot import BucketSnapshot, TableSnapshot
from shared.observability import logger


@dataclass(frozen=True)
class Restored:
    items: list[dict[str, Any]]
    objects: int
    #: what could not be read, one line each (the damaged files are kept aside)
    damaged: tuple[str, ...] = ()


def _keep_aside(path: Path) -> Path:
    """Copy a damaged file beside itself (``name.damaged-<utc time>``) before it is rewritten."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    shutil.copy2(path, aside)
    return aside


def _parse_items(raw: bytes) -> tuple[list[dict[str, Any]], int]:
    """The items of a ``table.jsonl`` and how many lines could not be read."""
    items: list[dict[str, Any]] = []
    bad = 0
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(item, dict) and isinstance(item.get("PK"), dict) and isinstance(item.get("SK"), dict):
            items.append(item)
        else:
            bad += 1
    return items, bad


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def _object_file(key: str) -> str:
    """A relative file name for an S3 key: the key itself when it is a plain relative path."""
    parts = PurePosixPath(key).parts
    if key and not key.startswith("/") and all(p not in ("..", ".", "") for p in parts) and "\\" not in key:
        return key
    return "_/" + hashlib.sha256(key.encode()).hexdigest()


class LocalState:
    def __init__(self, data_dir: Path, table: TableSnapshot, bucket: BucketSnapshot) -> None:
        self.root = data_dir / "state"
        self._table = table
        self._bucket = bucket
        self._table_file = self.root / "table.jsonl"
        self._objects_dir = self.root / "objects"
        self._index_file = self.root / "objects.json"
        self._table_digest: str | None = None
        self._index: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()  # the periodic snapshot and the final one never overlap
        self._restored = False  # no snapshot may overwrite the files before they were read back
        self._index_dirty = False  # the index on disk needs rewriting (it was damaged)

    # ------------------------------------------------------------------------------- restore

    def _read_index(self, damaged: list[str]) -> dict[str, dict[str, Any]]:
        if not self._index_file.is_file():
            return {}
        try:
            data = json.loads(self._index_file.read_text())
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            self._index_dirty = True
            aside = _keep_aside(self._index_file)
            damaged.append(f"{self._index_file.name} could not be read; it is kept as {aside.name}")
            return {}
        index = {
            key: meta
            for key, meta in data.items()
            if isinstance(meta, dict) and isinstance(meta.get("file"), str) and ".." not in meta["file"]
        }
        if len(index) != len(data):
            self._index_dirty = True
            aside = _keep_aside(self._index_file)
            damaged.append(f"{len(data) - len(index)} entries of {self._index_file.name} skipped; kept as {aside.name}")
        return index

    def restore(self) -> Restored:
        """Load the last snapshot into the (freshly provisioned, empty) table and bucket."""
        with self._lock:
            damaged: list[str] = []
            items: list[dict[str, Any]] = []
            if self._table_file.is_file():
                raw = self._table_file.read_bytes()
                items, bad = _parse_items(raw)
                if bad:
                    aside = _keep_aside(self._table_file)
                    damaged.append(f"{bad} damaged lines of {self._table_file.name} skipped; kept as {aside.name}")
                else:
                    self._table_digest = hashlib.sha256(raw).hexdigest()
                self._table.load(items)
            self._index = self._read_index(damaged)
            restored = 0
            for key, meta in list(self._index.items()):
                path = self._objects_dir / meta["file"]
                try:
                    data = path.read_bytes()
                except OSError:
                    damaged.append(f"artifact {key} is missing from {self._objects_dir}")
                    del self._index[key]
                    self._index_dirty = True
                    continue
                self._bucket.write(key, data, content_type=meta.get("content_type", "application/octet-stream"))
                restored += 1
            for line in damaged:
                logger.warning("local state damaged", detail=line)
            self._restored = True
            return Restored(items=items, objects=restored, damaged=tuple(damaged))

    # ------------------------------------------------------------------------------ snapshot

    def snapshot(self) -> tuple[bool, int]:
        """Write what changed since the last snapshot: (table rewritten?, new objects copied)."""
        with self._lock:
            if not self._restored:
                logger.warning("no snapshot: the data directory was not restored yet", data_dir=str(self.root))
                return False, 0
            items = self._table.dump()
            lines = sorted(json.dumps(item, sort_keys=True, separators=(",", ":")) for item in items)
            raw = ("\n".join(lines) + "\n").encode() if lines else b""
            digest = hashlib.sha256(raw).hexdigest()
            table_written = digest != self._table_digest
            if table_written:
                _atomic_write(self._table_file, raw)
                self._table_digest = digest
            copied = 0
            for obj in self._bucket.list():
                known = self._index.get(obj.key)
                if known is not None and known.get("etag") == obj.etag and known.get("size") == obj.size:
                    continue
                data, content_type = self._bucket.read(obj.key)
                name = _object_file(obj.key)
                _atomic_write(self._objects_dir / name, data)
                self._index[obj.key] = {
                    "file": name,
                    "size": obj.size,
                    "etag": obj.etag,
                    "content_type": content_type,
                }
                copied += 1
            if copied or self._index_dirty:
                _atomic_write(self._index_file, json.dumps(self._index, indent=1, sort_keys=True).encode())
                self._index_dirty = False
            return table_written, copied
