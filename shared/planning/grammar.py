"""The sentence grammar: plain English, one step per line, into the step plan (``shared/models/plans.py``).

The forms are listed in the README ("Plain-English tests"). In short: a line is a verb and its parts, values in
quotes (straight ``"..."``, curly ``“...”``, or single ``'...'`` where an apostrophe cannot be meant), targets
quoted or not, and an optional scope at the end (``in the "Cheese" row``, ``next to "Cheese"``). Blank lines and
``#`` comments are skipped; a leading ``1.``, ``-``, ``then`` or ``and`` and a trailing period are ignored.
Several sentences may share a line (``Click "Save". Expect to see "Saved"``) when each one after a period starts
with a verb of the grammar.

Nothing is guessed and nothing is dropped: a line that reads as no form is an error naming it, with the closest
forms, and every such line is reported at once (:class:`~shared.models.planning.PlanFailed`).
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.models.common import MAX_DEPTH, find_unstorable
from shared.models.planning import PlanFailed
from shared.models.plans import Step
from shared.models.validation import describe_errors

# ------------------------------------------------------------------------------------- values

#: a quoted value (or a bare ``{{placeholder}}``) stands in the line's shape as these two characters around
#: its index, so that the forms' patterns never look inside a value
_OPEN, _CLOSE = "\ue000", "\ue001"
V = f"{_OPEN}\\d+{_CLOSE}"  # a value, in a form's pattern
_VALUE = re.compile(f"{_OPEN}(\\d+){_CLOSE}")

#: opening quote -> the quotes that close it
_DOUBLE = {'"': '"', "“": '”"', "„": "“”", "«": "»", "`": "`"}
_SINGLE = {"'": "'", "\u2018": "\u2019'"}
_PLACEHOLDER = re.compile(r"\{\{[^{}]+\}\}(?=$|[\s.,;!?])")
#: characters after which a single quote closes a value (else it is an apostrophe: "O'Brien's")
_AFTER_CLOSE = frozenset(" \t.,;:!?)")
#: longer than any sentence (and what keeps reading a line's scopes, which looks back over it, cheap)
MAX_LINE = 1000
#: a request line, whose JSON body may be longer (it is read by the JSON parser, not the sentence patterns)
MAX_REQUEST_LINE = 4000
MAX_LINES = 1000


class _LineError(Exception):
    """Why one line reads as no step (the message is shown after ``line N: "text": ``)."""


class _NoForm(_LineError):
    """The line matches no form of its verb (rather than a form with a bad part)."""


@dataclass(frozen=True)
class ParsedLine:
    """One step and where it came from: the line's number (from 1) and its text."""

    line: int
    text: str
    step: Step


_SPECIAL = re.compile("[\"\u201c\u201e\u00ab`'\u2018{\ue000\ue001]")


def _tokenize(text: str) -> tuple[str, list[str]]:
    """The line's shape (each value replaced by a marker) and its values."""
    out: list[str] = []
    values: list[str] = []
    i, n = 0, len(text)
    while (found := _SPECIAL.search(text, i)) is not None:
        j = found.start()
        out.append(text[i:j])
        char = text[j]
        i = j + 1
        at_word_start = j == 0 or text[j - 1] in " \t("
        if char in _DOUBLE:
            end = _find_any(text, _DOUBLE[char], j + 1)
            if end < 0:
                raise _LineError(f"the quote {char} at character {j + 1} is not closed")
            out.append(_marker(values, text[j + 1 : end]))
            i = end + 1
        elif char in _SINGLE and at_word_start:
            end = j + 1
            while True:
                end = _find_any(text, _SINGLE[char], end)
                if end < 0 or end + 1 == n or text[end + 1] in _AFTER_CLOSE:
                    break
                end += 1
            if end > j + 1:
                out.append(_marker(values, text[j + 1 : end]))
                i = end + 1
            else:
                out.append(char)  # an apostrophe
        elif char == "{" and at_word_start and (placeholder := _PLACEHOLDER.match(text, j)) is not None:
            out.append(_marker(values, placeholder.group(0)))
            i = placeholder.end()
        elif char in (_OPEN, _CLOSE):
            raise _LineError("it holds U+E000 or U+E001 outside quotes, characters the grammar keeps for itself")
        else:
            out.append(char)
    out.append(text[i:])
    return "".join(out), values


def _find_any(text: str, chars: str, start: int) -> int:
    if len(chars) == 1:
        return text.find(chars, start)
    found = [p for p in (text.find(c, start) for c in chars) if p >= 0]
    return min(found) if found else -1


def _marker(values: list[str], value: str) -> str:
    values.append(value)
    return f"{_OPEN}{len(values) - 1}{_CLOSE}"


# ------------------------------------------------------------------------------------- scopes

_KINDS = {
    "row": "row",
    "table row": "row",
    "list item": "list item",
    "item": "list item",
    "section": "section",
    "region": "region",
    "dialog": "dialog",
    "modal": "dialog",
    "form": "form",
    "fieldset": "fieldset",
    "card": "card",
    "table": "table",
    "list": "list",
}
_KIND = "|".join(sorted((re.escape(k) for k in _KINDS), key=len, reverse=True))
_IN = re.compile(r"\s(?:in|inside|within)\s+(?:the\s+|an?\s+)?", re.I)
_NEAR = re.compile(r"\s(?:next to|near|beside|close to)\s+(?:the\s+)?", re.I)
_SCOPE_BODY = re.compile(
    rf"(?P<q>{V})\s+(?P<kind>{_KIND})"
    rf"|(?P<kind2>{_KIND})\s+(?:(?:with|containing|for|named|called|titled|labell?ed)\s+)?(?P<q2>{V})"
    rf"|(?P<u>[^{_OPEN}]+?)\s+(?P<kind3>{_KIND})",
    re.I,
)
_TWO_VALUES = re.compile(f"{V}\\s*(?:,|and|or)?\\s*{V}")
_SECOND_STEP = re.compile(r"(?:^|[\s,;])(?:and\s+then|and|then|,|;)\s+(?P<verb>[A-Za-z]+)", re.I)
_ARTICLE = re.compile(r"^(?:the|an?)\s+", re.I)
#: a negation outside quotes, in a target phrase
_NEGATION = re.compile(r"(?:^|\s)(?:not|never|no\s+longer|isn't|aren't|doesn't|don't|won't|cannot|can't)(?=\s|$)", re.I)
#: words a target phrase may hold beside its quoted name: articles, kinds of element (the scopes' kinds too:
#: "the "Notes" section"), naming words
_TARGET_WORDS = frozenset(
    (  # noqa: SIM905
        "the a an button buttons link links field text box input checkbox check radio option tab menu item heading "
        "dropdown drop-down down drop select textbox combobox combo image icon switch toggle label textarea area "
        "entry control element list labelled labeled named called titled with"
    ).split()
) | {word for kind in _KINDS for word in kind.split()}
_NEAR_BODY = re.compile(rf"(?P<q>{V})|(?P<u>[^{_OPEN}]+)", re.I)


@dataclass
class _Scopes:
    within: dict[str, str] | None = None
    near: str | None = None

    def __bool__(self) -> bool:
        return self.within is not None or self.near is not None


# --------------------------------------------------------------------------------------- lines


class _Line:
    """One sentence being read: its shape, its values, and the scope phrases cut off its end."""

    def __init__(self, shape: str, values: list[str], *, cut: bool = True) -> None:
        self.values = values
        self.scopes = _Scopes()
        self.shape = self._cut_scopes(shape, self.scopes) if cut else shape

    # -- values and targets

    def value(self, marker: str) -> str:
        return self.values[int(marker[1:-1])]

    def text(self, phrase: str) -> str:
        """A phrase with its values put back in quotes, as the user wrote it."""
        return _VALUE.sub(lambda m: f'"{self.values[int(m.group(1))]}"', phrase).strip()

    def target(self, phrase: str | None) -> Any:
        """The target a phrase names: the quoted text alone, else the phrase as a description; a
        ``DescribedTarget`` when a scope narrows it."""
        scopes = _Scopes()
        phrase = (phrase or "").strip()
        if not _VALUE.fullmatch(phrase):  # a quoted name alone (the usual target) has no scope in it
            phrase = self._cut_scopes(f" {phrase}", scopes).strip()
        if self.scopes:
            if (scopes.within is not None and self.scopes.within is not None) or (
                scopes.near is not None and self.scopes.near is not None
            ):
                raise _LineError(
                    "it names two scopes of the same kind; a target has one 'in the ...' and one 'next to'"
                )
            scopes.within = scopes.within if scopes.within is not None else self.scopes.within
            scopes.near = scopes.near if scopes.near is not None else self.scopes.near
        bare = _ARTICLE.sub("", phrase, count=1)
        if not bare:
            raise _LineError("it names no element")
        self._one_target(phrase)
        self._only_target_words(phrase, bare)
        described = self.value(bare) if _VALUE.fullmatch(bare) else self.text(phrase)
        if not scopes:
            return described
        target: dict[str, Any] = {"describe": described}
        if scopes.within is not None:
            target["within"] = scopes.within
        if scopes.near is not None:
            target["near"] = scopes.near
        return target

    def _one_target(self, phrase: str) -> None:
        """Refuse a phrase that holds more than one target, or a second step (``Click "Save" and wait``)."""
        if _TWO_VALUES.search(phrase):
            raise _LineError(f"{self.text(phrase)} names two elements: a step has one target")
        then = _SECOND_STEP.search(phrase)
        if then is not None and then.group("verb").lower() in _FORMS:
            raise _LineError(
                f"{self.text(phrase[then.start() :]).strip(' ,;')!r} reads as a second step: write one step per "
                "line (or sentences separated by a period), or put the element's name in quotes"
            )

    def _only_target_words(self, phrase: str, bare: str) -> None:
        """Refuse what a target phrase would read wrongly: a negation (``Expect "X" not to be visible`` must not
        become a check that "X" shows), and words beside a quoted name that are neither a kind of element nor
        a scope the grammar knows (``"Remove" in the "Cheese" rwo``: the scope would be dropped at run time)."""
        words = _VALUE.sub(" ", phrase)
        if _NEGATION.search(words):
            raise _LineError(
                f"{self.text(phrase)!r} holds a negation, which this form cannot check: write "
                'Expect not to see "text" (or Expect not to see "text" in "element"); to name an element whose '
                "name has 'not' in it, put the name in quotes"
            )
        if not _VALUE.search(phrase) or _VALUE.fullmatch(bare):
            return
        unknown = [w for w in words.lower().split() if w.strip(".,:;!?()") not in _TARGET_WORDS]
        if len(_VALUE.findall(phrase)) > 1 or unknown:
            raise _LineError(
                f"{self.text(phrase)!r} is a quoted name with words the grammar does not read "
                f"({' '.join(unknown) or 'a second quoted name'}): a target is a quoted name, optionally with the kind "
                'of element ("the "Save" button"), and one scope: in the "X" '
                f'{" | ".join(sorted(set(_KINDS)))}, or next to "X"'
            )

    def _cut_scopes(self, shape: str, scopes: _Scopes) -> str:
        """``shape`` without the scope phrases at its end (``in the "Cheese" row``, ``next to "Cheese"``), which
        go into ``scopes``."""
        while True:
            cut = self._cut_one(shape, scopes)
            if cut is None:
                return shape
            shape = cut

    def _cut_one(self, shape: str, scopes: _Scopes) -> str | None:
        # most lines have no scope: a look at the words first, the patterns only where one may be
        lowered = shape.lower()
        last = lowered[lowered.rfind(" ") + 1 :]
        ins = (
            list(_IN.finditer(shape))
            if (last in _KINDS or last.endswith(_CLOSE)) and (" in" in lowered or " within" in lowered)
            else []
        )
        maybe_near = " next" in lowered or " near" in lowered or " beside" in lowered or " close" in lowered
        nears = list(_NEAR.finditer(shape)) if maybe_near else []
        for start in reversed(ins):
            body = _SCOPE_BODY.fullmatch(shape, start.end())
            if body is None or not shape[: start.start()].strip():
                continue
            if scopes.within is not None:
                raise _LineError("it names two 'in the ...' scopes; a target has one (and one 'next to')")
            kind = body.group("kind") or body.group("kind2") or body.group("kind3")
            marker = body.group("q") or body.group("q2")
            name = self.value(marker) if marker else (body.group("u") or "").strip()
            scopes.within = {"kind": _KINDS[kind.lower()], "name": name}
            return shape[: start.start()]
        for start in reversed(nears):
            body = _NEAR_BODY.fullmatch(shape, start.end())
            if body is None or not shape[: start.start()].strip():
                continue
            if scopes.near is not None:
                raise _LineError("it names two 'next to' scopes; a target has one (and one 'in the ...')")
            scopes.near = self.value(body.group("q")) if body.group("q") else body.group("u").strip()
            return shape[: start.start()]
        return None

    def no_scope(self, what: str) -> None:
        if self.scopes:
            raise _LineError(f"{what} has no element to narrow with 'in the ...' or 'next to'")


# -------------------------------------------------------------------------------------- forms

Builder = Callable[[_Line, re.Match[str]], dict[str, Any]]


@dataclass(frozen=True)
class _Form:
    pattern: re.Pattern[str]
    build: Builder


def _form(pattern: str) -> Callable[[Builder], _Form]:
    def wrap(build: Builder) -> _Form:
        return _Form(re.compile(pattern, re.I), build)

    return wrap


_T = r"(?P<t>.+?)"  # a target phrase
_URL = rf"(?P<url>{V}|\S+)"
_EXPECT = r"(?:expect|verify|assert|check|ensure|confirm)(?:\s+that)?"
_URL_LIKE = re.compile(r"^(?:https?://|/|\.\.?/|\{\{|[?#])", re.I)
#: a host written without its scheme ("example.com/x", "localhost:8000"): a browser would read it as a path
_HOST_ONLY = re.compile(r"^(?:[\w-]+(?:\.[\w-]+)+|localhost)(?::\d+)?(?:[/?#]|$)", re.I)
_KEY = re.compile(r"^(?:[A-Za-z]+\+)*(?:[A-Za-z][A-Za-z0-9]*|\S)$")
_UNITS = {"ms": 1, "millisecond": 1, "milliseconds": 1, "s": 1000, "sec": 1000, "secs": 1000, "second": 1000}
_UNITS |= {"seconds": 1000, "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000}


#: the scheme and host of a URL, for a pattern anchored at the path: "Expect the URL to be "/home""
_ORIGIN = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*"


def _url(line: _Line, raw: str) -> str:
    url = line.value(raw) if _VALUE.fullmatch(raw) else raw
    if _HOST_ONLY.match(url):
        raise _LineError(f"{url!r} has no scheme, so it would be read as a path: write http://{url} or https://{url}")
    if not _URL_LIKE.match(url):
        raise _LineError(f"{url!r} is not a URL: write http://..., a path such as /login, or a {{{{variable}}}}")
    return url


def _quoted(line: _Line, raw: str | None, what: str, example: str) -> str:
    raw = (raw or "").strip()
    if not _VALUE.fullmatch(raw):
        first = _VALUE.match(raw)
        if first is not None:
            raise _LineError(
                f"after {what} {line.text(first.group(0))} comes {line.text(raw[first.end() :])!r}, which is not part "
                "of this step: write one step per line (or sentences separated by a period)"
            )
        raise _LineError(f"{what} must be in quotes: {example}")
    return line.value(raw)


@_form(rf"(?:(?:go|navigate|browse)\s+to|open|visit|load)\s+(?:the\s+)?(?:url\s+|page\s+)?{_URL}")
def _goto(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    line.no_scope("a Go to step")
    return {"action": "goto", "url": _url(line, m.group("url"))}


@_form(rf"(?:click|tap)(?:\s+on)?\s+{_T}|(?:press|push|hit)\s+(?P<b>.+?\s+(?:button|link))")
def _click(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    return {"action": "click", "target": line.target(m.group("t") or m.group("b"))}


@_form(rf"fill(?:\s+in|\s+out)?\s+{_T}\s+with\s+(?P<v>.+)|set\s+(?P<t2>.+?)\s+to\s+(?P<v2>.+)")
def _fill(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    value = _quoted(line, m.group("v") or m.group("v2"), "the value", 'Fill "field" with "value"')
    return {"action": "fill", "target": line.target(m.group("t") or m.group("t2")), "value": value}


@_form(rf"(?:type|enter|input|write)\s+(?P<v>.+?)\s+(?:into|in|in to|on)\s+{_T}")
def _type(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    value = _quoted(line, m.group("v"), "the value", 'Type "value" into "field"')
    return {"action": "fill", "target": line.target(m.group("t")), "value": value}


@_form(rf"(?:clear|empty)\s+{_T}")
def _clear(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    return {"action": "fill", "target": line.target(m.group("t")), "value": ""}


@_form(rf"(?:select|choose|pick)\s+(?P<v>.+?)\s+(?:from|in)\s+{_T}")
def _select(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    value = _quoted(line, m.group("v"), "the option", 'Select "option" from "list"')
    return {"action": "select", "target": line.target(m.group("t")), "value": value}


@_form(rf"(?:check|tick)\s+{_T}")
def _check(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    return {"action": "check", "target": line.target(m.group("t"))}


@_form(rf"(?:uncheck|untick|deselect)\s+{_T}")
def _uncheck(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    return {"action": "uncheck", "target": line.target(m.group("t"))}


@_form(rf"press\s+(?:the\s+)?(?P<k>{V}|\S+)(?:\s+key)?(?:\s+(?:in|on|into)\s+{_T})?")
def _press(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    raw = m.group("k")
    key = line.value(raw) if _VALUE.fullmatch(raw) else raw
    if not _KEY.match(key):
        raise _LineError(
            f"{key!r} is not a key: name one as Playwright does (Enter, Tab, Escape, ArrowDown, Control+A), "
            'or click a button with Press the "X" button'
        )
    step: dict[str, Any] = {"action": "press", "key": key}
    if m.group("t"):
        step["target"] = line.target(m.group("t"))
    else:
        line.no_scope("a Press step without 'in \"field\"'")
    return step


@_form(rf"(?:hover(?:\s+over|\s+on)?|mouse\s+over|move\s+the\s+mouse\s+(?:over|to))\s+{_T}")
def _hover(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    return {"action": "hover", "target": line.target(m.group("t"))}


@_form(r"wait(?:\s+for)?\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+)")
def _wait_ms(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    line.no_scope("a timed wait")
    unit = _UNITS.get(m.group("unit").lower())
    if unit is None:
        raise _LineError(f"{m.group('unit')!r} is not a unit of time: write ms, seconds or minutes")
    return {"action": "wait_for", "ms": round(float(m.group("n")) * unit)}


@_form(rf"wait\s+(?:for|until)\s+{_T}(?:\s+(?:to\s+(?:be\s+)?|is\s+)?(?:appears?|visible|shown|displayed))?")
def _wait_for(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    if _GONE.search(m.group("t")):
        raise _LineError(
            "there is no step that waits for an element to go away; to wait for a text to go, write "
            'Expect not to see "text"'
        )
    if _PAGE_LOAD.fullmatch(m.group("t")):
        raise _LineError(
            "a page is loaded when Go to or a click that navigates has finished; to wait for what it shows, "
            'write Wait for "X" with an element of that page'
        )
    if re.fullmatch(r"\d+(?:\.\d+)?", m.group("t").strip()):
        number = m.group("t").strip()
        raise _LineError(
            f'a number alone is no element: write Wait {number} ms (a time) or Wait for "{number}" (a text)'
        )
    return {"action": "wait_for", "target": line.target(m.group("t"))}


_GONE = re.compile(
    r"\s(?:to\s+|is\s+)?(?:disappears?|vanish(?:es)?|go(?:es)?\s+away|be\s+(?:hidden|gone|removed)|close)$", re.I
)
_PAGE_LOAD = re.compile(r"(?:the\s+)?(?:page|site|app)(?:\s+to)?(?:\s+(?:load|be loaded|finish loading))?", re.I)
_SEE = r"(?:i\s+)?(?:to\s+|can\s+|should\s+)?see"
_NOT_SEE = r"(?:i\s+)?(?:not\s+to|to\s+not|cannot|can't|can\s+not|should\s+not|shouldn't|do\s+not|don't)\s+see"


@_form(
    rf"(?:{_EXPECT}\s+(?P<neg>{_NOT_SEE})|{_EXPECT}\s+{_SEE}|(?:i\s+)?(?P<neg2>should\s+not|shouldn't)\s+see"
    rf"|(?:i\s+)?(?:should\s+)?see)\s+(?P<v>.+?)(?:\s+(?:in|inside)\s+(?P<t>.+?))?(?:\s+on\s+the\s+page)?"
)
def _see(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    absent = bool(m.group("neg") or m.group("neg2"))
    example = 'Expect not to see "text"' if absent else 'Expect to see "text"'
    text = _quoted(line, m.group("v"), "the text", example)
    step: dict[str, Any] = {"action": "expect_text", "text": text}
    if absent:
        step["absent"] = True
    if m.group("t"):
        step["target"] = line.target(m.group("t"))
    elif line.scopes:
        if absent:
            raise _LineError(
                "a text that must not be shown is looked for on the whole page or in one element "
                '(Expect not to see "text" in "element"), not in a scope'
            )
        step["target"] = line.target(m.group("v"))  # the element showing the text, inside the scope
    return step


@_form(rf"{_EXPECT}\s+the\s+page\s+(?P<neg>not\s+)?to\s+(?:show|contain|have)\s+(?P<v>.+)")
def _page_shows(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    line.no_scope("the whole page")
    step: dict[str, Any] = {
        "action": "expect_text",
        "text": _quoted(line, m.group("v"), "the text", 'Expect the page to show "text"'),
    }
    if m.group("neg"):
        step["absent"] = True
    return step


@_form(
    rf"{_EXPECT}\s+(?:the\s+)?(?:page\s+)?(?:url|address)\s+(?:to\s+)?(?P<how>contains?|includes?|matche?s?|ends?\s+with|starts?\s+with|be|is|equals?)\s+(?P<v>.+)"
)
def _expect_url(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    line.no_scope("the URL")
    how = m.group("how").lower()
    value = _quoted(line, m.group("v"), "the URL text", 'Expect the URL to contain "/welcome"')
    if how.startswith("match"):
        return {"action": "expect_url", "pattern": value}
    pattern = literal_pattern(value)
    # a URL anchored at its start that the test writes as a path ("/home") starts after the page's origin
    start = _ORIGIN if value.startswith("/") else "^"
    if how.startswith("end"):
        pattern += "$"
    elif how.startswith("start"):
        pattern = start + pattern
    elif how in ("be", "is", "equal", "equals"):
        pattern = f"{start}{pattern}$"
    return {"action": "expect_url", "pattern": pattern}


@_form(
    rf"{_EXPECT}\s+(?:the\s+)?(?:page\s+)?title\s+(?:to\s+)?(?P<how>contains?|includes?|be|is|have|has|equals?)\s+(?P<v>.+)"
)
def _expect_title(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    line.no_scope("the title")
    if m.group("how").lower() in ("be", "is", "equal", "equals"):
        # expect_title checks that the title contains the text: "to be" would pass on "Shop - Error 500"
        raise _LineError('a title is checked for the text it contains: write Expect the title to contain "..."')
    return {
        "action": "expect_title",
        "text": _quoted(line, m.group("v"), "the title", 'Expect the title to contain "Shop"'),
    }


@_form(
    rf"{_EXPECT}\s+{_T}\s+(?:to\s+(?:contain|show|have(?:\s+the)?\s+text|read)|contains|shows|has\s+the\s+text)\s+(?P<v>.+)"
)
def _element_text(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    text = _quoted(line, m.group("v"), "the text", 'Expect "element" to contain "text"')
    return {"action": "expect_text", "text": text, "target": line.target(m.group("t"))}


@_form(rf"{_EXPECT}\s+{_T}\s+(?:(?:to\s+be|is|are)\s+(?:visible|shown|displayed|on\s+the\s+page)|to\s+appear|appears)")
def _expect_visible(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    return {"action": "expect_visible", "target": line.target(m.group("t"))}


@_form(
    rf"(?:take|capture|grab|save)\s+(?:a\s+|the\s+)?(?:full[- ]page\s+)?screenshot"
    rf"(?:\s+(?:named|called|as)\s+(?P<name>{V}|\S+))?|screenshot(?:\s+(?P<name2>{V}|\S+))?"
)
def _screenshot(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    line.no_scope("a screenshot")
    raw = m.group("name") or m.group("name2")
    step: dict[str, Any] = {"action": "screenshot"}
    if raw:
        step["name"] = line.value(raw) if _VALUE.fullmatch(raw) else raw
    return step


@_form(
    rf"(?:extract|store|remember|save|read)\s+(?:the\s+(?:text|value)\s+of\s+)?{_T}\s+(?:as|into|in|to)\s+(?:the\s+)?(?:variable\s+|var\s+)?(?P<var>{V}|\S+)"
)
def _extract(line: _Line, m: re.Match[str]) -> dict[str, Any]:
    raw = m.group("var")
    var = line.value(raw) if _VALUE.fullmatch(raw) else raw
    var = var.removeprefix("{{").removesuffix("}}").strip()
    return {"action": "extract", "target": line.target(m.group("t")), "var": var}


_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_REQUEST_WORDS = frozenset((*_METHODS, "send"))
_REQUEST = re.compile(
    r"(?:send\s+)?(?:an?\s+)?(?P<method>"
    + "|".join(_METHODS)
    + r")(?:\s+request)?(?:\s+to)?\s+(?P<url>\S+)(?P<rest>.*)",
    re.I | re.S,
)
_WITH = re.compile(r"\s*with\s+(?P<kind>json|body)\s+", re.I)
_EXPECTING = re.compile(
    r"\s*(?:,\s*)?(?:and\s+)?(?:expecting|expect|expects)\s+(?:a\s+)?(?:status\s+)?(?P<codes>\d{3}(?:\s*(?:,|or)\s*\d{3})*)\s*\.?\s*$",
    re.I,
)


def _request(text: str) -> dict[str, Any] | None:
    """A request line (``POST {{base_url}}/items with json {"name": "x"} expecting 201``), read from the raw text:
    a JSON body holds quotes, so the line is not tokenized."""
    m = _REQUEST.fullmatch(text)
    if m is None:
        return None
    url = m.group("url")
    if len(url) > 1 and url[0] in _DOUBLE and url[-1] in _DOUBLE[url[0]]:
        url = url[1:-1]
    if url.startswith(("/", ".")):
        raise _LineError(f"a request's URL is absolute: write {{{{base_url}}}}{url} or http://host{url}")
    if _HOST_ONLY.match(url):
        raise _LineError(f"a request's URL is absolute: write http://{url} or https://{url}")
    if not _URL_LIKE.match(url):
        return None
    step: dict[str, Any] = {"action": "request", "method": m.group("method").upper(), "url": url}
    rest = m.group("rest")
    body = _WITH.match(rest)
    if body is not None:
        rest = rest[body.end() :]
        if body.group("kind").lower() == "json":
            try:
                step["json"], end = json.JSONDecoder().raw_decode(rest)
            except ValueError as exc:
                raise _LineError(f"the JSON after 'with json' does not parse: {exc}") from exc
            except RecursionError:
                raise _LineError(f"the JSON after 'with json' nests deeper than {MAX_DEPTH} levels") from None
            # as deep as a test's spec holds it (spec -> steps -> step -> json): what cannot be stored is an error
            # here, not a test that saves and then cannot be read back
            unstorable = find_unstorable(step["json"], "json", depth=3)
            if unstorable is not None:
                raise _LineError(f"the JSON after 'with json': {unstorable[0]} {unstorable[1]}")
        else:
            values = _tokenize(rest)[1]
            quoted = re.match("\\s*([\"\u201c\u201e'\u2018])", rest)
            if not values or quoted is None:
                raise _LineError('the body must be in quotes: POST URL with body "text"')
            step["body"] = values[0]
            end = _find_any(rest, _DOUBLE.get(quoted.group(1)) or _SINGLE[quoted.group(1)], quoted.end()) + 1
        rest = rest[end:]
    if rest.strip().rstrip("."):
        expecting = _EXPECTING.fullmatch(rest)
        if expecting is None:
            raise _LineError(
                f"cannot read {rest.strip()!r} after the URL: a request line is METHOD URL, then optionally "
                'with json {...} or with body "...", then optionally expecting 200'
            )
        codes = [int(c) for c in re.findall(r"\d{3}", expecting.group("codes"))]
        step["expect"] = [{"status": codes[0] if len(codes) == 1 else codes}]
    if step["url"].endswith(".") and not rest:
        step["url"] = step["url"][:-1]
    return step


#: forms by the first word of a line
_FORMS: dict[str, tuple[_Form, ...]] = {
    "go": (_goto,),
    "navigate": (_goto,),
    "browse": (_goto,),
    "open": (_goto,),
    "visit": (_goto,),
    "load": (_goto,),
    "click": (_click,),
    "tap": (_click,),
    "push": (_click,),
    "hit": (_click,),
    "fill": (_fill,),
    "set": (_fill,),
    "type": (_type,),
    "enter": (_type,),
    "input": (_type,),
    "write": (_type,),
    "clear": (_clear,),
    "empty": (_clear,),
    "select": (_select,),
    "choose": (_select,),
    "pick": (_select,),
    "check": (_check,),
    "tick": (_check,),
    "uncheck": (_uncheck,),
    "untick": (_uncheck,),
    "deselect": (_uncheck,),
    "press": (_click, _press),
    "hover": (_hover,),
    "mouse": (_hover,),
    "move": (_hover,),
    "wait": (_wait_ms, _wait_for),
    "expect": (_page_shows, _expect_url, _expect_title, _see, _element_text, _expect_visible),
    "see": (_see,),
    "should": (_see,),
    "i": (_see,),
    "take": (_screenshot,),
    "capture": (_screenshot,),
    "grab": (_screenshot,),
    "screenshot": (_screenshot,),
    "save": (_screenshot, _extract),
    "extract": (_extract,),
    "store": (_extract,),
    "remember": (_extract,),
    "read": (_extract,),
}
for _lead in ("verify", "assert", "ensure", "confirm"):
    _FORMS[_lead] = _FORMS["expect"]
_FORMS["check"] = (*_FORMS["expect"], _check)  # "Check that I see ...", "Check the title ...", else tick a checkbox

#: the forms a line's first word may have meant, as the README lists them
FORM_EXAMPLES: dict[str, tuple[str, ...]] = {
    "go": ("Go to URL",),
    "open": ("Open URL",),
    "navigate": ("Navigate to URL",),
    "visit": ("Visit URL",),
    "click": ('Click "X"',),
    "tap": ('Tap "X"',),
    "fill": ('Fill "field" with "value"',),
    "type": ('Type "value" into "field"',),
    "enter": ('Enter "value" in "field"',),
    "clear": ('Clear "field"',),
    "select": ('Select "option" from "list"',),
    "choose": ('Choose "option" from "list"',),
    "check": ('Check "X"',),
    "uncheck": ('Uncheck "X"',),
    "press": ('Press "Enter"', 'Press "Enter" in "field"', 'Press the "X" button'),
    "hover": ('Hover over "X"',),
    "wait": ('Wait for "X"', "Wait 2 seconds", "Wait 500 ms"),
    "expect": (
        'Expect to see "text"',
        'Expect not to see "text"',
        'Expect "X" to be visible',
        'Expect "X" to contain "text"',
        'Expect the URL to contain "..."',
        'Expect the title to contain "..."',
    ),
    "take": ("Take a screenshot", 'Take a screenshot named "name"'),
    "screenshot": ("Take a screenshot",),
    "extract": ('Extract "X" as var',),
    "get": ("GET URL expecting 200",),
    "post": ('POST URL with json {"k": "v"} expecting 201',),
    "put": ('PUT URL with json {"k": "v"} expecting 200',),
    "patch": ('PATCH URL with json {"k": "v"} expecting 200',),
    "delete": ("DELETE URL expecting 204",),
}
for _lead in ("verify", "assert", "ensure", "confirm", "see", "should", "i"):
    FORM_EXAMPLES[_lead] = FORM_EXAMPLES["expect"]
for _synonym, _verb in {
    "browse": "navigate",
    "load": "open",
    "push": "click",
    "hit": "click",
    "set": "fill",
    "input": "type",
    "write": "type",
    "empty": "clear",
    "pick": "choose",
    "tick": "check",
    "untick": "uncheck",
    "deselect": "uncheck",
    "mouse": "hover",
    "move": "hover",
    "capture": "take",
    "grab": "take",
    "store": "extract",
    "remember": "extract",
    "read": "extract",
}.items():
    FORM_EXAMPLES[_synonym] = FORM_EXAMPLES[_verb]
FORM_EXAMPLES["save"] = (*FORM_EXAMPLES["take"], 'Save "X" as var')
FORM_EXAMPLES["check"] = (*FORM_EXAMPLES["check"], 'Check that the title contains "..."')
FORM_EXAMPLES["send"] = tuple(f"Send a {form}" for form in ("GET request to URL", "POST request to URL"))

# ------------------------------------------------------------------------------------- parsing

_PREFIX = re.compile(
    r"^\s*(?:(?:step\s+)?\d+\s*[.):]\s*|[-*•]\s+)?(?:(?:and\s+then|then|and|next|finally|first)\s*,?\s+)?", re.I
)
_WORD = re.compile(r"[A-Za-z]+")
_WITHIN_TIME = re.compile(r"\s+(?:within|in\s+under|in\s+less\s+than)\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+)$", re.I)
_SENTENCE_BREAK = re.compile(r"\.\s+(?=[A-Za-z])")
_STEP: TypeAdapter[Step] = TypeAdapter(Step)


def _first_word(shape: str) -> str:
    found = _WORD.match(shape)
    return found.group(0).lower() if found else ""


def _sentences(shape: str) -> list[str]:
    """The sentences of a line: split after a period only where every piece starts with a verb the grammar
    knows (``Click "Save". Expect to see "Saved"``), so a period inside an unquoted target or URL stays."""
    if "." not in shape:
        return [shape]
    pieces = [p.strip() for p in _SENTENCE_BREAK.split(shape)]
    if len(pieces) > 1 and all(_first_word(_PREFIX.sub("", p, count=1)) in _FORMS for p in pieces[1:]):
        return pieces
    for before, after in itertools.pairwise(pieces):
        if before.endswith(_CLOSE):  # "Click "Save". Frobnicate it": a quoted value, then a new sentence
            word = _first_word(_PREFIX.sub("", after, count=1))
            raise _LineError(f"after the period, {word.capitalize()!r} starts no step: {_unknown(word)}")
    return [shape]


def _read(sentence: str, values: list[str], *, word: str | None = None) -> dict[str, Any]:
    """The step of one sentence; ``word``: its first word, when the line's prefix is already cut off (else the
    sentence may still start with "then" or a number)."""
    if word is None:
        sentence = _PREFIX.sub("", sentence, count=1)
        word = _first_word(sentence)
    sentence = sentence.strip().rstrip(".!").rstrip()
    shape = " ".join(sentence.split())
    timeout_s = None
    # "... within 5 seconds": a number near the end first, the pattern only then
    within = _WITHIN_TIME.search(shape) if any(c.isdigit() for c in shape[-24:]) else None
    if within is not None:  # "Expect to see "Saved" within 5 seconds": the step's timeout
        shape = shape[: within.start()]
        unit = _UNITS.get(within.group("unit").lower())
        if unit is None:
            raise _LineError(f"{within.group('unit')!r} is not a unit of time: write ms, seconds or minutes")
        timeout_s = float(within.group("n")) * unit / 1000
    step = _scoped_match(shape, values, word)
    if timeout_s is not None:
        step["timeout_s"] = timeout_s
    return step


def _scoped_match(shape: str, values: list[str], word: str) -> dict[str, Any]:
    line = _Line(shape, values)
    try:
        return _match(line, word)
    except _NoForm:
        if not line.scopes:
            raise
        # a scope cut off the end may have been a field's name ("Type "x" in the "Notes" section"): try the
        # whole sentence, and report the first reading's problem if that fails too
        try:
            return _match(_Line(shape, values, cut=False), word)
        except _LineError:
            pass
        raise


def _match(line: _Line, word: str) -> dict[str, Any]:
    for form in _FORMS.get(word, ()):
        found = form.pattern.fullmatch(line.shape)
        if found is not None:
            return form.build(line, found)
    raise _NoForm(_unknown(word))


def _unknown(word: str) -> str:
    if not word:
        return 'it starts with no verb: a step starts with one (Go to URL, Click "X", Fill "field" with "value", ...)'
    known = FORM_EXAMPLES.get(word)
    if known:
        return f"it reads as no form of {word.capitalize()!r}; the forms: " + "; ".join(known)
    close = difflib.get_close_matches(word, FORM_EXAMPLES, n=3, cutoff=0.6)
    forms = [form for verb in close for form in FORM_EXAMPLES[verb]]
    if not forms:
        return 'not a step I know; the forms are listed in the README (Plain-English tests), e.g. Click "X"'
    return "not a step I know; closest forms: " + "; ".join(dict.fromkeys(forms))


#: what a value that fails its step's pattern must look like, by field
_PATTERNS = {
    "var": "a variable name is a letter or _, then letters, digits, _, . or - (at most 64)",
    "name": "a screenshot's name is 1 to 64 letters, digits, _, . or -",
}


_TAG = re.compile(r"^target\.(?:description|describe|role|label|text|placeholder|test_id|css)(?=\.|$)")


def _validate(step: dict[str, Any]) -> Step:
    try:
        return _STEP.validate_python(step)
    except ValidationError as exc:
        shown = []
        for problem in describe_errors(exc.errors()):
            field = _TAG.sub("target", problem["loc"].split(".", 1)[-1])
            message = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "string_pattern_mismatch" and field in _PATTERNS:
                message = f"{step.get(field)!r} will not do: {_PATTERNS[field]}"
            elif problem["type"] == "string_too_short":
                message = "is empty"
            shown.append(f"{field}: {message}")
        raise _LineError("; ".join(shown)) from exc


def parse_lines(text: str) -> list[ParsedLine]:
    """Each step of ``text`` with its line number and line. :class:`PlanFailed` naming every line that reads as
    no step (``details["lines"]``: ``{line, text, error}`` each)."""
    parsed: list[ParsedLine] = []
    problems: list[dict[str, Any]] = []
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise PlanFailed(f"the goal has {len(lines)} lines, more than the {MAX_LINES} the grammar reads")
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            if len(stripped) > MAX_REQUEST_LINE:
                raise _LineError(f"it is {len(stripped)} characters long, more than {MAX_REQUEST_LINE}")
            cut = _PREFIX.match(stripped)  # a number, a dash, "then": no quotes, so the same in the shape
            raw = stripped[cut.end() :] if cut else stripped
            word = _first_word(raw)
            is_request = word in _REQUEST_WORDS
            if not is_request and len(stripped) > MAX_LINE:
                raise _LineError(f"it is {len(stripped)} characters long, more than the {MAX_LINE} of a sentence")
            if is_request and (request := _request(raw)) is not None:
                steps = [_validate(request)]  # read from the raw text: a JSON body holds quotes
            else:
                shape, values = _tokenize(raw)
                sentences = _sentences(shape)
                steps = [
                    _validate(_read(sentence, values, word=None if i else word)) for i, sentence in enumerate(sentences)
                ]
        except _LineError as exc:
            problems.append({"line": number, "text": stripped, "error": str(exc)})
            continue
        parsed += [ParsedLine(number, stripped, step) for step in steps]
    if problems:
        raise PlanFailed(
            "\n".join(f"line {p['line']}: {_shown(p['text'])}: {p['error']}" for p in problems),
            details={"lines": problems},
        )
    if not parsed:
        raise PlanFailed('the goal has no steps: write one step per line (Go to URL, Click "X", ...)')
    return parsed


def parse(text: str) -> list[Step]:
    """The steps ``text`` reads as, one per line (see :func:`parse_lines`)."""
    return [line.step for line in parse_lines(text)]


def literal_pattern(text: str) -> str:
    """An ``expect_url`` pattern (RE2) that matches ``text`` as written: its regex characters escaped, its
    ``{{placeholders}}`` kept (they are filled in before the pattern is used)."""
    out = []
    for piece in re.split(r"(\{\{[^{}]*\}\})", text):
        out.append(piece if piece.startswith("{{") else re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", piece))
    return "".join(out)


def _shown(text: str, limit: int = 120) -> str:
    """The line in quotes, as written (cut when long)."""
    return '"' + (text if len(text) <= limit else text[: limit - 3] + "...") + '"'
