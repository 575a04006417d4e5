"""What a model planner and a model healer are told: system prompts, the user messages built from a
:class:`~shared.models.planning.PlanRequest` or :class:`~shared.models.planning.HealRequest`, and the checks of
an answer that no JSON schema can say (a secret the goal never named).

No model client here: ``shared/aws/bedrock.py`` sends these.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import Field, ValidationError

from shared.models.common import StrictModel
from shared.models.planning import ElementInfo, HealRequest, PlanRequest
from shared.models.plans import Request, Step
from shared.models.secrets import NAME_CHARS
from shared.models.tests import TestKind

PLAN_TOOL = "submit_plan"
HEAL_TOOL = "choose_element"

#: definitions whose descriptions the plan tool's schema leaves out: PLAN_SYSTEM explains targets once
TARGET_DEFINITIONS = frozenset(
    {
        "RoleTarget",
        "LabelTarget",
        "TextTarget",
        "PlaceholderTarget",
        "TestIdTarget",
        "CssTarget",
        "DescribedTarget",
        "Scope",
    }
)


class BrowserPlan(StrictModel):
    """The plan tool's input for a browser test: every kind of step."""

    steps: Annotated[list[Step], Field(min_length=1, max_length=500)]
    """The steps, in order: each sentence of the goal becomes one step or a few."""


class ApiPlan(StrictModel):
    """The plan tool's input for an API test: request steps only."""

    steps: Annotated[list[Request], Field(min_length=1, max_length=500)]
    """The request steps, in order: each sentence of the goal becomes one step or a few."""


def plan_model(kind: TestKind) -> type[BrowserPlan] | type[ApiPlan]:
    return ApiPlan if kind == TestKind.api else BrowserPlan


PLAN_TOOL_DESCRIPTION = (
    "Submit the test plan: the steps that carry out the goal, in order. Call it exactly once with every step."
)

PLAN_SYSTEM = """\
You turn a test written in plain English into a test plan for autotest, a browser and API test runner.
Answer only by calling the submit_plan tool with {"steps": [...]}; never answer in prose.

Each sentence (or line) of the goal becomes one step, or a few when it says several things; keep the order,
add nothing the goal does not ask for and drop nothing it does ask for.

Targets (the element a step acts on), most robust first:
- {"role": "button", "name": "Log in"}: an ARIA role and the accessible name a user sees
  (button, link, textbox, checkbox, radio, combobox, tab, menuitem, heading, ...)
- {"label": "Username"}: a form field by its label
- {"placeholder": "Search"}: a field by its placeholder
- {"text": "Forgot your password?"}: an element by the text it shows
- {"test_id": "cart-total"}: a data-testid attribute, only when the goal names one
- {"css": "#summary"}: a CSS selector, only when the goal gives one
- {"describe": "Remove"}: a plain description, resolved at run time (when the kind of element is unclear)
- a plain string, "the Log in button": the same as describe
Any object target may be narrowed with "within": {"kind": "row", "name": "Cheese"} (kind: row, list item,
section, region, dialog, form, fieldset, card, table, list) or "near": "Cheese" (the smallest row, card,
section or form that also shows that text): "Click Remove in the Cheese row" is
{"action": "click", "target": {"role": "button", "name": "Remove", "within": {"kind": "row", "name": "Cheese"}}}.
Use the names the goal quotes, exactly as written; do not guess ids, classes or CSS.

Values: {{name}} is a variable of the run (or one an extract step stored earlier); use the variables listed
and keep every {{...}} the goal writes exactly as written. {{secret:NAME}} is a secret: use it only where the
goal writes it, and never invent a secret, a password or a {{secret:...}} the goal does not name.
Relative URLs are resolved against the start URL; prefer {{base_url}}-style variables when the goal uses them.

Every step has "action": goto {url}; click / check / uncheck / hover / expect_visible {target};
fill / select {target, value}; press {key, target?}; wait_for {target} or {ms}; expect_text {text, target?};
expect_url {pattern: an RE2 regular expression, escape . and ?}; expect_title {text}; screenshot {name?};
extract {target, var}; request {method, url, headers?, query?, json?|body?, extract?, expect?} for HTTP calls.
"""

PLAN_API_NOTE = "This is an API test: use request steps only."

REPAIR_INVALID = (
    "That plan is not valid. Fix these errors and call {tool} again with the whole corrected plan:\n{errors}"
)
REPAIR_NO_TOOL = "Answer by calling the {tool} tool with the whole plan, not in prose."
REPAIR_CUT = "Your answer was cut off at the token limit before the plan was complete. {rest}"


def plan_user_message(request: PlanRequest) -> str:
    lines = ["Goal:", request.goal.strip(), ""]
    lines.append(f"Start URL: {request.start_url}" if request.start_url else "Start URL: (none given)")
    if request.variables:
        shown = ", ".join("{{" + name + "}}" for name in sorted(request.variables))
        lines.append(f"Variables the run has: {shown}")
    else:
        lines.append("Variables the run has: (none)")
    lines.append(f"Kind of test: {request.kind.value}")
    if request.kind == TestKind.api:
        lines.append(PLAN_API_NOTE)
    return "\n".join(lines)


_SECRET = re.compile(rf"\{{\{{\s*secret\s*:\s*({NAME_CHARS})\s*\}}\}}")


def invented_secrets(request: PlanRequest, tool_input: object) -> list[str]:
    """The ``{{secret:NAME}}`` names the answer uses that the goal never wrote."""
    allowed = set(_SECRET.findall(request.goal))
    used = _SECRET.findall(json.dumps(tool_input, ensure_ascii=False))
    return sorted(set(used) - allowed)


#: the most validation errors sent back to the model (and kept on a failure)
MAX_ERRORS = 20


def summarize_errors(exc: ValidationError) -> list[str]:
    """One line per error, ``steps.2.click.target: Field required``, at most :data:`MAX_ERRORS`."""
    lines = []
    for error in exc.errors(include_url=False)[:MAX_ERRORS]:
        where = ".".join(str(part) for part in error["loc"]) or "(the answer)"
        lines.append(f"{where}: {error['msg']}")
    if exc.error_count() > MAX_ERRORS:
        lines.append(f"... and {exc.error_count() - MAX_ERRORS} more")
    return lines


# --------------------------------------------------------------------------------------- healing


class HealChoice(StrictModel):
    """An element of the page that may be the one the step meant."""

    # strict: a score of "0.9" or true is malformed, not a number to coerce
    index: Annotated[int, Field(strict=True)]
    """The element's number, as listed."""
    score: Annotated[float, Field(ge=0, le=1, strict=True)]
    """How sure you are that it is the element meant: 0 to 1."""
    reason: Annotated[str, Field(max_length=300)] = ""
    """Why, in a few words."""


class HealAnswer(StrictModel):
    """The healer tool's input: the most likely elements, best first."""

    choices: Annotated[list[HealChoice], Field(max_length=3)]
    """Up to 3 elements, best first; empty when none of them fits."""


HEAL_TOOL_DESCRIPTION = "Choose the page elements (up to 3, best first) that the test step most likely meant."

HEAL_SYSTEM = """\
A browser test step names an element that the page no longer shows under that name (the page was redesigned,
or the step matches several elements). You are given the step's action, the name it asked for, the roles
that action can use, and the page's elements, numbered. Choose the elements the step most likely meant, best
first (up to 3), each with a score from 0 to 1 and a short reason, by calling the choose_element tool.
Prefer an element of a compatible role whose name means the same (reworded, renamed, translated); prefer
visible, enabled elements. Return no choice rather than a guess: an element that is merely nearby, or of a
role the action cannot use, is not the one meant. Use only the numbers listed.
"""

#: the most elements a heal prompt lists, and the most characters of each text it shows
MAX_HEAL_ELEMENTS = 200
MAX_NAME_CHARS = 120
MAX_TEXT_CHARS = 80
MAX_ATTRIBUTE_CHARS = 40
MAX_ATTRIBUTES = 6


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def heal_elements(request: HealRequest) -> list[ElementInfo]:
    """The elements a heal prompt lists: at most :data:`MAX_HEAL_ELEMENTS`, those of a compatible role, then
    the visible and enabled ones, first when there are more; in page order."""
    elements = request.elements
    if len(elements) <= MAX_HEAL_ELEMENTS:
        return list(elements)
    roles = set(request.roles)

    def rank(element: ElementInfo) -> tuple[int, int]:
        return (0 if element.role in roles else 1, 0 if element.visible and element.enabled else 1)

    kept = sorted(range(len(elements)), key=lambda i: (*rank(elements[i]), i))[:MAX_HEAL_ELEMENTS]
    return [elements[i] for i in sorted(kept)]


def _element_line(element: ElementInfo) -> str:
    parts = [f"[{element.index}] {element.role or '(no role)'}"]
    if element.name:
        parts.append(json.dumps(_clip(element.name, MAX_NAME_CHARS), ensure_ascii=False))
    if element.tag:
        parts.append(f"<{element.tag}>")
    if element.text and element.text != element.name:
        parts.append("text=" + json.dumps(_clip(element.text, MAX_TEXT_CHARS), ensure_ascii=False))
    for key, value in list(element.attributes.items())[:MAX_ATTRIBUTES]:
        parts.append(f"{_clip(key, 24)}=" + json.dumps(_clip(value, MAX_ATTRIBUTE_CHARS), ensure_ascii=False))
    if not element.visible:
        parts.append("(hidden)")
    if not element.enabled:
        parts.append("(disabled)")
    return " ".join(parts)


def heal_user_message(request: HealRequest, elements: list[ElementInfo]) -> str:
    lines = [
        f"Action: {request.action}",
        f"The step's target: {_clip(request.target, 300)}",
        f"The name it asked for: {json.dumps(_clip(request.wanted, 300), ensure_ascii=False)}",
        f"Roles the action can use: {', '.join(request.roles) or '(any)'}",
        f"Why it did not resolve: {_clip(request.reason, 200)}",
        f"Page: {_clip(request.url, 300)}",
        f"Elements ({len(elements)} of {len(request.elements)}):",
    ]
    lines.extend(_element_line(element) for element in elements)
    return "\n".join(lines)
