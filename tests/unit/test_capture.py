"""Screenshots with the secrets the page shows masked (steps.py ``_capture``), against a scripted scanner:
the masks go to the screenshot, a picture taken while the page moved the secret is taken again, and one
that cannot be taken clean is not kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from playwright.async_api import Page

from runner_container.runner.artifacts import ArtifactCollector
from runner_container.runner.masking import Masker
from runner_container.runner.onpage import ScanFailed, SecretScanner, Sighting
from runner_container.runner.render import Renderer
from runner_container.runner.session import PageLogs
from runner_container.runner.steps import StepContext, StepFailed, StepRunner
from shared.apitests.checks import ResponseChecker
from shared.netguard import NetworkGuard
from tests.fakes import FakeArtifacts


class ScriptedScanner(SecretScanner):
    """Reports ``shown`` on every mark and ``uncovered[i]`` on the i-th look after a screenshot."""

    def __init__(self, uncovered: list[int], *, fail: bool = False, notes: tuple[str, ...] = ()) -> None:
        super().__init__(Masker(["s3cret"]))
        self.notes = list(notes)
        self.uncovered_counts = list(uncovered)
        self.fail = fail
        self.marks = 0

    async def mark(self, page: Page) -> Sighting:
        if self.fail:
            raise ScanFailed("the page could not be checked for secrets: Execution context was destroyed")
        self.marks += 1
        return Sighting(
            token=f"t{self.marks}", masks=[cast(Any, f"mask-{self.marks}")], shown=["span#mirror"], notes=self.notes
        )

    async def uncovered(self, page: Page, sighting: Sighting) -> int:
        return self.uncovered_counts.pop(0)


class FakePage:
    def __init__(self) -> None:
        self.masks: list[Any] = []

    async def screenshot(self, *, path: Path, mask: Any = None, **options: Any) -> bytes:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG")  # noqa: ASYNC240 - a fake of Playwright's call
        self.masks.append(mask)
        return b""


def context(tmp_path: Path, scanner: SecretScanner) -> tuple[StepContext, ArtifactCollector, PageLogs]:
    masker = Masker(["s3cret"])
    collector = ArtifactCollector(FakeArtifacts(), "runs/p/r/attempt-1", backoff_s=0)
    logs = PageLogs(masker)
    it = StepContext(
        page=None,
        guard=NetworkGuard.from_setting(""),
        renderer=Renderer({}, {}, masker),
        masker=masker,
        collector=collector,
        workdir=tmp_path,
        label="",
        http=cast(Any, None),
        start_url=None,
        logs=logs,
        scanner=scanner,
        checker=ResponseChecker(),  # never started: no step here checks a response
    )
    return it, collector, logs


async def test_the_masks_of_the_look_go_to_the_screenshot_and_the_sighting_to_the_logs(tmp_path: Path) -> None:
    page = FakePage()
    it, collector, logs = context(tmp_path, ScriptedScanner([0]))

    key = await StepRunner(step_timeout_s=5, screenshots="every_step")._capture(
        cast(Page, page), 2, it, "step-002.png", full_page=False, timeout_ms=1000
    )

    assert key == "runs/p/r/attempt-1/screenshots/step-002.png" and collector.local_path(key) is not None
    assert page.masks == [["mask-1"]]
    assert logs.secret_shown == "the page showed a secret (step 3: span#mirror)"


async def test_a_picture_taken_while_the_secret_moved_is_taken_again(tmp_path: Path) -> None:
    page = FakePage()
    it, _, _ = context(tmp_path, ScriptedScanner([1, 0]))

    key = await StepRunner(step_timeout_s=5, screenshots="every_step")._capture(
        cast(Page, page), 0, it, "step-000.png", full_page=True, timeout_ms=1000
    )

    assert key.endswith("step-000.png") and page.masks == [["mask-1"], ["mask-2"]]


async def test_a_picture_that_never_comes_out_clean_is_not_kept(tmp_path: Path) -> None:
    page = FakePage()
    it, collector, logs = context(tmp_path, ScriptedScanner([1, 1]))

    with pytest.raises(StepFailed, match="no screenshot kept"):
        await StepRunner(step_timeout_s=5, screenshots="every_step")._capture(
            cast(Page, page), 0, it, "step-000.png", full_page=True, timeout_ms=1000
        )

    assert not (tmp_path / "screenshots" / "step-000.png").exists()
    assert collector.local_path(collector.key("screenshots/step-000.png")) is None
    assert logs.secret_shown == "the page showed a secret (step 1: span#mirror)"  # the video goes too


async def test_a_page_that_cannot_be_looked_at_gets_no_screenshot_and_keeps_no_video(tmp_path: Path) -> None:
    page = FakePage()
    it, collector, logs = context(tmp_path, ScriptedScanner([], fail=True))

    key = await StepRunner(step_timeout_s=5, screenshots="every_step")._screenshot(cast(Page, page), 4, it, failed=True)

    assert key is None and page.masks == []
    assert logs.secret_shown is not None and "could not be checked for secrets" in logs.secret_shown
    report = await collector.upload_all()
    assert report.errors == [
        "screenshots/step-005-failure.png: not taken: the page could not be checked for secrets: "
        "Execution context was destroyed"
    ]


async def test_what_could_only_be_masked_whole_is_noted_with_the_screenshot(tmp_path: Path) -> None:
    page = FakePage()
    note = "object#o shows a secret in a document that cannot hold a mask: masked whole"
    it, collector, _ = context(tmp_path, ScriptedScanner([0], notes=(note,)))

    key = await StepRunner(step_timeout_s=5, screenshots="every_step")._capture(
        cast(Page, page), 0, it, "step-001.png", full_page=False, timeout_ms=1000
    )

    assert collector.local_path(key) is not None
    assert (await collector.upload_all()).errors == [f"screenshots/step-001.png: {note}"]
