"""Files that survive a crash: written whole or not at all (temp file, fsync, rename, fsync of the directory),
artifact bodies named by their SHA-256 (``blobs/``), and the journal's append-only segments (``journal/``),
each line ``<crc32> <json>`` so that a torn or damaged line is recognised. ``persistence.py`` decides what
goes in them and when."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import Unavailable


class DamagedBlob(OSError):
    """A blob whose content does not match its name (its SHA-256)."""


def now_tag() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def keep_aside(path: Path) -> Path:
    """Keep a damaged file or directory beside itself (``name.damaged-<utc time>``) before it changes."""
    aside = path.with_name(f"{path.name}.damaged-{now_tag()}")
    if path.is_dir():
        path.rename(aside)
    else:
        shutil.copy2(path, aside)
    return aside


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` or what it held before, never a part: temp file, fsync, rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def journal_line(record: dict[str, Any]) -> bytes:
    payload = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def parse_journal_line(line: bytes) -> dict[str, Any] | None:
    crc, _, payload = line.partition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(payload) or len(crc) != 8:
            return None
        record = json.loads(payload)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


# ------------------------------------------------------------------------------------ blobs


class Blobs:
    """S3 object bodies, one file per content (``blobs/<sha256>``), durable before they are named."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._staged: set[str] = set()  # written, not yet in the journal: compaction must keep them

    def stage(self, data: bytes) -> str:
        name = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._staged.add(name)
        path = self.root / name
        if not path.is_file():
            write_durably(path, data)
        return name

    def unstage(self, name: str) -> None:
        with self._lock:
            self._staged.discard(name)

    def read(self, name: str) -> bytes:
        """The blob's bytes; OSError when it is missing or damaged (its content no longer has its hash)."""
        if len(name) != 64 or not all(c in "0123456789abcdef" for c in name):
            raise OSError(f"not a blob name: {name!r}")
        path = self.root / name
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != name:
            aside = keep_aside(path)
            path.unlink(missing_ok=True)
            raise DamagedBlob(f"its file {path.name} was damaged (kept as {aside.name})")
        return data

    def collect(self, keep: set[str]) -> int:
        """Delete the blobs not in ``keep`` (nor staged); returns how many went."""
        if not self.root.is_dir():
            return 0
        with self._lock:
            keep = keep | self._staged
        removed = 0
        for path in self.root.iterdir():
            if path.is_file() and path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


# ---------------------------------------------------------------------------------- journal


@dataclass
class Segment:
    path: Path
    first: int


@dataclass
class JournalRead:
    entries: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    aborted: set[int] = field(default_factory=set)
    last_seq: int = 0


class Journal:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._fd: int | None = None
        self._size = 0
        self._current: Segment | None = None
        self._entries_in_current = 0
        self.broken: str | None = None  # set when a failed append could not be undone

    def segments(self) -> list[Segment]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob("*.jsonl"):
            if path.stem.isdigit():
                found.append(Segment(path, int(path.stem)))
        return sorted(found, key=lambda s: s.first)

    def read_all(self, damaged: list[str], notes: list[str]) -> JournalRead:
        """Every readable entry in order; a torn tail is cut off, damaged lines reported and kept aside."""
        out = JournalRead()
        for segment in self.segments():
            raw = segment.path.read_bytes()
            lines = raw.split(b"\n")
            tail = lines.pop()  # b"" when the file ends with a newline; else a line cut short
            good: list[bytes] = []
            bad = 0
            for line in lines:
                record = parse_journal_line(line)
                if record is None:
                    bad += 1
                    continue
                good.append(line)
                if "abort" in record and isinstance(record["abort"], int):
                    out.aborted.add(record["abort"])
                elif isinstance(record.get("seq"), int):
                    out.entries.append((record["seq"], record))
                    out.last_seq = max(out.last_seq, record["seq"])
            if tail:
                notes.append(
                    f"the journal ({segment.path.name}) ends in a line cut short, dropped: a write the stop "
                    "interrupted, never acknowledged; unless something else cut the file, and then the writes "
                    "after the cut are lost"
                )
            if bad:
                aside = keep_aside(segment.path)
                damaged.append(f"{bad} damaged lines of journal/{segment.path.name} skipped; kept as {aside.name}")
            if tail or bad:  # later starts read it clean
                write_durably(segment.path, b"".join(line + b"\n" for line in good))
        out.entries.sort(key=lambda e: e[0])
        return out

    def start_segment(self, first: int) -> None:
        """Append from now on to a new segment whose first entry will be ``first``."""
        if self._current is not None and self._entries_in_current == 0 and self._current.first == first:
            return
        self.close()
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{first:012d}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._current = Segment(path, first)
        self._entries_in_current = 0
        fsync_dir(self.root)

    @property
    def current(self) -> Segment | None:
        return self._current

    def append(self, record: dict[str, Any], *, sync: bool) -> None:
        if self.broken is not None:
            raise Unavailable(f"local mode stopped taking writes: {self.broken}")
        if self._fd is None:
            raise Unavailable("local mode's journal is not open")
        line = journal_line(record)
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(28, "short write")
            if sync:
                os.fdatasync(self._fd)
        except OSError as exc:
            try:  # leave no part of the line behind for later lines to follow
                os.ftruncate(self._fd, self._size)
                os.fdatasync(self._fd)
            except OSError as undo:
                self.broken = f"its journal could not be written nor repaired ({undo.strerror or undo})"
            raise Unavailable(
                f"local mode could not write its journal ({exc.strerror or exc}): nothing was changed"
            ) from exc
        self._size += len(line)
        self._entries_in_current += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
