"""Characters a page does not show, for the two places that compare text as a page shows it: the runner's
search for secrets on the page (``runner_container/runner/onpage.py``, in the browser) and the rules for
the text a test expects (``shared/models/plans.py``).

"Invisible" is Unicode's ``Default_Ignorable_Code_Point`` property: the zero-width space, non-joiner and
joiner (U+200B-U+200D), the word joiner and the invisible operators (U+2060-U+2064), the byte order mark
(U+FEFF), the soft hyphen (U+00AD), the bidirectional controls (U+200E, U+200F, U+202A-U+202E,
U+2066-U+2069, U+061C), variation selectors, tag characters, the Hangul fillers and a few more. A renderer
that does not support one of them draws nothing for it, so text split by them reads as the text without
them. The browser's regular expressions know the property by the same name (``\\p{...}`` with the ``u``
flag), and so does the `regex <https://pypi.org/project/regex/>`_ package in Python (the standard ``re``
has no Unicode properties): one definition for both sides, kept current with Unicode by both.

Playwright's text matching (``expect_text``, and the names of role, label, text and placeholder targets)
normalises both the page's text and the expected text: it removes U+200B and U+00AD, trims, and collapses
runs of whitespace (JavaScript's ``\\s``, which includes U+00A0 and U+FEFF) to one space
(``normalizeWhiteSpace`` in its injected script). Expected text that is blank after that matches every
page (an empty substring), and expected text holding one of the two removed characters is checked as if
it did not hold it.
"""

from __future__ import annotations

import regex

#: the invisible characters, as a character-class item in the syntax of ``regex`` and of JavaScript (``u`` flag)
INVISIBLE_CLASS = r"\p{Default_Ignorable_Code_Point}"
#: the characters Playwright's text matching removes before it compares (the others it treats as whitespace)
DROPPED_BY_PLAYWRIGHT = "\u200b\u00ad"

_INVISIBLE = regex.compile(f"[{INVISIBLE_CLASS}]+")
# Unicode's White_Space (Python's and JavaScript's \s, but for U+FEFF, which is invisible) and the invisible
_BLANK = regex.compile(rf"[\s\p{{White_Space}}{INVISIBLE_CLASS}]*")
_DROPPED = regex.compile(f"[{DROPPED_BY_PLAYWRIGHT}]")


def strip_invisible(text: str) -> str:
    """``text`` without its invisible characters."""
    return _INVISIBLE.sub("", text)


def is_invisible(char: str) -> bool:
    return _INVISIBLE.fullmatch(char) is not None


def is_blank(text: str) -> bool:
    """Whether ``text`` holds nothing a page shows: only whitespace and invisible characters (or nothing)."""
    return _BLANK.fullmatch(text) is not None


def first_dropped(text: str) -> tuple[int, str] | None:
    """``(index, character)`` of the first character of ``text`` that Playwright's text matching removes."""
    found = _DROPPED.search(text)
    return None if found is None else (found.start(), found.group())
