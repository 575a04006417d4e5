"""Custom checks of a ``request`` step in CEL, the Common Expression Language (``cel-python``, pure Python).

``{"expr": "response.status == 200 && size(body.items) > 0"}``: the expression sees

- ``response``: ``status`` (int), ``headers`` (map, lower-cased names), ``latency_ms`` (int), ``url`` (the
  final URL), ``method``, ``redirects`` (the URLs redirected from), ``text`` (the body as text);
- ``body``: the body parsed as JSON, or its text when it is not JSON;
- ``headers``: the response headers, names lower-cased (``headers["content-type"]``);
- ``vars``: the step's variables (the run's, the dataset row's, those extracted by earlier steps).

CEL is not Turing-complete and has no side effects: no user code is ever ``eval``-ed. An expression is
compiled when the test is saved (a syntax error is a 422 naming the step and the expectation) and
evaluated in the worker process that checks responses (``shared/apitests/checks.py``), which is killed when
the step's time is up. Its value must be a bool; any other type, or an evaluation error (a key the body
does not have, a division by zero), fails the check saying so. ``matches()`` runs with RE2, as every other
pattern of a test does.
"""

from __future__ import annotations

import functools
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from shared import regex


class CelError(ValueError):
    """An expression that cannot be compiled or evaluated; the message says why."""


@functools.cache
def _env() -> celpy.Environment:
    return celpy.Environment()


def _matches(text: Any, pattern: Any) -> Any:
    """CEL's ``matches`` (RE2 syntax, searched: ``"abc".matches("b")`` is true), with RE2."""
    if not isinstance(text, str) or not isinstance(pattern, str):
        return CELEvalError("matches() takes a string and a pattern", TypeError, None)
    try:
        return celtypes.BoolType(regex.search(pattern, text))
    except regex.RegexError as exc:
        return CELEvalError(str(exc), ValueError, None)


_FUNCTIONS = {"matches": _matches}


@functools.lru_cache(maxsize=1024)
def compile_expr(source: str) -> celpy.Runner:
    """The compiled program (cached per process); raises :class:`CelError` for an expression CEL cannot parse."""
    env = _env()
    try:
        ast = env.compile(source)
    except CELParseError as exc:
        raise CelError(_syntax_message(source, exc)) from None
    except RecursionError:
        raise CelError("the CEL expression is nested too deeply") from None
    return env.program(ast, functions=_FUNCTIONS)


def _syntax_message(source: str, exc: CELParseError) -> str:
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    if not isinstance(line, int) or not isinstance(column, int):
        return f"CEL syntax error in {source!r}"
    lines = source.splitlines() or [""]
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    rest = text[column - 1 :].strip() if column > 0 else ""
    at = f"at {rest[:30]!r}" if rest else "at the end"
    return f"CEL syntax error at line {line}, column {column} ({at}) of {source!r}"


def problem(source: str) -> str | None:
    """Why ``source`` cannot be compiled, or None when it can."""
    try:
        compile_expr(source)
    except CelError as exc:
        return str(exc)
    return None


def evaluate(source: str, activation: dict[str, Any]) -> Any:
    """The value of ``source`` with ``activation``'s names bound (plain JSON-like values); raises
    :class:`CelError` with CEL's message when the evaluation fails."""
    program = compile_expr(source)
    bound = {name: celpy.json_to_cel(value) for name, value in activation.items()}
    try:
        value = program.evaluate(bound)
    except CELEvalError as exc:
        raise CelError(_eval_message(exc)) from None
    except RecursionError:
        raise CelError("the expression (or the value it reads) is nested too deeply") from None
    except (TypeError, ValueError, KeyError, IndexError, ArithmeticError) as exc:
        raise CelError(f"{type(exc).__name__}: {exc}") from None
    if isinstance(value, CELEvalError):
        raise CelError(_eval_message(value))
    return value


def _eval_message(exc: CELEvalError) -> str:
    args = exc.args
    text = str(args[0]) if args else str(exc)
    if len(args) > 1 and isinstance(args[1], type) and args[1] is not KeyError:
        text = f"{text} ({args[1].__name__})"
    return text


def type_name(value: Any) -> str:
    """CEL's name for the type of ``value`` (``int``, ``string``, ``map``...)."""
    names = (
        (celtypes.BoolType, "bool"),
        (celtypes.IntType, "int"),
        (celtypes.UintType, "uint"),
        (celtypes.DoubleType, "double"),
        (celtypes.StringType, "string"),
        (celtypes.BytesType, "bytes"),
        (celtypes.ListType, "list"),
        (celtypes.MapType, "map"),
        (celtypes.TimestampType, "timestamp"),
        (celtypes.DurationType, "duration"),
    )
    for cls, name in names:
        if isinstance(value, cls):
            return name
    return "null" if value is None else type(value).__name__
