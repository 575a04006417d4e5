"""The dashboard's login: the API key a person pasted once, kept in a signed session cookie, and the CSRF token
of its forms.

The cookie (``autotest_session``) is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
it), limited to ``/ui`` and Secure over HTTPS. It holds the key encrypted and signed under the deployment's own
signing key (``cryptography``'s Fernet: AES-128-CBC with HMAC-SHA256 and a timestamp, so it expires after
``AUTOTEST_UI_SESSION_TTL_S`` and a cookie that leaks into a log does not show the key); the key itself is checked
on every request like any API call's, so a key that is revoked logs its dashboard out at once, and a page only
ever shows the key's project.

CSRF: every form post carries a token that is the HMAC of the browser's ``autotest_csrf`` cookie (random, made
at the login page) under the signing key. A page on another origin can neither read that cookie nor make the
token, and a post whose ``Origin`` is another host is refused as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.aws.clients import client
from shared.aws.errors import translate
from shared.errors import DomainError, Unavailable
from shared.observability import logger
from shared.settings import Settings

if TYPE_CHECKING:  # (cryptography is loaded by the first cookie sealed or opened, not at the API's cold start)
    from cryptography.fernet import Fernet

SESSION_COOKIE = "autotest_session"
CSRF_COOKIE = "autotest_csrf"
COOKIE_PATH = "/ui"
_SALT = "autotest.ui-session.v1"
#: the shortest signing key accepted (characters or bytes)
MIN_KEY_LENGTH = 32


class Sessions:
    """Seals an API key into a session cookie and opens it again; makes and checks CSRF tokens. ``key`` is the
    signing key, or what reads it when it is first needed (from Secrets Manager in AWS)."""

    def __init__(self, key: bytes | Callable[[], bytes], *, ttl_s: int) -> None:
        self._key = key
        self._ttl_s = ttl_s
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    @property
    def ttl_s(self) -> int:
        return self._ttl_s

    def _signing_key(self) -> bytes:
        key = self._key() if callable(self._key) else self._key
        if len(key) < MIN_KEY_LENGTH:
            raise Unavailable("the dashboard's signing key is shorter than 32 characters: set a longer one")
        self._key = key  # read once per process
        return key

    def _cipher(self) -> Fernet:
        from cryptography.fernet import Fernet

        with self._lock:
            if self._fernet is None:
                derived = hashlib.sha256(_SALT.encode() + b"\0" + self._signing_key()).digest()
                self._fernet = Fernet(base64.urlsafe_b64encode(derived))
            return self._fernet

    def seal(self, api_key: str) -> str:
        """The session cookie's value for ``api_key``."""
        token = self._cipher().encrypt(json.dumps({"k": api_key}).encode()).decode("ascii")
        return token.rstrip("=")  # a cookie value with no "=" needs no quoting

    def open(self, cookie: str | None) -> str | None:
        """The API key in a session cookie, or None when it is missing, tampered with or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        from cryptography.fernet import InvalidToken

        try:
            padded = cookie + "=" * (-len(cookie) % 4)
            data = json.loads(self._cipher().decrypt(padded.encode("ascii", errors="replace"), ttl=self._ttl_s))
        except (InvalidToken, ValueError):
            return None
        key = data.get("k") if isinstance(data, dict) else None
        return key if isinstance(key, str) and key else None

    def csrf_token(self, csrf_cookie: str) -> str:
        """The token a form posts for the browser whose CSRF cookie is ``csrf_cookie``."""
        mac = hmac.new(self._signing_key(), b"csrf:" + csrf_cookie.encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_ok(self, csrf_cookie: str | None, token: str | None) -> bool:
        if not csrf_cookie or not token:
            return False
        return hmac.compare_digest(self.csrf_token(csrf_cookie), token)


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)


def session_key_of(settings: Settings) -> bytes | Callable[[], bytes]:
    """The dashboard's signing key: ``AUTOTEST_UI_SESSION_KEY``, or what reads the Secrets Manager secret that
    ``AUTOTEST_UI_SESSION_KEY_SECRET`` names (the CDK stack makes one per deployment), when a page first needs it.
    With neither, the dashboard answers 503 saying so (the JSON API works without it)."""
    if settings.ui_session_key:
        return settings.ui_session_key.get_secret_value().encode()
    secret_id = settings.ui_session_key_secret

    def read() -> bytes:
        if not secret_id:
            raise Unavailable(
                "the dashboard is not set up: it needs a signing key (AUTOTEST_UI_SESSION_KEY, or the Secrets "
                "Manager secret AUTOTEST_UI_SESSION_KEY_SECRET names)"
            )
        try:
            with translate("read the dashboard's signing key"):
                found = client("secretsmanager", settings.aws_region, settings.aws_endpoint_url).get_secret_value(
                    SecretId=secret_id
                )
        except DomainError as exc:
            logger.error("cannot read the dashboard's signing key", secret=secret_id, error=exc.message)
            raise Unavailable("the dashboard cannot check logins right now; try again") from exc
        value = str(found.get("SecretString") or "").strip()
        if len(value) < MIN_KEY_LENGTH:
            logger.error("the dashboard's signing key secret holds fewer than 32 characters", secret=secret_id)
            raise Unavailable("the dashboard cannot check logins right now; try again")
        return value.encode()

    return read
