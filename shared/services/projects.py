"""Projects and API keys. Keys are random tokens shown once and stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

from shared.errors import Conflict, DomainError, NotFound, Unauthorized
from shared.ids import new_id, utcnow
from shared.models.pages import Page
from shared.models.projects import ApiKey, ApiKeyCreated, ApiKeyInfo, Principal, Project, ProjectCreated, Role
from shared.ports import ProjectStore

KEY_PREFIX = "atk_"
#: a key's last use is written at most this often (one write per key per 5 minutes, not one per request)
LAST_USED_EVERY = timedelta(minutes=5)
#: how many times a revoke reads the keys again when the admin key it kept was revoked meanwhile
REVOKE_ROUNDS = 3

log = logging.getLogger(__name__)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class Projects:
    def __init__(
        self,
        store: ProjectStore,
        *,
        bootstrap_key: str | Callable[[], str | None] | None = None,
        bootstrap_project: str = "default",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``bootstrap_key``: the key of the bootstrap project, or what reads it (a deployment's is in Secrets
        Manager), read on the first authentication and then kept. While it cannot be read (Unavailable), the
        projects' own keys still work; a key the store does not know is then a 503, not a 401 (it may have been
        the bootstrap key)."""
        self._store = store
        self._bootstrap_key = bootstrap_key
        self._bootstrap_hash: str | None = None
        self._bootstrap_project = bootstrap_project
        self._bootstrap_ready = False
        self._clock = clock

    def create_project(self, name: str, *, project_id: str | None = None) -> ProjectCreated:
        project = Project(id=project_id or new_id("prj"), name=name, created_at=self._clock())
        self._store.put_project(project)
        created = self.create_key(project.id, "default", "admin")
        return ProjectCreated(project=project, api_key=created.api_key, key_id=created.key_id)

    def create_key(self, project_id: str, name: str, role: Role = "viewer") -> ApiKeyCreated:
        self._store.get_project(project_id)
        api_key = generate_key()
        record = ApiKey(
            key_hash=hash_key(api_key),
            key_id=new_id("key"),
            project_id=project_id,
            name=name,
            created_at=self._clock(),
            role=role,
        )
        self._store.put_api_key(record)
        return ApiKeyCreated(api_key=api_key, key_id=record.key_id, project_id=project_id, role=role)

    def authenticate(self, api_key: str | None) -> Principal:
        if not api_key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        digest = hash_key(api_key)
        # The bootstrap key, once read, is told apart first (the admin's requests look nothing up); until then a
        # key is looked up first, so a project's key is checked without reading the bootstrap key (in AWS: no
        # Secrets Manager client made and called on a cold start's first request)
        known = self._bootstrap_hash
        if known and hmac.compare_digest(digest, known):
            return self._bootstrap_principal()
        record = self._store.get_api_key(digest)
        if record is not None:
            self._touch(record)
            return Principal(project_id=record.project_id, key_id=record.key_id, key_name=record.name, role=record.role)
        if known is None:  # not read yet: it may be the bootstrap key
            # (unreadable: Unavailable, not kept, so the next key checked reads it again; it may have been the
            # bootstrap key, which cannot be told now)
            bootstrap = self._bootstrap_digest()
            if bootstrap and hmac.compare_digest(digest, bootstrap):
                return self._bootstrap_principal()
        raise Unauthorized("invalid API key")

    def _touch(self, record: ApiKey) -> None:
        now = self._clock()
        if record.last_used_at is not None and now - record.last_used_at < LAST_USED_EVERY:
            return
        try:
            self._store.touch_api_key(record, now)
        except Conflict:
            raise Unauthorized("invalid API key") from None  # revoked between the read and now
        except DomainError as exc:  # the request goes on: its last use is written by a later one
            log.warning("could not record the last use of key %s: %s", record.key_id, exc)

    def list_keys(self, project_id: str, *, limit: int, cursor: str | None) -> Page[ApiKeyInfo]:
        page = self._store.list_api_keys(project_id, limit=limit, cursor=cursor)
        return Page[ApiKeyInfo](items=[ApiKeyInfo.of(k) for k in page.items], next_cursor=page.next_cursor)

    def _find_key(self, project_id: str, key_id: str) -> ApiKey:
        found = next((k for k in self._all_keys(project_id) if k.key_id == key_id), None)
        if found is None:
            raise NotFound(f"key {key_id} not found")
        return found

    def delete_key(self, project_id: str, key_id: str) -> ApiKeyInfo:
        """Revoke a key at once (its next request is a 401). The project's last admin key is kept: deleting it
        would leave nobody able to manage the project's keys and secrets (a 409).

        An admin key is deleted only while another admin key still exists, checked in the store's delete itself
        (``keep``): two revokes at once of the last two admin keys each read two admins, and without it both
        would go. When the kept key went meanwhile, the keys are read again (up to ``REVOKE_ROUNDS`` times)."""
        gone: set[str] = set()  # admin keys kept by a try that were revoked meanwhile (the listing may lag)
        for _ in range(REVOKE_ROUNDS):
            key = self._find_key(project_id, key_id)
            keep = None
            if key.role == "admin":
                others = [
                    k
                    for k in self._all_keys(project_id)
                    if k.role == "admin" and k.key_id != key_id and k.key_hash not in gone
                ]
                if not others:
                    raise Conflict(
                        f"key {key_id} is the project's last admin key: create another admin key first",
                        details={"key_id": key_id},
                    )
                keep = others[0]
            try:
                self._store.delete_api_key(key, keep=keep)
            except Conflict:
                if self._store.get_api_key(key.key_hash) is None:  # (a consistent read; the listing may lag)
                    raise NotFound(f"key {key_id} not found") from None
                if keep is not None:  # the admin key kept was revoked meanwhile: read the keys again
                    gone.add(keep.key_hash)
                continue
            return ApiKeyInfo.of(key)
        raise Conflict(
            f"the project's admin keys kept changing while key {key_id} was revoked; try again",
            details={"key_id": key_id},
        )

    def _all_keys(self, project_id: str) -> list[ApiKey]:
        keys: list[ApiKey] = []
        cursor: str | None = None
        while True:
            page = self._store.list_api_keys(project_id, limit=100, cursor=cursor)
            keys += page.items
            if not page.next_cursor:
                return keys
            cursor = page.next_cursor

    def _bootstrap_principal(self) -> Principal:
        self._ensure_bootstrap_project()
        return Principal(
            project_id=self._bootstrap_project, key_id="bootstrap", key_name="bootstrap", role="admin", bootstrap=True
        )

    def get_project(self, project_id: str) -> Project:
        return self._store.get_project(project_id)

    def _bootstrap_digest(self) -> str | None:
        if self._bootstrap_hash is None:
            key = self._bootstrap_key() if callable(self._bootstrap_key) else self._bootstrap_key
            self._bootstrap_hash = hash_key(key) if key else ""
        return self._bootstrap_hash or None

    def _ensure_bootstrap_project(self) -> None:
        if self._bootstrap_ready:
            return
        try:
            self._store.get_project(self._bootstrap_project)
        except NotFound:
            with suppress(Conflict):  # created concurrently
                self._store.put_project(
                    Project(id=self._bootstrap_project, name=self._bootstrap_project, created_at=self._clock())
                )
        self._bootstrap_ready = True
