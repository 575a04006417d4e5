"""The regular expressions users write (``body_matches``, ``matches`` of jsonpath and header expectations,
``expect_url``'s ``pattern``): compiled and run with RE2, never with Python's backtracking ``re``.

A backtracking engine takes exponential time on patterns such as ``(a+)+$``, so one test could stall the
process that runs it (and, in local mode, the API beside it). RE2 (the ``google-re2`` package) matches in
time linear in the input; the price is a smaller syntax: no backreferences (``\\1``), no lookaround
(``(?=...)``, ``(?<!...)``), no possessive quantifiers, repetition counts up to 1000. Every pattern is checked
when a test is saved (:func:`problem`, used by the models' validators), so such a pattern is a 422 then
rather than a surprise at run time.

Linear is not free: a pattern whose DFA does not fit RE2's cache falls back to a search whose cost is the
pattern's program size times the text's length (``[ab]*a[ab]{999}c``, program size 1006: about 5 s per MB).
Nothing can stop RE2 once it searches, so searches whose worst case is more than a few milliseconds
(:func:`cheap`) run in a worker process that is killed when the step's time is up
(``shared/apitests/checks.py``), never on an event loop, nor in a thread that would outlive the step.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

SYNTAX_HINT = (
    "regular expressions use RE2 syntax (no backreferences or lookaround; https://github.com/google/re2/wiki/Syntax)"
)
#: RE2's memory budget per compiled pattern; a pattern whose program does not fit is refused at save time
_MAX_MEM = 8 << 20
#: program size x text length up to which a search is cheap enough to run anywhere: RE2's slowest path
#: costs about 5 ns per unit on the machine this was written on, so 10**6 is about 5 ms
CHEAP_COST = 1_000_000


class RegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why, and that RE2 syntax is used."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.max_mem = _MAX_MEM
    return options


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern (cached); raises :class:`RegexError`."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        raise RegexError(f"invalid regular expression /{pattern}/: {_reason(exc)}; {SYNTAX_HINT}") from exc


def problem(pattern: str) -> str | None:
    """Why RE2 cannot use ``pattern`` (a sentence naming the pattern and RE2), or None when it can."""
    try:
        compile_pattern(pattern)
    except RegexError as exc:
        return str(exc)
    return None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (like ``re.search``), in linear time."""
    return compile_pattern(pattern).search(text) is not None


def cost(pattern: str, text: str) -> int:
    """The worst case of searching ``text`` for ``pattern``: its program size times the text's length."""
    return int(compile_pattern(pattern).programsize) * len(text)


def cheap(pattern: str, text: str) -> bool:
    """Whether the search costs at most a few milliseconds whatever RE2 does (:data:`CHEAP_COST`)."""
    return cost(pattern, text) <= CHEAP_COST


def _reason(exc: BaseException) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", errors="replace")
    return str(detail)
