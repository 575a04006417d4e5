"""Local mode's encrypted secret store: nothing readable on disk, the key apart from the data and the state
snapshot, owner-only files, writes durable before they return, and a missing or wrong key said clearly.
The SecretStore contract itself is in tests/integration/test_secret_store_contract.py."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import cli.local.secret_store as module
from cli.local.secret_store import EncryptedFileSecretStore, SecretStoreError, local_secrets
from shared.errors import InvalidInput
from shared.settings import Settings

VALUE = "s3cr3t-v4lue-ÿ"


def every_file(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_values_are_encrypted_and_the_key_is_kept_outside_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given local mode's data directory and a home of its own (the key's default place)
    data_dir, config = tmp_path / "data", tmp_path / "home-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    settings = Settings(secrets_key_file=None)

    # When a secret is stored through local mode's wiring
    local_secrets(settings, data_dir).put_secret("prj_a", "ADMIN_PASSWORD", VALUE)

    # Then no file of the data directory holds the value, in any spelling, nor the key
    files = every_file(data_dir)
    [key_file] = config.glob("autotest/secret-keys/*.key")
    key = key_file.read_bytes().strip()
    for path, data in files.items():
        for spelling in (VALUE.encode(), VALUE.encode("latin-1", "replace"), json.dumps(VALUE).encode()[1:-1]):
            assert spelling not in data, path
        assert key not in data, path
    # the store is beside the state snapshot, not in it
    assert all("state" not in p.relative_to(data_dir).parts for p in files)
    assert (data_dir / "secrets" / "store.json").is_file()
    # owner-only: directories 0700, files 0600, the key 0600 in a 0700 directory
    assert mode(data_dir / "secrets") == 0o700 and mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    for path in (data_dir / "secrets").rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_a_reopened_store_reads_its_secrets_with_its_key(tmp_path: Path) -> None:
    key = tmp_path / "key"
    EncryptedFileSecretStore(tmp_path / "secrets", key_file=key).put("prj_a", "TOKEN", VALUE)

    again = EncryptedFileSecretStore(tmp_path / "secrets", key_file=key)

    assert again.get("prj_a", "TOKEN") == VALUE
    assert [i.name for i in again.list("prj_a")] == ["TOKEN"]


def test_a_missing_key_is_said_and_nothing_is_overwritten(tmp_path: Path) -> None:
    key = tmp_path / "key"
    EncryptedFileSecretStore(tmp_path / "secrets", key_file=key).put("prj_a", "TOKEN", VALUE)
    key.rename(tmp_path / "elsewhere")
    before = every_file(tmp_path / "secrets")

    with pytest.raises(SecretStoreError, match=r"needs its key, which is not at .*key.*AUTOTEST_SECRETS_KEY_FILE"):
        EncryptedFileSecretStore(tmp_path / "secrets", key_file=key)

    assert every_file(tmp_path / "secrets") == before and not key.exists()


def test_another_key_does_not_open_the_store(tmp_path: Path) -> None:
    EncryptedFileSecretStore(tmp_path / "one", key_file=tmp_path / "key-one")
    EncryptedFileSecretStore(tmp_path / "two", key_file=tmp_path / "key-two")

    with pytest.raises(SecretStoreError, match="is not the key of the secret store"):
        EncryptedFileSecretStore(tmp_path / "one", key_file=tmp_path / "key-two")


def test_a_store_without_secrets_gets_a_new_key_when_its_key_is_gone(tmp_path: Path) -> None:
    key = tmp_path / "key"
    EncryptedFileSecretStore(tmp_path / "secrets", key_file=key)
    key.unlink()

    store = EncryptedFileSecretStore(tmp_path / "secrets", key_file=key)
    store.put("prj_a", "TOKEN", VALUE)

    assert key.is_file()
    assert EncryptedFileSecretStore(tmp_path / "secrets", key_file=key).get("prj_a", "TOKEN") == VALUE


def test_a_secret_file_moved_into_another_project_does_not_decrypt_there(tmp_path: Path) -> None:
    # Given project A's secret, and project B's directory of the same store
    store = EncryptedFileSecretStore(tmp_path / "secrets", key_file=tmp_path / "key")
    store.put("prj_a", "TOKEN", VALUE)
    store.put("prj_b", "OTHER", "b")
    [a_file] = store._project_dir("prj_a").glob("*.json")

    # When A's file is copied where B's TOKEN would be, with B's project id written into it
    forged = json.loads(a_file.read_text()) | {"project_id": "prj_b"}
    store._path("prj_b", "TOKEN").write_text(json.dumps(forged))

    # Then B cannot read A's value: the project is bound into the cipher
    with pytest.raises(InvalidInput, match="cannot be decrypted"):
        store.get("prj_b", "TOKEN")


def test_a_write_is_fsynced_before_it_replaces_the_file_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EncryptedFileSecretStore(tmp_path / "secrets", key_file=tmp_path / "key")
    store.put("prj_a", "TOKEN", "first")  # the project's directory exists now
    calls: list[tuple[str, Any]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        calls.append(("replace", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(module.os, "fsync", fsync)
    monkeypatch.setattr(module.os, "replace", replace)

    store.put("prj_a", "TOKEN", "second")

    target = store._path("prj_a", "TOKEN").name
    assert calls == [("fsync", "file"), ("replace", target), ("fsync", "dir")]


def test_a_crash_before_the_rename_leaves_the_old_value_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EncryptedFileSecretStore(tmp_path / "secrets", key_file=tmp_path / "key")
    store.put("prj_a", "TOKEN", "old")

    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.put("prj_a", "TOKEN", "new")
    monkeypatch.undo()
    # a temporary file a hard crash would have left behind
    (store._project_dir("prj_a") / ".tmp-left-by-a-crash").write_bytes(b"partial")

    again = EncryptedFileSecretStore(tmp_path / "secrets", key_file=tmp_path / "key")

    assert again.get("prj_a", "TOKEN") == "old"
    assert [p.name for p in again._project_dir("prj_a").iterdir()] == [again._path("prj_a", "TOKEN").name]
