"""Failure signatures: why a run failed, normalized so that the same cause reads the same in every run.

A pure function of the stored run (:func:`failure_of`): no I/O, no clock. The runner records an error as text
for a person (``shared/models/runs.py``'s ``StepResult.error``), so the signature is worked out from that text,
the step that did not pass and, for a ``request`` step, its checks. Hand-written: what varies between two runs
of the same cause (ids, timestamps, ports, durations, what the page showed) is this project's runner's wording,
which no library knows.

Which runs failed: those that ended ``failed``, ``error`` or ``timed_out`` (:data:`FAILURE_STATUSES`). A
cancelled run is not a failure (a person or a suite's ``fail_fast`` stopped it: it says nothing about the test),
and neither is a flaky pass (it passed); a failed attempt that was retried is not either: only how the run
ended counts.

The signature hashes four parts, each normalized: the first step that did not pass (its action and target, not
its position: a step added before it leaves the signature as it was), the error's kind (:func:`error_kind`),
the response status of a ``request`` step, and the message (:func:`normalize_message`). A run that failed
outside a step (a secret not defined, its worker stopped, its time ran out between steps) has no step part.

:data:`VERSION` is stored with each signature; a change to these rules that changes signatures bumps it, and a
stored signature of another version is worked out again when the run is read (``shared/services/failures.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from shared.models.failures import Failure
from shared.models.runs import Iteration, Run, RunStatus, StepResult

VERSION = 1
#: how a run ends that counts as a failure
FAILURE_STATUSES = frozenset({RunStatus.failed, RunStatus.error, RunStatus.timed_out})
#: the most characters of a normalized message
MESSAGE_CHARS = 300

# ------------------------------------------------------------------------------- normalization

#: (a scheme of at most 32 characters: unbounded, each word of a long "a.b.c.d..." rescanned the rest, quadratic)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s'\"<>()\[\]{}|\\^`]+")
_TRAILING = ".,;:!?"
_UUID = re.compile(r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b")
#: ``run_01J...``, ``tst_...``, ``srn_...``: a short prefix, an underscore, and a run of letters and digits that
#: holds a digit (so ``base_url_override`` is left alone)
_PREFIXED_ID = re.compile(r"\b[A-Za-z]{2,10}_(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{8,}\b")
_ISO_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?)?(?![\d])"
)
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\d.])")
_IPV6_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_CLOCK = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?(?:Z|UTC))?(?![\d:])")
_HEX = re.compile(r"\b0x[0-9A-Fa-f]+\b|\b(?=[0-9A-Fa-f]*[0-9])(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{8,}\b")
#: a long run of letters and digits mixing both (a token, a ULID without a prefix): an id
_MIXED_ID = re.compile(r"\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")
#: what the runner adds after the cause, which changes from run to run of the same cause: what the page showed,
#: the elements it had, how many tries a request took
_VOLATILE = (
    re.compile(r";\s*it shows: .*$", re.S),
    re.compile(r"(expected exactly one): .*$", re.S),
    re.compile(r"\s*\(after \d+ tr(?:y|ies)[^)]{0,1000}\)\s*$"),  # (bounded, as the next: else quadratic)
    re.compile(r"\s*\(defined: [^()]*\)"),  # (not "[^)]*": from each unclosed "(defined: " to the end, quadratic)
)
#: the end of the first sentence (the runner's next sentences describe the page: "Elements with role ...")
_SENTENCE_END = re.compile(r"(?<=[^\s.])\.\s+(?=[A-Z])")


def _tokens(text: str) -> str:
    """Ids, timestamps, addresses, hex strings and numbers replaced by placeholders (URLs are not special here)."""
    text = _UUID.sub("<id>", text)
    text = _PREFIXED_ID.sub("<id>", text)
    text = _ISO_TIME.sub("<time>", text)
    text = _IPV6_HOST.sub("<ip>", text)
    text = _IPV4.sub("<ip>", text)
    text = _CLOCK.sub("<time>", text)
    text = _HEX.sub("<hex>", text)
    text = _MIXED_ID.sub("<id>", text)
    return _NUMBER.sub("<n>", text)


def normalize_url(url: str) -> str:
    """``scheme://host/path`` with the path's ids and numbers replaced (:func:`_tokens`); no user, port, query
    or fragment. A host that is an IP address is ``<ip>``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return _tokens(url.split("?", 1)[0].split("#", 1)[0])
    if _IPV4.fullmatch(host) or ":" in host:
        host = "<ip>"
    return f"{parts.scheme.lower()}://{host.lower()}{_tokens(parts.path)}"


def _urls(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and url[-1] in _TRAILING:
            url, tail = url[:-1], url[-1] + tail
        return normalize_url(url) + tail

    return _URL.sub(one, text)


def normalize_text(text: str) -> str:
    """A target or a detail, normalized as messages are (URLs, ids, times, numbers), whitespace collapsed."""
    return _SPACES.sub(" ", _tokens(_urls(text))).strip()


def normalize_message(message: str) -> str:
    """An error message with what changes between runs of the same cause taken out: its first sentence only,
    what the runner adds about the page (``it shows: ...``, the elements a target matched) and the tries of a
    request left out; URLs without user, port, query and fragment; uuids and ``run_...``-style ids as ``<id>``,
    ISO 8601 and clock times as ``<time>``, IP addresses (with their port) as ``<ip>``, hex strings as ``<hex>``,
    every other number as ``<n>``; whitespace collapsed; cut to :data:`MESSAGE_CHARS` characters."""
    text = _SPACES.sub(" ", message).strip()
    for pattern in _VOLATILE:
        text = pattern.sub(lambda m: m.group(1) if m.groups() else "", text)
    text = _SENTENCE_END.split(text, maxsplit=1)[0]
    text = normalize_text(text)
    return text[:MESSAGE_CHARS].rstrip()


# --------------------------------------------------------------------------------- the kind

_TIMEOUT = re.compile(
    r"timeout \d+ ?ms exceeded|did not finish within|timed out|cut short by the run's timeout|time ran out", re.I
)
_CRASH = re.compile(r"target crashed|browser closed|has been closed|browser has disconnected", re.I)
_NAVIGATION = re.compile(r"answered \d{3}\b|net::err_|could not open start_url|navigation", re.I)
_SETUP = re.compile(
    r"undefined variable|not defined|was not loaded for this run|no step plan|invalid after rendering|"
    r"once its placeholders are filled in|could not be turned into steps|needs a browser",
    re.I,
)
_CONNECTION = re.compile(r"connect|connection|refused|reset|unreachable|resolve|dns|ssl|tls|certificate", re.I)
_STATUS_IN_ERROR = re.compile(r"-> (\d{3}) in \d+ ms")
_ANSWERED = re.compile(r"answered (\d{3})\b")


def _failing_checks(step: StepResult) -> list[str]:
    return [c.check for c in step.checks if not c.passed]


def response_status(step: StepResult) -> int | None:
    """A ``request`` step's response status as the runner recorded it: the actual value of its status check, else
    the ``-> 500 in 12 ms`` of its error; a page that answered an error status (``answered 404``); else None."""
    for check in step.checks:
        if check.check.startswith("status") and check.actual and check.actual.strip().isdigit():
            return int(check.actual.strip())
    for pattern in (_STATUS_IN_ERROR, _ANSWERED):
        found = pattern.search(step.error or "")
        if found:
            return int(found.group(1))
    return None


def error_kind(message: str, *, step: StepResult | None = None, status: RunStatus | None = None) -> str:
    """The kind of error a message (of ``step``, or of a run that ``status`` ended) says, by the first rule that
    holds (see ``shared/models/failures.py``'s ``Failure.kind`` for the names)."""
    low = message.lower()
    if low.startswith("runner error:"):
        return "runner_error"
    if _CRASH.search(message):
        return "browser_crash"
    if "never finished" in low or "dead-letter" in low:
        return "interrupted"
    if low.startswith("refused ") or "; refused " in low or "network guard" in low:
        return "refused"
    if _SETUP.search(message):
        return "setup"
    if step is not None and step.action == "request":
        failing = _failing_checks(step)
        if any(c.startswith("status") for c in failing):
            return "http_status"
        if failing and all(c.startswith("extract") for c in failing):
            return "extract_failed"
        if failing:
            return "check_failed"
        if _TIMEOUT.search(message):
            return "timeout"
        if _CONNECTION.search(message):
            return "connection"
    if _TIMEOUT.search(message) and "expected" not in low:
        return "timeout"
    if "matched nothing" in low or (low.startswith("target ") and " within " in low and ": no " in low):
        return "target_not_found"
    if re.search(r"matched \d+ elements|expected exactly one", low):
        return "target_ambiguous"
    if _NAVIGATION.search(message):
        return "navigation"
    if low.startswith("expected") or (step is not None and step.action.startswith("expect")):
        return "expectation"
    if _TIMEOUT.search(message):
        return "timeout"
    if step is None and status == RunStatus.timed_out:
        return "run_timeout"
    if step is not None:
        return "error" if step.status == "error" else "failure"
    return "error" if status in (RunStatus.error, None) else "failure"


# ------------------------------------------------------------------------------ the signature


def first_failing_step(run: Run) -> StepResult | None:
    """The first step that failed or errored: of the run's steps, else of its first dataset row that did not
    pass; None when none did."""
    rows: Iterable[Iteration] = run.iterations
    for steps in (run.steps, *(row.steps for row in rows if row.status != RunStatus.passed)):
        for step in steps:
            if step.status in ("failed", "error"):
                return step
    return None


def _step_target(step: StepResult) -> str | None:
    if step.action == "request":  # its method and URL (path only): the request's "target"
        return normalize_text(step.detail) if step.detail else None
    text = step.target or step.detail
    return normalize_text(text) if text else None


def digest(*parts: str | int | None) -> str:
    """16 hex digits of a SHA-256 over ``parts`` (None and the empty string told apart)."""
    joined = "\x1f".join("\x00" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def failure_of(run: Run) -> Failure | None:
    """The failure signature of a run that ended ``failed``, ``error`` or ``timed_out``; None for any other."""
    if run.status not in FAILURE_STATUSES:
        return None
    step = first_failing_step(run)
    raw = (step.error if step is not None else None) or run.error or f"the run ended {run.status.value}"
    kind = error_kind(raw, step=step, status=run.status)
    message = normalize_message(raw)
    action = step.action if step is not None else None
    target = _step_target(step) if step is not None else None
    http_status = response_status(step) if step is not None else None
    return Failure(
        signature=digest(VERSION, action, target, kind, http_status, message),
        step_index=step.index if step is not None else None,
        action=action,
        target=target,
        kind=kind,
        http_status=http_status,
        message=message,
        version=VERSION,
    )
