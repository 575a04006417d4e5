"""The logs of a browser session: masked, then cut, and bounded; refusals counted for the running step."""

from __future__ import annotations

from runner_container.runner.masking import Masker
from runner_container.runner.session import MAX_LINE_CHARS, MAX_LOG_BYTES, MAX_REFUSALS, PageLogs

TOKEN = "tok-" + "S" * 300


def test_a_long_line_is_masked_then_cut() -> None:
    # Given a console message with a secret across the point where lines are cut
    logs = PageLogs(Masker([TOKEN]))
    logs.console.add("x" * (MAX_LINE_CHARS - 10) + TOKEN + "y" * 5_000_000)

    # Then the line is cut, and not even the start of the secret is left
    (line,) = logs.console.lines
    assert "tok-" not in line and "***" in line and line.endswith("(line cut)")
    assert len(line) < MAX_LINE_CHARS + 50


def test_a_log_stops_at_its_byte_limit_with_a_marker() -> None:
    logs = PageLogs(Masker())
    for _ in range(2 * MAX_LOG_BYTES // MAX_LINE_CHARS):
        logs.network.add("z" * MAX_LINE_CHARS)

    text = logs.network.text()
    assert len(text.encode()) <= MAX_LOG_BYTES + 200
    assert "truncated: the log reached its limit" in text.splitlines()[-1]
    assert logs.console.text() == ""


def test_refusals_are_counted_past_what_is_kept() -> None:
    # Given many refused requests, some before the running step began
    logs = PageLogs(Masker([TOKEN]))
    logs.refused("refused early", "REFUSED early")
    mark = logs.refusal_count
    for i in range(MAX_REFUSALS + 20):
        logs.refused(f"refused http://10.0.0.{i % 3}/?t={TOKEN}", "REFUSED ...")

    # Then the step sees the distinct messages, masked, and how many more there were
    messages = logs.refusals_since(mark)
    kept = [f"refused http://10.0.0.{i}/?t=***" for i in (2, 0, 1)]  # the latest MAX_REFUSALS, distinct
    assert messages == [*kept, "and 20 more requests refused"]
    assert "refused early" not in messages
    assert logs.refusals_since(logs.refusal_count) == []
