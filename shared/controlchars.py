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

import unicodedata

import regex

#: C0 controls, DEL, C1 controls, the line and paragraph separators, Unicode's format characters (Cf) and
#: default-ignorable code points (what a renderer may draw nothing for: variation selectors, the combining
#: grapheme joiner, tag characters, Hangul fillers...), and characters that draw a blank (the Braille blank,
#: the object replacement character). The ``regex`` package keeps these classes current with Unicode.
CONTROL_CHARS = regex.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u2800\ufffc\p{Cf}\p{Default_Ignorable_Code_Point}]")
ZWJ = "\u200d"
#: emoji presentation selectors: after a symbol, they pick its emoji (or text) form
_PRESENTATION = "\ufe0e\ufe0f"
#: the tag characters of an emoji flag sequence (a black flag, then tags, then CANCEL TAG)
_FLAG, _TAGS = "\U0001f3f4", range(0xE0020, 0xE0080)
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
    """Whether the character at ``index`` belongs to an emoji sequence, where it draws no blank: a zero-width
    joiner between two symbols, a presentation selector after one, a tag of a flag sequence."""
    char = text[index]
    before = text[index - 1] if index > 0 else ""
    if char in _PRESENTATION:
        return bool(before) and (unicodedata.category(before) == "So" or before in "0123456789#*")
    if ord(char) in _TAGS:
        lead = index
        while lead > 0 and ord(text[lead - 1]) in _TAGS:
            lead -= 1
        return lead > 0 and text[lead - 1] == _FLAG
    if char != ZWJ or index == 0 or index + 1 >= len(text):
        return False
    if before in _PRESENTATION and index >= 2:  # the presentation selector after the first symbol
        before = text[index - 2]
    return unicodedata.category(before) == "So" and unicodedata.category(text[index + 1]) == "So"


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

    def shown(match: regex.Match[str]) -> str:
        char = match.group()
        if char in keep or _joins_emoji(text, match.start()):
            return char
        code = ord(char)
        if code <= 0xFF:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return CONTROL_CHARS.sub(shown, text)
