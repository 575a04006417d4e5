"""What a notification says: the webhook's JSON document and the Slack message, for an ended run or suite run.

Both are built from a :class:`Notice` (the facts, gathered by the service). Error texts come from the run,
whose secrets are masked already; they are cut to :data:`MAX_ERROR_CHARS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.models.notifications import Trigger
from shared.models.runs import Run, StepResult
from shared.models.suites import SuiteChild, SuiteRun

MAX_ERROR_CHARS = 1000
#: failing child runs of a suite run listed in a message
MAX_FAILURES_LISTED = 10
_PASSED = "passed"


def _cut(text: str | None, limit: int = MAX_ERROR_CHARS) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failing_step(run: Run) -> StepResult | None:
    """The first step that failed or errored (in the run's steps, else in its dataset iterations)."""
    steps = run.steps or [s for it in run.iterations for s in it.steps]
    return next((s for s in steps if s.status in ("failed", "error")), None)


@dataclass(frozen=True)
class Notice:
    """An ended run (``run``) or suite run (``suite_run``), and how it relates to the previous one."""

    project_id: str
    trigger: Trigger
    at: datetime
    run: Run | None = None
    suite_run: SuiteRun | None = None
    #: the status of the previous ended run of the same test (suite run of the same suite), cancelled ones passed
    #: over; None for a first run, an inline run, or none among the newest looked at
    previous_status: str | None = None
    run_url: str | None = None
    report_url: str | None = None

    @property
    def kind(self) -> Literal["run", "suite_run"]:
        return "run" if self.run is not None else "suite_run"

    @property
    def subject_id(self) -> str:
        return self.run.id if self.run is not None else self._suite().id

    @property
    def status(self) -> str:
        return str(self.run.status if self.run is not None else self._suite().status)

    @property
    def event_type(self) -> str:
        """``run.failure``, ``suite_run.recovery``, ``run.ended``...: the ``X-Autotest-Event`` header."""
        return f"{self.kind}.{self.trigger.value}"

    def _suite(self) -> SuiteRun:
        assert self.suite_run is not None
        return self.suite_run

    def title(self) -> str:
        if self.run is not None:
            return self.run.name or self.run.test_id or self.run.id
        return self._suite().suite_name


def _step_document(step: StepResult | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {
        "index": step.index,
        "action": step.action,
        "summary": step.summary() or None,
        "status": step.status,
        "error": _cut(step.error),
    }


def _failing_children(suite_run: SuiteRun) -> list[SuiteChild]:
    return [c for c in suite_run.children if c.status not in (_PASSED, "pending", "queued", "running")]


def webhook_document(notice: Notice, *, delivery_id: str, target_id: str) -> dict[str, Any]:
    """The webhook's JSON body."""
    document: dict[str, Any] = {
        "type": notice.event_type,
        "delivery_id": delivery_id,
        "target_id": target_id,
        "project_id": notice.project_id,
        "trigger": notice.trigger.value,
        "status": notice.status,
        "previous_status": notice.previous_status,
        "at": notice.at.isoformat(),
        "links": {"run": notice.run_url, "report": notice.report_url},
    }
    if notice.run is not None:
        run = notice.run
        document["run"] = {
            "id": run.id,
            "test_id": run.test_id,
            "name": run.name,
            "revision": run.revision,
            "status": run.status,
            "attempt": run.attempt,
            "suite_run_id": run.suite_run_id,
            "schedule_id": run.schedule_id,
            "labels": run.labels,
            "duration_ms": run.duration_ms,
            "error": _cut(run.error),
            "failing_step": _step_document(failing_step(run)),
        }
    else:
        suite = notice._suite()
        document["suite_run"] = {
            "id": suite.id,
            "suite_id": suite.suite_id,
            "suite_name": suite.suite_name,
            "status": suite.status,
            "schedule_id": suite.schedule_id,
            "labels": suite.labels,
            "duration_ms": suite.duration_ms,
            "counts": suite.counts.model_dump(mode="json"),
            "error": _cut(suite.error),
            "failures": [
                {"test_id": c.test_id, "name": c.name, "run_id": c.run_id, "status": c.status, "error": _cut(c.error)}
                for c in _failing_children(suite)[:MAX_FAILURES_LISTED]
            ],
        }
    return document


# ------------------------------------------------------------------------------------------ Slack


def _mrkdwn(text: str) -> str:
    """Text shown literally in Slack's mrkdwn (``&``, ``<``, ``>`` escaped, so no link or mention sneaks in)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ICONS = {"failure": ":x:", "recovery": ":white_check_mark:", "ended": ":information_source:"}
_WORDS = {"failure": "failed", "recovery": "recovered", "ended": "ended"}


def _headline(notice: Notice) -> str:
    what = "Test" if notice.run is not None else "Suite"
    word = _WORDS[notice.trigger.value]
    return f"{what} {notice.title()} {word} ({notice.status})"


def _link(url: str) -> str:
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def slack_message(notice: Notice) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification's fallback) and ``blocks``."""
    headline = _headline(notice)
    lines = [f"{_ICONS[notice.trigger.value]} *{_mrkdwn(headline)}*"]
    if notice.run is not None:
        run = notice.run
        facts = [f"run `{run.id}`", f"attempt {run.attempt}"]
        if run.duration_ms is not None:
            facts.append(f"{run.duration_ms / 1000:.1f} s")
        if notice.previous_status and notice.trigger.value == "recovery":
            facts.append(f"previous run {notice.previous_status}")
        lines.append(_mrkdwn(" · ".join(facts)))
        step = failing_step(run)
        if step is not None:
            label = step.summary() or step.action
            lines.append(f"*Failing step {step.index + 1}* ({_mrkdwn(step.action)}): {_mrkdwn(label)}")
            if step.error:
                lines.append(f"> {_mrkdwn(_cut(step.error, 500) or '')}")
        elif run.error and run.status != _PASSED:
            lines.append(f"> {_mrkdwn(_cut(run.error, 500) or '')}")
    else:
        suite = notice._suite()
        c = suite.counts
        lines.append(
            _mrkdwn(
                f"suite run `{suite.id}` · {c.passed}/{c.total} passed"
                + (f" · {c.failed} failed" if c.failed else "")
                + (f" · {c.error} error" if c.error else "")
                + (f" · {c.timed_out} timed out" if c.timed_out else "")
            )
        )
        for child in _failing_children(suite)[:MAX_FAILURES_LISTED]:
            name = child.name or child.test_id
            error = f": {_cut(child.error, 300)}" if child.error else ""
            lines.append(f"• {_mrkdwn(f'{name} {child.status}{error}')}")
        if suite.error:
            lines.append(f"> {_mrkdwn(_cut(suite.error, 500) or '')}")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    links = [f"<{_link(url)}|{name}>" for name, url in (("Run", notice.run_url), ("Report", notice.report_url)) if url]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    # the fallback text is read as mrkdwn too (a name holding "<!channel>" would mention the channel)
    return {"text": _mrkdwn(headline), "blocks": blocks}
