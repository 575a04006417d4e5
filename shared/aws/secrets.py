"""Secrets Manager secret store (SecretStore port): a project's secret NAME is the secret
``<prefix><project id>/<NAME>`` (prefix ``autotest/`` by default, ``Settings.secrets_prefix``), its value the
secret string, tagged ``autotest:project``. Retries are botocore's (``shared/aws/clients.py``).

Delete and re-create: a delete schedules the deletion with a recovery window
(``Settings.secrets_recovery_days``, 7 by default, Secrets Manager's minimum), so an operator can still
restore a secret deleted by mistake (``aws secretsmanager restore-secret``). Until then the name is taken:
Secrets Manager refuses to create a secret of that name, so ``put`` of a name scheduled for deletion
restores the secret and writes the new value as its current version. (Deleting "without recovery" instead
would lose that, and its deletion is asynchronous: a create right after it can still fail.) A secret
scheduled for deletion is not listed and reads as missing. Between the restore and the new value's write,
a run of the same project could read the old value; no other project ever can.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.aws.errors import error_code, translate
from shared.errors import InvalidInput, NotFound
from shared.ids import utcnow
from shared.models.secrets import SecretInfo, name_problem

PROJECT_TAG = "autotest:project"
#: what Secrets Manager allows in a name, minus '/', which separates the project from the secret
_PROJECT_ID = re.compile(r"[A-Za-z0-9_+=.@-]{1,128}")
_PAGE_SIZE = 100


def _utc(value: Any) -> datetime:
    return value.astimezone(UTC) if isinstance(value, datetime) else utcnow()


class SecretsManagerStore:
    def __init__(self, client: Any, *, prefix: str = resources.SECRETS_PREFIX, recovery_days: int = 7) -> None:
        self._sm = client
        self._prefix = prefix
        self._recovery_days = recovery_days

    def _project_prefix(self, project_id: str) -> str:
        if not _PROJECT_ID.fullmatch(project_id):
            raise InvalidInput(f"project id {project_id!r} cannot be part of a Secrets Manager name")
        return f"{self._prefix}{project_id}/"

    def _describe(self, secret_id: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = self._sm.describe_secret(SecretId=secret_id)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return described

    def put(self, project_id: str, name: str, value: str) -> SecretInfo:
        secret_id = self._project_prefix(project_id) + name
        with translate(f"store secret {name}"):
            current = self._describe(secret_id)
            if current is None:
                try:
                    self._sm.create_secret(
                        Name=secret_id, SecretString=value, Tags=[{"Key": PROJECT_TAG, "Value": project_id}]
                    )
                except ClientError as exc:
                    if error_code(exc) != "ResourceExistsException":
                        raise
                    current = self._describe(secret_id) or {}  # created meanwhile: replace its value
            if current is not None:
                if current.get("DeletedDate"):
                    self._sm.restore_secret(SecretId=secret_id)
                self._sm.put_secret_value(SecretId=secret_id, SecretString=value)
            stored = self._describe(secret_id) or {}
        return SecretInfo(name=name, updated_at=_utc(stored.get("LastChangedDate") or stored.get("CreatedDate")))

    def get(self, project_id: str, name: str) -> str | None:
        secret_id = self._project_prefix(project_id) + name
        with translate(f"read secret {name}"):
            try:
                found = self._sm.get_secret_value(SecretId=secret_id)
            except ClientError as exc:
                code = error_code(exc)
                if code == "ResourceNotFoundException":
                    return None
                if code == "InvalidRequestException":  # e.g. scheduled for deletion
                    current = self._describe(secret_id)
                    if current is None or current.get("DeletedDate"):
                        return None
                raise
        if "SecretString" not in found:
            raise InvalidInput(f"secret {name} holds binary data: store it as text (PUT /v1/secrets/{name})")
        return str(found["SecretString"])

    def list(self, project_id: str) -> list[SecretInfo]:
        prefix = self._project_prefix(project_id)
        items: list[SecretInfo] = []
        with translate("list secrets"):
            pages = self._sm.get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": [prefix]}], PaginationConfig={"PageSize": _PAGE_SIZE}
            )
            for page in pages:
                for secret in page.get("SecretList", []):
                    full = str(secret.get("Name", ""))
                    name = full[len(prefix) :]
                    # the filter matches prefixes; check it exactly (and skip what is not one of our names)
                    if not full.startswith(prefix) or secret.get("DeletedDate") or name_problem(name):
                        continue
                    changed = secret.get("LastChangedDate") or secret.get("CreatedDate")
                    items.append(SecretInfo(name=name, updated_at=_utc(changed)))
        return sorted(items, key=lambda info: info.name)

    def delete(self, project_id: str, name: str) -> None:
        secret_id = self._project_prefix(project_id) + name
        with translate(f"delete secret {name}"):
            current = self._describe(secret_id)
            if current is None or current.get("DeletedDate"):
                raise NotFound(f"secret {name} not found")
            try:
                self._sm.delete_secret(SecretId=secret_id, RecoveryWindowInDays=self._recovery_days)
            except ClientError as exc:
                if error_code(exc) in ("ResourceNotFoundException", "InvalidRequestException"):
                    raise NotFound(f"secret {name} not found") from exc  # deleted meanwhile
                raise
