"""Control and bidirectional-formatting characters: what names and tags may not hold (the models refuse them),
and what the CLI shows as escapes rather than writing them to a terminal.

A terminal acts on these characters instead of showing them: ESC starts a command (``\\x1b[2J`` clears the
screen), CR and LF move the cursor, NUL and the C1 controls (U+0080-U+009F) are commands too, U+2028/U+2029
break lines, and the bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C: Unicode's
Bidi_Control property) reorder the text after them, so a name can display as another ("Trojan Source").
"""

from __future__ import annotations

import re
import unicodedata

#: C0 controls, DEL, C1 controls, the bidi controls, and the line and paragraph separators
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: what free text (descriptions) may hold of them
TEXT_ALLOWED = "\t\n\r"

_C0_NAMES = {0x00: "NUL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL"}


def first_control(text: str, *, allowed: str = "") -> tuple[int, str] | None:
    """``(index, character)`` of the first control or bidi character of ``text`` not in ``allowed``."""
    for match in CONTROL_CHARS.finditer(text):
        if match.group() not in allowed:
            return match.start(), match.group()
    return None


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
