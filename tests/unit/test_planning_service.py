"""Plan proposals, the plan cache, goal-only runs and accepting heals, against in-memory fakes (a fake planner:
``FakePlanner`` reads ``Go to``, ``Click``, ``Fill ... with``, ``Expect to see``)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Conflict, InvalidInput, InvalidPlan, NotFound, Unavailable
from shared.models.events import PlanProposalReady
from shared.models.messages import PlanMessage
from shared.models.planning import PlanOutcome, PlanRequest, ProposalStatus, spec_hash
from shared.models.plans import Request
from shared.models.runs import Heal, Iteration, RunCreate, RunStatus, StepResult
from shared.models.tests import RevisionCreate, TestCreate
from tests.conftest import FakeServices
from tests.fakes import FakePlanner

PROJECT = "prj_a"
# Goals that fail below use lines the sentence grammar reads when the test is saved but the fake planner
# cannot (as a model may fail on any goal).
GOAL = 'Go to {{base_url}}/login\nFill "Username" with "admin"\nClick "Log in"\nExpect to see "Welcome, admin"'


def goal_test(fakes: FakeServices, goal: str = GOAL, **extra: object) -> str:
    body = {"name": "Admin can log in", "variables": {"base_url": "http://127.0.0.1:8001"}, "goal": goal} | extra
    test, _ = fakes.services.catalog.create_test(PROJECT, TestCreate.model_validate(body))
    return test.id


@pytest.fixture
def slow() -> FakeServices:
    """Services whose planner plans through the planner worker (as Bedrock does)."""
    return FakeServices(planner=FakePlanner("bedrock"))


def proposal_events(fakes: FakeServices) -> list[PlanProposalReady]:
    return [e for e in fakes.events.events if isinstance(e, PlanProposalReady)]


# ------------------------------------------------------------------------------ proposals


def test_an_inline_planner_fills_the_proposal_in_the_request(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)

    proposal = fakes.planning.request_proposal(PROJECT, test_id)

    assert proposal.status == ProposalStatus.ready and proposal.revision == 1 and proposal.planner == "rules"
    assert [s.action for s in proposal.steps or []] == ["goto", "fill", "click", "expect_text"]
    assert fakes.planning.get_proposal(PROJECT, proposal.id) == proposal
    assert fakes.planner.calls[0].variables == ["base_url"]
    [event] = proposal_events(fakes)
    assert (event.proposal_id, event.status, event.steps) == (proposal.id, ProposalStatus.ready, 4)
    assert fakes.plan_queue.sent == []


def test_a_goal_the_planner_cannot_read_fails_the_proposal_with_its_reason(fakes: FakeServices) -> None:
    test_id = goal_test(fakes, 'Go to http://127.0.0.1:8001\nHover over "Menu"')

    proposal = fakes.planning.request_proposal(PROJECT, test_id)

    assert proposal.status == ProposalStatus.failed and proposal.steps is None
    assert proposal.error == "cannot read line 2: 'Hover over \"Menu\"'"
    [event] = proposal_events(fakes)
    assert event.status == ProposalStatus.failed and event.error == proposal.error


def test_a_slow_planner_leaves_it_pending_for_the_worker_which_fills_it_once(slow: FakeServices) -> None:
    test_id = goal_test(slow)

    proposal = slow.planning.request_proposal(PROJECT, test_id, correlation_id="cor_1")

    assert proposal.status == ProposalStatus.pending and proposal_events(slow) == []
    [message] = slow.plan_queue.sent
    assert message == PlanMessage(project_id=PROJECT, proposal_id=proposal.id, correlation_id="cor_1")

    filled = slow.planning.fill_proposal(PROJECT, proposal.id)
    again = slow.planning.fill_proposal(PROJECT, proposal.id)  # a duplicate delivery

    assert filled.status == ProposalStatus.ready and again == filled
    assert len(slow.planner.calls) == 1 and len(proposal_events(slow)) == 1


def test_the_last_delivery_of_a_failing_request_fails_the_proposal(slow: FakeServices) -> None:
    test_id = goal_test(slow)
    proposal = slow.planning.request_proposal(PROJECT, test_id)

    failed = slow.planning.fail_proposal(PROJECT, proposal.id, "the planner kept failing: throttled")

    assert failed.status == ProposalStatus.failed and failed.error == "the planner kept failing: throttled"
    assert slow.planning.fail_proposal(PROJECT, proposal.id, "again") == failed
    assert len(proposal_events(slow)) == 1


def test_a_queue_that_is_down_fails_the_proposal_and_says_so(slow: FakeServices) -> None:
    test_id = goal_test(slow)
    slow.plan_queue.fail = True

    with pytest.raises(Unavailable, match="planner's queue is unavailable"):
        slow.planning.request_proposal(PROJECT, test_id)

    [stored] = slow.plans.proposals.values()
    assert stored.status == ProposalStatus.failed and "could not ask the planner" in (stored.error or "")


def test_a_proposal_needs_a_goal_a_revision_that_exists_and_the_callers_project(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)
    steps_only = fakes.services.catalog.new_revision(
        PROJECT, test_id, RevisionCreate.model_validate({"steps": [{"action": "goto", "url": "http://x"}]})
    )

    with pytest.raises(InvalidInput, match=r"revision 2 of test .* has no goal to plan"):
        fakes.planning.request_proposal(PROJECT, test_id, revision=steps_only.revision)
    with pytest.raises(NotFound, match="no revision 3"):
        fakes.planning.request_proposal(PROJECT, test_id, revision=3)
    with pytest.raises(NotFound):
        fakes.planning.request_proposal("prj_b", test_id)
    proposal = fakes.planning.request_proposal(PROJECT, test_id, revision=1)
    with pytest.raises(NotFound):
        fakes.planning.get_proposal("prj_b", proposal.id)
    with pytest.raises(NotFound):
        fakes.planning.accept("prj_b", proposal.id)


# ------------------------------------------------------------------------------- accepting


def test_accepting_creates_the_next_revision_with_the_plan_and_only_once(fakes: FakeServices) -> None:
    test_id = goal_test(fakes, retries=2)
    proposal = fakes.planning.request_proposal(PROJECT, test_id)

    revision = fakes.planning.accept(PROJECT, proposal.id)

    assert revision.revision == 2 and revision.steps == proposal.steps
    assert (revision.goal, revision.variables, revision.retries) == (GOAL, {"base_url": "http://127.0.0.1:8001"}, 2)
    assert revision.note == f"plan proposal {proposal.id} accepted (rules planner)"
    stored = fakes.planning.get_proposal(PROJECT, proposal.id)
    assert (stored.status, stored.accepted_revision) == (ProposalStatus.accepted, 2)
    with pytest.raises(Conflict, match="accepted already, as revision 2"):
        fakes.planning.accept(PROJECT, proposal.id)
    assert fakes.services.catalog.get_test(PROJECT, test_id).latest_revision == 2


def test_a_pending_or_failed_proposal_cannot_be_accepted(slow: FakeServices, fakes: FakeServices) -> None:
    pending = slow.planning.request_proposal(PROJECT, goal_test(slow))
    failed = fakes.planning.request_proposal(PROJECT, goal_test(fakes, "Take a screenshot"))

    with pytest.raises(Conflict, match="is pending; only a ready proposal"):
        slow.planning.accept(PROJECT, pending.id)
    with pytest.raises(Conflict, match="is failed: cannot read line 1"):
        fakes.planning.accept(PROJECT, failed.id)


def test_a_stale_proposal_builds_on_the_revision_it_planned(fakes: FakeServices) -> None:
    # Given a proposal of revision 1, and a revision 2 written since
    test_id = goal_test(fakes)
    proposal = fakes.planning.request_proposal(PROJECT, test_id)
    fakes.services.catalog.new_revision(
        PROJECT, test_id, RevisionCreate.model_validate({"goal": "Go to http://127.0.0.1:8001/other"})
    )

    # When it is accepted
    revision = fakes.planning.accept(PROJECT, proposal.id)

    # Then revision 3 is revision 1's spec with the plan, and says so
    assert revision.revision == 3 and revision.goal == GOAL and revision.steps == proposal.steps
    assert "planned from revision 1 (the latest was 2)" in (revision.note or "")


def test_an_accept_that_cannot_write_the_revision_leaves_the_proposal_ready(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)
    proposal = fakes.planning.request_proposal(PROJECT, test_id)
    fakes.services.catalog.archive_test(PROJECT, test_id)

    with pytest.raises(Conflict, match="archived"):
        fakes.planning.accept(PROJECT, proposal.id)

    assert fakes.planning.get_proposal(PROJECT, proposal.id).status == ProposalStatus.ready


# ------------------------------------------------------------------------------ run plans


def test_a_goal_only_run_is_planned_inline_then_cached(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)

    first = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))
    second = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))

    assert [s.action for s in first.spec.steps or []] == ["goto", "fill", "click", "expect_text"]
    assert (first.stats.planner_calls, second.stats.planner_calls) == (1, 0)
    assert second.spec.steps == first.spec.steps and len(fakes.planner.calls) == 1
    assert [m.run_id for m, _ in fakes.queue.sent] == [first.id, second.id]


def test_the_plan_a_proposal_showed_is_the_plan_a_run_uses(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)
    proposal = fakes.planning.request_proposal(PROJECT, test_id)

    run = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))

    assert run.spec.steps == proposal.steps and run.stats.planner_calls == 0
    assert len(fakes.planner.calls) == 1


def test_a_changed_goal_or_new_variable_names_plan_again(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)
    fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))

    with_var = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id, variables={"user": "admin"}))
    same_var = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id, variables={"user": "bob"}))
    fakes.services.catalog.new_revision(PROJECT, test_id, RevisionCreate.model_validate({"goal": GOAL + "\n"}))
    same_goal = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))  # a new revision, same text
    fakes.services.catalog.new_revision(PROJECT, test_id, RevisionCreate.model_validate({"goal": "Go to http://x"}))
    other_goal = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))

    assert [r.stats.planner_calls for r in (with_var, same_var, other_goal)] == [1, 0, 1]
    assert same_goal.stats.planner_calls == 1  # the trailing newline is part of the content
    assert len(fakes.planner.calls) == 4


def test_an_unreadable_goal_is_a_422_naming_the_line_and_no_run(fakes: FakeServices) -> None:
    test_id = goal_test(fakes, 'Go to http://x\nClick "Log in"\nPress "Enter"')

    with pytest.raises(
        InvalidPlan, match="its goal could not be turned into steps: cannot read line 3: 'Press \"Enter\"'"
    ):
        fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))

    assert fakes.store.runs == {} and fakes.queue.sent == []


def test_an_inline_goal_only_spec_runs_too(fakes: FakeServices) -> None:
    run = fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"spec": {"goal": "Go to http://x"}}))

    assert run.test_id is None and run.spec.steps and run.spec.steps[0].action == "goto"
    assert run.stats.planner_calls == 1


def test_with_a_slow_planner_the_run_waits_for_the_worker_then_is_enqueued(slow: FakeServices) -> None:
    # Given a goal-only run with no plan cached
    test_id = goal_test(slow)
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=test_id), correlation_id="cor_9")

    # Then it is queued without steps, and only the planner was asked
    assert run.status == RunStatus.queued and run.spec.steps is None
    assert slow.queue.sent == []
    [message] = slow.plan_queue.sent
    assert (message.run_id, message.correlation_id) == (run.id, "cor_9")

    # When the worker plans it (twice: a duplicate delivery)
    planned = slow.services.runs.plan_waiting_run(message)
    again = slow.services.runs.plan_waiting_run(message)

    # Then it has its steps and its run message, and a rerun finds the plan cached
    assert planned is not None and planned.spec.steps and planned.stats.planner_calls == 1
    assert again is None and len(slow.planner.calls) == 1
    assert {m.run_id for m, _ in slow.queue.sent} == {run.id}  # sent again by the duplicate: take drops it
    rerun = slow.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))
    assert rerun.spec.steps == planned.spec.steps and rerun.stats.planner_calls == 0
    assert len(slow.plan_queue.sent) == 1


def test_a_slow_planner_that_fails_ends_the_run_as_error_with_its_reason(slow: FakeServices) -> None:
    test_id = goal_test(slow, "Go to http://x\nWait 2 seconds")
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))
    [message] = slow.plan_queue.sent

    ended = slow.services.runs.plan_waiting_run(message)

    assert ended is not None and ended.status == RunStatus.error
    assert ended.error == "its goal could not be turned into steps: cannot read line 2: 'Wait 2 seconds'"
    assert ended.stats.planner_calls == 1 and slow.queue.sent == []
    assert slow.services.runs.get_run(PROJECT, run.id).status == RunStatus.error


def test_a_waiting_run_whose_plan_request_died_ends_as_error(slow: FakeServices) -> None:
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=goal_test(slow)))
    [message] = slow.plan_queue.sent

    ended = slow.services.runs.fail_waiting_run(message, "planning failed 5 times: Bedrock unavailable")

    assert ended is not None and (ended.status, ended.error) == (
        RunStatus.error,
        "planning failed 5 times: Bedrock unavailable",
    )
    assert slow.services.runs.plan_waiting_run(message) is None  # and a late delivery changes nothing
    assert slow.services.runs.get_run(PROJECT, run.id).status == RunStatus.error


def test_a_waiting_run_cancelled_before_its_plan_is_not_enqueued(slow: FakeServices) -> None:
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=goal_test(slow)))
    slow.services.runs.cancel(PROJECT, run.id)

    assert slow.services.runs.plan_waiting_run(slow.plan_queue.sent[0]) is None
    assert slow.queue.sent == []


def test_resuming_a_run_that_waits_for_its_plan_asks_the_planner_again(slow: FakeServices) -> None:
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=goal_test(slow)))
    slow.plan_queue.sent.clear()  # local mode restarted: the queue's messages are gone

    slow.services.runs.resume(slow.services.runs.get_run(PROJECT, run.id))

    assert [m.run_id for m in slow.plan_queue.sent] == [run.id] and slow.queue.sent == []


def test_a_queue_that_is_down_ends_a_waiting_run_as_error(slow: FakeServices) -> None:
    test_id = goal_test(slow)
    slow.plan_queue.fail = True

    with pytest.raises(Unavailable, match="planner's queue is unavailable"):
        slow.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))

    [run] = slow.store.runs.values()
    assert run.status == RunStatus.error and "could not ask the planner for its steps" in (run.error or "")


def test_the_cache_key_is_the_spec_hash_per_project(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)
    fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))
    spec = fakes.services.catalog.get_revision(PROJECT, test_id, 1)

    assert list(fakes.plans.plans) == [(PROJECT, spec_hash(spec, planner="rules"))]
    fakes.services.catalog.create_test("prj_b", TestCreate.model_validate({"name": "x", "goal": GOAL}))
    assert fakes.planning.cached_steps("prj_b", spec) is None


# ---------------------------------------------------------------------------------- heals


def target(step: object) -> object:
    """A step's target as written (defaults left out)."""
    return step.target.model_dump(exclude_defaults=True)  # type: ignore[attr-defined]


def heal(name: str) -> Heal:
    return Heal(
        before='role=button name="Log in"',
        after=f'role=button name="{name}"',
        replacement={"role": "button", "name": name},
        locator=f'get_by_role("button", name="{name}")',
        score=0.8,
        source="fuzzy",
        reason="matched nothing",
    )


def finished_run(
    fakes: FakeServices, *, healed: dict[int, str], iterations: bool = False, button: str = "Log in"
) -> tuple[str, str]:
    steps: list[dict[str, Any]] = [
        {"action": "goto", "url": "{{base_url}}/login"},
        {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
        {"action": "click", "target": {"role": "button", "name": button}},
    ]
    variables = {"base_url": "http://x", "item": "Bread"}
    test, _ = fakes.services.catalog.create_test(
        PROJECT, TestCreate.model_validate({"name": "login", "variables": variables, "steps": steps})
    )
    run = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test.id))
    results = [
        StepResult(
            index=i,
            action=s["action"],
            status="passed",
            heal=heal(healed[i]) if i in healed else None,
            healed=i in healed,
        )
        for i, s in enumerate(steps)
    ]
    changes = (
        {"iterations": [Iteration(index=0, status=RunStatus.passed, steps=results).model_dump(mode="json")]}
        if iterations
        else {"steps": [r.model_dump(mode="json") for r in results]}
    )
    fakes.store.update_run(run.id, {"status": "passed", **changes})
    return test.id, run.id


def test_accepting_heals_writes_the_replacements_into_the_next_revision(fakes: FakeServices) -> None:
    test_id, run_id = finished_run(fakes, healed={1: "User name", 2: "Sign in"})

    revision = fakes.planning.accept_heals(PROJECT, run_id)

    assert revision.revision == 2 and revision.steps is not None
    assert revision.steps[0] == fakes.services.catalog.get_revision(PROJECT, test_id, 1).steps[0]  # type: ignore[index]
    assert target(revision.steps[1]) == {"role": "button", "name": "User name"}
    assert target(revision.steps[2]) == {"role": "button", "name": "Sign in"}
    assert revision.variables == {"base_url": "http://x", "item": "Bread"}
    assert revision.note == f"healed targets of run {run_id} accepted (steps 2, 3)"


def test_a_data_driven_run_gives_its_first_rows_heals(fakes: FakeServices) -> None:
    _, run_id = finished_run(fakes, healed={2: "Sign in"}, iterations=True)

    revision = fakes.planning.accept_heals(PROJECT, run_id)

    assert revision.steps is not None and target(revision.steps[2]) == {"role": "button", "name": "Sign in"}


def test_heals_of_a_planned_goal_only_run_give_the_test_its_steps(fakes: FakeServices) -> None:
    test_id = goal_test(fakes)
    run = fakes.services.runs.start_run(PROJECT, RunCreate(test_id=test_id))
    result = StepResult(index=2, action="click", status="passed", heal=heal("Sign in"), healed=True)
    fakes.store.update_run(run.id, {"status": "passed", "steps": [result.model_dump(mode="json")]})

    revision = fakes.planning.accept_heals(PROJECT, run.id)

    assert revision.goal == GOAL and revision.steps is not None and len(revision.steps) == 4
    assert target(revision.steps[2]) == {"role": "button", "name": "Sign in"}


def test_heals_are_refused_without_heals_a_test_or_matching_steps(fakes: FakeServices) -> None:
    _, none_healed = finished_run(fakes, healed={})
    with pytest.raises(Conflict, match="healed no target"):
        fakes.planning.accept_heals(PROJECT, none_healed)
    with pytest.raises(NotFound):
        fakes.planning.accept_heals("prj_b", none_healed)

    inline = fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"spec": {"goal": "Go to http://x"}}))
    with pytest.raises(Conflict, match="inline spec"):
        fakes.planning.accept_heals(PROJECT, inline.id)
    _, still_running = finished_run(fakes, healed={2: "Sign in"})
    fakes.store.update_run(still_running, {"status": "running"})
    with pytest.raises(Conflict, match="is running: accept its heals once it has ended"):
        fakes.planning.accept_heals(PROJECT, still_running)

    _, run_id = finished_run(fakes, healed={2: "Sign in"})
    run = fakes.store.runs[run_id]
    fakes.store.update_run(
        run_id, {"spec": run.spec.model_copy(update={"steps": (run.spec.steps or [])[:2]}).model_dump(mode="json")}
    )
    with pytest.raises(Conflict, match=r"ran 2 steps but revision 1 .* has 3"):
        fakes.planning.accept_heals(PROJECT, run_id)


def test_a_run_message_for_a_run_waiting_for_its_plan_is_dropped(slow: FakeServices) -> None:
    from shared.models.messages import RunMessage

    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=goal_test(slow)))

    taken = slow.services.runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1))

    assert taken is None and slow.services.runs.get_run(PROJECT, run.id).status == RunStatus.queued


def test_a_local_restart_asks_again_for_pending_plans(slow: FakeServices) -> None:
    from cli.local.recovery import requeue_pending
    from shared.aws.dynamodb import DynamoPlanStore, _item

    proposal = slow.planning.request_proposal(PROJECT, goal_test(slow))
    run = slow.services.runs.start_run(PROJECT, RunCreate(test_id=goal_test(slow, GOAL + "\n")))
    slow.plan_queue.sent.clear()  # the queue's messages are gone
    items = [
        DynamoPlanStore._proposal_item(proposal),
        _item({"PK": f"RUN#{run.id}", "SK": "#RUN"}, run, type="run"),
    ]

    requeue_pending(slow.services, items)

    assert sorted(m.proposal_id or m.run_id or "" for m in slow.plan_queue.sent) == sorted([proposal.id, run.id])
    assert slow.queue.sent == []


def test_a_revision_with_steps_is_not_planned_again(fakes: FakeServices) -> None:
    # its steps are its plan (heals accepted into them included): a proposal accepted would undo them
    test_id = goal_test(fakes, steps=[{"action": "goto", "url": "http://127.0.0.1:8001/login"}])

    with pytest.raises(Conflict, match="has steps already, which are its plan"):
        fakes.planning.request_proposal(PROJECT, test_id)


def test_a_heal_of_a_target_written_with_a_variable_is_not_written_in(fakes: FakeServices) -> None:
    # "Remove {{item}}" healed for Bread: writing "Delete Bread" in would make the Milk row click Bread's button
    _, run_id = finished_run(fakes, healed={2: "Delete Bread"}, button="Remove {{item}}")
    with pytest.raises(Conflict, match="healed only targets written with variables"):
        fakes.planning.accept_heals(PROJECT, run_id)

    _, run_id = finished_run(fakes, healed={1: "User name", 2: "Delete Bread"}, button="Remove {{item}}")
    revision = fakes.planning.accept_heals(PROJECT, run_id)
    assert revision.steps is not None and target(revision.steps[2]) == {"role": "button", "name": "Remove {{item}}"}
    assert revision.note is not None and "not step 3, whose target is written with a variable" in revision.note


class DeepPlanner:
    """A planner (a model) that answers with a JSON body nested deeper than a test can store."""

    name = "bedrock"

    def plan(self, request: PlanRequest) -> PlanOutcome:
        deep: Any = []
        for _ in range(80):
            deep = [deep]
        return PlanOutcome(
            steps=[Request.model_validate({"action": "request", "method": "POST", "url": "http://x", "json": deep})],
            planner="bedrock",
        )


def test_a_plan_that_cannot_be_stored_fails_the_proposal() -> None:
    fakes = FakeServices(planner=DeepPlanner())  # type: ignore[arg-type]
    proposal = fakes.planning.request_proposal(PROJECT, goal_test(fakes))
    filled = fakes.planning.fill_proposal(PROJECT, proposal.id)

    assert filled.status == ProposalStatus.failed
    assert filled.error is not None and "nests deeper than 64 levels" in filled.error
