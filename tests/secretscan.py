"""A test's own search for a secret in recorded text, apart from the runner's masking code: everything is
decoded as far as it goes (JSON inside JSON, percent- and form-encoding, HTML entities and tags, backslash
escapes)
and compared with the secret as typed and as a page shows it (whitespace and format characters such as
U+200B and U+202E removed, lower-cased; also reversed, as a right-to-left override shows it); the strings
of each JSON record are also joined, so a secret split over text nodes or HAR pairs is found too."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, unquote_plus

_BACKSLASH = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2})|(.))", re.DOTALL)


def fold(text: str) -> str:
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # zero-width, bidi controls, U+00AD
    return re.sub(r"[\s\x00]+", "", text).lower()


def _unbackslash(match: re.Match[str]) -> str:
    code, byte, char = match.groups()
    if code or byte:
        return chr(int(code or byte, 16))
    return {"n": "\n", "r": "\r", "t": "\t"}.get(char, char)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _element_texts(value: Any) -> Iterator[str]:
    """The text of every DOM-snapshot-shaped element (``[tag, {attrs}, *children]``) in ``value``."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _element_texts(item)
    elif isinstance(value, list):
        if len(value) >= 2 and isinstance(value[0], str) and isinstance(value[1], dict):
            yield "".join(_own_text(value))
        for item in value:
            yield from _element_texts(item)


def _own_text(element: list[Any]) -> Iterator[str]:
    for child in element[2:]:
        if isinstance(child, str):
            yield child
        elif isinstance(child, list) and len(child) >= 2 and isinstance(child[0], str):
            yield from _own_text(child)


def decodings(text: str, depth: int = 5) -> set[str]:
    """``text`` and everything it decodes to, up to ``depth`` layers (JSON values' strings included)."""
    found = {text}
    layer = {text}
    for _ in range(depth):
        decoded: set[str] = set()
        for item in layer:
            decoded |= {unquote(item), unquote_plus(item), html.unescape(item), _BACKSLASH.sub(_unbackslash, item)}
            if "<" in item and ">" in item:
                decoded.add(re.sub(r"<[^>]*>", "", item))  # the text of markup: tags can split a secret
            stripped = item.strip()
            if stripped[:1] in '{["' and len(stripped) > 1:
                try:
                    value = json.loads(stripped)
                except ValueError:
                    pass
                else:
                    strings = list(_strings(value))
                    decoded |= set(strings) | {"".join(strings)} | set(_element_texts(value))
        layer = decoded - found
        if not layer:
            break
        found |= layer
    return found


def holds(text: str, secret: str) -> bool:
    """Whether ``text``, decoded every way, holds ``secret`` as typed or as a page shows it."""
    wanted = {fold(secret), fold(secret)[::-1]}
    return any(secret in item or any(w in fold(item) for w in wanted) for item in decodings(text))


def leaks(data: bytes | str, secret: str) -> list[str]:
    """Where ``data`` (a file: text, JSON, JSON lines) holds ``secret``; empty when nowhere."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    found = []
    for number, line in enumerate(text.splitlines() or [text], start=1):
        if holds(line, secret):
            found.append(f"line {number}: {line[:200]}")
    if not found and holds(text, secret):
        found.append(f"the whole text: {text[:200]}")
    return found
