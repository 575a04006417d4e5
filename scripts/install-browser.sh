#!/usr/bin/env bash
# Make sure Playwright has a Chromium to drive and ffmpeg for video. Idempotent.
#  1. a Chromium Playwright installed itself (PLAYWRIGHT_BROWSERS_PATH) or Debian's headless shell: keep it;
#  2. else `playwright install chromium` (where downloads work);
#  3. else Debian's chromium-headless-shell + ffmpeg through apt (machines that reach only package registries).
# Then link ffmpeg where Playwright looks for it, so video recording works with Debian's ffmpeg too.
set -euo pipefail
VENV=${VENV:-.venv}
BROWSERS=${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}
FFMPEG_REV=${FFMPEG_REV:-1013}
DEBIAN_SHELL=/usr/lib/chromium/chromium-headless-shell

have_browser() {
  compgen -G "$BROWSERS/chromium_headless_shell-*/chrome-*/chrome-headless-shell" >/dev/null \
    || compgen -G "$BROWSERS/chromium-*/chrome-linux*/chrome" >/dev/null \
    || [ -x "$DEBIAN_SHELL" ] || [ -x /usr/lib/chromium/chromium ]
}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  command -v apt-get >/dev/null || { echo "no apt-get: install Chromium and ffmpeg yourself" >&2; return 1; }
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! have_browser; then
  echo "no Chromium found: trying 'playwright install chromium'"
  if ! timeout 300 "$VENV/bin/playwright" install chromium >/dev/null 2>&1; then
    echo "playwright could not download a browser: installing Debian's chromium-headless-shell"
    apt_install chromium-headless-shell ffmpeg
  fi
fi

if ! compgen -G "$BROWSERS/ffmpeg-*/ffmpeg-linux" >/dev/null; then
  if ! command -v ffmpeg >/dev/null; then
    echo "installing ffmpeg (video recording)"
    apt_install ffmpeg || echo "warning: no ffmpeg: runs will record no video" >&2
  fi
  if command -v ffmpeg >/dev/null; then
    mkdir -p "$BROWSERS/ffmpeg-$FFMPEG_REV"
    ln -sf "$(command -v ffmpeg)" "$BROWSERS/ffmpeg-$FFMPEG_REV/ffmpeg-linux"
  fi
fi
