"""Schedules in ``autotest local``: a rate(1 minute) schedule of a test made through the API starts one run per
minute, through the local store (journaled DynamoDB on the embedded moto), across a restart. The clock is driven
(``tick(now)``) instead of waited for."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.models.runs import RunStatus
from tests.integration.test_local_mode import TEST, Starter, api, start_local

__all__ = ["start_local"]  # the fixture


def test_a_minutely_schedule_starts_one_run_per_minute_across_a_restart(start_local: Starter) -> None:
    # Given local mode with a test scheduled every minute
    first, info = start_local()
    with api(info) as http:
        test = http.post("/v1/tests", json=TEST).json()
        created = http.post("/v1/schedules", json={"test_id": test["id"], "rate": "rate(1 minute)"})
        assert created.status_code == 201, created.text
        schedule = created.json()
    due = datetime.fromisoformat(schedule["next_fire_times"][0]["at"])
    after = datetime.fromisoformat(schedule["next_fire_times"][1]["at"])
    assert after - due == timedelta(minutes=1)

    # When its loop ticks at the due time, and again a little later
    services = first.mode.services
    assert services is not None and services.schedules is not None
    fired = services.schedules.tick(due + timedelta(seconds=1))
    assert services.schedules.tick(due + timedelta(seconds=20)) == []

    # Then one run, started by the schedule
    assert [f.due for f in fired] == [due]
    with api(info) as http:
        run = http.get(f"/v1/runs/{fired[0].started}").json()
        assert (run["trigger"], run["schedule_id"], run["status"]) == ("schedule", schedule["id"], RunStatus.queued)
        shown = http.get(f"/v1/schedules/{schedule['id']}").json()
        assert shown["last_run_id"] == run["id"]

    # When local mode restarts and its loop ticks in the same minute, then in the next
    first.stop()
    second, again = start_local()
    services = second.mode.services
    assert services is not None and services.schedules is not None
    assert services.schedules.tick(due + timedelta(seconds=40)) == []
    following = services.schedules.tick(after + timedelta(seconds=2))

    # Then the next minute's run, and only it
    assert [f.due for f in following] == [after]
    with api(again) as http:
        runs = http.get("/v1/runs", params={"test_id": test["id"]}).json()["items"]
        assert {r["id"] for r in runs} == {fired[0].started, following[0].started} and len(runs) == 2
        assert {r["trigger"] for r in runs} == {"schedule"}
