from __future__ import annotations

from pathlib import Path

from runner_container.runner.artifacts import ArtifactCollector, run_prefix
from shared.errors import Unavailable
from tests.fakes import FakeArtifacts


class FlakyArtifacts(FakeArtifacts):
    """Fails the first ``failures`` uploads of every key."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls: dict[str, int] = {}

    def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        self.calls[key] = self.calls.get(key, 0) + 1
        if self.calls[key] <= self.failures:
            raise Unavailable("S3 is having a moment")
        super().put_file(key, path, content_type=content_type)


async def test_uploads_are_retried_then_recorded(tmp_path: Path) -> None:
    shot = tmp_path / "step-000.png"
    shot.write_bytes(b"\x89PNG")
    store = FlakyArtifacts(failures=2)
    collector = ArtifactCollector(store, run_prefix("prj", "run_1", 2), attempts=3, backoff_s=0)

    key = collector.add("screenshots/step-000.png", "screenshot", shot)
    report = await collector.upload_all()

    assert key == "runs/prj/run_1/attempt-2/screenshots/step-000.png"
    assert report.errors == [] and report.key_uploaded(key)
    assert report.uploaded[0].content_type == "image/png" and report.uploaded[0].size == 4
    assert store.calls[key] == 3


async def test_an_upload_that_keeps_failing_is_reported_not_raised(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_text("hello")
    collector = ArtifactCollector(FlakyArtifacts(failures=9), "runs/p/r/attempt-1", attempts=2, backoff_s=0)
    collector.add("console.log", "log", log)
    collector.add("video.webm", "video", tmp_path / "never-recorded.webm")

    report = await collector.upload_all()

    assert report.uploaded == []
    assert report.errors == [
        "console.log: upload failed after 2 attempts: S3 is having a moment",
        "video.webm: the file was not produced",
    ]


async def test_notes_are_reported_with_the_upload_errors(tmp_path: Path) -> None:
    collector = ArtifactCollector(FakeArtifacts(), "runs/p/r/attempt-1", attempts=1, backoff_s=0)
    collector.note("video.webm: video not kept: a secret was typed into a visible field")
    collector.add("video.webm", "video", tmp_path / "gone.webm")

    report = await collector.upload_all()

    assert report.errors == [
        "video.webm: video not kept: a secret was typed into a visible field",
        "video.webm: the file was not produced",
    ]
    assert (await collector.upload_all()).errors == []
