"""Plan proposals and accepting heals: ``/v1/tests/{id}/plans``, ``/v1/plans/{id}``, ``/v1/runs/{id}/heals``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from functions.api import examples
from functions.api.deps import AuditDep, CorrelationDep, EditorDep, RunIdPath, ServicesDep, TestIdPath, ViewerDep
from shared.errors import Unavailable
from shared.models.proposals import PlanProposalCreate, PlanProposalPublic
from shared.models.tests import RevisionPublic
from shared.services.container import Services
from shared.services.planning import Planning

router = APIRouter()  # tags per route: the heals route is a runs route

PlanIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a plan proposal's id (pln_...)")]


def _planning(services: Services) -> Planning:
    if services.planning is None:
        raise Unavailable("this deployment has no planner configured")
    return services.planning


@router.post(
    "/v1/tests/{test_id}/plans",
    tags=["plans"],
    status_code=202,
    response_model=PlanProposalPublic,
    summary="Ask for a plan of a revision's goal (a plan proposal)",
)
def request_plan(
    test_id: TestIdPath,
    principal: EditorDep,
    services: ServicesDep,
    correlation_id: CorrelationDep,
    audit: AuditDep,
    response: Response,
    body: Annotated[PlanProposalCreate, Body(openapi_examples=examples.PLAN_PROPOSAL_CREATE)] = PlanProposalCreate(),
) -> PlanProposalPublic:
    proposal = _planning(services).request_proposal(
        principal.project_id, test_id, revision=body.revision, correlation_id=correlation_id
    )
    audit.record("plan.request", "plan", proposal.id, revision=proposal.revision, details={"test_id": test_id})
    response.headers["Location"] = f"/v1/plans/{proposal.id}"
    return PlanProposalPublic.of(proposal)


@router.get(
    "/v1/plans/{plan_id}", tags=["plans"], response_model=PlanProposalPublic, summary="A plan proposal and its steps"
)
def get_plan(plan_id: PlanIdPath, principal: ViewerDep, services: ServicesDep) -> PlanProposalPublic:
    return PlanProposalPublic.of(_planning(services).get_proposal(principal.project_id, plan_id))


@router.post(
    "/v1/plans/{plan_id}/accept",
    tags=["plans"],
    status_code=201,
    response_model=RevisionPublic,
    summary="Accept a ready plan proposal: a new revision holding its steps",
)
def accept_plan(
    plan_id: PlanIdPath, principal: EditorDep, services: ServicesDep, audit: AuditDep, response: Response
) -> RevisionPublic:
    revision = _planning(services).accept(principal.project_id, plan_id)
    audit.record("plan.accept", "test", revision.test_id, revision=revision.revision, details={"plan_id": plan_id})
    response.headers["Location"] = f"/v1/tests/{revision.test_id}/revisions/{revision.revision}"
    return RevisionPublic.of(revision)


@router.post(
    "/v1/runs/{run_id}/heals/accept",
    status_code=201,
    response_model=RevisionPublic,
    summary="Write a run's healed targets into a new revision of its test",
    tags=["runs"],
)
def accept_heals(
    run_id: RunIdPath, principal: EditorDep, services: ServicesDep, audit: AuditDep, response: Response
) -> RevisionPublic:
    revision = _planning(services).accept_heals(principal.project_id, run_id)
    audit.record("heal.accept", "test", revision.test_id, revision=revision.revision, details={"run_id": run_id})
    response.headers["Location"] = f"/v1/tests/{revision.test_id}/revisions/{revision.revision}"
    return RevisionPublic.of(revision)
