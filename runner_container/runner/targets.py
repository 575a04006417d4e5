"""Targets -> Playwright locators, in accessibility-first terms.

A structured target maps to one locator (``get_by_role``, ``get_by_label``, ``get_by_text``,
``get_by_placeholder``, ``get_by_test_id``, css). A target must match exactly one element: none or several
fail the step with what was looked for and what the page has instead (or, in ``healing.py``, are healed).

A name (of a role, a label, a text, a placeholder) of a structured target matches an element whose name holds
it as whole words, case aside (:func:`words_pattern`: "Save" in "Save draft", never in "Unsave", which
Playwright's own substring match would find). When that matches several elements, the one whose name *equals* the
name wins (``{role: button, name: Save}`` beside "Save draft" and "Save and close"), then the one whose name
equals it ignoring case and runs of whitespace; only when no rule singles out one element is the target
ambiguous. ``exact: true`` matches exact names alone.

A description (a plain-string target, "the Log in button", or ``{describe: ...}``) is resolved at run time
against the page's accessibility tree, in tiers; the first tier that matches anything decides (one element:
found; several: ambiguous, never a looser guess; what a tier after the first found is looked for once more, in
case the element appeared while the tiers before it ran):

1. ``role``: the role its words name ("button"), else each role the step's action implies in turn (click:
   button, link, checkbox, radio, tab, menuitem, option; fill: textbox, searchbox, combobox, spinbutton;
   check/uncheck: checkbox, radio, switch; select: combobox, listbox; others: common roles), with the exact
   accessible name;
2. ``normalized``: those roles, named so but for case, whitespace and punctuation;
3. ``label``, ``placeholder``, ``text``: a label, placeholder or visible text named so (case, whitespace,
   punctuation aside; a text is never filled, selected or checked); for steps that only look (expect_visible,
   wait_for, expect_text, extract), then a text that contains the name;
4. ``fuzzy``: the one element of those roles whose name is close to the described one as written (a typo, a
   plural, spaces; ``shared/planning/fuzzy.py``'s rule without synonyms, score >= ``FUZZY_MIN``).

A scope narrows any target: ``within`` (one container of a kind: a row is ``tr``/``[role=row]``, a list item
``li``/``[role=listitem]``, a card ``article``/``[class*=card]``...; the innermost such) is found first and must
be exactly one; ``near`` is the smallest row, list item, card, section or form that names the text and holds
the element. A container *names* a text when its accessible name (``aria-label``, ``aria-labelledby``) equals
it, or one of its elements (a cell, a legend, a caption, a heading, a span...) or one of its own texts shows
exactly that text: case and runs of whitespace aside (:func:`named_xpath`), never as a part of a longer text
(the "Bread" row is not "Rye bread", "Item 1" is not "Item 10"). A scope that names no container, or several,
fails the step, listing the containers; a scoped target is never looked for (nor healed, ``healing.py``)
outside its one container. The rule that chose the element is recorded (``matched_by``), with the locator
(``within(row "Cheese").get_by_role(...)``, ``near("Bread")...``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import yaml
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page

from shared.errors import DomainError
from shared.invisible import DROPPED_BY_PLAYWRIGHT, is_blank
from shared.models.planning import ElementInfo
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
from shared.models.runs import Heal, MatchedBy
from shared.planning.fuzzy import ACTION_ROLES, judge, roles_for
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
    target: Structured  # the structured target that matched (a candidate, for a description), with its scope
    matched_by: MatchedBy
    cache: Literal["hit", "miss"] | None = None  # what the element cache knew of the step (None: no cache)
    heal: Heal | None = None  # how the target was healed, when it was


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


def _parse(text: str) -> tuple[str | None, str]:
    """The role word and the name of a description (its quoted part, else what is left of its words)."""
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
    return role, name


def interpret(description: str) -> list[Structured]:
    """Candidate structured targets for a plain-English description, most specific first. What Playwright's
    text matching drops (``shared/invisible.py``) is dropped first, and a name that holds nothing a page shows
    is no name (it would match every element)."""
    text = " ".join(description.translate(_DROPPED).split())
    role, name = _parse(text)
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

Base = Page | Locator

#: the elements each kind of scope is, as ARIA roles and HTML tags
SCOPE_SELECTORS: dict[str, str] = {
    "row": "tr, [role=row]",
    "list item": "li, [role=listitem]",
    "section": "section, [role=region], aside, nav, main",
    "region": "[role=region], section, aside, nav, main",
    "dialog": "dialog, [role=dialog], [role=alertdialog]",
    "form": "form, [role=form], [role=search]",
    "fieldset": "fieldset, [role=group], [role=radiogroup]",
    "card": "article, [role=article], [class*=card]",
    "table": "table, [role=table], [role=grid], [role=treegrid]",
    "list": "ul, ol, menu, [role=list]",
}
#: the containers ``near`` looks in: rows, list items, cards, sections, forms
NEAR_SELECTOR = (
    "tr, [role=row], li, [role=listitem], article, [role=article], [class*=card], "
    "section, [role=region], fieldset, form, [role=form]"
)
#: roles a description is looked up in when its action implies none (hover, expect_visible, extract...)
ANY_ROLES = ("button", "link", "heading", "textbox", "checkbox", "radio", "combobox", "tab", "menuitem", "img")


def locator_for(base: Base, target: Structured, pattern: re.Pattern[str] | None = None) -> Locator:
    """The locator of ``target`` in ``base`` (a page or a container); with ``pattern``, matching the target's
    name by that regular expression."""
    if isinstance(target, RoleTarget):
        if target.name is None:
            return base.get_by_role(target.role)  # type: ignore[arg-type]
        if pattern is not None:
            return base.get_by_role(target.role, name=pattern)  # type: ignore[arg-type]
        return base.get_by_role(target.role, name=target.name, exact=target.exact)  # type: ignore[arg-type]
    if isinstance(target, LabelTarget):
        return base.get_by_label(pattern or target.label, exact=target.exact)
    if isinstance(target, TextTarget):
        return base.get_by_text(pattern or target.text, exact=target.exact)
    if isinstance(target, PlaceholderTarget):
        return base.get_by_placeholder(pattern or target.placeholder, exact=target.exact)
    if isinstance(target, TestIdTarget):
        return base.get_by_test_id(target.test_id)
    return base.locator(target.css)


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


def words_pattern(name: str) -> re.Pattern[str]:
    """A regular expression matching a name that holds ``name`` as whole words (case and runs of whitespace
    aside): "Save" in "Save draft", never in "Unsave"; "Subscribed" never in "Unsubscribed". A name's first and
    last characters that are no word characters ("$5", "Anything else?") need no boundary."""
    words = name.split()
    body = r"\s+".join(re.escape(word) for word in words)
    start = r"(?<!\w)" if re.match(r"\w", name.strip()) else ""
    end = r"(?!\w)" if re.search(r"\w$", name.strip()) else ""
    return re.compile(start + body + end, re.IGNORECASE)


def _xpath_literal(text: str) -> str:
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ", '\"', ".join(f'"{part}"' for part in text.split('"')) + ")"


def named_xpath(name: str) -> str:
    """An XPath predicate (of a container) true when it names ``name``: its ``aria-label``, the element its
    ``aria-labelledby`` points to, one of its elements or one of its texts equals ``name`` but for case (of
    the letters of the name) and runs of whitespace. Never a part of a longer text."""
    wanted = " ".join(name.split()).lower()
    letters = sorted({c for c in wanted if c.upper() != c and len(c.upper()) == 1})
    upper = "".join(c.upper() for c in letters)
    lower = "".join(letters)

    def norm(node: str) -> str:
        value = f"normalize-space({node})"
        if upper:
            value = f"translate({value}, {_xpath_literal(upper)}, {_xpath_literal(lower)})"
        return f"{value} = {_xpath_literal(wanted)}"

    return " or ".join(
        (
            norm("@aria-label"),
            norm("id(@aria-labelledby)"),
            f".//*[not(self::script or self::style or self::template)][{norm('.')}]",
            f".//text()[{norm('.')}]",
        )
    )


def loose_pattern(name: str) -> re.Pattern[str]:
    """A regular expression matching a whole name equal to ``name`` but for case, whitespace and punctuation
    ("Log-in" for "log in", "Anything else" for "Anything else?")."""
    words = re.findall(r"\w+", name)
    if not words:
        return normalized_pattern(name)
    return re.compile(r"^\W*" + r"\W+".join(re.escape(word) for word in words) + r"\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Where:
    """Where a target is looked for: the page, the one container ``within`` names, and (``near``) the smallest
    row, list item, card, section or form that shows a text and holds the element."""

    container: Locator | None  # ``within``'s container (exactly one must match), None for the page
    shown: str  # the scope as code-like text, a prefix of expressions ("" for the page)
    near: str | None

    def base(self, page: Page) -> Base:
        return self.container if self.container is not None else page

    def near_boxes(self, page: Page) -> Locator:
        """The innermost rows, list items, cards, sections and forms that name ``near``'s text."""
        assert self.near is not None
        base = self.base(page)
        boxes = base.locator(NEAR_SELECTOR).and_(base.locator(f"xpath=//*[{named_xpath(self.near)}]"))
        return boxes.filter(has_not=boxes)

    def apply(self, page: Page, build: Callable[[Base], Locator], call: str) -> tuple[Locator, str]:
        """The locator (and its expression) of what ``build`` finds, in this scope."""
        base = self.base(page)
        if self.near is None:
            return build(base), self.shown + call
        named = base.locator(NEAR_SELECTOR).and_(base.locator(f"xpath=//*[{named_xpath(self.near)}]"))
        boxes = named.filter(has=build(page))
        innermost = boxes.filter(has_not=boxes)
        return build(innermost), f"{self.shown}near({json.dumps(self.near)}).{call}"

    async def heal_base(self, page: Page) -> Base | str:
        """Where a healer may look: the page (no scope), else the one container of the scope (``within``'s,
        else the one box that names ``near``'s text); or why there is no such one container."""
        if self.container is not None and (n := await self.container.count()) != 1:
            return f"its scope matched {n} containers, not one"
        if self.near is not None:
            n = await self.near_boxes(page).count()
            if n != 1:
                return f"{n} containers name {json.dumps(self.near)}, not one"
            return self.near_boxes(page)
        return self.base(page)


def where_of(page: Page, target: Target) -> Where:
    if isinstance(target, str):
        return Where(None, "", None)
    container: Locator | None = None
    shown = ""
    if target.within is not None:
        selector = SCOPE_SELECTORS[target.within.kind]
        name = target.within.name
        quoted = json.dumps(name)
        named = page.locator(selector).and_(page.locator(f"xpath=//*[{named_xpath(name)}]"))
        container = named.filter(has_not=named)  # the innermost: a row, not the table around it
        shown = f"within({target.within.kind} {quoted})."
    return Where(container, shown, target.near)


def scoped(target: Structured, like: Target) -> Structured:
    """``target`` with the scope of ``like``."""
    if isinstance(like, str) or (like.within is None and like.near is None):
        return target
    return target.model_copy(update={"within": like.within, "near": like.near})


@dataclass(frozen=True)
class _Group:
    """Rules tried in order on one candidate: the first that matches exactly one element wins; when the first
    matches several, a narrower one may single one out."""

    target: Structured
    rules: list[_Rule]
    final: bool = False  # several matches here end the search (a description's tiers): looser ones must not guess


def _structured_rules(page: Page, where: Where, target: Structured) -> list[_Rule]:
    """The locators a structured target is matched with, in order: the first that matches exactly one element
    wins."""

    def rule(matched_by: MatchedBy, t: Structured, pattern: re.Pattern[str] | None = None) -> _Rule:
        loc, expr = where.apply(page, lambda base: locator_for(base, t, pattern), expression(t, pattern))
        return _Rule(matched_by, loc, expr)

    name = name_of(target)
    if name is None:
        return [rule("exact" if isinstance(target, TestIdTarget) else "unique", target)]
    assert isinstance(target, RoleTarget | LabelTarget | TextTarget | PlaceholderTarget)
    exact = target.model_copy(update={"exact": True})
    if target.exact:
        return [rule("exact", exact)]
    # "substring": the name as whole words of a longer one (Playwright's own substring match would find "Save"
    # in "Unsave", and pass a step on the opposite of what it names)
    return [
        rule("substring", target, words_pattern(name)),
        rule("exact", exact),
        rule("normalized", target, normalized_pattern(name)),
    ]


@dataclass(frozen=True)
class Description:
    """A plain description read: the role(s) to look in first and the name to look for."""

    text: str
    name: str
    roles: tuple[str, ...]  # in order of preference
    role_word: str | None  # the role the words named ("the Log in button"), if any


def read_description(text: str, action: str | None) -> Description:
    """What a description asks for: its name, and the roles its role word (``the Log in button``) or else
    its action implies."""
    cleaned = " ".join(text.translate(_DROPPED).split())
    role, name = _parse(cleaned)
    if role is not None:
        roles: tuple[str, ...] = (role,)
    else:
        roles = roles_for(action or "") or ANY_ROLES
    return Description(cleaned, name or cleaned, roles, role)


def _description_groups(page: Page, where: Where, target: str | DescribedTarget, action: str | None) -> list[_Group]:
    """A description's tiers: the implied roles with the exact name, then named so but for case and
    punctuation, then a label, a placeholder, a visible text named so (the fuzzy tier comes last, apart)."""
    text = target if isinstance(target, str) else target.describe
    d = read_description(text, action)
    groups: list[_Group] = []

    def add(matched_by: MatchedBy, t: Structured, pattern: re.Pattern[str] | None = None) -> None:
        t = scoped(t, target)
        loc, expr = where.apply(page, lambda base: locator_for(base, t, pattern), expression(t, pattern))
        groups.append(_Group(t, [_Rule(matched_by, loc, expr)], final=True))

    if is_blank(d.name):
        if d.role_word is not None:
            add("unique", RoleTarget(role=d.role_word))
        return groups
    loose = loose_pattern(d.name)
    for role in d.roles:
        add("role", RoleTarget(role=role, name=d.name, exact=True))
    for role in d.roles:
        add("normalized", RoleTarget(role=role, name=d.name), loose)
    if action not in ("click",) or d.role_word is None:
        add("label", LabelTarget(label=d.name), loose)
        add("placeholder", PlaceholderTarget(placeholder=d.name), loose)
    if action not in ("fill", "select", "check", "uncheck"):
        add("text", TextTarget(text=d.name), loose)
        if action not in ACTION_ROLES and action not in ("click", "hover", "press"):
            # a text inside a longer one, as whole words: only to look at, never to act on
            add("text", TextTarget(text=d.name), words_pattern(d.name))
    return groups


def _groups(page: Page, where: Where, target: Target, action: str | None) -> list[_Group]:
    if isinstance(target, str | DescribedTarget):
        return _description_groups(page, where, target, action)
    return [_Group(target, _structured_rules(page, where, target))]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class _Ambiguous:
    candidate: Structured
    locator: Locator  # its first rule's: every element it matched
    count: int
    exact: int | None  # how many of them the exact rule matched (None: there is no such rule, or it did not run)
    normalized: int | None  # how many the normalized rule matched (likewise)


@dataclass(frozen=True)
class _Scope:
    count: int  # how many containers ``within`` matched


async def _attempt(page: Page, where: Where, groups: list[_Group]) -> Resolved | list[_Ambiguous] | _Scope:
    """One look at the page: the element, or what matched several, or (``within``) the containers when
    there is not exactly one."""
    if where.container is not None:
        n = await where.container.count()
        if n != 1:
            return _Scope(n)
    ambiguous: list[_Ambiguous] = []
    for group in groups:
        first, *narrower = group.rules
        count = await first.locator.count()
        if count == 1:
            return Resolved(first.locator, first.expression, group.target, first.matched_by)
        if count == 0:
            continue
        found: dict[str, int] = {first.matched_by: count}
        for rule in narrower:  # several matched: does a stricter rule single one out?
            n = found[rule.matched_by] = await rule.locator.count()
            if n == 1:
                return Resolved(rule.locator, rule.expression, group.target, rule.matched_by)
            if rule.matched_by == "exact" and n > 1:
                break  # several are named exactly so: ignoring case cannot make fewer
        ambiguous.append(_Ambiguous(group.target, first.locator, count, found.get("exact"), found.get("normalized")))
        if group.final:
            break
    return ambiguous


def first_rule(page: Page, target: Structured) -> Resolved:
    """The locator a structured target is first matched with (it may match any number of elements)."""
    where = where_of(page, target)
    rule = _structured_rules(page, where, target)[0]
    return Resolved(rule.locator, rule.expression, target, rule.matched_by)


async def resolve_now(page: Page, target: Target, *, action: str | None = None) -> Resolved | None:
    """The element ``target`` matches exactly once on the page now (no wait, no fuzzy match), or None."""
    where = where_of(page, target)
    found = await _attempt(page, where, _groups(page, where, target, action))
    return found if isinstance(found, Resolved) else None


#: the rules that match a name as written (but for case, spaces, punctuation): an element they find is the one
#: the step names, whatever a cache remembers from a heal or a looser rule
STRICT: frozenset[str] = frozenset({"exact", "normalized", "role", "unique"})


async def resolve_strict(page: Page, target: Target, *, action: str | None = None) -> Resolved | None:
    """The element ``target`` matches exactly once now by a strict rule (:data:`STRICT`: an exact or
    normalized name, a description's role tier), no wait; else None."""
    where = where_of(page, target)
    groups = [
        _Group(group.target, [rule], group.final)
        for group in _groups(page, where, target, action)
        for rule in group.rules
        if rule.matched_by in STRICT
    ]
    if not groups:
        return None
    found = await _attempt(page, where, groups)
    return found if isinstance(found, Resolved) else None


async def resolve(
    page: Page,
    target: Target,
    *,
    timeout_s: float,
    action: str | None = None,
    clip: Callable[[str, int], str] = _cut,
) -> Resolved:
    """Wait (up to ``timeout_s``) until the target matches exactly one element. A description (a plain string,
    a ``describe`` target) is looked for as ``action`` implies (:func:`_description_groups`), then by a close
    name (``shared/planning/fuzzy.py``, without synonyms). What the page shows in errors is cut short through
    ``clip`` (give the masker's, which masks secrets before it cuts)."""
    where = where_of(page, target)
    groups = _groups(page, where, target, action)
    deadline = time.monotonic() + timeout_s
    while True:
        found = await _attempt(page, where, groups)
        if isinstance(found, Resolved) and isinstance(target, str | DescribedTarget) and found.matched_by != "role":
            # a looser tier found it: look once more, in case the element appeared while the stricter tiers ran
            again = await _attempt(page, where, groups)
            found = again if isinstance(again, Resolved) else found
        if isinstance(found, Resolved):
            return found
        if isinstance(found, _Scope) and found.count > 1:
            assert where.container is not None and not isinstance(target, str)
            raise TargetAmbiguous(
                f"target {describe_target(target)}: {found.count} containers are a {_scope_text(target)}, expected "
                f"exactly one: {await _list_matches(where.container, clip)}. Name the container by a text only it "
                "shows.",
                details={"target": describe_target(target), "count": found.count},
            )
        if isinstance(found, list) and found:  # none matched exactly once, some matched several
            first_found = found[0]
            n = max(a.count for a in found)
            raise TargetAmbiguous(
                f"{_looked_for(target, groups)} matched {n} elements, expected exactly one: "
                f"{await _list_matches(first_found.locator, clip)}.{_exact_note(first_found)} Make the target "
                "specific to one of them: a test_id, a css selector, a name (or label) only it has, or a scope "
                "(within, near).",
                details={"target": describe_target(target), "count": n},
            )
        if isinstance(target, str | DescribedTarget) and not isinstance(found, _Scope):
            close = await _fuzzy(page, where, target, action)
            if close is not None:
                # the element may have appeared after the stricter tiers looked: they come first if so
                again = await _attempt(page, where, groups)
                return again if isinstance(again, Resolved) else close
        if time.monotonic() >= deadline:
            if isinstance(found, _Scope):
                assert not isinstance(target, str)
                raise TargetNotFound(
                    f"target {describe_target(target)}: no {_scope_text(target)} within {seconds(timeout_s)}. "
                    f"{await _what_is_there(page, [])}",
                    details={"target": describe_target(target)},
                )
            raise TargetNotFound(
                f"{_looked_for(target, groups)} matched nothing within {seconds(timeout_s)}. "
                f"{await _what_is_there(page, [g.target for g in groups])}",
                details={"target": describe_target(target)},
            )
        await asyncio.sleep(POLL_S)


def _scope_text(target: Structured | DescribedTarget) -> str:
    assert target.within is not None
    return f'{target.within.kind} showing "{target.within.name}"'


#: the least score of the fuzzy tier of a description (a close name as written: no synonyms)
FUZZY_MIN = 0.85


async def _fuzzy(page: Page, where: Where, target: str | DescribedTarget, action: str | None) -> Resolved | None:
    """A description's last tier: the one element of a compatible role whose name is close to the described
    one as written (a typo, a plural, spaces, word order), and no other as close."""
    text = target if isinstance(target, str) else target.describe
    d = read_description(text, action)
    if is_blank(d.name):
        return None
    context = scope_text(target)
    try:
        elements = await page_elements(where.base(page))
    except PlaywrightError:
        return None
    best: list[tuple[float, ElementInfo]] = []
    for element in elements:
        if element.role not in d.roles or not element.visible:
            continue
        verdict = judge(d.name, element.name, context=context, synonyms=False)
        if verdict.close and verdict.score >= FUZZY_MIN:
            best.append((verdict.score, element))
    if not best:
        return None
    best.sort(key=lambda item: -item[0])
    top = best[0][0]
    names = {(e.role, e.name) for score, e in best if score == top}
    if len(names) != 1:
        return None  # two names alike as close: no guess
    replacement = scoped(replacement_for(best[0][1]), target)
    loc, expr = where.apply(page, lambda base: locator_for(base, replacement), expression(replacement))
    if await loc.count() != 1:
        return None
    return Resolved(loc, expr, replacement, "fuzzy")


def scope_text(target: Target) -> str:
    """The words of a target's scope (its ``within`` name and ``near`` text), which a close name may add."""
    if isinstance(target, str):
        return ""
    return " ".join(text for text in (target.within.name if target.within else None, target.near) if text)


def replacement_for(element: ElementInfo) -> Structured:
    """The structured target of one element of the page: its role and exact name, or its exact text."""
    if element.name and element.role not in ("text", "paragraph", "generic"):
        return RoleTarget(role=element.role, name=element.name, exact=True)
    return TextTarget(text=element.name or element.text, exact=True)


# ------------------------------------------------------------------------- the accessibility tree

MAX_ELEMENTS = 300
_ENTRY = re.compile(r'^(?P<role>[a-z]+)(?:\s+(?P<name>"(?:[^"\\]|\\.)*"))?(?P<attrs>(?:\s*\[[^\]]*\])*)\s*$')


async def page_elements(base: Base, *, limit: int = MAX_ELEMENTS) -> list[ElementInfo]:
    """The named elements of the page (or a container), from its aria snapshot: role, accessible name (as
    ``get_by_role`` matches it), text, whether it is enabled. Hidden elements are not in a snapshot. At most
    ``limit``."""
    root = base.locator("body") if isinstance(base, Page) else base
    snapshot = await root.aria_snapshot(timeout=2000)
    try:
        tree = yaml.safe_load(snapshot)
    except yaml.YAMLError:
        return []
    elements: list[ElementInfo] = []

    def add(key: str, text: str) -> None:
        if len(elements) >= limit:
            return
        match = _ENTRY.match(key.strip())
        if match is None:
            return
        role, quoted, attrs = match.group("role"), match.group("name"), match.group("attrs") or ""
        try:
            name = json.loads(quoted) if quoted else ""
        except ValueError:
            name = quoted.strip('"') if quoted else ""
        if role == "text":
            name, text = text, text
        if not name and not text:
            return
        elements.append(
            ElementInfo(
                index=len(elements),
                role=role,
                name=str(name)[:200],
                text=str(text)[:200],
                visible=True,
                enabled="[disabled" not in attrs,
            )
        )

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            add(node, "")
        elif isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str) or key.startswith("/"):
                    continue
                if isinstance(value, list):
                    add(key, "")
                    walk(value)
                else:
                    add(key, "" if value is None else str(value))

    walk(tree)
    return elements


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


def _looked_for(target: Target, groups: list[_Group]) -> str:
    if isinstance(target, str | DescribedTarget):
        text = target if isinstance(target, str) else target.describe
        first = groups[0].rules[0].expression if groups else ""
        scope = "" if isinstance(target, str) else (describe_target(target) or "").removeprefix(f'describe="{text}"')
        return (
            f"target {text!r}{scope} (tried {first}, then other roles the action can use, labels, placeholders "
            f"and texts named so, then a close name; {len(groups)} rules)"
        )
    return f"target {describe_target(target)} ({groups[0].rules[0].expression})"


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
