"""Run artifacts: collected on disk while a run executes, uploaded to the ArtifactStore afterwards.

Keys live under ``runs/{project_id}/{run_id}/attempt-{n}/``. An upload is retried with backoff; one that
still fails is reported (``Run.artifact_errors``) and the run's result is stored regardless. So is an artifact
that was deliberately not kept, or kept in part (a ``note``: a video that would show a secret).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runner_container.runner.exchanges import Exchanges
from shared.errors import DomainError
from shared.models.runs import ArtifactRef, artifact_prefix
from shared.observability import logger
from shared.ports import ArtifactStore

ArtifactKind = Literal["screenshot", "video", "trace", "log", "report", "junit", "other"]
CONTENT_TYPES = {
    ".png": "image/png",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".webm": "video/webm",
    ".zip": "application/zip",
    ".log": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
}


run_prefix = artifact_prefix  # the key layout is shared: local mode's artifact links read it back


@dataclass
class _Pending:
    name: str
    kind: ArtifactKind
    path: Path | None  # a file on disk, or
    key: str
    content_type: str
    data: bytes | None = None  # bytes built in memory

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path is not None else 0


@dataclass
class UploadReport:
    uploaded: list[ArtifactRef] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def key_uploaded(self, key: str) -> bool:
        return any(ref.key == key for ref in self.uploaded)


class ArtifactCollector:
    def __init__(
        self,
        store: ArtifactStore,
        prefix: str,
        *,
        attempts: int = 3,
        backoff_s: float = 0.2,
        parallel: int = 4,
    ) -> None:
        self._store = store
        self.prefix = prefix.rstrip("/")
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._parallel = parallel
        self._pending: list[_Pending] = []
        self._files: dict[str, Path] = {}
        self._notes: list[str] = []
        #: what the run's request steps sent and received, for its report (not uploaded as such)
        self.exchanges = Exchanges()

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def add(self, name: str, kind: ArtifactKind, path: Path, content_type: str | None = None) -> str:
        """Queue ``path`` for upload as ``name``; returns the key it will have."""
        key = self.key(name)
        content_type = content_type or CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        self._pending = [p for p in self._pending if p.key != key]
        self._pending.append(_Pending(name, kind, path, key, content_type))
        self._files[key] = path
        return key

    def add_data(self, name: str, kind: ArtifactKind, data: bytes, content_type: str | None = None) -> str:
        """Queue ``data`` (built in memory) for upload as ``name``; returns the key it will have."""
        key = self.key(name)
        content_type = content_type or CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
        self._pending = [p for p in self._pending if p.key != key]
        self._pending.append(_Pending(name, kind, None, key, content_type, data))
        return key

    def note(self, message: str) -> None:
        """Say why an artifact is missing or incomplete; reported with the upload errors."""
        self._notes.append(message)

    def local_path(self, key: str) -> Path | None:
        """Where the file added as ``key`` is on disk (it may be gone once the run's workdir is)."""
        return self._files.get(key)

    async def upload_all(self) -> UploadReport:
        report = UploadReport()
        failed: dict[str, str] = {}
        slots = asyncio.Semaphore(self._parallel)

        async def one(item: _Pending) -> None:
            async with slots:
                error = await asyncio.to_thread(self._upload, item)
            if error is None:
                size = item.size
                report.uploaded.append(
                    ArtifactRef(
                        name=item.name,
                        kind=item.kind,
                        key=item.key,
                        size=size,
                        content_type=item.content_type,
                    )
                )
            else:
                failed[item.key] = error

        await asyncio.gather(*(one(item) for item in self._pending))
        order = {p.key: i for i, p in enumerate(self._pending)}
        report.uploaded.sort(key=lambda ref: order[ref.key])
        report.errors = [*self._notes, *(failed[p.key] for p in self._pending if p.key in failed)]
        self._pending, self._notes = [], []
        return report

    def _upload(self, item: _Pending) -> str | None:
        if item.data is None and (item.path is None or not item.path.is_file()):
            return f"{item.name}: the file was not produced"
        last = ""
        for attempt in range(1, self._attempts + 1):
            try:
                if item.data is not None:
                    self._store.put(item.key, item.data, content_type=item.content_type)
                else:
                    assert item.path is not None
                    self._store.put_file(item.key, item.path, content_type=item.content_type)
                return None
            except (DomainError, OSError) as exc:
                last = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                logger.warning("artifact upload failed", key=item.key, attempt=attempt, error=last)
                if attempt < self._attempts:
                    time.sleep(self._backoff_s * 2 ** (attempt - 1))
        return f"{item.name}: upload failed after {self._attempts} attempts: {last}"
