"""The GitHub integration of the calling project, and GitHub's webhook: ``/v1/integrations/github``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response

from functions.api import examples
from functions.api.deps import AdminDep, AuditDep, CorrelationDep, Cursor, Limit, ServicesDep, ViewerDep, recorder_of
from shared.errors import Unavailable
from shared.models.github import (
    GithubIntegrationCreated,
    GithubIntegrationPublic,
    GithubIntegrationPut,
    WebhookOutcome,
)
from shared.models.notifications import DeliveryPublic
from shared.models.pages import Page
from shared.models.projects import Principal
from shared.services.container import Services
from shared.services.github import GithubService

router = APIRouter(prefix="/v1/integrations/github", tags=["github"])

ProjectIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the project's id, as the webhook's payload URL holds it")
]


def _github(services: Services) -> GithubService:
    if services.github is None:
        raise Unavailable("this deployment has no GitHub integration configured")
    return services.github


async def _raw_body(request: Request) -> bytes:
    """The body as it arrived: the signature is over these bytes."""
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.put(
    "",
    response_model=GithubIntegrationCreated | GithubIntegrationPublic,
    summary="Set the project's GitHub integration: webhook secret, token secret, API URL, rules",
    description="Replaces the stored integration. Every rule's suite must exist (by id or name; stored as the id); "
    "a rule that does not is a 422 naming the rule and field. The webhook secret is write-only: the answer shows it "
    "only when this call made it.",
)
def put_github(
    body: Annotated[GithubIntegrationPut, Body(openapi_examples=examples.GITHUB_PUT)],
    principal: AdminDep,
    services: ServicesDep,
    audit: AuditDep,
) -> GithubIntegrationCreated | GithubIntegrationPublic:
    github = _github(services)
    integration, made = github.configure(principal.project_id, body)
    details = {"rules": len(integration.rules), "secret_changed": made is not None or body.secret is not None}
    audit.record("integration.update", "integration", "github", details=details)
    shown = github.public(integration)
    if made is not None:
        return GithubIntegrationCreated(**shown.model_dump(), secret=made)
    return shown


@router.get("", response_model=GithubIntegrationPublic, summary="Get the project's GitHub integration")
def get_github(principal: ViewerDep, services: ServicesDep) -> GithubIntegrationPublic:
    github = _github(services)
    return github.public(github.get(principal.project_id))


@router.delete(
    "",
    status_code=204,
    response_class=Response,
    summary="Remove the project's GitHub integration (its webhook is refused from now on)",
)
def delete_github(principal: AdminDep, services: ServicesDep, audit: AuditDep) -> Response:
    _github(services).delete(principal.project_id)
    audit.record("integration.delete", "integration", "github")
    return Response(status_code=204)


@router.get(
    "/deliveries",
    response_model=Page[DeliveryPublic],
    summary="The commit statuses posted to GitHub, newest first, with every attempt",
)
def list_github_deliveries(
    principal: ViewerDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[DeliveryPublic]:
    page = _github(services).deliveries(principal.project_id, limit=limit, cursor=cursor)
    return Page[DeliveryPublic](items=[DeliveryPublic.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.post(
    "/webhook/{project_id}",
    status_code=202,
    response_model=WebhookOutcome,
    summary="GitHub's webhook (push, pull_request, ping): starts the suites the rules map it to",
    description="Takes no API key: GitHub signs each delivery with the project's webhook secret "
    "(`X-Hub-Signature-256`), checked in constant time; a missing or wrong signature, or a project without a GitHub "
    "integration, is a 401. `202` with the suite runs started (none when no rule matches); `200` for a `ping` and "
    "for a delivery (`X-GitHub-Delivery`) handled before, which starts nothing again. The body is the payload as "
    "GitHub sends it (`application/json`, or GitHub's form encoding).",
)
def github_webhook(
    project_id: ProjectIdPath,
    request: Request,
    body: RawBody,
    services: ServicesDep,
    response: Response,
    correlation_id: CorrelationDep,
) -> WebhookOutcome:
    headers = {name.lower(): value for name, value in request.headers.items()}
    outcome = _github(services).handle_webhook(project_id, headers, body, correlation_id=correlation_id)
    if outcome.handled == "started":  # no API key: the actor is GitHub (the signature was the project's secret)
        github = Principal(project_id=project_id, key_id="github", key_name="GitHub webhook", role="runner")
        audit = recorder_of(services, github, request)
        for started in outcome.suite_runs:
            if started.suite_run_id:
                details = {"suite_id": started.suite_id, "delivery": outcome.delivery, "event": outcome.event}
                audit.record("suite_run.start_by_webhook", "suite_run", started.suite_run_id, details=details)
    if outcome.handled in ("pong", "duplicate"):
        response.status_code = 200
    return outcome
