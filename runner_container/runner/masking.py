"""Secret masking: every plausible spelling of every secret value becomes ``***``.

A secret reaches recorded text in many spellings: as typed; percent-encoded by Chromium or httpx, each with
its own set of characters left alone (``p@ss%20w0rd!%22x``); form-encoded (a space as ``+``); escaped in a
JSON string (``\\"``, ``\\/``, ``\\u00e9``, surrogate pairs with ``ensure_ascii``); escaped in a JavaScript
string (``\\x22``); HTML-escaped (``&quot;``, ``&#34;``, ``&#x22;``); or in base64 (an ``Authorization``
header, a data URL). Rather than list whole encoded forms, the masker builds one regular expression per
secret in which every character may appear in any of its spellings, so mixed forms (an encoder that leaves
``@`` alone but not ``"``) are caught too. Base64 is matched as literal forms at the three byte alignments,
so the secret is found inside a longer encoded value (``user:secret``) as well.

Text is masked before it is cut (:meth:`Masker.clip`): cutting first could keep the start of a secret.
"""

from __future__ import annotations

import base64
import html
import json
import re
import traceback
from collections.abc import Iterable
from typing import Any

MASK = "***"
#: the longest spelling of one character (``&#x0001F600;``, ``\\ud83d\\ude00``, ``%F0%9F%98%80``)
MAX_SPELLING = 16
#: base64 forms shorter than this are not worth masking (too likely to occur by chance)
MIN_BASE64 = 6
_HTML_NAMES = {"&": ("amp",), "<": ("lt",), ">": ("gt",), '"': ("quot",), "'": ("apos",)}
_JSON_SHORT = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", '"': '"', "\\": "\\", "/": "/"}


def _hex(value: int, width: int) -> str:
    """``value`` in hex, as a regex that accepts upper and lower case digits."""
    return "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in f"{value:0{width}X}")


def _spellings(ch: str) -> list[str]:
    """Regex alternatives for one character of a secret. They exclude each other (no alternative matches
    where another does), so matching never backtracks: a run of ``\\`` in a secret costs no more than letters."""
    code = ord(ch)
    escapes = ["".join("%" + _hex(b, 2) for b in ch.encode("utf-8"))]  # percent-encoding (UTF-8 bytes)
    if ch in _JSON_SHORT:
        escapes.append(re.escape("\\" + _JSON_SHORT[ch]))
    if code < 0x10000:
        escapes.append(r"\\u" + _hex(code, 4))
    else:  # a surrogate pair, as json.dumps(..., ensure_ascii=True) writes it
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        escapes.append(r"\\u" + _hex(high, 4) + r"\\u" + _hex(low, 4))
    if code < 0x100:
        escapes.append(r"\\x" + _hex(code, 2))  # a JavaScript string escape
    escapes.append(f"&#0{{0,4}}{code};")
    escapes.append(f"&#[xX]0{{0,4}}{_hex(code, 1)};")
    escapes += [f"&{name};" for name in _HTML_NAMES.get(ch, ())]
    literal = re.escape(ch)
    # "%", "\\" and "&" start escapes of their own: such a character is itself only where none of them follows
    rests = [rest for rest in (_rest(e, ch) for e in escapes) if rest is not None]
    if rests:
        literal += "(?!" + "|".join(rests) + ")"
    if ch == " ":
        escapes.append(r"\+")  # application/x-www-form-urlencoded
    return [literal, *escapes]


def _rest(escape: str, ch: str) -> str | None:
    """What follows ``ch`` in the regex ``escape`` when ``escape`` starts with ``ch``; else None."""
    for start in (re.escape(ch), ch):
        if escape.startswith(start):
            return escape[len(start) :]
    return None


def _whole_forms(value: str) -> set[str]:
    """Whole encoded forms matched literally: the value itself (the per-character pattern does not take a
    secret's own ``%25`` or ``\\\\`` as itself), and JSON escaped once or twice (a trace holds the JSON body of a
    request as a JSON string)."""
    forms = {value, html.escape(value), html.escape(value, quote=False)}
    for once_ascii in (True, False):
        once = json.dumps(value, ensure_ascii=once_ascii)[1:-1]
        forms.add(once)
        for twice_ascii in (True, False):
            forms.add(json.dumps(once, ensure_ascii=twice_ascii)[1:-1])
    return forms


def _base64_forms(value: str) -> set[str]:
    """The base64 text that encodes ``value`` wherever it sits in the encoded bytes (three alignments), in the
    standard and the URL-safe alphabet, without the characters that depend on the neighbouring bytes."""
    raw = value.encode("utf-8")
    forms: set[str] = set()
    for offset, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        whole = (offset + len(raw)) * 8 // 6  # characters made only of the value's bits
        piece = encoded[skip:whole]
        if len(piece) >= MIN_BASE64:
            forms.add(piece)
            forms.add(piece.translate(str.maketrans("+/", "-_")))
    return forms


def secret_pattern(value: str) -> str:
    """A regex matching ``value`` in any of the spellings the module docstring lists."""
    each = "".join("(?:" + "|".join(_spellings(ch)) + ")" for ch in value)
    forms = sorted(_whole_forms(value) | _base64_forms(value), key=len, reverse=True)
    return "|".join([each, *(re.escape(form) for form in forms)])


class Masker:
    """Replaces every known secret value, in every spelling, with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self._longest = 0
        for value in secrets:
            self.add(value)

    def add(self, value: str) -> None:
        if not value or value in self._values:
            return
        self._values.add(value)
        self._regex = None

    def __bool__(self) -> bool:
        return bool(self._values)

    @property
    def values(self) -> frozenset[str]:
        """The secret values, as loaded (to look for them where no pattern can: on the page)."""
        return frozenset(self._values)

    def _compiled(self) -> re.Pattern[str]:
        if self._regex is None:
            ordered = sorted(self._values, key=len, reverse=True)  # a longer secret wins over one inside it
            self._regex = re.compile("|".join(f"(?:{secret_pattern(v)})" for v in ordered))
            self._longest = max(len(v) for v in ordered) * MAX_SPELLING
        return self._regex

    def text(self, text: str) -> str:
        if not self._values or not text:
            return text
        return self._compiled().sub(MASK, text)

    def found(self, text: str) -> bool:
        """Whether ``text`` holds a secret in any spelling the masker knows."""
        return bool(self._values and text) and self._compiled().search(text) is not None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where ``text`` holds a secret: ``(start, end)`` of every spelling found, in order."""
        if not self._values or not text:
            return []
        return [match.span() for match in self._compiled().finditer(text)]

    def maybe(self, text: str | None) -> str | None:
        return None if text is None else self.text(text)

    def clip(self, text: str, limit: int, marker: str = "...") -> str:
        """``text`` masked, then cut to ``limit`` characters of the original (``marker`` appended when cut).
        Only a window of the text is masked, so a huge text costs no more than a short one."""
        if len(text) <= limit:
            return self.text(text)
        if not self._values:
            return text[:limit] + marker
        regex = self._compiled()
        # A secret that starts before ``limit`` ends inside this window, so it is masked whole.
        window = text[: limit + self._longest]
        parts: list[str] = []
        pos = 0
        for match in regex.finditer(window):
            if match.start() >= limit:
                break
            parts += [window[pos : match.start()], MASK]
            pos = match.end()
        if pos < limit:
            parts.append(window[pos:limit])
        return "".join(parts) + marker

    def data(self, value: Any) -> Any:
        """A copy of ``value`` (JSON-like) with secrets masked in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def origin(exc: BaseException) -> str:
    """Where ``exc`` was raised (``file:line in function``): what a log needs of a traceback, without
    the exception's message, which may hold a secret (log ``Masker.text`` of it instead)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {last.filename}:{last.lineno} in {last.name}"
