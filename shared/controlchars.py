"""Control, bidirectional-formatting and invisible characters: what names and tags may not hold (the models
refuse them), and what the CLI shows as escapes rather than writing them to a terminal.

A terminal acts on control characters instead of showing them: ESC starts a command (``\\x1b[2J`` clears the
screen), CR and LF move the cursor, NUL and the C1 controls (U+0080-U+009F) are commands too, U+2028/U+2029
break lines, and the bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C: Unicode's
Bidi_Control property) reorder the text after them, so a name can display as another ("Trojan Source").
Invisible characters (Unicode's format characters, category Cf: zero-width space U+200B, word joiner U+2060,
U+FEFF, the soft hyphen U+00AD, tag characters...; and the Hangul fillers, which draw nothing) make two names
that look the same differ, or a name look empty. The zero-width joiner U+200D is allowed between two symbols,
where it joins an emoji sequence (a person with a laptop); anywhere else it is refused like the others.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode's format characters (category Cf, as of Unicode 15), which draw nothing or reorder text
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: letters that draw nothing (Hangul fillers)
_BLANK = "\u115f\u1160\u3164\uffa0"
#: C0 controls, DEL, C1 controls, the line and paragraph separators, the format characters, the blank letters
CONTROL_CHARS = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_FORMAT}{_BLANK}]")
ZWJ = "\u200d"
#: what free text (descriptions) may hold of them
TEXT_ALLOWED = "\t\n\r"

_C0_NAMES = {0x00: "NUL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL"}


def first_control(text: str, *, allowed: str = "") -> tuple[int, str] | None:
    """``(index, character)`` of the first control, bidi or invisible character of ``text`` not in ``allowed``."""
    for match in CONTROL_CHARS.finditer(text):
        if match.group() not in allowed and not _joins_emoji(text, match.start()):
            return match.start(), match.group()
    return None


def _joins_emoji(text: str, index: int) -> bool:
    """Whether the character at ``index`` is a zero-width joiner between two symbols (an emoji sequence)."""
    if text[index] != ZWJ or index == 0 or index + 1 >= len(text):
        return False
    before, after = text[index - 1], text[index + 1]
    if before == "\ufe0f" and index >= 2:  # the emoji presentation selector after the first symbol
        before = text[index - 2]
    return unicodedata.category(before) == "So" and unicodedata.category(after) == "So"


def describe(char: str) -> str:
    """``U+001B (ESC)``, ``U+202E (RIGHT-TO-LEFT OVERRIDE)``, ``U+0085 (a control character)``."""
    code = ord(char)
    name = _C0_NAMES.get(code) or unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = "a control character"
    return f"U+{code:04X}" + (f" ({name})" if name else "")


def escape_controls(text: str, *, keep: str = "") -> str:
    """``text`` with every control and bidi character not in ``keep`` written as an escape a terminal shows as
    it is: ``\\x1b``, ``\\x00``, ``\\u202e``."""

    def shown(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return CONTROL_CHARS.sub(shown, text)
