"""Secret masking: every plausible spelling of every secret value becomes ``***``.

A secret reaches recorded text in many spellings: as typed; percent-encoded by Chromium or httpx, each with
its own set of characters left alone (``p@ss%20w0rd!%22x``); form-encoded (a space as ``+``); escaped in a
JSON string (``\\"``, ``\\/``, ``\\u00e9``, surrogate pairs with ``ensure_ascii``); escaped in a JavaScript
string (``\\x22``); HTML-escaped (``&quot;``, ``&#34;``, ``&#x22;``); or in base64 (an ``Authorization``
header, a data URL). Rather than list whole encoded forms, the masker builds one regular expression per
secret in which every character may appear in any of its spellings, so mixed forms (an encoder that leaves
``@`` alone but not ``"``) are caught too. Base64 is matched as literal forms at the three byte alignments,
so the secret is found inside a longer encoded value (``user:secret``) as well; so are hex (the UTF-8 bytes,
upper or lower case), percent-encoding applied twice (``%2526``) and the value reversed (what a page shows
as the secret under a right-to-left override), which no per-character rule spells.

Where no regular expression can be run, the page (``onpage.py`` looks for plain strings, in the browser),
:func:`literal_spellings` lists whole spellings of a value: the whole forms above, and for each escape the
mixes real encoders write (the characters a URL encoder, an HTML or a JavaScript escaper leaves alone;
:data:`URL_ENCODERS`, :data:`ESCAPED_SETS`). Every one of them is masked in text (a unit test holds the two
together); :func:`fold` is how the page's text and these spellings are compared (whitespace and invisible
characters removed, NFKC, case folded).

Text is masked before it is cut (:meth:`Masker.clip`): cutting first could keep the start of a secret.
"""

from __future__ import annotations

import base64
import html
import json
import re
import string
import traceback
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import regex

from shared.invisible import INVISIBLE_CLASS

MASK = "***"
#: the longest spelling of one character (``&#x0001F600;``, ``\\ud83d\\ude00``, ``%25F0%259F%2598%2580``)
MAX_SPELLING = 20
#: base64 forms shorter than this are not worth masking (too likely to occur by chance)
MIN_BASE64 = 6
#: hex forms shorter than this are not either (a trace is full of hex: hashes, ids)
MIN_HEX = 12
#: what :func:`fold` removes: whitespace, NUL (the page scanner's block break) and invisible characters
FOLDED_AWAY = rf"[\s\x00{INVISIBLE_CLASS}]+"
_FOLDED_AWAY = regex.compile(FOLDED_AWAY)

_ALNUM = string.ascii_letters + string.digits
_UNRESERVED = _ALNUM + "-._~"  # RFC 3986
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
#: URL encoders by the ASCII characters each leaves as they are (everything else is percent-encoded as UTF-8),
#: and whether a space becomes "+"; the WHATWG sets are what Chromium writes in each part of a URL
URL_ENCODERS: dict[str, tuple[str, bool]] = {
    "every byte": ("", False),
    "RFC 3986 unreserved (Python's quote(safe=''))": (_UNRESERVED, False),
    "Python's quote()": (_UNRESERVED + "/", False),
    "Python's quote_plus()": (_UNRESERVED, True),
    "encodeURIComponent": (_UNRESERVED + "!'()*", False),
    "encodeURI": (_UNRESERVED + "!'()*;,/?:@&=+$#", False),
    "RFC 3986 query, a space as +": (_UNRESERVED + "!$&'()*+,;=:@/?", True),
    "RFC 3986 sub-delims kept": (_UNRESERVED + "!$&'()*+,;=", False),
    "RFC 3986 sub-delims kept, a space as +": (_UNRESERVED + "!$&'()*+,;=", True),
    "WHATWG query": (_PRINTABLE.translate(str.maketrans("", "", "\"#<>'")), False),
    "WHATWG fragment": (_PRINTABLE.translate(str.maketrans("", "", '"<>`')), False),
    "WHATWG path": (_PRINTABLE.translate(str.maketrans("", "", '"#<>?^`{}')), False),
    "WHATWG userinfo": (_PRINTABLE.translate(str.maketrans("", "", '"#<>?^`{}/:;=@[\\]|')), False),
    "WHATWG component": (_PRINTABLE.translate(str.maketrans("", "", '"#<>?^`{}/:;=@[\\]|$%&+,')), False),
    "WHATWG form (URLSearchParams, a form post)": (_ALNUM + "*-._", True),
}
#: which characters HTML and JavaScript escapers escape (every one, all but letters and digits (with or
#: without the space), the markup characters and what is not ASCII, only what is not ASCII)
ESCAPED_SETS: dict[str, Callable[[str], bool]] = {
    "every character": lambda ch: True,
    "all but ASCII letters and digits": lambda ch: ch not in _ALNUM,
    "all but ASCII letters, digits and the space": lambda ch: ch not in _ALNUM + " ",
    "markup and non-ASCII": lambda ch: ch in "&<>\"'\\/`=" or not ch.isascii() or not ch.isprintable(),
    "non-ASCII": lambda ch: not ch.isascii(),
}
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


def _hex_forms(value: str) -> set[str]:
    """The UTF-8 bytes of ``value`` in hex, lower and upper case (long enough not to occur by chance)."""
    lower = value.encode("utf-8").hex()
    return {lower, lower.upper()} if len(lower) >= MIN_HEX else set()


def _percent(value: str, safe: str, plus: bool) -> str:
    return "".join(
        ch if ch in safe else "+" if plus and ch == " " else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in value
    )


def _percent_once(value: str) -> set[str]:
    """``value`` as each URL encoder of :data:`URL_ENCODERS` writes it."""
    return {_percent(value, safe, plus) for safe, plus in URL_ENCODERS.values()}


def _percent_twice(value: str) -> set[str]:
    """Each of :func:`_percent_once` encoded again by an encoder that escapes its ``%`` (``&`` -> ``%26`` ->
    ``%2526``)."""
    return {form.replace("%", "%25") for form in _percent_once(value) if "%" in form}


def _js_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
    return f"\\u{high:04x}\\u{low:04x}"


#: how each HTML or JavaScript escaper writes one character it escapes
_ESCAPES: dict[str, Callable[[str], str]] = {
    "\\u": _js_escape,
    "\\x": lambda ch: f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else _js_escape(ch),
    "\\x, beyond Latin-1 as it is": lambda ch: f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else ch,
    "&#": lambda ch: f"&#{ord(ch)};",
    "&#x": lambda ch: f"&#x{ord(ch):x};",
    "&name;": lambda ch: f"&{_HTML_NAMES[ch][0]};" if ch in _HTML_NAMES else f"&#{ord(ch)};",
}


def _escaped_forms(value: str) -> set[str]:
    """``value`` with the characters of each set of :data:`ESCAPED_SETS` escaped by each escaper."""
    return {
        "".join(escape(ch) if escaped(ch) else ch for ch in value)
        for escape in _ESCAPES.values()
        for escaped in ESCAPED_SETS.values()
    }


def _extra_forms(value: str) -> set[str]:
    """Spellings no per-character rule writes: the value itself, whole encoded forms, base64, hex, percent-
    encoding twice, and the value reversed (shown in order under a right-to-left override)."""
    forms = _whole_forms(value) | _base64_forms(value) | _hex_forms(value) | _percent_twice(value)
    if len(value) > 1:
        forms.add(value[::-1])
    return forms


def literal_spellings(value: str) -> set[str]:
    """Whole spellings of ``value``, to look for where no regular expression runs (the page): what
    :func:`secret_pattern` matches, less the mixes of escapes no encoder writes (see the module docstring)."""
    return _extra_forms(value) | _percent_once(value) | _escaped_forms(value)


def fold(text: str) -> str:
    """``text`` as it is compared with what a page shows: whitespace and invisible characters removed,
    compatibility and decomposed forms composed (NFKC: a fullwidth A is A, ``e`` and U+0301 are one letter),
    case folded (layout changes spaces, CSS changes case, and a zero-width character splits a word invisibly).
    ``onpage.py`` folds the same way in the browser (:data:`FOLDED_AWAY`)."""
    composed = unicodedata.normalize("NFKC", _FOLDED_AWAY.sub("", text))
    return _FOLDED_AWAY.sub("", composed.casefold())


def secret_pattern(value: str) -> str:
    """A regex matching ``value`` in any of the spellings the module docstring lists."""
    each = "".join("(?:" + "|".join(_spellings(ch)) + ")" for ch in value)
    forms = sorted(_extra_forms(value), key=len, reverse=True)
    return "|".join([each, *(re.escape(form) for form in forms)])


class Masker:
    """Replaces every known secret value, in every spelling, with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self._literals: list[str] | None = None
        self._longest = 0
        for value in secrets:
            self.add(value)

    def add(self, value: str) -> None:
        if not value or value in self._values:
            return
        self._values.add(value)
        self._regex = None
        self._literals = None

    def __bool__(self) -> bool:
        return bool(self._values)

    @property
    def values(self) -> frozenset[str]:
        """The secret values, as loaded."""
        return frozenset(self._values)

    def literal_spellings(self) -> list[str]:
        """Every whole spelling of every secret (:func:`literal_spellings`), longest first: to look for them
        where no pattern can run (on the page)."""
        if self._literals is None:
            found = set().union(*(literal_spellings(v) for v in self._values)) if self._values else set()
            self._literals = sorted(found, key=lambda s: (-len(s), s))
        return self._literals

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
        """A copy of ``value`` (JSON-like) with secrets masked in every string, every key, and every number
        whose digits hold one (a system under test may send a numeric secret back as a JSON number: it is
        replaced by the string ``***`` whole)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = repr(value)
            return MASK if self._values and self.text(shown) != shown else value
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
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
