from __future__ import annotations

from pathlib import Path

import pytest

from runner_container.runner import browser
from runner_container.runner.browser import BrowserNotFound, ensure_ffmpeg, find_browser


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_setting_wins_and_must_exist(tmp_path: Path) -> None:
    chrome = executable(tmp_path / "my-chrome")
    assert find_browser(str(chrome), root=tmp_path) == chrome
    with pytest.raises(BrowserNotFound, match="AUTOTEST_BROWSER_PATH"):
        find_browser(str(tmp_path / "missing"), root=tmp_path)


def test_playwrights_headless_shell_comes_first(tmp_path: Path) -> None:
    executable(tmp_path / "chromium-1255/chrome-linux64/chrome")
    shell = executable(tmp_path / "chromium_headless_shell-1255/chrome-headless-shell-linux64/chrome-headless-shell")
    assert find_browser(None, root=tmp_path) == shell


def test_falls_back_to_debian_then_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian = executable(tmp_path / "debian/chromium")
    monkeypatch.setattr(browser, "DEBIAN_BROWSERS", (str(tmp_path / "nope"), str(debian)))
    assert find_browser(None, root=tmp_path / "empty") == debian

    monkeypatch.setattr(browser, "DEBIAN_BROWSERS", (str(tmp_path / "nope"),))
    with pytest.raises(BrowserNotFound, match="AUTOTEST_BROWSER_PATH"):
        find_browser(None, root=tmp_path / "empty")


def test_ensure_ffmpeg_links_the_system_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = executable(tmp_path / "bin/ffmpeg")
    monkeypatch.setattr(browser.shutil, "which", lambda name: str(system))
    assert ensure_ffmpeg(tmp_path / "browsers")
    linked = next((tmp_path / "browsers").glob("ffmpeg-*/ffmpeg-linux"))
    assert linked.resolve() == system

    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    assert not ensure_ffmpeg(tmp_path / "other")
