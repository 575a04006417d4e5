"""Expectations of a ``request`` step (see ``shared/models/plans.py``), checked against a response.

Every expectation is checked; the result (:func:`outcomes`) is one :class:`Outcome` per check, passed or
not, with what was expected and what came back, and for a failure a sentence that says so (:func:`check`
gives the sentences alone). ``matches`` patterns run with RE2 (``shared/regex.py``), in time linear in the
body; still, on bodies of up to 10 MB the checks are CPU work whose cost the test decides, so the runner runs
them in a worker process that is killed when the step's time is up (``shared/apitests/checks.py``). Values
from the response are shown cut short, through a ``clip`` function the caller gives: the runner's masks
secrets *before* it cuts, so no prefix of a long secret survives a cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from celpy import celtypes

from shared import regex
from shared.apitests import cel, schema
from shared.apitests.jsonpath import JsonPathError, query
from shared.apitests.response import HttpResult
from shared.models.plans import (
    Expectation,
    ExpectBody,
    ExpectExpr,
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


#: a JSON number (RFC 8259), as a string expectation may write one: ``equals`` takes such a string for the number
NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def values_equal(expected: Any, actual: Any) -> bool:
    """JSON equality; a string expectation also matches a number it writes as JSON does ("5" == 5, "3.50" ==
    3.5)."""
    if _json_equal(expected, actual):
        return True
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected is actual
    if isinstance(expected, str) and isinstance(actual, int | float) and not isinstance(actual, bool):
        # a number written as text (a CSV cell, a placeholder): "3.50" is 3.5, "3" is 3.0; not "0x3" or " 3"
        if not NUMBER_TEXT.fullmatch(expected):
            return False
        try:
            return Decimal(expected) == Decimal(repr(actual))
        except InvalidOperation:  # (inf / nan never reach here: JSON has no such numbers)
            return False
    return False


def _json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values, at every depth: true is not 1 and false is not 0 (Python's ``==`` says they are,
    so ``[1] == [True]`` would pass), 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(a == b)


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
#: the most characters of a check's description shown
_DESCRIBED = 300


@dataclass
class Outcome:
    """One check as it came out: what it checked (``jsonpath $.name equals "Apples"``), whether it held, what
    was expected and what came back (shown, cut to 200 characters through ``clip``), and for a check that did
    not hold the sentence that says so (the step's error is these sentences joined)."""

    check: str
    passed: bool
    expected: str | None = None
    actual: str | None = None
    failure: str | None = None


def _outcome(
    clip: Clip, check: str, failure: str | None, *, expected: str | None = None, actual: str | None = None
) -> Outcome:
    return Outcome(
        check=clip(check, _DESCRIBED),
        passed=failure is None,
        expected=None if expected is None else clip(expected, _SHOWN),
        actual=None if actual is None else clip(actual, _SHOWN),
        failure=failure,
    )


def check(
    result: HttpResult,
    expectations: list[Expectation],
    *,
    clip: Clip = cut,
    before_each: Callable[[int], None] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every expectation's failure, in order (the sentences of :func:`outcomes` that did not hold)."""
    found = outcomes(result, expectations, clip=clip, before_each=before_each, variables=variables)
    return [o.failure for o in found if o.failure is not None]


def outcomes(
    result: HttpResult,
    expectations: list[Expectation],
    *,
    clip: Clip = cut,
    before_each: Callable[[int], None] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> list[Outcome]:
    """Every check of the response, in order, passed or not: with no ``status`` expectation first the
    error-status rule (a status of 400 and up fails: a request that answered 500 has not done what the step is
    about, whatever else it checks), then every expectation. ``before_each(i)`` is called before expectation
    ``i`` is checked (so that a check stopped half-way can say where it was); ``variables``: what an ``expr``
    sees as ``vars``."""
    found: list[Outcome] = []
    if not any(isinstance(e, ExpectStatus) for e in expectations):
        failure = None
        if result.status >= ERROR_STATUS:
            failure = (
                f"the server answered {result.status}{_body_hint(result, clip)}; "
                f"add {{status: {result.status}}} to expect it"
            )
        found.append(
            _outcome(
                clip,
                f"status below {ERROR_STATUS}",
                failure,
                expected=f"below {ERROR_STATUS}",
                actual=str(result.status),
            )
        )
    for index, expectation in enumerate(expectations):
        if before_each is not None:
            before_each(index)
        found.append(_check_one(result, expectation, clip, variables or {}))
    return found


def _check_one(result: HttpResult, exp: Expectation, clip: Clip, variables: Mapping[str, Any]) -> Outcome:
    if isinstance(exp, ExpectStatus):
        allowed = exp.status if isinstance(exp.status, list) else [exp.status]
        wanted = " or ".join(str(s) for s in allowed)
        failure = None
        if result.status not in allowed:
            failure = f"expected status {wanted}, got {result.status}{_body_hint(result, clip)}"
        return _outcome(clip, f"status {wanted}", failure, expected=wanted, actual=str(result.status))
    if isinstance(exp, ExpectLatency):
        failure = None
        if result.latency_ms > exp.max_latency_ms:
            failure = f"expected a response within {exp.max_latency_ms} ms, it took {result.latency_ms} ms"
        return _outcome(
            clip,
            f"latency at most {exp.max_latency_ms} ms",
            failure,
            expected=f"at most {exp.max_latency_ms} ms",
            actual=f"{result.latency_ms} ms",
        )
    if isinstance(exp, ExpectBody):
        return _check_body(result, exp, clip)
    if isinstance(exp, ExpectHeader):
        return _check_header(result, exp, clip)
    if isinstance(exp, ExpectSchema):
        return _check_schema(result, exp, clip)
    if isinstance(exp, ExpectJsonPath):
        return _check_jsonpath(result, exp, clip)
    if isinstance(exp, ExpectExpr):
        return _check_expr(result, exp, clip, variables)
    raise TypeError(f"unknown expectation {type(exp).__name__}")


def _body_shown(result: HttpResult) -> str:
    body = result.text.strip()
    return body if body else "(empty body)"


def _check_body(result: HttpResult, exp: ExpectBody, clip: Clip) -> Outcome:
    if exp.body_contains is not None:
        failure = None
        if exp.body_contains not in result.text:
            failure = f"expected the body to contain {exp.body_contains!r}{_body_hint(result, clip)}"
        return _outcome(
            clip,
            f"body contains {exp.body_contains!r}",
            failure,
            expected=f"contains {exp.body_contains!r}",
            actual=_body_shown(result),
        )
    pattern = exp.body_matches or ""
    failure = None
    if not _search(pattern, result.text):
        failure = f"expected the body to match /{pattern}/{_body_hint(result, clip)}"
    return _outcome(clip, f"body matches /{pattern}/", failure, expected=f"/{pattern}/", actual=_body_shown(result))


def _check_header(result: HttpResult, exp: ExpectHeader, clip: Clip) -> Outcome:
    value = result.headers.get(exp.header)
    name = exp.header
    actual = value if value is not None else "(no such header)"
    if exp.exists is not None:
        failure = None
        if (value is not None) != exp.exists:
            failure = f"expected header {name} to {'be present' if exp.exists else 'be absent'}"
        wanted = "present" if exp.exists else "absent"
        return _outcome(clip, f"header {name} {wanted}", failure, expected=wanted, actual=actual)
    if exp.equals is not None:
        how, wanted, holds = "equals", exp.equals, value == exp.equals
    elif exp.contains is not None:
        how, wanted, holds = "contains", exp.contains, value is not None and exp.contains in value
    else:
        pattern = exp.matches or ""
        how, wanted, holds = "matches", f"/{pattern}/", value is not None and _search(pattern, value)
    shown = wanted if how == "matches" else _json(wanted)
    failure = None
    if value is None:
        failure = f"expected header {name}, the response has no such header"
    elif not holds:
        verb = {"equals": "equal", "contains": "contain", "matches": "match"}[how]
        failure = f"expected header {name} to {verb} {wanted if how == 'matches' else repr(wanted)}, got {value!r}"
    return _outcome(clip, f"header {name} {how} {shown}", failure, expected=f"{how} {shown}", actual=actual)


def _check_schema(result: HttpResult, exp: ExpectSchema, clip: Clip) -> Outcome:
    described = "body matches the JSON schema"
    expected = json.dumps(exp.json_schema)
    if not result.is_json:
        failure = f"expected a JSON body matching a schema, the body is not JSON{_body_hint(result, clip)}"
        return _outcome(clip, described, failure, expected=expected, actual=_body_shown(result))
    try:
        broken = schema.failure(result.json, exp.json_schema)
    except ValueError as exc:
        failure = f"the JSON schema of this expectation cannot be used: {exc}"
        return _outcome(clip, described, failure, expected=expected, actual=None)
    if broken is not None:
        where, what = broken
        failure = f"the body does not match the JSON schema at {where}: {what}"
        return _outcome(clip, described, failure, expected=expected, actual=f"at {where}: {what}")
    return _outcome(clip, described, None, expected=expected, actual="valid")


def _check_jsonpath(result: HttpResult, exp: ExpectJsonPath, clip: Clip) -> Outcome:
    path = exp.jsonpath
    if exp.exists is not None:
        how, expected = ("exists", "something") if exp.exists else ("does not exist", "nothing")
    elif exp.equals is not None:
        how, expected = f"equals {_json(exp.equals)}", show(exp.equals, clip)
    elif exp.contains is not None:
        how, expected = f"contains {_json(exp.contains)}", f"contains {show(exp.contains, clip)}"
    else:
        how, expected = f"matches /{exp.matches}/", f"/{exp.matches}/"
    described = f"jsonpath {path} {how}"

    def done(failure: str | None, actual: str | None) -> Outcome:
        return _outcome(clip, described, failure, expected=expected, actual=actual)

    if not result.is_json:
        return done(
            f"expected {path} in a JSON body, the body is not JSON{_body_hint(result, clip)}", _body_shown(result)
        )
    try:
        matches = query(result.json, path)
    except JsonPathError as exc:
        return done(exc.message, None)
    if exp.exists is not None:
        shown = show(matches[0] if len(matches) == 1 else matches, clip) if matches else "nothing"
        if bool(matches) != exp.exists:
            found = f"found {show(matches[0], clip)}" if matches else "found nothing"
            return done(f"expected {path} to {'exist' if exp.exists else 'not exist'}, {found}", shown)
        return done(None, shown)
    if not matches:
        return done(f"expected {path} to exist, it matched nothing in {show(result.json, clip)}", "nothing")
    actual = matches[0] if len(matches) == 1 else matches
    shown = show(actual, clip)
    if exp.equals is not None and not values_equal(exp.equals, actual):
        return done(f"expected {path} to equal {show(exp.equals, clip)}, got {shown}", shown)
    if exp.contains is not None and not contains(actual, exp.contains):
        return done(f"expected {path} to contain {show(exp.contains, clip)}, got {shown}", shown)
    if exp.matches is not None:
        text = actual if isinstance(actual, str) else json.dumps(actual)
        if not _search(exp.matches, text):
            return done(f"expected {path} to match /{exp.matches}/, got {shown}", shown)
    return done(None, shown)


def expr_bindings(result: HttpResult, variables: Mapping[str, Any]) -> dict[str, Any]:
    """What a CEL expression sees: ``response``, ``body``, ``headers`` and ``vars`` (plain JSON values)."""
    headers: dict[str, str] = {}
    for name, value in result.headers.multi_items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    body = result.json if result.is_json else result.text
    response = {
        "status": result.status,
        "headers": headers,
        "latency_ms": result.latency_ms,
        "url": result.url,
        "method": result.method,
        "redirects": list(result.redirects),
        "text": result.text,
    }
    return {"response": response, "body": body, "headers": headers, "vars": dict(variables)}


def _check_expr(result: HttpResult, exp: ExpectExpr, clip: Clip, variables: Mapping[str, Any]) -> Outcome:
    described = f"expr {exp.expr}"
    try:
        value = cel.evaluate(exp.expr, expr_bindings(result, variables))
    except cel.CelError as exc:
        return _outcome(
            clip, described, f"the expression {exp.expr!r} failed: {exc}", expected="true", actual=f"error: {exc}"
        )
    if not isinstance(value, celtypes.BoolType | bool):
        kind = cel.type_name(value)
        shown = show(_plain(value), clip)
        wrong = f"the expression {exp.expr!r} gave {kind} {shown}, not a bool: a check must be true or false"
        return _outcome(clip, described, wrong, expected="true", actual=f"{kind} {shown}")
    holds = bool(value)
    failure = None if holds else f"expected {exp.expr!r} to be true, it is false"
    return _outcome(clip, described, failure, expected="true", actual="true" if holds else "false")


def _json(value: Any) -> str:
    """A value as JSON text, for a check's description (``"Apples"``, ``[1, 2]``)."""
    return json.dumps(value, default=str, ensure_ascii=False)


def _plain(value: Any) -> Any:
    """A CEL value as plain JSON-like data, to show it."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, celtypes.BoolType | bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return None if value is None else str(value)


def _search(pattern: str, text: str) -> bool:
    """RE2 (linear time; see ``shared/regex.py``): a pattern checked at save time cannot stall the runner."""
    return regex.search(pattern, text)


def _body_hint(result: HttpResult, clip: Clip) -> str:
    body = result.text.strip()
    if not body:
        return " (empty body)"
    return f" (body: {clip(body, _SHOWN)})"
