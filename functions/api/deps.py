"""FastAPI dependencies as ``Annotated`` aliases, so tests can override them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from functions.api.middleware import UNRECORDED_STATE
from shared.errors import Forbidden, InvalidInput
from shared.models.audit import AuditRecord
from shared.models.projects import Principal, Role, role_allows
from shared.models.runs import parse_label_filter
from shared.services.audit import AuditOrigin, AuditRecorder
from shared.services.container import Services
from shared.settings import Settings, get_settings


def services_dep() -> Services:
    # the AWS wiring (its adapters, boto3) is loaded by the first request that uses the services, not at import:
    # a cold start answers /healthz, /docs or a refused key without it
    from shared.aws.factory import get_services

    return get_services()


ServicesDep = Annotated[Services, Depends(services_dep)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <API key>")


def principal_dep(
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    key = bearer.credentials if bearer else api_key
    return services.projects.authenticate(key)


PrincipalDep = Annotated[Principal, Depends(principal_dep)]


def require_role(needed: Role) -> Callable[[Principal], Principal]:
    """The dependency of a route that needs ``needed``: the caller's principal, or a 403 that names the role.
    Every ``/v1`` route declares exactly one (``create_app`` checks), through the aliases below."""

    def role_dep(principal: PrincipalDep) -> Principal:
        if not role_allows(principal.role, needed):
            raise Forbidden(
                f"this needs a key with the role {needed!r} or above; this key"
                f" ({principal.key_name or principal.key_id}) is {principal.role!r}",
                details={"role_required": needed, "role": principal.role},
            )
        return principal

    role_dep.required_role = needed  # type: ignore[attr-defined]
    role_dep.__name__ = f"require_{needed}"
    return role_dep


ViewerDep = Annotated[Principal, Depends(require_role("viewer"))]
"""Reads: any key of the project."""
RunnerDep = Annotated[Principal, Depends(require_role("runner"))]
"""Starting and cancelling runs and suite runs (the key CI gets)."""
EditorDep = Annotated[Principal, Depends(require_role("editor"))]
"""Writing tests, revisions, suites, schedules, plans, heal acceptances and imports."""
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
"""Keys, secrets, notifications, integrations and the audit log."""


def bootstrap_dep(principal: PrincipalDep) -> Principal:
    if not principal.bootstrap:
        raise Forbidden(
            "this needs the deployment's bootstrap key", details={"role_required": "bootstrap", "role": principal.role}
        )
    return principal


bootstrap_dep.required_role = "bootstrap"  # type: ignore[attr-defined]
BootstrapDep = Annotated[Principal, Depends(bootstrap_dep)]
"""Creating projects: the deployment's bootstrap key only."""


def correlation_id_dep(request: Request) -> str | None:
    return getattr(request.state, "correlation_id", None)


CorrelationDep = Annotated[str | None, Depends(correlation_id_dep)]


_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TestIdPath = Annotated[str, Path(pattern=_ID_PATTERN, description="a test's id (tst_...)")]
RunIdPath = Annotated[str, Path(pattern=_ID_PATTERN, description="a run's id (run_...)")]
KeyIdPath = Annotated[str, Path(pattern=_ID_PATTERN, description="an API key's id (key_...)")]
Limit = Annotated[int, Query(ge=1, le=200, description="How many items a page holds at most (1 to 200).")]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="The previous page's `next_cursor`. Default: the first page.")
]


def label_filters(filters: list[str]) -> dict[str, str]:
    """The ``label`` query parameters of a list (``key:value``, repeatable) as ``{key: value}``; a 422 for one
    that is malformed or a key asked for with two values."""
    labels: dict[str, str] = {}
    for text in filters:
        try:
            key, value = parse_label_filter(text)
        except ValueError as exc:
            raise InvalidInput(f"query.label: {exc}", details={"field": "label", "value": text}) from exc
        if labels.get(key, value) != value:
            raise InvalidInput(f"query.label: {key!r} is asked for twice with two values", details={"field": "label"})
        labels[key] = value
    return labels


def recorder_of(services: Services, principal: Principal, request: Request) -> AuditRecorder:
    """The audit log bound to this request: its principal, source IP (behind API Gateway, Mangum sets the
    client from the source IP it saw), User-Agent and correlation id (``shared/services/audit.py``)."""
    origin = AuditOrigin(
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        correlation_id=getattr(request.state, "correlation_id", None),
    )

    def unrecorded(record: AuditRecord) -> None:  # answered as X-Audit-Unrecorded (AuditHeaderMiddleware)
        request.scope.setdefault("state", {}).setdefault(UNRECORDED_STATE, []).append(record.id)

    if services.audit is None:
        return AuditRecorder(None, principal, origin)
    return services.audit.recorder(principal, origin, on_unrecorded=unrecorded)


def audit_dep(request: Request, services: ServicesDep, principal: PrincipalDep) -> AuditRecorder:
    return recorder_of(services, principal, request)


AuditDep = Annotated[AuditRecorder, Depends(audit_dep)]
"""The audit log bound to the calling key and this request: a write route calls
``audit.record(action, kind, resource_id, revision=..., details=...)`` once its change succeeded."""
