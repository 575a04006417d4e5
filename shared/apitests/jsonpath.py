"""JSONPath (RFC 9535) for extraction and assertions on API responses: a thin adapter over ``python-jsonpath``.

The syntax is the standard's (``python-jsonpath`` in its strict mode, nothing beyond RFC 9535): ``$`` (the
document), ``.name`` and ``['name']``, ``[0]`` / ``[-1]``, slices ``[0:2]``, ``[*]``, unions ``[0,2]``,
descendants ``..name``, and filters ``[?@.price > 10]`` with the standard functions ``length()``, ``count()``,
``match()``, ``search()`` and ``value()``: ``$.items[?length(@.tags) > 0].id``, ``$.users[?match(@.email,
".*@example[.]com")]``. ``match`` and ``search`` run their patterns with RE2 (``shared/regex.py``: linear
time), as every other pattern of a test does; a literal pattern that RE2 cannot compile is an error when the
path is compiled, not a filter that silently matches nothing.

The standard has no ``$.rows.length()``: a size is checked with ``length()`` inside a filter or, more
plainly, with a CEL expectation (``{"expr": "size(body.rows) == 3"}``); such a path's error says so.

Paths are compiled once per process (:func:`compile_path` is cached): when a test is saved, and again in the
worker processes that check responses.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonpath
from jsonpath.filter import BaseExpression, FilterQuery, FunctionExtension, StringLiteral
from jsonpath.function_extensions import ExpressionType, FilterFunction
from jsonpath.selectors import Filter

from shared import regex
from shared.errors import InvalidInput
from shared.placeholders import PLACEHOLDER


class JsonPathError(InvalidInput):
    code = "invalid_jsonpath"


class _Re2Function(FilterFunction):
    """RFC 9535's ``match`` (the whole value) or ``search`` (anywhere in it), with RE2. A pattern RE2 cannot
    compile matches nothing, as the standard says for an invalid pattern (a literal one is refused when the
    path is compiled, see :func:`compile_path`)."""

    arg_types = [ExpressionType.VALUE, ExpressionType.VALUE]
    return_type = ExpressionType.LOGICAL

    def __init__(self, *, whole: bool) -> None:
        self._whole = whole

    def __call__(self, value: object, pattern: object) -> bool:
        if not isinstance(value, str) or not isinstance(pattern, str):
            return False
        try:
            compiled = regex.compile_pattern(pattern)
        except regex.RegexError:
            return False
        if self._whole:
            return compiled.fullmatch(value) is not None
        return compiled.search(value) is not None


@functools.cache
def _env() -> jsonpath.JSONPathEnvironment:
    env = jsonpath.JSONPathEnvironment(strict=True)  # RFC 9535 only: no non-standard syntax
    env.function_extensions["match"] = _Re2Function(whole=True)
    env.function_extensions["search"] = _Re2Function(whole=False)
    return env


#: ``.length()``, ``.size()``...: a method call, which JSONPath does not have
_METHOD_CALL = re.compile(r"\.\s*[A-Za-z_][A-Za-z0-9_]*\s*\(")
_LENGTH_HINT = (
    "RFC 9535 JSONPath has no .length() or other method calls: check a size with a CEL expectation "
    '({"expr": "size(body.rows) == 3"}) or with length() in a filter ($.items[?length(@.tags) > 0])'
)


@functools.lru_cache(maxsize=2048)
def compile_path(path: str) -> jsonpath.JSONPath:
    """``path`` compiled (cached per process); raises :class:`JsonPathError` saying what is wrong and where."""
    try:
        compiled = _env().compile(path)
    except jsonpath.JSONPathError as exc:
        raise JsonPathError(_message(path, exc), details={"jsonpath": path}) from None
    except RecursionError:
        raise JsonPathError(f"JSONPath {path!r} is nested too deeply", details={"jsonpath": path}) from None
    if not isinstance(compiled, jsonpath.JSONPath):  # (the strict environment makes no compound paths)
        raise JsonPathError(f"JSONPath {path!r} is not one query", details={"jsonpath": path})
    for pattern in _literal_patterns(compiled):
        problem = regex.problem(pattern)
        if problem:
            raise JsonPathError(f"JSONPath {path!r}: {problem}", details={"jsonpath": path})
    return compiled


def _message(path: str, exc: jsonpath.JSONPathError) -> str:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    message = f"invalid JSONPath {path!r}: {first}"
    if _METHOD_CALL.search(path):
        message += f"; {_LENGTH_HINT}"
    elif not path.lstrip().startswith("$"):
        message += "; a JSONPath starts with $ (the document): $.items[0].id"
    return message


def _literal_patterns(path: jsonpath.JSONPath) -> Iterator[str]:
    """The literal patterns of the ``match()`` and ``search()`` calls in ``path``'s filters (nested ones too)."""
    for segment in path.segments:
        for selector in segment.selectors:
            if isinstance(selector, Filter):
                yield from _patterns_in(selector.expression)


def _patterns_in(expression: BaseExpression) -> Iterator[str]:
    if (
        isinstance(expression, FunctionExtension)
        and expression.name in ("match", "search")
        and len(expression.args) == 2
        and isinstance(expression.args[1], StringLiteral)
    ):
        yield expression.args[1].value
    if isinstance(expression, FilterQuery):
        yield from _literal_patterns(expression.path)
    for child in expression.children():
        yield from _patterns_in(child)


def problem(path: str) -> str | None:
    """Why ``path`` cannot be compiled, or None when it can."""
    try:
        compile_path(path)
    except JsonPathError as exc:
        return exc.message
    return None


#: what a placeholder may stand for in a path: a name or text (``$.{{field}}``, ``"{{name}}"``), a number
#: (``[{{i}}]``, ``== {{id}}``)
_STAND_INS = ("a", "0")
_MAX_COMBINED = 6


def template_problem(path: str) -> str | None:
    """Why ``path``, as a test writes it (it may hold placeholders), cannot be compiled, or None. A path with
    placeholders passes when it compiles with each placeholder standing for a name or text, or a number
    (``$.items[?@.id == {{id}}]``, ``$.{{field}}``); once rendered, at run time, it is compiled as it is
    (a variable that makes it invalid fails the step then)."""
    found = list(PLACEHOLDER.finditer(path))
    if not found:
        return problem(path)
    pieces = PLACEHOLDER.split(path)[:: PLACEHOLDER.groups + 1]  # the text around the placeholders
    if len(found) <= _MAX_COMBINED:
        choices: Iterator[tuple[str, ...]] = itertools.product(_STAND_INS, repeat=len(found))
    else:
        choices = iter([(stand_in,) * len(found) for stand_in in _STAND_INS])
    first: str | None = None
    for choice in choices:
        candidate = pieces[0] + "".join(value + text for value, text in zip(choice, pieces[1:], strict=True))
        why = problem(candidate)
        if why is None:
            return None
        first = first or why
    return f"{first} (with its placeholders standing for a name or a number)"


def query(document: Any, path: str) -> list[Any]:
    """Every value ``path`` selects in ``document`` (an empty list when nothing matches). Raises
    :class:`JsonPathError` for a path that does not compile, or a query that cannot be carried out (a
    document nested past the library's depth)."""
    compiled = compile_path(path)
    # the library reads a str as JSON text: a document that *is* a string is handed over as JSON text
    data = json.dumps(document) if isinstance(document, str) else document
    try:
        return list(compiled.findall(data))
    except (jsonpath.JSONPathError, RecursionError) as exc:
        raise JsonPathError(f"JSONPath {path!r} could not be evaluated: {exc}", details={"jsonpath": path}) from None


def is_definite(path: str) -> bool:
    """True when ``path`` is an RFC 9535 singular query (names and indexes only): it selects at most one value."""
    return compile_path(path).singular_query()
