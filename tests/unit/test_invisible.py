"""What a page does not show (shared/invisible.py): the characters the page scanner and the expected-text
rules treat as not there."""

from __future__ import annotations

import pytest

from shared.invisible import first_dropped, is_blank, is_invisible, strip_invisible

#: what Playwright's normalizeWhiteSpace removes or turns into a space: JavaScript's \s (ECMAScript's
#: WhiteSpace and LineTerminator), and U+200B and U+00AD
PLAYWRIGHT_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
PLAYWRIGHT_SPACE += "\u2028\u2029\u202f\u205f\u3000\ufeff"
PLAYWRIGHT_DROPPED = "\u200b\u00ad"


@pytest.mark.parametrize("char", PLAYWRIGHT_SPACE + PLAYWRIGHT_DROPPED)
def test_everything_playwright_normalises_away_is_blank(char: str) -> None:
    assert is_blank(char) and is_blank(f" {char} {char}")


@pytest.mark.parametrize(
    "char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\u200e", "\ufe0f"]
)
def test_zero_width_characters_bidi_controls_and_variation_selectors_are_invisible(char: str) -> None:
    assert is_invisible(char) and strip_invisible(f"Wel{char}come") == "Welcome"


@pytest.mark.parametrize("text", ["Welcome", ".", "\u2800x", "0", "😀", "\u00a0a"])
def test_text_with_something_shown_is_not_blank(text: str) -> None:
    assert not is_blank(text)


def test_the_characters_playwright_drops_are_found_where_they_are() -> None:
    assert first_dropped("Wel\u200bcome") == (3, "\u200b")
    assert first_dropped("Zucker\u00adwatte") == (6, "\u00ad")
    assert first_dropped("Wel\u200dcome") is None  # a joiner Playwright compares as written
