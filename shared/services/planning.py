"""Plain English to step plans: plan proposals, the plan cache, and accepting plans and heals into revisions.

A **proposal** plans a revision's goal for a person to review: ``pending -> ready | failed``, then
``ready -> accepted``, every change a conditional write on the status the writer saw, and ``Plan Proposal
Ready`` published by the one writer whose write moved it out of ``pending``.

- With a planner that plans inline (the sentence grammar: fast, no model), the proposal is filled in the request
  that asks for it: ``POST /v1/tests/{id}/plans`` still answers 202, with the proposal already ``ready`` or
  ``failed``. With Bedrock it is ``pending`` and the planner worker (``functions/planner``) fills it.
- Accepting creates the test's next revision: the spec of the revision the proposal planned, its ``steps`` set to
  the proposal's. A proposal of an older revision (the test was revised since) is still accepted that way: the
  plan is for *that* goal, so the new revision is that revision's spec plus the plan, and its ``note`` says so;
  the revisions in between stay in the history. Accepting twice is a 409.

The **plan cache**: a plan is cached per project under the content hash of what a planner reads of a spec
(``spec_hash``: goal, start URL, variable names), so a rerun of an unchanged goal-only test plans nothing, and the
plan a proposal showed is the plan a run of that goal uses.

**Heals** (``accept_heals``): the replacements a run's healer found and verified are written into the test's next
revision, step by step (by index), so a redesign is accepted in one call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.errors import Conflict, DomainError, InvalidInput, InvalidPlan, NotFound, Unavailable
from shared.ids import new_id, utcnow
from shared.models.common import find_unstorable
from shared.models.events import PlanProposalReady
from shared.models.messages import PlanMessage
from shared.models.planning import PlanFailed, PlanOutcome, PlanProposal, PlanRequest, ProposalStatus, spec_hash
from shared.models.plans import Step
from shared.models.runs import Run, StepResult
from shared.models.tests import Revision, RevisionCreate, TestKind, TestSpec, TestStatus
from shared.models.validation import describe_errors
from shared.observability import logger
from shared.ports import EventBus, Planner, PlanQueue, PlanStore, RunStore, TestStore
from shared.services.catalog import Catalog, archived_test


def plan_request(spec: TestSpec, kind: TestKind = TestKind.browser) -> PlanRequest:
    """What a planner is asked for ``spec``'s goal."""
    return PlanRequest(
        goal=spec.goal or "", kind=kind, start_url=spec.start_url, variables=sorted(spec.variables or {})
    )


def has_goal(spec: TestSpec) -> bool:
    return bool(spec.goal and spec.goal.strip())


class Planning:
    def __init__(
        self,
        *,
        tests: TestStore,
        runs: RunStore,
        plans: PlanStore,
        planner: Planner,
        queue: PlanQueue,
        events: EventBus,
        catalog: Catalog,
        inline: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``inline``: the planner is fast enough to plan inside a request (the sentence grammar); else plans are
        made by the planner worker, from ``queue``."""
        self._tests = tests
        self._runs = runs
        self._plans = plans
        self._planner = planner
        self._queue = queue
        self._events = events
        self._catalog = catalog
        self._clock = clock
        self.inline = inline

    @property
    def planner_name(self) -> str:
        return self._planner.name

    # ---------------------------------------------------------------------------- proposals

    def request_proposal(
        self, project_id: str, test_id: str, *, revision: int | None = None, correlation_id: str | None = None
    ) -> PlanProposal:
        """A proposal for the goal of ``revision`` (default: the latest) of the test. NotFound for another
        project's test or a revision it does not have; InvalidInput when the revision has no goal."""
        test = self._tests.get_test(project_id, test_id)
        if test.status == TestStatus.archived:
            raise archived_test(test_id, to="plan it")
        number = revision or test.latest_revision
        if number > test.latest_revision:
            raise NotFound(f"test {test_id} has no revision {number} (latest is {test.latest_revision})")
        spec = self._tests.get_revision(project_id, test_id, number)
        if not has_goal(spec):
            raise InvalidInput(
                f"revision {number} of test {test_id} has no goal to plan: plans are made from a plain-English "
                "'goal' (add one with a new revision)",
                details={"field": "goal", "revision": number},
            )
        if spec.steps:
            # its steps are its plan (heals accepted into them included): a proposal accepted would replace them
            raise Conflict(
                f"revision {number} of test {test_id} has steps already, which are its plan (a goal beside steps "
                "is not read): to plan its goal again, save a revision with the goal and no steps",
                details={"revision": number},
            )
        now = self._clock()
        proposal = PlanProposal(
            id=new_id("pln"),
            project_id=project_id,
            test_id=test_id,
            revision=number,
            planner=self._planner.name,  # type: ignore[arg-type]
            created_at=now,
            updated_at=now,
        )
        self._plans.put_proposal(proposal)
        logger.info("plan proposal requested", proposal_id=proposal.id, test_id=test_id, revision=number)
        if self.inline:
            return self._fill(proposal, spec, test.kind, correlation_id=correlation_id)
        try:
            self._queue.send(PlanMessage(project_id=project_id, proposal_id=proposal.id, correlation_id=correlation_id))
        except DomainError as exc:
            self._finish(proposal, error=f"could not ask the planner: {exc.message}", correlation_id=correlation_id)
            raise Unavailable("the planner's queue is unavailable; the proposal was recorded as 'failed'") from exc
        return proposal

    def get_proposal(self, project_id: str, proposal_id: str) -> PlanProposal:
        return self._plans.get_proposal(project_id, proposal_id)

    def fill_proposal(self, project_id: str, proposal_id: str, *, correlation_id: str | None = None) -> PlanProposal:
        """Plan a pending proposal (the planner worker). A proposal that is no longer pending (a duplicate
        delivery) is returned as it is. A planner that fails with a reason fails the proposal; any other error
        goes up (the message comes back: see :meth:`fail_proposal` for its last delivery)."""
        proposal = self._plans.get_proposal(project_id, proposal_id)
        if proposal.status != ProposalStatus.pending:
            return proposal
        test = self._tests.get_test(project_id, proposal.test_id)
        spec = self._tests.get_revision(project_id, proposal.test_id, proposal.revision)
        return self._fill(proposal, spec, test.kind, correlation_id=correlation_id)

    def fail_proposal(
        self, project_id: str, proposal_id: str, reason: str, *, correlation_id: str | None = None
    ) -> PlanProposal:
        """End a pending proposal as ``failed`` with ``reason`` (its message used up its deliveries)."""
        proposal = self._plans.get_proposal(project_id, proposal_id)
        if proposal.status != ProposalStatus.pending:
            return proposal
        return self._finish(proposal, error=reason, correlation_id=correlation_id)

    def _fill(
        self, proposal: PlanProposal, spec: TestSpec, kind: TestKind, *, correlation_id: str | None
    ) -> PlanProposal:
        try:
            outcome = self._plan(spec, kind)
        except PlanFailed as exc:
            return self._finish(proposal, error=exc.message, usage=exc.usage, correlation_id=correlation_id)
        # the plan a person sees is the plan a run of this goal uses
        self._plans.put_cached_plan(proposal.project_id, self._key(spec), outcome)
        return self._finish(proposal, outcome=outcome, correlation_id=correlation_id)

    def _finish(
        self,
        proposal: PlanProposal,
        *,
        outcome: PlanOutcome | None = None,
        error: str | None = None,
        usage: Any = None,
        correlation_id: str | None,
    ) -> PlanProposal:
        """pending -> ready (``outcome``) or failed (``error``), conditionally; the event is published by the
        writer that won. A writer that lost returns the stored proposal."""
        if outcome is not None:
            changes: dict[str, Any] = {
                "status": ProposalStatus.ready,
                "steps": outcome.steps,
                "model_id": outcome.model_id,
                "usage": outcome.usage,
                "notes": outcome.notes,
            }
        else:
            changes = {"status": ProposalStatus.failed, "error": error}
            if usage is not None:
                changes["usage"] = usage
        filled = proposal.model_copy(update={**changes, "updated_at": self._clock()})
        try:
            self._plans.update_proposal(filled, expected_status=ProposalStatus.pending)
        except Conflict:
            return self._plans.get_proposal(proposal.project_id, proposal.id)
        logger.info("plan proposal filled", proposal_id=proposal.id, status=filled.status.value)
        self._publish(PlanProposalReady.of(filled, correlation_id=correlation_id))
        return filled

    def accept(self, project_id: str, proposal_id: str) -> Revision:
        """A ready proposal becomes the test's next revision: the planned revision's spec with the proposal's
        steps. Conflict unless it is ready (pending, failed, or accepted already)."""
        proposal = self._plans.get_proposal(project_id, proposal_id)
        if proposal.status == ProposalStatus.accepted:
            raise Conflict(
                f"plan proposal {proposal_id} was accepted already, as revision {proposal.accepted_revision} of "
                f"test {proposal.test_id}",
                details={"status": proposal.status.value, "accepted_revision": proposal.accepted_revision},
            )
        if proposal.status != ProposalStatus.ready or not proposal.steps:
            why = f": {proposal.error}" if proposal.error else ""
            raise Conflict(
                f"plan proposal {proposal_id} is {proposal.status.value}{why}; only a ready proposal can be accepted",
                details={"status": proposal.status.value},
            )
        base = self._tests.get_revision(project_id, proposal.test_id, proposal.revision)
        body = _revision_body(base, proposal.steps)
        latest = self._tests.get_test(project_id, proposal.test_id).latest_revision
        note = f"plan proposal {proposal.id} accepted ({proposal.planner} planner)"
        if latest != proposal.revision:
            note += f"; planned from revision {proposal.revision} (the latest was {latest})"
        # claim it first (ready -> accepted), so that two accepts at once make one revision
        now = self._clock()
        claimed = proposal.model_copy(update={"status": ProposalStatus.accepted, "updated_at": now})
        try:
            self._plans.update_proposal(claimed, expected_status=ProposalStatus.ready)
        except Conflict as exc:
            raise Conflict(f"plan proposal {proposal_id} is being accepted by another request") from exc
        try:
            revision = self._catalog.new_revision(project_id, proposal.test_id, body, note=note)
        except BaseException:
            self._plans.update_proposal(proposal, expected_status=ProposalStatus.accepted)  # give it back
            raise
        done = claimed.model_copy(update={"accepted_revision": revision.revision, "updated_at": self._clock()})
        self._plans.update_proposal(done, expected_status=ProposalStatus.accepted)
        logger.info("plan proposal accepted", proposal_id=proposal.id, revision=revision.revision)
        return revision

    # --------------------------------------------------------------------------- run plans

    def _key(self, spec: TestSpec) -> str:
        return spec_hash(spec, planner=self._planner.name)

    def _plan(self, spec: TestSpec, kind: TestKind) -> PlanOutcome:
        """The planner's plan for ``spec``, checked to be storable as a test's steps (a planner's JSON bodies are
        held to the limits of a saved test: PlanFailed saying where, not a run that cannot be read back)."""
        outcome = self._planner.plan(plan_request(spec, kind))
        steps = [step.model_dump(mode="json", exclude_none=True) for step in outcome.steps]
        unstorable = find_unstorable({"steps": steps})
        if unstorable is not None:
            raise PlanFailed(f"the plan cannot be stored: {unstorable[0]} {unstorable[1]}", usage=outcome.usage)
        return outcome

    def cached_steps(self, project_id: str, spec: TestSpec) -> list[Step] | None:
        """The plan cached for ``spec``'s goal, or None."""
        cached = self._plans.get_cached_plan(project_id, self._key(spec))
        return list(cached.steps) if cached is not None and cached.steps else None

    def plan_for_run(
        self, project_id: str, spec: TestSpec, kind: TestKind = TestKind.browser
    ) -> tuple[list[Step], int]:
        """The steps of a goal-only spec, and how many planner calls they took: 0 when the plan was cached for
        the spec's content, else 1 (and the plan is cached). Raises :class:`PlanFailed` with the planner's
        reason."""
        cached = self.cached_steps(project_id, spec)
        if cached is not None:
            return cached, 0
        outcome = self._plan(spec, kind)
        self._plans.put_cached_plan(project_id, self._key(spec), outcome)
        logger.info("goal planned", planner=outcome.planner, steps=len(outcome.steps))
        return list(outcome.steps), 1

    def request_run_plan(self, run: Run) -> None:
        """Ask the planner worker to plan a queued goal-only run (it then enqueues the run)."""
        self._queue.send(PlanMessage(project_id=run.project_id, run_id=run.id, correlation_id=run.correlation_id))

    # -------------------------------------------------------------------------------- heals

    def accept_heals(self, project_id: str, run_id: str) -> Revision:
        """Write the healed targets of a run into its test's next revision (steps matched by index; for a
        data-driven run, the first row's heals). Conflict when the run has no heals, has not ended, ran an inline
        spec, or its revision's steps are not the ones it ran (their number differs)."""
        run = self._runs.get_run(run_id)
        if run.project_id != project_id:
            raise NotFound(f"run {run_id} not found")
        if run.test_id is None or run.revision is None:
            raise Conflict(f"run {run_id} ran an inline spec: there is no saved test to write its heals into")
        results: list[StepResult] = run.steps or (run.iterations[0].steps if run.iterations else [])
        healed = [r for r in results if r.heal is not None]
        if not healed:
            raise Conflict(f"run {run_id} healed no target: there is nothing to accept")
        if not run.status.terminal:
            raise Conflict(
                f"run {run_id} is {run.status.value}: accept its heals once it has ended",
                details={"status": run.status.value},
            )
        test = self._tests.get_test(project_id, run.test_id)
        if test.latest_revision != run.revision:
            # accepting would build on the run's revision and drop what was saved since (heals accepted before)
            raise Conflict(
                f"run {run_id} ran revision {run.revision} of test {run.test_id}, which has revision "
                f"{test.latest_revision} since: run the latest revision and accept that run's heals",
                details={"revision": run.revision, "latest_revision": test.latest_revision},
            )
        ran = list(run.spec.steps or [])
        base = self._tests.get_revision(project_id, run.test_id, run.revision)
        if (base.steps and len(base.steps) != len(ran)) or any(r.index >= len(ran) for r in healed):
            raise Conflict(
                f"run {run_id} ran {len(ran)} steps but revision {run.revision} of test {run.test_id} has "
                f"{len(base.steps or [])}: its heals cannot be matched to the revision's steps"
            )
        steps: list[Any] = [step.model_dump(mode="json", exclude_none=True) for step in ran]
        # a target written with a variable ("Remove {{item}}") was healed for one value: writing that value in
        # would make every other row (or run) act on it; such heals are left for the user to rewrite
        templated = [r for r in healed if "{{" in json.dumps(steps[r.index].get("target"))]
        healed = [r for r in healed if r not in templated]
        if not healed:
            raise Conflict(
                f"run {run_id} healed only targets written with variables (step "
                f"{', '.join(str(r.index + 1) for r in templated)}): a heal found for one value cannot be written "
                "in for all; rewrite the target in a new revision"
            )
        for result in healed:
            assert result.heal is not None
            if "target" not in steps[result.index]:
                raise Conflict(f"step {result.index + 1} of run {run_id} has no target to replace")
            # not exact: an accepted heal is matched as any target is (and can be healed again by a later redesign)
            steps[result.index]["target"] = {k: v for k, v in result.heal.replacement.items() if k != "exact"}
        body = _revision_body(base, steps)
        numbers = ", ".join(str(r.index + 1) for r in healed)
        note = f"healed targets of run {run_id} accepted (step{'s' if len(healed) > 1 else ''} {numbers})"
        if templated:
            skipped = ", ".join(str(r.index + 1) for r in templated)
            note += f"; not step {skipped}, whose target is written with a variable"
        revision = self._catalog.new_revision(project_id, run.test_id, body, note=note)
        logger.info("heals accepted", run_id=run_id, test_id=run.test_id, revision=revision.revision)
        return revision

    def _publish(self, event: PlanProposalReady) -> None:
        try:
            self._events.publish(event)
        except DomainError as exc:  # the proposal is stored; a lost notification must not undo it
            logger.error("could not publish a plan event", proposal_id=event.proposal_id, error=exc.message)


def _revision_body(base: TestSpec, steps: list[Any]) -> RevisionCreate:
    """``base``'s spec with ``steps`` (models or their JSON), as a new revision's body; InvalidPlan (naming the
    field) when the result is not a valid revision."""
    data = base.spec().model_dump(mode="json", exclude_none=True)
    data["steps"] = [s.model_dump(mode="json", exclude_none=True) if not isinstance(s, dict) else s for s in steps]
    try:
        return RevisionCreate.model_validate(data)
    except ValidationError as exc:
        details = describe_errors(exc.errors())
        shown = "; ".join(f"{d['loc']}: {d['msg']}" for d in details[:3])
        raise InvalidPlan(f"the plan does not make a valid revision: {shown}", details=details) from exc
