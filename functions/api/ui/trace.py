"""Playwright's trace viewer, served from ``/ui/trace/``: a run's trace opens offline, on the API's own origin,
at ``/ui/trace/index.html?trace=/ui/runs/<run id>/files/<attempt>/trace.zip``.

The viewer is the static site the ``playwright`` package ships (``driver/package/lib/vite/traceViewer``): a page,
its scripts and styles, and a service worker (``sw.bundle.js``, scope ``/ui/trace/``) that fetches the trace
(same origin: the session cookie goes with it; in AWS a large one is a redirect to a presigned S3 URL), unzips
it and answers the page's requests for actions and snapshots. Only files inside that directory are served, each
with a Content-Security-Policy that allows what the viewer does and no more (:func:`content_security_policy`).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import FileResponse

from functions.api.deps import SettingsDep
from functions.api.ui import artifact_origins
from shared.errors import NotFound
from shared.settings import Settings

router = APIRouter(prefix="/ui/trace", include_in_schema=False)

#: the viewer inside the installed ``playwright`` package
IN_PLAYWRIGHT = Path("driver", "package", "lib", "vite", "traceViewer")
#: the copy the API Lambda's bundle carries (``infra_cdk/bundling.py`` puts it there; not in the repository)
BUNDLED = Path(__file__).with_name("trace_viewer")

NOT_INSTALLED = (
    "the trace viewer is not installed: install the playwright package beside the API (`make install`), or set "
    "AUTOTEST_TRACE_VIEWER_DIR to a copy of its driver/package/lib/vite/traceViewer directory"
)

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".ttf": "font/ttf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
}
#: a name with the build's content hash (``index.BY2vkw8A.js``, ``assets/xtermModule-Cv6bi7od.js``): its
#: content never changes under that name
_HASHED = re.compile(r"[.-][A-Za-z0-9_-]{8}\.(?:js|css|ttf|woff2?|svg|png|wasm)$")
_IMMUTABLE = "public, max-age=31536000, immutable"
#: the page and the service worker: revalidated each time (ETag), so a new viewer is picked up at once
_REVALIDATE = "no-cache"
#: the style of the viewer's empty snapshot pane (a ``data:text/html`` document in its bundle)
_PLACEHOLDER_STYLE = "body { color-scheme: light dark; background: light-dark(white, #333) }"


def viewer_dir(settings: Settings) -> Path | None:
    """The viewer's directory: ``settings.trace_viewer_dir`` when set, else the copy bundled beside this
    module, else the installed ``playwright`` package's; None when the one chosen has no ``index.html``."""
    if settings.trace_viewer_dir is not None:
        chosen: Path | None = settings.trace_viewer_dir
    elif (BUNDLED / "index.html").is_file():
        chosen = BUNDLED
    else:
        chosen = installed_viewer()
    return chosen.resolve() if chosen is not None and (chosen / "index.html").is_file() else None


@lru_cache(maxsize=1)
def installed_viewer() -> Path | None:
    """The viewer of the installed ``playwright`` package, found without importing it (the API Lambda has no
    Playwright: there it is None)."""
    try:
        spec = importlib.util.find_spec("playwright")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / IN_PLAYWRIGHT
        if (candidate / "index.html").is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Inline:
    """What one of the viewer's pages has inline (as a browser hashes it): its policy allows these by hash, and
    no other inline script or style."""

    scripts: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    style_attributes: tuple[str, ...] = ()


def content_security_policy(settings: Settings, inline: Inline = Inline()) -> str:
    """The policy of every viewer response: a page's (with ``inline``, what that page has inline), and the
    service worker's, which governs the worker's own fetches."""
    styles = [_hash(style) for style in (_PLACEHOLDER_STYLE, *inline.styles)]
    if inline.style_attributes:
        styles += ["'unsafe-hashes'", *(_hash(style) for style in inline.style_attributes)]
    directives = {
        "default-src": ["'none'"],
        # the viewer's modules; index.html's own inline script (the error it shows when opened from a file:)
        "script-src": ["'self'", *(_hash(script) for script in inline.scripts)],
        "worker-src": ["'self'"],
        # the trace, fetched by the service worker: from here, from a blob: (a file dropped or chosen on the page),
        # or where its redirect points (a large one, in AWS: its presigned S3 URL)
        "connect-src": ["'self'", "blob:", *artifact_origins(settings)],
        # the snapshot panes (the service worker's snapshot/... documents) and their empty placeholder (data:)
        "frame-src": ["'self'", "data:"],
        # the stylesheets; the placeholder's one <style> (a data: frame keeps its parent's policy); snapshot.html's
        # style attribute
        "style-src": ["'self'", *styles],
        "font-src": ["'self'"],
        # screenshots, through the service worker
        "img-src": ["'self'"],
        "manifest-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _hash(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


IfNoneMatch = Annotated[str | None, Header()]


@router.get("/")
def viewer_index(settings: SettingsDep, if_none_match: IfNoneMatch = None) -> Response:
    return _serve(settings, "index.html", if_none_match)


@router.get("/{path:path}")
def viewer_file(path: str, settings: SettingsDep, if_none_match: IfNoneMatch = None) -> Response:
    return _serve(settings, path, if_none_match)


def _serve(settings: Settings, path: str, if_none_match: str | None) -> Response:
    root = viewer_dir(settings)
    if root is None:
        raise NotFound(NOT_INSTALLED)
    file = _inside(root, path)
    stat = file.stat()
    inline = _inline(file, stat.st_mtime_ns) if file.suffix == ".html" else Inline()
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": _IMMUTABLE if _HASHED.search(file.name) else _REVALIDATE,
        "Content-Security-Policy": content_security_policy(settings, inline),
        "Referrer-Policy": "same-origin",
    }
    media_type = _CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
    response = FileResponse(file, media_type=media_type, headers=headers, stat_result=stat)
    etag = response.headers["etag"]
    if if_none_match and etag in {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers={**headers, "ETag": etag})
    return response


def _inside(root: Path, path: str) -> Path:
    """The file ``path`` names inside ``root``; NotFound for anything else (``..``, an absolute path, a link
    out, a directory, a name that cannot be a file)."""
    missing = NotFound(f"the trace viewer has no file {path!r}")
    if "\x00" in path or "\\" in path:
        raise missing
    try:
        file = (root / path).resolve()
    except (OSError, ValueError) as exc:
        raise missing from exc
    if not file.is_relative_to(root) or not file.is_file():
        raise missing
    return file


@lru_cache(maxsize=8)
def _inline(file: Path, mtime_ns: int) -> Inline:
    """What one of the viewer's pages has inline (read once per version of the file)."""
    finder = _InlineFinder()
    finder.feed(file.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n"))
    finder.close()
    return Inline(tuple(finder.scripts), tuple(finder.styles), tuple(finder.style_attributes))


class _InlineFinder(HTMLParser):
    """The inline scripts, ``<style>`` elements and ``style`` attributes of a page, as parsed (a browser hashes
    the text of an element, and an attribute's value with its character references read)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.style_attributes: list[str] = []
        self._element: list[str] | None = None  # where the text of the inline element being read goes
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("style"):
            self.style_attributes.append(attributes["style"] or "")
        if (tag == "script" and "src" not in attributes) or tag == "style":
            self._element, self._text = (self.scripts if tag == "script" else self.styles), []

    def handle_data(self, data: str) -> None:
        if self._element is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._element is not None and tag in ("script", "style"):
            self._element.append("".join(self._text))
            self._element = None
