"""Targets -> Playwright locators, in accessibility-first terms.

A structured target maps to one locator (``get_by_role``, ``get_by_label``, ``get_by_text``,
``get_by_placeholder``, ``get_by_test_id``, css). A plain-string target ("the Log in button") is
interpreted into a short list of candidate targets, tried in order. A target must match exactly one
element: none or several fail the step with what was looked for and what the page has instead.

A name (of a role, a label, a text, a placeholder) matches as Playwright matches it by default: as a
case-insensitive substring. When that matches several elements, the one whose name *equals* the name wins
(``{role: button, name: Save}`` beside "Save draft" and "Save and close"), then the one whose name equals it
ignoring case and runs of whitespace; only when no rule singles out one element is the target ambiguous.
``exact: true`` matches exact names alone. The rule that chose the element is recorded (``matched_by``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from playwright.async_api import Locator, Page

from shared.errors import DomainError
from shared.invisible import DROPPED_BY_PLAYWRIGHT, is_blank
from shared.models.plans import (
    CssTarget,
    DescribedTarget,
    LabelTarget,
    PlaceholderTarget,
    RoleTarget,
    Target,
    TestIdTarget,
    TextTarget,
    describe_target,
)
from shared.models.runs import MatchedBy
from shared.wording import seconds

Structured = RoleTarget | LabelTarget | TextTarget | PlaceholderTarget | TestIdTarget | CssTarget

POLL_S = 0.1
MAX_LISTED = 5
MAX_SNAPSHOT_LINES = 25

#: words of a plain-English description -> ARIA role (longest phrases first when matching)
ROLE_WORDS: dict[str, str] = {
    "radio button": "radio",
    "check box": "checkbox",
    "text field": "textbox",
    "text box": "textbox",
    "input field": "textbox",
    "combo box": "combobox",
    "menu item": "menuitem",
    "button": "button",
    "link": "link",
    "checkbox": "checkbox",
    "radio": "radio",
    "textbox": "textbox",
    "field": "textbox",
    "input": "textbox",
    "textarea": "textbox",
    "heading": "heading",
    "dropdown": "combobox",
    "combobox": "combobox",
    "select": "combobox",
    "tab": "tab",
    "image": "img",
    "switch": "switch",
    "option": "option",
}
_FILLER_WORDS = r"(?:labell?ed|named|called|titled|with (?:the )?text)"
_FILLER = re.compile(rf"^(?:the|a|an)\s+|^{_FILLER_WORDS}\s+|\s+{_FILLER_WORDS}$", re.I)
_QUOTED = re.compile(r"[\"“']([^\"”']+)[\"”']")
_DROPPED = {ord(char): None for char in DROPPED_BY_PLAYWRIGHT}


class TargetError(DomainError):
    """The target does not resolve to exactly one element."""

    code = "target_unresolved"


class TargetNotFound(TargetError):
    code = "target_not_found"


class TargetAmbiguous(TargetError):
    code = "target_ambiguous"


@dataclass(frozen=True)
class Resolved:
    locator: Locator
    expression: str  # the Playwright call that found it, for results
    target: Structured  # the structured target that matched (a candidate, for a description)
    matched_by: MatchedBy


@dataclass(frozen=True)
class _Rule:
    matched_by: MatchedBy
    locator: Locator
    expression: str


# ------------------------------------------------------------------------------------ pure parts


def expression(target: Target, pattern: re.Pattern[str] | None = None) -> str:
    """The Playwright call for a target, as code: ``get_by_role("button", name="Log in")``; with ``pattern``,
    the call that matches the target's name by that regular expression instead."""
    q = json.dumps
    if pattern is not None and isinstance(target, RoleTarget | LabelTarget | TextTarget | PlaceholderTarget):
        flags = ", re.IGNORECASE" if pattern.flags & re.IGNORECASE else ""
        regex = f"re.compile({q(pattern.pattern)}{flags})"
        if isinstance(target, RoleTarget):
            return f"get_by_role({q(target.role)}, name={regex})"
        calls: dict[type, str] = {
            LabelTarget: "get_by_label",
            TextTarget: "get_by_text",
            PlaceholderTarget: "get_by_placeholder",
        }
        return f"{calls[type(target)]}({regex})"
    if isinstance(target, RoleTarget):
        args = [q(target.role)]
        if target.name is not None:
            args.append(f"name={q(target.name)}")
        if target.exact:
            args.append("exact=True")
        return f"get_by_role({', '.join(args)})"
    if isinstance(target, LabelTarget | TextTarget | PlaceholderTarget):
        methods: dict[type, tuple[str, str]] = {
            LabelTarget: ("get_by_label", "label"),
            TextTarget: ("get_by_text", "text"),
            PlaceholderTarget: ("get_by_placeholder", "placeholder"),
        }
        method, value = methods[type(target)]
        exact = ", exact=True" if target.exact else ""
        return f"{method}({q(getattr(target, value))}{exact})"
    if isinstance(target, TestIdTarget):
        return f"get_by_test_id({q(target.test_id)})"
    if isinstance(target, CssTarget):
        return f"locator({q(target.css)})"
    return f"description({q(target)})"


def interpret(description: str) -> list[Structured]:
    """Candidate structured targets for a plain-English description, most specific first. What Playwright's
    text matching drops (``shared/invisible.py``) is dropped first, and a name that holds nothing a page shows
    is no name (it would match every element)."""
    text = " ".join(description.translate(_DROPPED).split())
    quoted = _QUOTED.search(text)
    role: str | None = None
    rest = _QUOTED.sub(" ", text) if quoted else text
    rest = rest.strip()
    for _ in range(2):
        rest = _FILLER.sub("", rest).strip()
    lowered = rest.lower()
    for phrase in sorted(ROLE_WORDS, key=len, reverse=True):
        if lowered == phrase or lowered.endswith(" " + phrase):
            role, rest = ROLE_WORDS[phrase], rest[: len(rest) - len(phrase)].strip()
            break
        if lowered.startswith(phrase + " "):
            role, rest = ROLE_WORDS[phrase], rest[len(phrase) :].strip()
            break
    for _ in range(2):
        rest = _FILLER.sub("", rest).strip()
    name = quoted.group(1).strip() if quoted else rest.strip(" .:")
    if is_blank(name):
        name = ""
    candidates: list[Structured] = []
    if role and name:
        candidates.append(RoleTarget(role=role, name=name))
        if role in ("textbox", "combobox", "checkbox", "radio", "switch"):
            candidates.append(LabelTarget(label=name))
        if role == "textbox":
            candidates.append(PlaceholderTarget(placeholder=name))
    elif role:
        candidates.append(RoleTarget(role=role))
    elif name:
        candidates += [
            LabelTarget(label=name),
            PlaceholderTarget(placeholder=name),
            RoleTarget(role="button", name=name),
            RoleTarget(role="link", name=name),
            TextTarget(text=name),
        ]
    if not is_blank(text) and not any(isinstance(c, TextTarget) and c.text == text for c in candidates):
        candidates.append(TextTarget(text=text))
    return candidates


# ----------------------------------------------------------------------------- page-facing parts


def locator_for(page: Page, target: Structured, pattern: re.Pattern[str] | None = None) -> Locator:
    """The locator of ``target``; with ``pattern``, matching the target's name by that regular expression."""
    if isinstance(target, RoleTarget):
        if target.name is None:
            return page.get_by_role(target.role)  # type: ignore[arg-type]
        if pattern is not None:
            return page.get_by_role(target.role, name=pattern)  # type: ignore[arg-type]
        return page.get_by_role(target.role, name=target.name, exact=target.exact)  # type: ignore[arg-type]
    if isinstance(target, LabelTarget):
        return page.get_by_label(pattern or target.label, exact=target.exact)
    if isinstance(target, TextTarget):
        return page.get_by_text(pattern or target.text, exact=target.exact)
    if isinstance(target, PlaceholderTarget):
        return page.get_by_placeholder(pattern or target.placeholder, exact=target.exact)
    if isinstance(target, TestIdTarget):
        return page.get_by_test_id(target.test_id)
    return page.locator(target.css)


def name_of(target: Structured) -> str | None:
    """The name a target matches elements by (a role's name, a label, a text, a placeholder), if any."""
    if isinstance(target, RoleTarget):
        return target.name
    if isinstance(target, LabelTarget):
        return target.label
    if isinstance(target, TextTarget):
        return target.text
    if isinstance(target, PlaceholderTarget):
        return target.placeholder
    return None


def normalized_pattern(name: str) -> re.Pattern[str]:
    """A regular expression matching a whole name equal to ``name`` but for case and runs of whitespace."""
    words = name.split()
    return re.compile(r"^\s*" + r"\s+".join(re.escape(word) for word in words) + r"\s*$", re.IGNORECASE)


def _rules(page: Page, target: Structured) -> list[_Rule]:
    """The locators a target is matched with, in order: the first that matches exactly one element wins."""
    name = name_of(target)
    if name is None:
        kind: MatchedBy = "exact" if isinstance(target, TestIdTarget) else "unique"
        return [_Rule(kind, locator_for(page, target), expression(target))]
    assert isinstance(target, RoleTarget | LabelTarget | TextTarget | PlaceholderTarget)
    exact = target.model_copy(update={"exact": True})
    exact_rule = _Rule("exact", locator_for(page, exact), expression(exact))
    if target.exact:
        return [exact_rule]
    pattern = normalized_pattern(name)
    return [
        _Rule("substring", locator_for(page, target), expression(target)),
        exact_rule,
        _Rule("normalized", locator_for(page, target, pattern), expression(target, pattern)),
    ]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class _Ambiguous:
    candidate: Structured
    locator: Locator  # its first rule's: every element it matched
    count: int
    exact: int | None  # how many of them the exact rule matched (None: there is no such rule, or it did not run)
    normalized: int | None  # how many the normalized rule matched (likewise)


async def resolve(page: Page, target: Target, *, timeout_s: float, clip: Callable[[str, int], str] = _cut) -> Resolved:
    """Wait (up to ``timeout_s``) until the target matches exactly one element. What the page shows in
    errors is cut short through ``clip`` (give the masker's, which masks secrets before it cuts)."""
    if not isinstance(target, str) and (
        isinstance(target, DescribedTarget) or target.within is not None or target.near is not None
    ):
        raise TargetError(f"target {describe_target(target)}: scoped and described targets are not resolved yet")
    candidates: list[Structured] = interpret(target) if isinstance(target, str) else [target]
    rules = [(c, _rules(page, c)) for c in candidates]
    deadline = time.monotonic() + timeout_s
    while True:
        ambiguous: list[_Ambiguous] = []
        for candidate, (first, *narrower) in rules:
            count = await first.locator.count()
            if count == 1:
                return Resolved(first.locator, first.expression, candidate, first.matched_by)
            if count == 0:
                continue
            found: dict[str, int] = {first.matched_by: count}
            for rule in narrower:  # several matched: does a stricter rule single one out?
                n = found[rule.matched_by] = await rule.locator.count()
                if n == 1:
                    return Resolved(rule.locator, rule.expression, candidate, rule.matched_by)
                if rule.matched_by == "exact" and n > 1:
                    break  # several are named exactly so: ignoring case cannot make fewer
            ambiguous.append(_Ambiguous(candidate, first.locator, count, found.get("exact"), found.get("normalized")))
        if ambiguous:  # none matched exactly once, some matched several
            first_found = ambiguous[0]
            n = max(a.count for a in ambiguous)
            raise TargetAmbiguous(
                f"{_looked_for(target, candidates)} matched {n} elements, expected exactly one: "
                f"{await _list_matches(first_found.locator, clip)}.{_exact_note(first_found)} Make the target "
                "specific to one of them: a test_id, a css selector, or a name (or label) only it has.",
                details={"target": describe_target(target), "count": n},
            )
        if time.monotonic() >= deadline:
            raise TargetNotFound(
                f"{_looked_for(target, candidates)} matched nothing within {seconds(timeout_s)}. "
                f"{await _what_is_there(page, candidates)}",
                details={"target": describe_target(target)},
            )
        await asyncio.sleep(POLL_S)


def _exact_note(found: _Ambiguous) -> str:
    """What the stricter rules found among the matches, when they ran."""
    name = name_of(found.candidate)
    if name is None or found.exact is None or found.exact == found.count:
        return ""
    quoted = json.dumps(name)
    if found.exact > 1:
        return f" {found.exact} of them are named exactly {quoted}."
    note = f" None of them is named exactly {quoted}"
    if found.normalized:
        return f"{note}; {found.normalized} are but for case and spaces."
    return note + "."


def _looked_for(target: Target, candidates: list[Structured]) -> str:
    if isinstance(target, str):
        tried = ", ".join(expression(c) for c in candidates)
        return f"target {target!r} (tried {tried})"
    return f"target {describe_target(target)} ({expression(target)})"


#: where an element sits, to tell matches apart: its test id, and the row, list item, section, form or dialog
#: around it with that container's name (its label, legend or heading, else its text)
_WHERE_JS = """e => {
  const kinds = {LI: 'list item', TR: 'row', ARTICLE: 'article', SECTION: 'section', FORM: 'form',
                 FIELDSET: 'fieldset', DIALOG: 'dialog', NAV: 'navigation', ASIDE: 'aside'};
  const box = e.parentElement && e.parentElement.closest(
    'li, tr, article, section, form, fieldset, dialog, nav, aside, [role=row], [role=listitem], [role=dialog]');
  let where = '';
  if (box) {
    const kind = kinds[box.tagName] || box.getAttribute('role');
    const named = box.getAttribute('aria-label')
      || (box.querySelector('legend, caption, h1, h2, h3, h4, h5, h6') || {}).innerText || box.innerText || '';
    where = kind + ' "' + named.replace(/\\s+/g, ' ').trim().slice(0, 80) + '"';
  }
  return {testid: e.getAttribute('data-testid') || '', where};
}"""


async def _list_matches(locator: Locator, clip: Callable[[str, int], str]) -> str:
    """The first matches, each as the page names it and where it sits (``button "Remove" in list item
    "Cheese Remove"``), so that a reader can tell them apart and make the target specific."""
    shown: list[str] = []
    count = await locator.count()
    for i in range(min(count, MAX_LISTED)):
        item = locator.nth(i)
        try:
            snap = (await item.aria_snapshot(timeout=1000)).strip().splitlines()
            text = snap[0].lstrip("- ") if snap else ""
            if not text:
                text = clip(await item.evaluate("e => e.outerHTML", timeout=1000), 120)
            place = await item.evaluate(_WHERE_JS, timeout=1000)
            if place.get("where"):
                text += f" in {clip(str(place['where']), 100)}"
            if place.get("testid"):
                text += f" (test_id {clip(str(place['testid']), 60)!r})"
        except Exception as exc:
            text = f"(could not describe: {type(exc).__name__})"
        shown.append(f"{i + 1}) {text}")
    more = f" and {count - MAX_LISTED} more" if count > MAX_LISTED else ""
    return "; ".join(shown) + more


async def _what_is_there(page: Page, candidates: list[Structured]) -> str:
    try:
        snapshot = await page.locator("body").aria_snapshot(timeout=2000)
    except Exception as exc:
        return f"The page could not be inspected ({type(exc).__name__})."
    lines = [line.strip() for line in snapshot.splitlines() if line.strip()]
    roles = {c.role for c in candidates if isinstance(c, RoleTarget)}
    if roles:
        same = [line for line in lines if any(re.match(rf"- {re.escape(r)}\b", line) for r in roles)]
        if same:
            return f"Elements with role {'/'.join(sorted(roles))} on the page: " + "; ".join(same[:15])
        return f"The page has no element with role {'/'.join(sorted(roles))}. Page: " + _excerpt(lines, page)
    return "Page: " + _excerpt(lines, page)


def _excerpt(lines: list[str], page: Page) -> str:
    if not lines:
        return f"{page.url} has no accessible content."
    body = " | ".join(lines[:MAX_SNAPSHOT_LINES])
    more = f" | ... ({len(lines) - MAX_SNAPSHOT_LINES} more lines)" if len(lines) > MAX_SNAPSHOT_LINES else ""
    return f"{page.url}: {body}{more}"
