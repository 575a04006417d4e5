"""Local mode's state on disk: moto keeps everything in memory, so the table and the artifact bucket
are snapshotted into the data directory (on shutdown and every few seconds) and restored after
``provision()`` on start.

Layout under ``<data-dir>/state/``:

- ``table.jsonl``: every item of the table, one per line, in DynamoDB's attribute-value JSON;
  rewritten atomically, only when something changed.
- ``objects/<key>``: one file per S3 object. Artifacts are immutable, so only new keys are copied.
- ``objects.json``: key -> file, size, etag, content type (written after the files it names).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shared.aws.snapshot import BucketSnapshot, TableSnapshot
from shared.observability import logger


@dataclass(frozen=True)
class Restored:
    items: list[dict[str, Any]]
    objects: int


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

    # ------------------------------------------------------------------------------- restore

    def _read_index(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self._index_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def restore(self) -> Restored:
        """Load the last snapshot into the (freshly provisioned, empty) table and bucket."""
        with self._lock:
            items: list[dict[str, Any]] = []
            if self._table_file.is_file():
                raw = self._table_file.read_bytes()
                items = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
                self._table.load(items)
                self._table_digest = hashlib.sha256(raw).hexdigest()
            self._index = self._read_index()
            restored = 0
            for key, meta in list(self._index.items()):
                path = self._objects_dir / meta["file"]
                try:
                    data = path.read_bytes()
                except OSError:
                    logger.warning("artifact missing from the data directory", key=key)
                    del self._index[key]
                    continue
                self._bucket.write(key, data, content_type=meta.get("content_type", "application/octet-stream"))
                restored += 1
            return Restored(items=items, objects=restored)

    # ------------------------------------------------------------------------------ snapshot

    def snapshot(self) -> tuple[bool, int]:
        """Write what changed since the last snapshot: (table rewritten?, new objects copied)."""
        with self._lock:
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
            if copied:
                _atomic_write(self._index_file, json.dumps(self._index, indent=1, sort_keys=True).encode())
            return table_written, copied
