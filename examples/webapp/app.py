"""The example web app: a login form, a list, a form with select / checkbox / radio, a page that
changes after a delay, a slow page, and a small JSON API.

Start it with :func:`serve` (a thread; port 0 picks a free port) or ``python -m examples.webapp``. A
``variant`` serves the same app redesigned (``"redesigned"``) or with an element removed (``"removed"``):
``redesigned.py``. The list page's buttons report their clicks to ``POST /api/clicked`` (``WebApp.clicks``).
"""

from __future__ import annotations

import html
import json
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from examples.webapp import redesigned

Variant = Literal["original", "redesigned", "removed"]

ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct-horse"  # noqa: S105 - the example app's demo credential
API_TOKEN = "tok-example-123"  # noqa: S105
MAX_SLOW_MS = 30_000

_FLAKY_SEEN: set[str] = set()
_FLAKY_LOCK = threading.Lock()

ITEMS = [
    {"id": 1, "name": "Apples", "price": 3.5, "tags": ["fruit"]},
    {"id": 2, "name": "Bread", "price": 2.25, "tags": ["bakery"]},
    {"id": 3, "name": "Cheese", "price": 7.0, "tags": ["dairy", "deli"]},
]


def _page(title: str, body: str, *, script: str = "") -> str:
    links = (("/", "Home"), ("/login", "Login"), ("/list", "List"), ("/form", "Form"), ("/delayed", "Delayed"))
    nav = "<nav>" + " ".join(f'<a href="{href}">{text}</a>' for href, text in links) + "</nav>"
    js = f"<script>{script}</script>" if script else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2rem} label{display:block;margin:.5rem 0}</style>"
        f"</head><body>{nav}<main>{body}</main>{js}</body></html>"
    )


def _login_form(error: str = "") -> str:
    alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return _page(
        "Log in",
        f"""<h1>Log in</h1>{alert}
<form method="post" action="/login">
  <label for="username">Username</label><input id="username" name="username" autocomplete="username">
  <label for="password">Password</label><input id="password" name="password" type="password">
  <button type="submit">Log in</button>
</form>""",
    )


LIST_PAGE = _page(
    "Shopping list",
    '<h1>Shopping list</h1><ul aria-label="Items">'
    + "".join(
        f'<li data-testid="item-{i["id"]}">{html.escape(str(i["name"]))} '
        f'<span class="price">${i["price"]:.2f}</span> <button type="button">Remove</button></li>'
        for i in ITEMS
    )
    + '</ul><p>Total items: <output id="count">3</output></p>',
    script=redesigned.CLICK_LOG_JS
    + """
document.querySelectorAll('li button').forEach(b => b.addEventListener('click', e => {
  logClick(e.target.textContent);
  e.target.closest('li').remove();
  document.getElementById('count').textContent = document.querySelectorAll('li').length;
}));""",
)

FORM_PAGE = _page(
    "Preferences",
    """<h1>Preferences</h1>
<form method="get" action="/form/result">
  <label for="color">Favourite color</label>
  <select id="color" name="color">
    <option value="">Choose...</option><option value="red">Red</option>
    <option value="green">Green</option><option value="blue">Blue</option>
  </select>
  <label><input type="checkbox" name="newsletter" value="yes"> Subscribe to the newsletter</label>
  <fieldset><legend>Size</legend>
    <label><input type="radio" name="size" value="small"> Small</label>
    <label><input type="radio" name="size" value="medium"> Medium</label>
    <label><input type="radio" name="size" value="large"> Large</label>
  </fieldset>
  <label for="notes">Notes</label><textarea id="notes" name="notes" placeholder="Anything else?"></textarea>
  <button type="submit">Save preferences</button>
</form>""",
)

DELAYED_SCRIPT = """
const ms = Number(new URLSearchParams(location.search).get('ms') || 1000);
setTimeout(() => {
  document.getElementById('status').textContent = 'Ready';
  const b = document.createElement('button'); b.textContent = 'Continue';
  b.addEventListener('click', () => { document.getElementById('status').textContent = 'Done'; });
  document.querySelector('main').appendChild(b);
}, ms);"""


class _Handler(BaseHTTPRequestHandler):
    server_version = "autotest-example/1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own output
        return

    # ------------------------------------------------------------------------------- routing

    @property
    def variant(self) -> Variant:
        return getattr(self.server, "variant", "original")

    def _redesigned(self, path: str) -> str | None:
        """The page of the redesigned (or removed-element) variant at ``path``, if it differs."""
        if self.variant == "removed":
            return (
                redesigned.removed_list_page(ITEMS, lambda t, b, js: _page(t, b, script=js))
                if path == "/list"
                else None
            )
        if self.variant != "redesigned":
            return None
        pages = {
            "/login": redesigned.login_form,
            "/list": lambda: redesigned.list_page(ITEMS),
            "/form": lambda: redesigned.FORM,
            "/delayed": redesigned.delayed,
        }
        build = pages.get(path)
        return build() if build else None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        other = self._redesigned(path)
        if other is not None:
            self._html(other)
        elif path == "/":
            self._html(_page("Example app", "<h1>Example app</h1><p>Pages for autotest examples.</p>"))
        elif path == "/login":
            self._html(_login_form())
        elif path == "/welcome":
            user = query.get("user", "")
            self._html(_page("Welcome", f"<h1>Welcome, {html.escape(user)}</h1><p>You are logged in.</p>"))
        elif path == "/list":
            self._html(LIST_PAGE)
        elif path == "/form":
            self._html(FORM_PAGE)
        elif path == "/form/result":
            summary = ", ".join(
                f"{k}: {html.escape(query.get(k, '') or '-')}" for k in ("color", "newsletter", "size", "notes")
            )
            self._html(_page("Saved", f'<h1>Saved</h1><p id="summary">{summary}</p>'))
        elif path == "/delayed":
            self._html(
                _page("Delayed", '<h1>Delayed</h1><p id="status" role="status">Loading...</p>', script=DELAYED_SCRIPT)
            )
        elif path == "/slow":
            ms = min(int(query.get("ms", "2000") or 0), MAX_SLOW_MS)
            time.sleep(ms / 1000)
            self._html(_page("Slow", f"<h1>Slow page</h1><p>Answered after {ms} ms</p>"))
        elif path == "/flaky":
            # Fails the first time a key is seen, then works: for retry and flakiness demos.
            key = query.get("key", "")
            with _FLAKY_LOCK:
                seen = key in _FLAKY_SEEN
                _FLAKY_SEEN.add(key)
            text = "Stable now" if seen else "Not yet"
            self._html(_page("Flaky", f"<h1>Flaky</h1><p>{text}</p>"))
        elif path == "/redirect":
            self._redirect(query.get("to", "/"), int(query.get("code", "302")))
        elif path == "/api/items":
            self._json({"items": ITEMS, "count": len(ITEMS)})
        elif path.startswith("/api/items/"):
            item = next((i for i in ITEMS if str(i["id"]) == path.rsplit("/", 1)[1]), None)
            if item is None:
                self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
            else:
                self._json(item)
        elif path == "/api/me":
            if self.headers.get("Authorization") != f"Bearer {API_TOKEN}":
                self._json({"error": "unauthorized"}, HTTPStatus.UNAUTHORIZED)
            else:
                self._json({"user": ADMIN_USER, "roles": ["admin"]})
        else:
            self._html(_page("Not found", "<h1>Not found</h1>"), HTTPStatus.NOT_FOUND)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1_000_000))
        if path == "/redirect":
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self._redirect(query.get("to", "/"), int(query.get("code", "302")))
        elif path == "/login":
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            if form.get("username") == ADMIN_USER and form.get("password") == ADMIN_PASSWORD:
                self._redirect(f"/welcome?user={ADMIN_USER}", 303)
            else:
                error = "Invalid username or password"
                shown = redesigned.login_form(error) if self.variant == "redesigned" else _login_form(error)
                self._html(shown, HTTPStatus.UNAUTHORIZED)
        elif path == "/api/login":
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._json({"error": "invalid JSON"}, HTTPStatus.BAD_REQUEST)
                return
            if body.get("username") == ADMIN_USER and body.get("password") == ADMIN_PASSWORD:
                self._json({"token": API_TOKEN, "user": {"name": ADMIN_USER}})
            else:
                self._json({"error": "invalid credentials"}, HTTPStatus.UNAUTHORIZED)
        elif path == "/api/clicked":
            clicks: list[str] = getattr(self.server, "clicks", [])
            if len(clicks) < 1000:
                clicks.append(raw.decode(errors="replace")[:200])
            self._json({"ok": True})
        elif path == "/api/echo":
            self._json(
                {
                    "method": "POST",
                    "path": self.path,
                    "body": raw.decode(errors="replace"),
                    "headers": dict(self.headers),
                }
            )
        else:
            self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

    # ------------------------------------------------------------------------------ responses

    def _send(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, text: str, status: int = HTTPStatus.OK) -> None:
        self._send(status, "text/html; charset=utf-8", text.encode())

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        self._send(status, "application/json", json.dumps(data).encode(), {"X-Example": "yes"})

    def _redirect(self, location: str, code: int) -> None:
        code = code if code in (301, 302, 303, 307, 308) else 302
        self._send(code, "text/plain", b"", {"Location": location})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog of 5 drops the SYNs of a burst (8 dataset rows at once, a connection per request):
    # each is retried a second later, and a latency check fails at random
    request_queue_size = 128
    variant: Variant = "original"
    clicks: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a test's timeout) is not the app's error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class WebApp:
    server: ThreadingHTTPServer
    thread: threading.Thread
    url: str
    variant: Variant = "original"

    @property
    def clicks(self) -> list[str]:
        """The names of the list page's buttons clicked so far, in order (``POST /api/clicked``)."""
        return list(getattr(self.server, "clicks", []))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> WebApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(host: str = "127.0.0.1", port: int = 0, *, variant: Variant = "original") -> WebApp:
    """Start the app in a daemon thread; ``port=0`` picks a free port. ``variant``: the app as it is, redesigned,
    or with the list items' Remove buttons removed (``redesigned.py``). Returns the running app."""
    server = _Server((host, port), _Handler)
    server.variant = variant
    server.clicks = []
    bound_port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    thread = threading.Thread(target=server.serve_forever, name="example-webapp", daemon=True)
    thread.start()
    return WebApp(server=server, thread=thread, url=f"http://{shown}:{bound_port}", variant=variant)
