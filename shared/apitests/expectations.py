"""Expectations of a ``request`` step (see ``shared/models/plans.py``), checked against a response.

Every expectation is checked; the result is the list of failures, each a sentence that says what was
expected and what came back. ``matches`` patterns run with RE2 (``shared/regex.py``), in time linear in the
body; still, on bodies of up to 10 MB the checks are CPU work whose cost the test decides, so the runner runs
them in a worker process that is killed when the step's time is up (``shared/apitests/checks.py``). Values
from the response are shown cut short, through a ``clip`` function the caller gives: the runner's masks
secrets *before* it cuts, so no prefix of a long secret survives a cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared import regex
from shared.apitests import schema
from shared.apitests.jsonpath import query
from shared.apitests.response import HttpResult
from shared.models.plans import (
    Expectation,
    ExpectBody,
    ExpectHeader,
    ExpectJsonPath,
    ExpectLatency,
    ExpectSchema,
    ExpectStatus,
)

_SHOWN = 200

#: ``clip(text, limit)``: ``text`` made fit to show, cut to ``limit`` characters (``...`` appended when cut)
Clip = Callable[[str, int], str]


def cut(text: str, limit: int) -> str:
    """The plain :data:`Clip`: cuts, masks nothing."""
    return text if len(text) <= limit else text[:limit] + "..."


def show(value: Any, clip: Clip = cut) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return clip(text, _SHOWN)


def values_equal(expected: Any, actual: Any) -> bool:
    """JSON equality; a string expectation also matches a scalar that renders to it ("5" == 5)."""
    if expected == actual and type(expected) is not bool and type(actual) is not bool:
        return True
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected is actual
    if isinstance(expected, str) and isinstance(actual, int | float) and not isinstance(actual, bool):
        return expected == json.dumps(actual)
    return False


def contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return str(item) in container
    if isinstance(container, list):
        return any(values_equal(item, element) for element in container)
    if isinstance(container, dict):
        if isinstance(item, dict):
            return all(k in container and values_equal(v, container[k]) for k, v in item.items())
        return item in container
    return False


#: with no ``status`` expectation, a response from this status up fails the step (as a ``goto`` does)
ERROR_STATUS = 400


def check(
    result: HttpResult,
    expectations: list[Expectation],
    *,
    clip: Clip = cut,
    before_each: Callable[[int], None] | None = None,
) -> list[str]:
    """Every expectation's failure, in order. With no ``status`` expectation, an error status (400 and up)
    fails too: a request that answered 500 has not done what the step is about, whatever else it checks.
    ``before_each(i)`` is called before expectation ``i`` is checked (so that a check stopped half-way can say
    where it was)."""
    failures: list[str] = []
    if result.status >= ERROR_STATUS and not any(isinstance(e, ExpectStatus) for e in expectations):
        failures.append(
            f"the server answered {result.status}{_body_hint(result, clip)}; "
            f"add {{status: {result.status}}} to expect it"
        )
    for index, expectation in enumerate(expectations):
        if before_each is not None:
            before_each(index)
        message = _check_one(result, expectation, clip)
        if message:
            failures.append(message)
    return failures


def _check_one(result: HttpResult, exp: Expectation, clip: Clip) -> str | None:
    if isinstance(exp, ExpectStatus):
        allowed = exp.status if isinstance(exp.status, list) else [exp.status]
        if result.status not in allowed:
            wanted = " or ".join(str(s) for s in allowed)
            return f"expected status {wanted}, got {result.status}{_body_hint(result, clip)}"
        return None
    if isinstance(exp, ExpectLatency):
        if result.latency_ms > exp.max_latency_ms:
            return f"expected a response within {exp.max_latency_ms} ms, it took {result.latency_ms} ms"
        return None
    if isinstance(exp, ExpectBody):
        if exp.body_contains is not None and exp.body_contains not in result.text:
            return f"expected the body to contain {exp.body_contains!r}{_body_hint(result, clip)}"
        if exp.body_matches is not None and not _search(exp.body_matches, result.text):
            return f"expected the body to match /{exp.body_matches}/{_body_hint(result, clip)}"
        return None
    if isinstance(exp, ExpectHeader):
        return _check_header(result, exp)
    if isinstance(exp, ExpectSchema):
        return _check_schema(result, exp, clip)
    if isinstance(exp, ExpectJsonPath):
        return _check_jsonpath(result, exp, clip)
    raise TypeError(f"unknown expectation {type(exp).__name__}")


def _check_header(result: HttpResult, exp: ExpectHeader) -> str | None:
    value = result.headers.get(exp.header)
    name = exp.header
    if exp.exists is not None:
        if (value is not None) != exp.exists:
            return f"expected header {name} to {'be present' if exp.exists else 'be absent'}"
        return None
    if value is None:
        return f"expected header {name}, the response has no such header"
    if exp.equals is not None and value != exp.equals:
        return f"expected header {name} to equal {exp.equals!r}, got {value!r}"
    if exp.contains is not None and exp.contains not in value:
        return f"expected header {name} to contain {exp.contains!r}, got {value!r}"
    if exp.matches is not None and not _search(exp.matches, value):
        return f"expected header {name} to match /{exp.matches}/, got {value!r}"
    return None


def _check_schema(result: HttpResult, exp: ExpectSchema, clip: Clip) -> str | None:
    if not result.is_json:
        return f"expected a JSON body matching a schema, the body is not JSON{_body_hint(result, clip)}"
    try:
        broken = schema.failure(result.json, exp.json_schema)
    except ValueError as exc:
        return f"the JSON schema of this expectation cannot be used: {exc}"
    if broken is not None:
        where, what = broken
        return f"the body does not match the JSON schema at {where}: {what}"
    return None


def _check_jsonpath(result: HttpResult, exp: ExpectJsonPath, clip: Clip) -> str | None:
    path = exp.jsonpath
    if not result.is_json:
        return f"expected {path} in a JSON body, the body is not JSON{_body_hint(result, clip)}"
    matches = query(result.json, path)
    if exp.exists is not None:
        if bool(matches) != exp.exists:
            found = f"found {show(matches[0], clip)}" if matches else "found nothing"
            return f"expected {path} to {'exist' if exp.exists else 'not exist'}, {found}"
        return None
    if not matches:
        return f"expected {path} to exist, it matched nothing in {show(result.json, clip)}"
    actual = matches[0] if len(matches) == 1 else matches
    if exp.equals is not None and not values_equal(exp.equals, actual):
        return f"expected {path} to equal {show(exp.equals, clip)}, got {show(actual, clip)}"
    if exp.contains is not None and not contains(actual, exp.contains):
        return f"expected {path} to contain {show(exp.contains, clip)}, got {show(actual, clip)}"
    if exp.matches is not None:
        text = actual if isinstance(actual, str) else json.dumps(actual)
        if not _search(exp.matches, text):
            return f"expected {path} to match /{exp.matches}/, got {show(actual, clip)}"
    return None


def _search(pattern: str, text: str) -> bool:
    """RE2 (linear time; see ``shared/regex.py``): a pattern checked at save time cannot stall the runner."""
    return regex.search(pattern, text)


def _body_hint(result: HttpResult, clip: Clip) -> str:
    body = result.text.strip()
    if not body:
        return " (empty body)"
    return f" (body: {clip(body, _SHOWN)})"
