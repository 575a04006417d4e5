"""Local mode's state on disk. moto keeps the table and the artifact bucket in this process's memory;
this module makes every acknowledged write survive a crash (SIGKILL, power loss) and brings it back.

- **Journal** (write-ahead): every call that changes the table or the bucket (``shared/aws/journal.py``
  says which) is appended to ``journal/<first seq>.jsonl`` and fsync'd *before* moto applies it, under
  one lock: journal order is apply order. A call that then fails gets an ``abort`` mark. Each line is
  ``<crc32> <json>``, so a torn or damaged line is recognised.
- **Blobs**: the body of an S3 object is written first, as ``blobs/<sha256>`` (temp file, fsync,
  rename, fsync of the directory); the journal entry names it.
- **Snapshots**: every ``snapshot_interval_s`` (when something changed) and on shutdown, the table and
  the object index are written to a temporary directory, fsync'd, and renamed to
  ``snapshot-<seq>/`` in one step, ``meta.json`` (the journal sequence it contains, checksums) last.
  The newest two are kept; journal segments and blobs that neither needs are deleted (compaction).
- **Start**: load the newest snapshot whose checksums hold (else the one before it; else what can
  be read of it), replay the journal entries after its sequence in order, then write a fresh
  snapshot. A torn last line (a write cut short by the crash, never acknowledged) is dropped; damaged
  files are kept aside as ``*.damaged-<time>`` and every problem is reported, without losing the rest.

The format of the first release (``state/table.jsonl``, ``objects.json``, ``objects/``, written
every 10 s and so losing what came after) is read once and moved to ``state/format-1.old/``.

SQS and EventBridge need no journal: the queue only ever holds messages for runs that are ``queued``
or ``running`` in the table, and ``cli/local/recovery.py`` re-enqueues exactly those on start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.local.durable import (
    Blobs,
    DamagedBlob,
    Journal,
    JournalRead,
    fsync_dir,
    keep_aside,
    parse_journal_line,
)
from shared.aws.clients import ClientFactory
from shared.aws.journal import ReplayFailed, apply_recorded, decode, encode
from shared.aws.snapshot import TableSnapshot
from shared.errors import Unavailable
from shared.observability import logger

FORMAT = 2
KEEP_SNAPSHOTS = 2
_SNAPSHOT_PREFIX = "snapshot-"
_TMP_PREFIX = ".snapshot-tmp-"


@dataclass(frozen=True)
class Restored:
    #: every item of the table once restored (for re-enqueueing pending runs)
    items: list[dict[str, Any]]
    objects: int
    #: what could not be read, one line each (the damaged files are kept aside)
    damaged: tuple[str, ...] = ()
    #: journal entries applied after the snapshot
    replayed: int = 0
    #: worth saying, not damage (a torn last journal line: a write that was never acknowledged)
    notes: tuple[str, ...] = ()


class _Damaged(Exception):
    pass


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


# ------------------------------------------------------------------------------------ state


@dataclass
class _Base:
    seq: int
    items: list[dict[str, Any]]
    objects: dict[str, dict[str, Any]]
    source: str  # "snapshot", "format-1", "empty"


class LocalState:
    """The journal sink of local mode's clients, its snapshots, and the restore on start.

    ``clients`` are plain (not journaled) in-process clients: restore and replay use them, so that
    what is replayed is not journaled twice."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clients: ClientFactory,
        table: str,
        bucket: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = data_dir / "state"
        self._clients = clients
        self._table_name = table
        self._bucket = bucket
        self._table = TableSnapshot(clients("dynamodb"), table)
        self._blobs = Blobs(self.root / "blobs")
        self._journal = Journal(self.root / "journal")
        self._lock = threading.Lock()  # journal order is apply order; snapshots see one sequence
        self._snapshot_lock = threading.Lock()  # one snapshot at a time
        self._seq = 0
        self._snapshot_seq = -1
        self._objects: dict[str, dict[str, Any]] = {}
        self._restored = False  # no snapshot may replace the files before they were read back
        self._clock = clock

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def broken(self) -> str | None:
        return self._journal.broken

    # --------------------------------------------------------------------------- the sink

    def write(self, service: str, operation: str, params: dict[str, Any], body: bytes | None, apply: Any) -> Any:
        record: dict[str, Any] = {"service": service, "op": operation, "params": encode(params)}
        blob = self._blobs.stage(body) if body is not None else None
        if blob is not None:
            record["blob"] = blob
        try:
            with self._lock:
                if not self._restored:
                    raise Unavailable("local mode is not ready: its state is not restored yet")
                seq = self._seq + 1
                self._journal.append({"seq": seq, **record}, sync=True)
                self._seq = seq
                try:
                    result = apply()
                except BaseException:
                    # no fsync: if the mark is lost, the replay fails the same way
                    with contextlib.suppress(Unavailable):
                        self._journal.append({"abort": seq}, sync=False)
                    raise
                if operation == "PutObject" and blob is not None:
                    self._objects[str(params["Key"])] = self._object_entry(record["params"], blob)
                return result
        finally:
            if blob is not None:
                self._blobs.unstage(blob)

    @staticmethod
    def _object_entry(params: dict[str, Any], blob: str) -> dict[str, Any]:
        return {"blob": blob, "params": {k: v for k, v in params.items() if k != "Bucket"}}

    # ---------------------------------------------------------------------------- restore

    def restore(self) -> Restored:
        """Load the last good snapshot into the (freshly provisioned, empty) table and bucket, replay
        the journal after it, and write a fresh snapshot when anything was replayed or repaired."""
        with self._lock:
            damaged: list[str] = []
            notes: list[str] = []
            self.root.mkdir(parents=True, exist_ok=True)
            for tmp in self.root.glob(f"{_TMP_PREFIX}*"):  # a snapshot cut short: never swapped in
                shutil.rmtree(tmp, ignore_errors=True)
            base = self._load_base(damaged)
            read = self._journal.read_all(damaged, notes)
            self._table.load(base.items)
            objects: dict[str, dict[str, Any]] = {}
            for key, meta in base.objects.items():
                try:
                    body = self._blobs.read(str(meta.get("blob")))
                    self._put_object(meta.get("params") or {"Key": key}, body)
                except DamagedBlob as exc:
                    damaged.append(f"artifact {key} is not restored: {exc}")
                    continue
                except OSError:
                    damaged.append(f"artifact {key} is missing from {self._blobs.root}")
                    continue
                objects[key] = meta
            replayed = self._replay(base.seq, read, objects, damaged)
            self._objects = objects
            self._seq = max(base.seq, read.last_seq)
            self._snapshot_seq = base.seq if base.source == "snapshot" else -1
            self._journal.start_segment(self._seq + 1)
            self._restored = True
        for line in damaged:
            logger.warning("local state damaged", detail=line)
        if replayed or damaged or notes or base.source != "snapshot":
            self.snapshot(force=base.source != "empty" or bool(replayed))
            if base.source == "format-1":
                self._retire_format_1()
        return Restored(
            items=self._table.dump(),
            objects=len(objects),
            damaged=tuple(damaged),
            replayed=replayed,
            notes=tuple(notes),
        )

    def _put_object(self, params: dict[str, Any], body: bytes) -> None:
        apply_recorded(
            self._clients, "s3", "PutObject", decode(params), body, table=self._table_name, bucket=self._bucket
        )

    def _replay(self, base_seq: int, read: JournalRead, objects: dict[str, dict[str, Any]], damaged: list[str]) -> int:
        replayed = 0
        expected = base_seq + 1
        for seq, record in read.entries:
            if seq <= base_seq:
                continue
            if seq != expected:
                damaged.append(f"journal entries {expected} to {seq - 1} are missing: those writes are lost")
            expected = seq + 1
            if seq in read.aborted:
                continue
            service, operation = str(record.get("service")), str(record.get("op"))
            raw = record.get("params")
            params: dict[str, Any] = raw if isinstance(raw, dict) else {}
            try:
                body = self._blobs.read(str(record["blob"])) if "blob" in record else None
                applied = apply_recorded(
                    self._clients,
                    service,
                    operation,
                    decode(params),
                    body,
                    table=self._table_name,
                    bucket=self._bucket,
                )
            except ReplayFailed as exc:
                damaged.append(f"journal entry {seq} ({operation}) could not be applied: {exc.code}")
                continue
            except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
                why = str(exc) if isinstance(exc, DamagedBlob) else type(exc).__name__
                damaged.append(f"journal entry {seq} ({operation}) could not be applied: {why}")
                continue
            if not applied:  # a condition refused it: it failed the first time too
                continue
            if operation == "PutObject" and "blob" in record:
                objects[str(params.get("Key"))] = self._object_entry(params, str(record["blob"]))
            replayed += 1
        return replayed

    def _snapshots(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.root.glob(f"{_SNAPSHOT_PREFIX}*"):
            suffix = path.name[len(_SNAPSHOT_PREFIX) :]
            if path.is_dir() and suffix.isdigit():
                found.append((int(suffix), path))
        return sorted(found, reverse=True)

    def _read_snapshot(self, path: Path, *, lenient: bool) -> tuple[int, list[dict[str, Any]], dict[str, Any], int]:
        """(seq, items, objects, unreadable lines). Strict: _Damaged unless every checksum holds;
        lenient: whatever can be read."""

        def read(name: str, default: bytes) -> bytes:
            try:
                return (path / name).read_bytes()
            except OSError as exc:
                if not lenient:
                    raise _Damaged(f"{path.name} is incomplete ({name} cannot be read)") from exc
                return default

        table_raw, objects_raw = read("table.jsonl", b""), read("objects.json", b"{}")
        try:
            meta = json.loads(read("meta.json", b"{}"))
        except ValueError:
            meta = None
        whole = (
            isinstance(meta, dict)
            and meta.get("format") == FORMAT
            and isinstance(meta.get("seq"), int)
            and meta.get("table_sha256") == hashlib.sha256(table_raw).hexdigest()
            and meta.get("objects_sha256") == hashlib.sha256(objects_raw).hexdigest()
        )
        if not whole and not lenient:
            raise _Damaged(f"{path.name} does not match its checksums")
        items, bad = _parse_items(table_raw)
        try:
            objects = json.loads(objects_raw)
        except ValueError:
            objects = None
        if not isinstance(objects, dict):
            objects, bad = {}, bad + 1
        objects = {k: v for k, v in objects.items() if isinstance(v, dict) and isinstance(v.get("blob"), str)}
        digits = path.name[len(_SNAPSHOT_PREFIX) :].split(".", 1)[0]
        seq = int(meta["seq"]) if whole and isinstance(meta, dict) else int(digits)
        return seq, items, objects, bad

    def _load_base(self, damaged: list[str]) -> _Base:
        set_aside: list[Path] = []
        for _, path in self._snapshots():
            try:
                seq, items, objects, _ = self._read_snapshot(path, lenient=False)
            except _Damaged as exc:
                aside = keep_aside(path)
                set_aside.append(aside)
                damaged.append(f"snapshot {exc}; kept as {aside.name}: the one before it and the journal are used")
                continue
            return _Base(seq, items, objects, "snapshot")
        if set_aside:  # none whole: what can be read of the newest
            seq, items, objects, bad = self._read_snapshot(set_aside[0], lenient=True)
            damaged.append(f"no whole snapshot: {len(items)} items read from {set_aside[0].name}, {bad} unreadable")
            return _Base(seq, items, objects, "damaged")
        return self._load_format_1(damaged)

    def _load_format_1(self, damaged: list[str]) -> _Base:
        table_file, index_file = self.root / "table.jsonl", self.root / "objects.json"
        if not table_file.is_file() and not index_file.is_file():
            return _Base(0, [], {}, "empty")
        items: list[dict[str, Any]] = []
        if table_file.is_file():
            items, bad = _parse_items(table_file.read_bytes())
            if bad:
                aside = keep_aside(table_file)
                damaged.append(f"{bad} damaged lines of {table_file.name} skipped; kept as {aside.name}")
        objects: dict[str, dict[str, Any]] = {}
        if index_file.is_file():
            try:
                index = json.loads(index_file.read_text())
            except (OSError, ValueError):
                index = None
            if not isinstance(index, dict):
                aside = keep_aside(index_file)
                damaged.append(f"{index_file.name} could not be read; it is kept as {aside.name}")
                index = {}
            for key, meta in index.items():
                name = meta.get("file") if isinstance(meta, dict) else None
                path = self.root / "objects" / name if isinstance(name, str) and ".." not in name else None
                if path is None or not path.is_file():
                    damaged.append(f"artifact {key} is missing from {self.root / 'objects'}")
                    continue
                blob = self._blobs.stage(path.read_bytes())
                self._blobs.unstage(blob)
                content_type = str(meta.get("content_type") or "application/octet-stream")
                objects[key] = {"blob": blob, "params": {"Key": key, "ContentType": content_type}}
        return _Base(0, items, objects, "format-1")

    def _retire_format_1(self) -> None:
        old = self.root / "format-1.old"
        old.mkdir(exist_ok=True)
        for name in ("table.jsonl", "objects.json", "objects"):
            if (self.root / name).exists():
                (self.root / name).rename(old / name)

    # --------------------------------------------------------------------------- snapshot

    def snapshot(self, *, force: bool = False) -> bool:
        """Write a snapshot if anything changed since the last one (or ``force``); then compact.
        Returns whether one was written."""
        with self._snapshot_lock:
            with self._lock:
                if not self._restored:
                    logger.warning("no snapshot: the data directory was not restored yet", data_dir=str(self.root))
                    return False
                seq = self._seq
                if seq == self._snapshot_seq and not force:
                    return False
                items = self._table.dump()
                objects = dict(self._objects)
                self._journal.start_segment(seq + 1)
            target = self.root / f"{_SNAPSHOT_PREFIX}{seq:012d}"
            if not target.exists():
                self._write_snapshot(target, seq, items, objects)
            self._snapshot_seq = seq
            self._compact()
            return True

    def _write_snapshot(self, target: Path, seq: int, items: list[dict[str, Any]], objects: dict[str, Any]) -> None:
        lines = sorted(json.dumps(item, sort_keys=True, separators=(",", ":")) for item in items)
        table_raw = ("\n".join(lines) + "\n").encode() if lines else b""
        objects_raw = json.dumps(objects, indent=1, sort_keys=True).encode()
        meta = {
            "format": FORMAT,
            "seq": seq,
            "items": len(items),
            "objects": len(objects),
            "table_sha256": hashlib.sha256(table_raw).hexdigest(),
            "objects_sha256": hashlib.sha256(objects_raw).hexdigest(),
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
        }
        tmp = self.root / f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        for name, data in (
            ("table.jsonl", table_raw),
            ("objects.json", objects_raw),
            ("meta.json", json.dumps(meta, indent=1).encode()),
        ):
            with (tmp / name).open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        fsync_dir(tmp)
        tmp.rename(target)  # the swap: the snapshot is there whole, or not at all
        fsync_dir(self.root)

    def _compact(self) -> None:
        """Keep the newest snapshots, the journal after the oldest of them, and the blobs they name."""
        snapshots = self._snapshots()
        kept = snapshots[:KEEP_SNAPSHOTS]
        for _, path in snapshots[KEEP_SNAPSHOTS:]:
            shutil.rmtree(path, ignore_errors=True)
        if not kept:
            return
        oldest = kept[-1][0]
        keep_blobs: set[str] = set()
        for _, path in kept:
            try:
                objects = json.loads((path / "objects.json").read_bytes())
                keep_blobs |= {str(v.get("blob")) for v in objects.values() if isinstance(v, dict)}
            except (OSError, ValueError, AttributeError):
                return  # cannot tell what is needed: delete nothing
        with self._lock:
            current = self._journal.current
            segments = self._journal.segments()
            for i, segment in enumerate(segments):
                last = segments[i + 1].first - 1 if i + 1 < len(segments) else None
                is_current = current is not None and segment.path == current.path
                if last is not None and last <= oldest and not is_current:
                    segment.path.unlink(missing_ok=True)
                    continue
                for line in segment.path.read_bytes().split(b"\n"):
                    record = parse_journal_line(line) if line else None
                    if record is not None and "blob" in record:
                        keep_blobs.add(str(record["blob"]))
            keep_blobs |= {str(v["blob"]) for v in self._objects.values()}
            self._blobs.collect(keep_blobs)

    def close(self) -> None:
        with self._lock:
            self._journal.close()
