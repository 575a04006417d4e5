"""Local mode's secret store (SecretStore port): every project's secrets in the data directory, each
value encrypted with AES-256-GCM (``cryptography``) under a key kept apart from the data.

Layout::

    <data-dir>/secrets/                       0700, beside (not inside) the state snapshot's <data-dir>/state/
      store.json                              the store's id and a check value of its key (no secrets)
      <sha256(project)[:32]>/                 0700, one directory per project
        <sha256(project, name)[:32]>.json     0600, one secret: project, name, updated_at, nonce, ciphertext
    key: AUTOTEST_SECRETS_KEY_FILE, else $XDG_CONFIG_HOME/autotest/secret-keys/<store id>.key (0600)

The key lives outside the data directory by default, so a copy of the data directory (a CI cache, a bug
report, a backup) holds no readable secret. The project, name and update time of a secret are the
cipher's associated data: a file moved into another project's directory, renamed or edited does not
decrypt. File names are digests so that names differing only in case stay apart on case-insensitive file
systems. Every write is durable before it returns: a temporary file in the same directory, fsync,
rename, fsync of the directory.

Written here because no library does this: ``cryptography`` gives the cipher; keyring libraries need a
desktop keyring service, which a CI machine or container has not.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import InvalidInput, NotFound
from shared.ids import utcnow
from shared.models.secrets import SecretInfo
from shared.observability import logger
from shared.secrets import EnvSecrets
from shared.services.secrets import Secrets
from shared.settings import Settings

FORMAT = "autotest-secrets"
VERSION = 1
STORE_FILE = "store.json"
_TMP_PREFIX = ".tmp-"
_KEY_CHECK = b"autotest secret store key check"


class SecretStoreError(Exception):
    """The store cannot be opened (its key is missing or is not the store's): nothing was changed."""


def default_key_file(store_id: str) -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autotest" / "secret-keys" / f"{store_id}.key"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mkdir_private(path: Path) -> None:
    """``path`` (and missing parents) as an owner-only directory, its entry durable."""
    if path.is_dir():
        return
    _mkdir_private(path.parent)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
        _fsync_dir(path.parent)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (owner-only), durable when this returns: temp file, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


class EncryptedFileSecretStore:
    def __init__(
        self, directory: Path, *, key_file: Path | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        """Open (or create) the store in ``directory``; SecretStoreError when its key is missing or wrong."""
        self.directory = directory
        self._clock = clock
        _mkdir_private(directory)
        self._cleanup_temporaries(directory)
        meta = self._read_meta()
        self.store_id = meta["store_id"] if meta else secrets.token_hex(16)
        self.key_file = key_file or default_key_file(self.store_id)
        self._aead = AESGCM(self._load_key(meta))

    # ------------------------------------------------------------------------------ opening

    def _read_meta(self) -> dict[str, Any] | None:
        path = self.directory / STORE_FILE
        if not path.is_file():
            return None
        try:
            meta = json.loads(path.read_text())
            if meta.get("format") != FORMAT or not isinstance(meta.get("store_id"), str):
                raise ValueError("not an autotest secret store")
        except (ValueError, AttributeError) as exc:
            raise SecretStoreError(f"{path} is damaged ({exc}): move {self.directory} aside to start over") from exc
        if meta.get("version") != VERSION:
            raise SecretStoreError(f"{path} is of version {meta.get('version')}; this autotest reads {VERSION}")
        return dict(meta)

    def _load_key(self, meta: dict[str, Any] | None) -> bytes:
        if self.key_file.is_file():
            key = self._read_key()
            if meta is not None and not self._opens(key, meta):
                raise SecretStoreError(
                    f"the key {self.key_file} is not the key of the secret store {self.directory}: set "
                    "AUTOTEST_SECRETS_KEY_FILE to its key, or move the store aside to start over"
                )
            if meta is None:
                self._write_meta(key)
            return key
        if meta is not None and self._has_secrets():
            raise SecretStoreError(
                f"the secret store {self.directory} needs its key, which is not at {self.key_file}: copy the "
                "key there (or set AUTOTEST_SECRETS_KEY_FILE to it), or move the store aside to start over"
            )
        key = AESGCM.generate_key(bit_length=256)
        _mkdir_private(self.key_file.parent)
        try:
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another process: use that one
            return self._load_key(meta)
        with os.fdopen(fd, "w") as out:
            out.write(_b64(key) + "\n")
            out.flush()
            os.fsync(out.fileno())
        _fsync_dir(self.key_file.parent)
        self._write_meta(key)
        logger.info("secret store key created", key_file=str(self.key_file))
        return key

    def _read_key(self) -> bytes:
        if self.key_file.stat().st_mode & 0o077:
            logger.warning("the secret store's key file is readable by others", key_file=str(self.key_file))
        try:
            key = _unb64(self.key_file.read_text().strip())
        except (ValueError, binascii.Error) as exc:
            raise SecretStoreError(f"{self.key_file} does not hold a key (base64 of 32 bytes)") from exc
        if len(key) != 32:
            raise SecretStoreError(f"{self.key_file} does not hold a key (base64 of 32 bytes)")
        return key

    def _opens(self, key: bytes, meta: dict[str, Any]) -> bool:
        check = meta.get("key_check") or {}
        try:
            plain = AESGCM(key).decrypt(_unb64(check.get("nonce")), _unb64(check.get("ciphertext")), self._aad_meta())
        except (InvalidTag, ValueError, binascii.Error):
            return False
        return plain == _KEY_CHECK

    def _aad_meta(self) -> bytes:
        return f"{FORMAT}:{VERSION}:{self.store_id}".encode()

    def _write_meta(self, key: bytes) -> None:
        nonce = os.urandom(12)
        check = AESGCM(key).encrypt(nonce, _KEY_CHECK, self._aad_meta())
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "store_id": self.store_id,
            "cipher": "AES-256-GCM",
            "key_check": {"nonce": _b64(nonce), "ciphertext": _b64(check)},
        }
        write_durably(self.directory / STORE_FILE, (json.dumps(meta, indent=2) + "\n").encode())

    def _has_secrets(self) -> bool:
        return any(p.is_dir() and any(p.glob("*.json")) for p in self.directory.iterdir())

    @staticmethod
    def _cleanup_temporaries(directory: Path) -> None:
        """Temporary files a crash left behind (never renamed into place: nothing acknowledged is lost)."""
        for path in [*directory.glob(f"{_TMP_PREFIX}*"), *directory.glob(f"*/{_TMP_PREFIX}*")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # ---------------------------------------------------------------------------------- files

    def _project_dir(self, project_id: str) -> Path:
        return self.directory / _digest(project_id)

    def _path(self, project_id: str, name: str) -> Path:
        return self._project_dir(project_id) / f"{_digest(project_id, name)}.json"

    def _aad(self, project_id: str, name: str, updated_at: str) -> bytes:
        fields = {"store": self.store_id, "project_id": project_id, "name": name, "updated_at": updated_at}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @staticmethod
    def _read_record(path: Path) -> dict[str, Any] | None:
        try:
            record = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            logger.warning("unreadable secret file skipped", path=str(path))
            return None
        return record if isinstance(record, dict) else None

    # ------------------------------------------------------------------------------ the port

    def put(self, project_id: str, name: str, value: str) -> SecretInfo:
        updated = self._clock()
        stamp = updated.isoformat()
        nonce = os.urandom(12)
        ciphertext = self._aead.encrypt(nonce, value.encode("utf-8"), self._aad(project_id, name, stamp))
        record = {
            "version": VERSION,
            "project_id": project_id,
            "name": name,
            "updated_at": stamp,
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
        }
        _mkdir_private(self._project_dir(project_id))
        write_durably(self._path(project_id, name), json.dumps(record).encode())
        return SecretInfo(name=name, updated_at=updated)

    def get(self, project_id: str, name: str) -> str | None:
        path = self._path(project_id, name)
        record = self._read_record(path)
        if record is None:
            return None
        if record.get("project_id") != project_id or record.get("name") != name:
            return None
        try:
            aad = self._aad(project_id, name, str(record.get("updated_at")))
            plain = self._aead.decrypt(_unb64(record.get("nonce")), _unb64(record.get("ciphertext")), aad)
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise InvalidInput(
                f"secret {name} cannot be decrypted ({path} was changed or belongs to another store): "
                f"set it again with `autotest secrets set {name}`"
            ) from exc
        return plain.decode("utf-8")

    def list(self, project_id: str) -> list[SecretInfo]:
        folder = self._project_dir(project_id)
        if not folder.is_dir():
            return []
        items: list[SecretInfo] = []
        for path in folder.glob("*.json"):
            record = self._read_record(path)
            if record is None or record.get("project_id") != project_id:
                continue
            name = record.get("name")
            if not isinstance(name, str) or path.name != f"{_digest(project_id, name)}.json":
                continue
            try:
                updated = datetime.fromisoformat(str(record.get("updated_at")))
            except ValueError:
                continue
            items.append(SecretInfo(name=name, updated_at=updated))
        return sorted(items, key=lambda info: info.name)

    def delete(self, project_id: str, name: str) -> None:
        path = self._path(project_id, name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"secret {name} not found") from None
        _fsync_dir(path.parent)


def local_secrets(settings: Settings, data_dir: Path) -> Secrets:
    """Local mode's secrets service: the encrypted store in ``<data-dir>/secrets/``, and the environment
    (``AUTOTEST_SECRET_<NAME>``, ``settings.secrets_file``) for the bootstrap project alone."""
    store = EncryptedFileSecretStore(data_dir / "secrets", key_file=settings.secrets_key_file)
    return Secrets(store, environment=EnvSecrets(settings.secrets_file), environment_project=settings.bootstrap_project)
