"""Secrets out of a Playwright trace (``trace.zip``), record by record rather than byte by byte.

A trace holds the page as data: ``trace.trace`` and ``trace.network`` are JSON lines (API calls with their
arguments, DOM snapshots as nested arrays, HAR entries), ``trace.stacks`` is a JSON document, and
``resources/`` has the bodies of requests and responses. A secret sits in them in shapes a regular
expression over the bytes does not see: escaped once per level of JSON inside JSON, split over the text
nodes of a snapshot (``<b>p@s</b>s w0rd``, or text reused from an earlier snapshot by reference), split at
``&`` over the HAR ``queryString`` of a URL that held it raw, form-encoded in a post body. So the trace is
parsed and every string is cleaned where it stands (:class:`_Cleaner`):

- every string is masked by the :class:`~runner_container.runner.masking.Masker` (which knows the
  spellings: percent-, form-, JSON-, JavaScript-, HTML-escaped, base64);
- a string that is itself JSON, form-encoded (``user=admin&password=p%26ss``) or a URL with a query is
  decoded, cleaned part by part and encoded again;
- what is left is checked once more after decoding it (HTML entities, percent-encoding, backslash escapes,
  repeatedly); a string that still holds a secret is replaced whole by ``***``;
- lists of ``{name, value}`` pairs (HAR headers, query strings, cookies, form parameters) are checked
  joined back together (``a=b&c=d``, ``a=b; c=d``): the pairs a secret spans are masked;
- each DOM snapshot's text is joined as the page shows it (folded as ``onpage.py`` folds it: whitespace and
  invisible characters removed, NFKC, case folded; a snapshot has no computed style, so it is joined across
  every element but a block tag of ``onpage.BLOCK`` whose ``style`` attribute does not lay it out inline,
  erring toward joining; an HTML resource is read the same way), references to earlier snapshots
  resolved, and an occurrence of any spelling the page scanner looks for, split over text nodes or by
  zero-width characters, is cut out of them.

What cannot be cleaned is not kept (:class:`TraceNotKept`: the caller drops the trace and says why): a
record that is not JSON, a binary resource (an image, a font) that holds a secret, a trace that cannot be
read or written. A text resource that still holds a secret after cleaning is replaced by ``***`` and
reported. Pictures (screencast frames, images) cannot be read: the frames go when the page was seen to
show a secret (``drop_frames``), as the video does.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from runner_container.runner.masking import MASK, Masker, fold
from runner_container.runner.onpage import BLOCK, NOT_SHOWN

#: how many levels of encoding inside encoding are decoded (JSON in a JSON string in a form field...)
MAX_DEPTH = 4
_JSON_LINES = (".trace", ".network")
_JSON_DOCUMENTS = (".stacks",)
_FORM = re.compile(r"[^\s&=?#]+=[^\s&]*(?:&[^\s&=]+(?:=[^\s&]*)?)*")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*\?\S*")
_BACKSLASH = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2})|(.))", re.DOTALL)
_SHORT_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_BREAK = "\0"  # where a block starts or ends, as the page scanner (onpage.py) reads text


class TraceNotKept(Exception):
    """The trace holds a secret that cannot be removed from it; the message says where."""


def clean_trace(path: Path, masker: Masker, *, drop_frames: bool = False) -> list[str]:
    """Rewrite the trace at ``path`` in place with every secret of ``masker`` removed; with ``drop_frames``
    without its screencast frames. Returns notes on what was replaced. Raises :class:`TraceNotKept`."""
    if not (masker or drop_frames):
        return []
    cleaner = _Cleaner(masker)
    tmp = path.with_name(path.name + ".clean")
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                name = info.filename
                if drop_frames and _is_frame(name):
                    continue
                data = src.read(info)
                if masker:
                    data = cleaner.entry(name, data, drop_frames=drop_frames)
                dst.writestr(info, data)
    except (OSError, zipfile.BadZipFile, RecursionError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise TraceNotKept(f"it could not be read or rewritten ({type(exc).__name__}: {exc})") from exc
    except TraceNotKept:
        tmp.unlink(missing_ok=True)
        raise
    shutil.move(tmp, path)
    return cleaner.notes


def _is_frame(name: str) -> bool:
    lower = name.lower()
    return lower.startswith("screencast/") or (lower.endswith((".jpeg", ".jpg")) and "/" not in lower)


# ----------------------------------------------------------------------------------------- cleaning


@dataclass
class _Cleaner:
    masker: Masker
    notes: list[str] = field(default_factory=list)
    _cache: dict[tuple[str, int], str] = field(default_factory=dict)

    def entry(self, name: str, data: bytes, *, drop_frames: bool) -> bytes:
        lower = name.lower()
        if lower.endswith(_JSON_LINES):
            return self._json_lines(name, data, drop_frames=drop_frames)
        if lower.endswith(_JSON_DOCUMENTS):
            try:
                document = json.loads(data)
            except ValueError as exc:
                raise TraceNotKept(f"{name} is not JSON") from exc
            return _dump(self.data(document))
        if _is_frame(name):
            return data  # a picture of the page; kept only when the page was not seen to show a secret
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if self._binary_holds(data):
                raise TraceNotKept(f"the binary resource {name} holds a secret") from None
            return data
        cleaned = self.text(text)
        if cleaned != MASK and _is_html(name, cleaned) and self._renders_secret(cleaned):
            cleaned = MASK  # split by markup (<b>p@s</b>s): what the page shows, not what the bytes hold
        if cleaned == MASK and text != MASK:
            self.notes.append(f"{name}: replaced: it holds a secret in a form that cannot be masked in place")
        return cleaned.encode("utf-8")

    def _renders_secret(self, document: str) -> bool:
        """Whether the HTML ``document`` shows a secret as a page would (text read by the rules of
        ``onpage.py``: tags and entities decoded, folded, not joined across blocks)."""
        needles = _needles(self.masker)
        reader = _HtmlText()
        reader.feed(document)
        reader.close()
        shown = "".join(reader.parts)
        return any(needle in shown for needle in needles)

    def _json_lines(self, name: str, data: bytes, *, drop_frames: bool) -> bytes:
        snapshots = _Snapshots(self)
        records = []
        for number, line in enumerate(data.decode("utf-8", errors="strict").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise TraceNotKept(f"line {number} of {name} is not JSON") from exc
            kind = record.get("type") if isinstance(record, dict) else None
            if drop_frames and kind == "screencast-frame":
                continue
            # Most records hold no secret in any spelling: they are left as they are, unwalked. HAR entries
            # are always walked (a secret split over their pairs is in no one string of the line).
            if kind == "resource-snapshot" or self.may_hold(line):
                record = self.data(record)
            if kind == "frame-snapshot":
                snapshots.add(record.get("snapshot"))
            records.append(record)
        return b"".join(_dump(record) + b"\n" for record in records)

    def data(self, value: Any, depth: int = 0) -> Any:
        """``value`` (parsed JSON) with every string cleaned, and pairs lists checked joined."""
        if isinstance(value, str):
            return self.text(value, depth)
        if isinstance(value, list):
            items = [self.data(item, depth) for item in value]
            return _mask_pairs(items, self.masker) if _is_pairs(items) else items
        if isinstance(value, dict):
            return {self.masker.text(k): self.data(v, depth) for k, v in value.items()}
        return value

    def text(self, text: str, depth: int = 0) -> str:
        key = (text, depth)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._clean(text, depth)
            if len(text) < 4096:
                self._cache[key] = cached
        return cached

    def may_hold(self, text: str) -> bool:
        """Whether ``text`` holds a secret, as it is or decoded (a quick test before cleaning part by part)."""
        return self.masker.found(text) or self._still_holds(text)

    def _clean(self, text: str, depth: int) -> str:
        if not self.may_hold(text):
            return text
        cleaned = self.masker.text(text)
        if depth < MAX_DEPTH:
            cleaned = self._nested(cleaned, depth)
        return MASK if self._still_holds(cleaned) else cleaned

    def _nested(self, text: str, depth: int) -> str:
        """``text`` cleaned as what it encodes, when it is JSON, form-encoded or a URL with a query."""
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                value = json.loads(stripped)
            except ValueError:
                pass
            else:
                cleaned = self.data(value, depth + 1)
                return text if cleaned == value else json.dumps(cleaned, ensure_ascii=False)
        if _FORM.fullmatch(stripped):
            query = self._query(stripped, depth)
            return text if query is None else query
        if _URL.fullmatch(stripped):
            parts = urlsplit(stripped)
            query = self._query(parts.query, depth)
            return text if query is None else urlunsplit(parts._replace(query=query))
        return text

    def _query(self, query: str, depth: int) -> str | None:
        """A form-encoded ``query`` with each name and value cleaned; None when nothing changed."""
        pairs = parse_qsl(query, keep_blank_values=True)
        cleaned = [(self.text(k, depth + 1), self.text(v, depth + 1)) for k, v in pairs]
        return None if cleaned == pairs else urlencode(cleaned, quote_via=quote)

    def _still_holds(self, text: str) -> bool:
        """Whether ``text`` decoded (backslash escapes, HTML entities, percent-encoding, one after the other and
        again, as deep as ``MAX_DEPTH``) holds a secret."""
        current = text
        for _ in range(MAX_DEPTH):
            before = current
            for trigger, decode in _DECODERS:
                if trigger in current:
                    decoded = decode(current)
                    if decoded != current:
                        if self.masker.found(decoded):
                            return True
                        current = decoded
            if ("+" in before or "%" in before) and self.masker.found(unquote_plus(before)):
                return True  # a form-encoded space; not kept for the next layer (a "+" may be the secret's own)
            if current == before:
                return False
        return False

    def _binary_holds(self, data: bytes) -> bool:
        if self.masker.found(data.decode("latin-1")):  # ASCII spellings: percent, entities, base64
            return True
        return any(
            value.encode(codec, errors="ignore") in data
            for value in self.masker.values
            for codec in ("utf-8", "utf-16-le")
        )


def _is_html(name: str, text: str) -> bool:
    return name.lower().endswith((".html", ".htm", ".xhtml")) or text.lstrip()[:15].lower().startswith(
        ("<!doctype html", "<html")
    )


class _HtmlText(HTMLParser):
    """The folded text of an HTML document as a page shows it, ``_BREAK`` where a block starts or ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0  # inside <script>, <style>...
        self._open: list[tuple[str, bool]] = []  # the elements open, and whether each broke the text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = tag.upper()
        if name in NOT_SHOWN:
            self._hidden += 1
        else:
            broke = _breaks_by(name, dict(attrs))
            if broke:
                self.parts.append(_BREAK)
            self._open.append((name, broke))

    def handle_endtag(self, tag: str) -> None:
        name = tag.upper()
        if name in NOT_SHOWN:
            self._hidden = max(0, self._hidden - 1)
        else:
            opened = [i for i, (open_name, _) in enumerate(self._open) if open_name == name]
            broke = self._open[opened[-1]][1] if opened else name in BLOCK
            del self._open[opened[-1] if opened else len(self._open) :]
            if broke:
                self.parts.append(_BREAK)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(fold(data))


def _unbackslash(text: str) -> str:
    return _BACKSLASH.sub(_unescape, text)


_DECODERS = (("\\", _unbackslash), ("&", html.unescape), ("%", unquote))


def _unescape(match: re.Match[str]) -> str:
    code, byte, char = match.groups()
    if code is not None:
        return chr(int(code, 16))
    if byte is not None:
        return chr(int(byte, 16))
    return _SHORT_ESCAPES.get(char, char)


def _dump(value: Any) -> bytes:
    # A lone surrogate (JSON.stringify writes it as \udXXX) cannot be UTF-8: written back as that escape.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", errors="backslashreplace")


# ------------------------------------------------------------------------------------ name/value pairs


def _is_pairs(items: list[Any]) -> bool:
    return bool(items) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)
        for item in items
    )


def _mask_pairs(items: list[dict[str, Any]], masker: Masker) -> list[dict[str, Any]]:
    """HAR's ``[{name, value}]`` lists are a string split apart (``a=b&c=d``, ``a=b; c=d``): join them back,
    and mask the names and values a secret found there overlaps."""
    for separator in ("&", "; ", "\n"):
        places: list[tuple[int, int, int, int]] = []  # name start, name end, value start, value end
        parts: list[str] = []
        at = 0
        for item in items:
            name, value = item["name"], item["value"]
            places.append((at, at + len(name), at + len(name) + 1, at + len(name) + 1 + len(value)))
            parts.append(f"{name}={value}")
            at += len(parts[-1]) + len(separator)
        spans = masker.spans(separator.join(parts))
        if not spans:
            continue
        items = [dict(item) for item in items]
        for start, end in spans:
            for item, (n0, n1, v0, v1) in zip(items, places, strict=True):
                if start < n1 and end > n0:
                    item["name"] = MASK
                if start < v1 and end > v0:
                    item["value"] = MASK
    return items


# --------------------------------------------------------------------------------------- snapshots


@dataclass
class _Snapshot:
    """One DOM snapshot of a frame (``html``: ``[tag, attrs, *children]``, text as strings, ``[[n, i]]`` a
    reference to node ``i``, in post-order, of the snapshot ``n`` before this one of the same frame)."""

    holder: dict[str, Any]  # the snapshot record, whose "html" is the root node
    _nodes: list[tuple[Any, Any]] | None = None

    def nodes(self) -> list[tuple[Any, Any]]:
        """``(container, key)`` of every node in post-order, as the trace viewer counts them."""
        if self._nodes is None:
            nodes: list[tuple[Any, Any]] = []
            work: list[tuple[Any, Any, bool]] = [(self.holder, "html", False)]
            while work:
                container, key, done = work.pop()
                node = container[key]
                if isinstance(node, str) or done:
                    nodes.append((container, key))
                elif _is_element(node):
                    work.append((container, key, True))
                    work += [(node, i, False) for i in range(len(node) - 1, 1, -1)]
            self._nodes = nodes
        return self._nodes


class _Snapshots:
    """The DOM snapshots of a trace, by frame, to read each one's text as the page showed it."""

    def __init__(self, cleaner: _Cleaner) -> None:
        self._cleaner = cleaner
        self._frames: dict[str, list[_Snapshot]] = {}
        self._needles = sorted(_needles(cleaner.masker), key=len, reverse=True)
        self._memo: dict[int, tuple[Any, str]] = {}  # id(element) -> (element, its folded text)
        self._folds: dict[str, str] = {}

    def add(self, snapshot: Any) -> None:
        if not isinstance(snapshot, dict) or "html" not in snapshot:
            return
        history = self._frames.setdefault(str(snapshot.get("frameId")), [])
        history.append(_Snapshot(snapshot))
        index = len(history) - 1
        for _ in range(1000):  # each pass cuts one occurrence
            text = self._text(history, index)
            if not any(needle in text for needle in self._needles) or not self._cut_one(history, index):
                break
            self._memo.clear()  # text nodes changed (here or in earlier snapshots)

    def _text(self, history: list[_Snapshot], index: int) -> str:
        """The folded text of snapshot ``index`` (``_BREAK`` around blocks), each element's text computed once
        for the whole trace (references to earlier snapshots reuse it)."""
        memo = self._memo
        root = self._resolve(history, index, history[index].holder["html"])
        if root is None:
            return ""
        if isinstance(root[0], str):
            return self._fold(root[0])
        work: list[tuple[Any, int, list[Any] | None]] = [(root[0], root[1], None)]
        while work:
            node, at, children = work.pop()
            if children is not None:  # its children are done
                inner = "".join(self._fold(c) if c.__class__ is str else memo[id(c)][1] for c in children)
                memo[id(node)] = (node, f"{_BREAK}{inner}{_BREAK}" if _breaks(node) else inner)
                continue
            if id(node) in memo:
                continue
            if node[0].upper() in NOT_SHOWN:
                memo[id(node)] = (node, "")
                continue
            children = []
            pending = []
            for child in node[2:]:
                if child.__class__ is str:
                    children.append(child)
                    continue
                resolved = self._resolve(history, at, child)
                if resolved is None:
                    continue
                children.append(resolved[0])
                if resolved[0].__class__ is not str and id(resolved[0]) not in memo:
                    pending.append((resolved[0], resolved[1], None))
            work.append((node, at, children))
            work += pending
        return memo[id(root[0])][1]

    @staticmethod
    def _resolve(history: list[_Snapshot], at: int, node: Any) -> tuple[Any, int] | None:
        """``node`` of snapshot ``at`` as ``(text or element, the snapshot it belongs to)``, references followed."""
        while _is_reference(node):
            target = at - node[0][0]
            nodes = history[target].nodes() if 0 <= target < at else []
            if not 0 <= node[0][1] < len(nodes):
                return None
            container, key = nodes[node[0][1]]
            node, at = container[key], target
        if isinstance(node, str) or _is_element(node):
            return node, at
        return None

    def _fold(self, text: str) -> str:
        folded = self._folds.get(text)
        if folded is None:
            folded = self._folds[text] = fold(text)
        return folded

    def _cut_one(self, history: list[_Snapshot], index: int) -> bool:
        """Find one occurrence of a secret in the snapshot's text and cut it out of its text nodes."""
        pieces = list(self._text_nodes(history, index))
        folded: list[str] = []
        offsets: list[int] = []
        at = 0
        for piece in pieces:
            text = _BREAK if piece is None else fold(piece[0][piece[1]])
            offsets.append(at)
            folded.append(text)
            at += len(text)
        joined = "".join(folded)
        for needle in self._needles:
            start = joined.find(needle)
            if start >= 0:
                self._cut(pieces, offsets, folded, start, start + len(needle))
                return True
        return False

    def _cut(
        self, pieces: list[tuple[Any, Any] | None], offsets: list[int], folded: list[str], start: int, end: int
    ) -> None:
        first = True
        for piece, offset, text in zip(pieces, offsets, folded, strict=True):
            if piece is None or offset + len(text) <= start or offset >= end:
                continue
            container, key = piece
            original: str = container[key]
            lo, hi = _original_range(original, max(start - offset, 0), min(end - offset, len(text)))
            container[key] = original[:lo] + (MASK if first else "") + original[hi:]
            first = False

    def _text_nodes(self, history: list[_Snapshot], index: int) -> Iterator[tuple[Any, Any] | None]:
        """The text nodes of snapshot ``index`` in document order, as ``(container, key)``; None where a
        block element starts or ends (text is not joined across it)."""
        work: list[tuple[Any, Any, int] | None] = [(history[index].holder, "html", index)]
        while work:
            item = work.pop()
            if item is None:
                yield None
                continue
            container, key, at = item
            node = container[key]
            if isinstance(node, str):
                yield container, key
            elif _is_reference(node):
                target = at - node[0][0]
                nodes = history[target].nodes() if 0 <= target < at else []
                if 0 <= node[0][1] < len(nodes):
                    work.append((*nodes[node[0][1]], target))
            elif _is_element(node):
                tag = node[0].upper()
                if tag in NOT_SHOWN:
                    continue
                block = _breaks(node)
                if block:
                    yield None
                    work.append(None)
                work += [(node, i, at) for i in range(len(node) - 1, 1, -1)]


_RUNS_ON = re.compile(r"(?:^|;)\s*display\s*:\s*(?:inline|contents|none|ruby)", re.IGNORECASE)


def _breaks(node: list[Any]) -> bool:
    """Whether the text of a snapshot is not joined across the element ``node`` (:func:`_breaks_by`)."""
    return _breaks_by(node[0], node[1] if len(node) > 1 else None)


def _breaks_by(tag: str, attrs: Any) -> bool:
    """Whether text is not joined across an element (a snapshot has no computed style: every element but a
    block of :data:`~runner_container.runner.onpage.BLOCK` is joined across, and a block whose ``style``
    attribute lays it out inline is too)."""
    if tag.upper() not in BLOCK:
        return False
    style = attrs.get("style") if isinstance(attrs, dict) else None
    return not (isinstance(style, str) and _RUNS_ON.search(style))


def _is_element(node: Any) -> bool:
    return isinstance(node, list) and bool(node) and isinstance(node[0], str)


def _is_reference(node: Any) -> bool:
    return (
        isinstance(node, list)
        and bool(node)
        and isinstance(node[0], list)
        and len(node[0]) == 2
        and all(isinstance(n, int) for n in node[0])
    )


def _needles(masker: Masker) -> set[str]:
    """What the page scanner looks for in a page's text (every whole spelling of every secret), folded."""
    return {n for n in map(fold, masker.literal_spellings()) if n}


def _original_range(original: str, lo: int, hi: int) -> tuple[int, int]:
    """The range of ``original`` whose folded form is ``fold(original)[lo:hi]``; all of it where the folded
    form is not the characters folded one by one (NFKC composes ``e`` and U+0301 into one)."""
    widths = [len(fold(char)) for char in original]
    if sum(widths) != len(fold(original)) or "".join(map(fold, original)) != fold(original):
        return 0, len(original)
    start = end = None
    count = 0
    for i, width in enumerate(widths):
        if not width:
            continue
        if start is None and count + width > lo:
            start = i
        count += width
        if count >= hi:
            end = i + 1
            break
    return (start or 0), (end if end is not None else len(original))
