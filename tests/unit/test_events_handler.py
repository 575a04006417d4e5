"""The events function: EventBridge envelopes from its queue to the suite aggregation; what it cannot read is
dropped (not retried forever), what is not for it is ignored, a failing service makes the record come back."""

from __future__ import annotations

import json

import pytest

from functions.events import handler
from shared.models.events import RunStatusChanged
from shared.models.messages import RunMessage
from shared.models.runs import RunStatus
from shared.models.suites import SuiteCreate, SuiteRunCreate
from shared.models.tests import TestCreate
from tests.conftest import FakeServices

PROJECT = "prj_a"


def envelope(detail_type: str, detail: object) -> str:
    return json.dumps({"source": "autotest", "detail-type": detail_type, "detail": detail})


def test_a_childs_event_ends_its_suite_run_through_the_handler(fakes: FakeServices) -> None:
    test, _ = fakes.services.catalog.create_test(
        PROJECT, TestCreate.model_validate({"name": "t", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]})
    )
    suites = fakes.services.suites
    assert suites is not None
    suite = suites.create(PROJECT, SuiteCreate(name="s", tests=[test.id]))
    started = suites.start(PROJECT, suite.id, SuiteRunCreate())
    run = fakes.store.get_run(started.children[0].run_id or "")
    taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id=PROJECT, attempt=1))
    assert taken is not None
    ended = fakes.services.runs.end_attempt(taken, RunStatus.passed)
    body = envelope("Run Status Changed", json.loads(RunStatusChanged.of(ended, previous=None).model_dump_json()))

    assert handler.process(body, fakes.services) == "aggregated"
    assert handler.process(body, fakes.services) == "aggregated"  # a duplicate changes nothing
    assert suites.get_run(PROJECT, started.id).status == "passed"


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ("not json", "dropped"),
        (json.dumps({"detail": {}}), "dropped"),
        (envelope("Run Status Changed", {"run_id": 3}), "dropped"),
        (envelope("Plan Proposal Ready", {}), "ignored"),
    ],
)
def test_what_it_cannot_use_is_dropped_or_ignored(fakes: FakeServices, body: str, outcome: str) -> None:
    assert handler.process(body, fakes.services) == outcome


def test_a_run_of_no_suite_is_ignored_and_a_failing_service_raises(fakes: FakeServices) -> None:
    detail: dict[str, object] = {
        "project_id": PROJECT,
        "run_id": "run_x",
        "test_id": None,
        "suite_run_id": None,
        "status": "passed",
        "previous_status": "running",
        "attempt": 1,
        "summary": {},
        "at": "2026-12-01T00:00:00Z",
    }
    assert handler.process(envelope("Run Status Changed", detail), fakes.services) == "ignored"

    class Broken:
        def on_run_changed(self, event: object) -> None:
            raise RuntimeError("table unavailable")

    import dataclasses

    broken = dataclasses.replace(fakes.services, suites=Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        handler.process(envelope("Run Status Changed", {**detail, "suite_run_id": "srn_1"}), broken)
