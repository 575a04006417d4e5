"""Artifact links that the API serves itself (local mode, where no S3 can presign them).

A link is ``{api}/v1/artifacts/{token}/{name}``. The token is signed with a key only the deployment
holds (HMAC-SHA256, through ``itsdangerous``) and carries the project, the run, the attempt and an
expiry: it opens the artifacts of that one attempt and nothing else, so that ``report.html``'s relative
links (``screenshots/step-001.png``, ``video.webm``) work under the same token. Whether a name is one
of that run's artifacts is the run service's rule (``RunService.open_artifact``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from itsdangerous import BadData, URLSafeSerializer

from shared.errors import Forbidden
from shared.models.runs import split_artifact_key
from shared.ports import ArtifactStore, LinkGrant, StoredArtifact

SALT = "autotest.artifact-link.v1"
ROUTE = "/v1/artifacts"


class ArtifactLinkSigner:
    """Makes and checks artifact-link tokens with ``key`` (keep it secret: it can sign any link)."""

    def __init__(self, key: bytes, base_url: str, *, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("an artifact link key needs at least 32 bytes")
        self._serializer = URLSafeSerializer(key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})
        self._base = base_url.rstrip("/")
        self._clock = clock

    def token(self, project_id: str, run_id: str, attempt: int, *, ttl_s: int) -> str:
        expires = int(self._clock()) + ttl_s
        return str(self._serializer.dumps({"p": project_id, "r": run_id, "a": attempt, "e": expires}))

    def url(self, key: str, *, ttl_s: int) -> str:
        """The link of a run artifact's key (made under ``artifact_prefix``)."""
        parts = split_artifact_key(key)
        if parts is None:
            raise ValueError(f"{key!r} is not a run artifact's key")
        project_id, run_id, attempt, name = parts
        token = self.token(project_id, run_id, attempt, ttl_s=ttl_s)
        return f"{self._base}{ROUTE}/{token}/{quote(name, safe='/')}"

    def check(self, token: str) -> LinkGrant:
        try:
            data: Any = self._serializer.loads(token)
        except BadData as exc:
            raise Forbidden("this artifact link is not valid: its signature does not match") from exc
        try:
            grant = LinkGrant(project_id=data["p"], run_id=data["r"], attempt=int(data["a"]), expires=int(data["e"]))
        except (KeyError, TypeError, ValueError) as exc:  # signed by us, so never: but never a 5xx either
            raise Forbidden("this artifact link is not valid") from exc
        if grant.expires < self._clock():
            raise Forbidden("this artifact link has expired: list the run's artifacts again for fresh links")
        return grant


class SignedLinkArtifacts:
    """An ArtifactStore whose links are :class:`ArtifactLinkSigner` links to the API; the rest is ``store``'s."""

    def __init__(self, store: ArtifactStore, signer: ArtifactLinkSigner) -> None:
        self._store = store
        self._signer = signer

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self._store.put(key, data, content_type=content_type)

    def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        self._store.put_file(key, path, content_type=content_type)

    def get(self, key: str) -> bytes:
        return self._store.get(key)

    def read(self, key: str) -> StoredArtifact:
        return self._store.read(key)

    def presigned_url(self, key: str, *, ttl_s: int) -> str:
        return self._signer.url(key, ttl_s=ttl_s)
