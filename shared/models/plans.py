"""The step plan: the test language. A plan is a list of steps, a discriminated union on ``action``.

Targets are semantic, in Playwright's accessibility-first terms, or a plain string describing
the element. Values and URLs may hold ``{{var}}`` and ``{{secret:NAME}}`` placeholders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationInfo, model_validator

from shared import regex
from shared.controlchars import describe
from shared.invisible import first_dropped, is_blank
from shared.models.common import LongText, ShortFreeText, ShortText, StrictModel, VarName, is_rendered, is_stored


def _re2_pattern(pattern: str, info: ValidationInfo) -> str:
    """A pattern RE2 can compile (see ``shared/regex.py``); stored items are not re-judged (see ``is_stored``),
    a run renders and re-validates its steps before it uses them."""
    if not is_stored(info):
        problem = regex.problem(pattern)
        if problem:
            raise ValueError(problem)
    return pattern


#: a regular expression a user writes: RE2 syntax, checked when the test is saved
Regex = Annotated[ShortText, AfterValidator(_re2_pattern)]


def _jsonpath(path: str, info: ValidationInfo) -> str:
    """A JSONPath that compiles (RFC 9535, ``shared/apitests/jsonpath.py``): as written (its placeholders
    standing for a name or a number) when a test is saved, as it is once a run has rendered it; stored items
    are not re-judged."""
    if is_stored(info):
        return path
    from shared.apitests import jsonpath  # (its library, like CEL's and JSON Schema's, loaded when first needed)

    problem = jsonpath.problem(path) if is_rendered(info) else jsonpath.template_problem(path)
    if problem:
        raise ValueError(problem)
    return path


#: a JSONPath a user writes (RFC 9535), compiled when the test is saved
JsonPath = Annotated[ShortText, AfterValidator(_jsonpath)]


def _cel(source: str, info: ValidationInfo) -> str:
    """A CEL expression that compiles (``shared/apitests/cel.py``) and holds no placeholder (its variables are
    ``vars.name``, typed: a value pasted into the expression's text could change what it means); stored items
    are not re-judged."""
    if is_stored(info):
        return source
    from shared.apitests import cel, jsonpath

    found = jsonpath.PLACEHOLDER.search(source)
    if found:
        name = found.group(2)
        raise ValueError(
            f"a CEL expression does not take placeholders ({found.group(0)}): its variables are bound as vars "
            f'(vars.{name}, or vars["{name}"]), with their types'
            + ("; a secret cannot be used in an expression" if found.group(1) else "")
        )
    problem = cel.problem(source)
    if problem:
        raise ValueError(problem)
    return source


#: a CEL expression a user writes, compiled when the test is saved
CelExpr = Annotated[ShortText, AfterValidator(_cel)]


def _shown(matches: str) -> Callable[[str, ValidationInfo], str]:
    """The rules for text Playwright looks for on the page (``shared/invisible.py`` says how it compares):
    text that is blank once compared (whitespace and invisible characters only) would match ``matches``, so
    it is refused, when the test is saved and again once its placeholders are filled in; and the test's own
    text may not hold a character the comparison drops (U+200B, U+00AD), which would make it match text
    without it ("Wel\u200bcome" matching "Welcome"). A value a placeholder brings in may: it is compared as the
    page shows it."""

    def check(value: str, info: ValidationInfo) -> str:
        if is_stored(info):
            return value
        if is_blank(value):
            raise ValueError(
                "holds only whitespace or invisible characters, which the comparison with the page ignores: it "
                f"would match {matches}; write text the page shows"
            )
        found = None if is_rendered(info) else first_dropped(value)
        if found is not None:
            index, char = found
            raise ValueError(
                f"{describe(char)} at character {index + 1} is not allowed: the page's text is compared without "
                "zero-width spaces and soft hyphens, so the text would match as if it were not there; remove it"
            )
        return value

    return check


#: text a test expects on the page (or in an element, or in the title)
ExpectedText = Annotated[ShortText, AfterValidator(_shown("any page, an empty one included"))]
#: the name a role, label, text or placeholder target matches elements by
TargetName = Annotated[ShortText, AfterValidator(_shown("every element"))]

# --------------------------------------------------------------------------------------- targets


#: the kinds of container a target can be scoped to (``within``), as a user names them
ScopeKind = Literal["row", "list item", "section", "region", "dialog", "form", "fieldset", "card", "table", "list"]


class Scope(StrictModel):
    """The container a target sits in: `{"kind": "row", "name": "Cheese"}` is the table row (or ARIA row) whose
    text, label or heading holds "Cheese"."""

    kind: ScopeKind
    """What the container is: `row`, `list item`, `section`, `region`, `dialog`, `form`, `fieldset`, `card`
    (an article or an element whose class names a card), `table` or `list`."""
    name: TargetName
    """Text that tells the container apart: its accessible name, legend, caption or heading, else text it shows."""


class _Scoped(StrictModel):
    # left out of a target's JSON when unset, so that an unscoped target reads as it always did
    within: Annotated[Scope | None, Field(exclude_if=lambda v: v is None)] = None
    """Look for the element only inside this container (one container must match)."""
    near: Annotated[TargetName | None, Field(exclude_if=lambda v: v is None)] = None
    """Look for the element only in the smallest row, list item, card, section or form that also shows this
    text (`Click "Remove" next to "Cheese"`)."""


class RoleTarget(_Scoped):
    """An element by its ARIA role and accessible name, as a user sees it: `{"role": "button", "name": "Log in"}`
    (Playwright's `get_by_role`)."""

    role: Annotated[str, Field(min_length=1, max_length=64)]
    """An ARIA role: `button`, `link`, `textbox`, `checkbox`, `radio`, `heading`, `list`, `status`, ..."""
    name: TargetName | None = None
    """The accessible name (the button's text, the field's label). Default: any name, so the role alone must
    match exactly one element."""
    exact: bool = False
    """`true`: only an element named exactly so (case and spaces included) matches. `false` (default): a
    name holding it as whole words matches (case aside; "Save" in "Save draft", not in "Unsave");
    when that matches several elements, the one named exactly so wins, then
    the one named so but for case and spaces."""


class LabelTarget(_Scoped):
    """A form field by the text of its label: `{"label": "Username"}` (Playwright's `get_by_label`)."""

    label: TargetName
    """The label's text (`<label>`, `aria-label` or `aria-labelledby`)."""
    exact: bool = False
    """`true`: only an element labelled exactly so (case and spaces included) matches. `false` (default): a
    name holding it as whole words matches (case aside; "Save" in "Save draft", not in "Unsave");
    when that matches several elements, the one labelled exactly so wins,
    then the one labelled so but for case and spaces."""


class TextTarget(_Scoped):
    """An element by the text it shows: `{"text": "Forgot your password?"}` (Playwright's `get_by_text`)."""

    text: TargetName
    """The element's text."""
    exact: bool = False
    """`true`: only an element whose text is exactly this (case and spaces included) matches. `false` (default): a
    name holding it as whole words matches (case aside; "Save" in "Save draft", not in "Unsave");
    when that matches several elements, the one whose text is exactly this wins,
    then the one whose text is this but for case and spaces."""


class PlaceholderTarget(_Scoped):
    """A field by its placeholder text: `{"placeholder": "Search"}` (Playwright's `get_by_placeholder`)."""

    placeholder: TargetName
    """The field's placeholder."""
    exact: bool = False
    """`true`: only an element with exactly this placeholder (case and spaces included) matches. `false` (default): a
    name holding it as whole words matches (case aside; "Save" in "Save draft", not in "Unsave");
    when that matches several elements, the one with exactly this placeholder
    wins, then the one with it but for case and spaces."""


class TestIdTarget(_Scoped):
    """An element by its `data-testid` attribute: `{"test_id": "item-1"}` (Playwright's `get_by_test_id`)."""

    test_id: ShortText
    """The attribute's value, matched exactly."""


class CssTarget(_Scoped):
    """An element by a CSS selector: `{"css": "#summary"}`. Prefer a role, label or text target: they survive
    changes of markup."""

    css: ShortText
    """A CSS selector (Playwright's selector syntax); it must match exactly one element."""


class DescribedTarget(_Scoped):
    """A plain description of the element with a scope: `{"describe": "Remove", "within": {"kind": "row",
    "name": "Cheese"}}`. A description is resolved at run time as a plain-string target is: the role the
    step's action implies first, then names, labels, placeholders and text, then a close match."""

    describe: TargetName
    """What the element is, in words ("the Log in button", "Remove")."""


_TARGET_KEYS = ("role", "label", "text", "placeholder", "test_id", "css", "describe")


def _target_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "description"
    if isinstance(value, dict):
        for key in _TARGET_KEYS:
            if key in value:
                return key
        return None
    for key, cls in _TARGET_CLASSES.items():
        if isinstance(value, cls):
            return key
    return None


Target = Annotated[
    Annotated[RoleTarget, Tag("role")]
    | Annotated[LabelTarget, Tag("label")]
    | Annotated[TextTarget, Tag("text")]
    | Annotated[PlaceholderTarget, Tag("placeholder")]
    | Annotated[TestIdTarget, Tag("test_id")]
    | Annotated[CssTarget, Tag("css")]
    | Annotated[DescribedTarget, Tag("describe")]
    | Annotated[
        TargetName,
        Tag("description"),
        Field(
            description=(
                'A plain description of the element, read as a role and a name: "the Log in button" (a button '
                'named "Log in"), "the Username field" (a textbox labelled "Username").'
            )
        ),
    ],
    Discriminator(
        _target_kind,
        custom_error_type="invalid_target",
        custom_error_message=(
            "a target is a string describing the element or an object with one of the keys "
            "role, label, text, placeholder, test_id, css, describe"
        ),
    ),
]

_TARGET_CLASSES: dict[str, type] = {
    "role": RoleTarget,
    "label": LabelTarget,
    "text": TextTarget,
    "placeholder": PlaceholderTarget,
    "test_id": TestIdTarget,
    "css": CssTarget,
    "describe": DescribedTarget,
}


def describe_target(target: Target | None) -> str | None:
    """A short human-readable form of a target, used in results and error messages."""
    if target is None:
        return None
    if isinstance(target, str):
        return target
    if isinstance(target, RoleTarget):
        shown = f"role={target.role}" + (f' name="{target.name}"' if target.name else "")
    else:
        field = _target_kind(target) or "target"
        shown = f'{field}="{getattr(target, field)}"'
    if target.within is not None:
        shown += f' in {target.within.kind} "{target.within.name}"'
    if target.near is not None:
        shown += f' near "{target.near}"'
    return shown


# ----------------------------------------------------------------------------------------- steps


class _Step(StrictModel):
    description: ShortFreeText | None = None
    """What the step is for, in words (up to 2,000 characters): shown in results and reports."""
    timeout_s: Annotated[float, Field(ge=0.01, le=600)] | None = None
    """Seconds this step may take (0.01 to 600), waiting for its element included. Default: the deployment's
    `AUTOTEST_STEP_TIMEOUT_S` (10). The run's `timeout_s` still ends it sooner."""


#: a status a main document may answer with and still pass a ``goto`` (one of 400 and above: lower ones always pass)
ErrorStatus = Annotated[int, Field(ge=400, le=599)]


class Goto(_Step):
    """Open `url`. The step fails when the page cannot be reached, and when its main document answers with
    a status of 400 or above, unless that status is in `allow_status` (a page that legitimately answers
    404 or 401)."""

    action: Literal["goto"] = "goto"
    """The kind of step: `goto`."""
    url: ShortText
    """The URL to open; a relative URL resolves against the current page (or `start_url`). May hold `{{var}}`
    placeholders."""
    allow_status: Annotated[list[ErrorStatus], Field(max_length=50)] = Field(default_factory=list)
    """Statuses of 400 to 599 the page may answer with and still pass, e.g. `[404]` (up to 50). Default:
    none."""


class Click(_Step):
    """Click the element."""

    action: Literal["click"] = "click"
    """The kind of step: `click`."""
    target: Target
    """The element to click."""


class Fill(_Step):
    """Type `value` into a field, replacing what is there."""

    action: Literal["fill"] = "fill"
    """The kind of step: `fill`."""
    target: Target
    """The field to fill."""
    value: LongText
    """The text to type (up to 20,000 characters; `""` empties the field). May hold `{{var}}` and
    `{{secret:NAME}}`: a secret's value never appears in results, logs or reports."""


class Press(_Step):
    """Press a key, on the target or else on the page."""

    action: Literal["press"] = "press"
    """The kind of step: `press`."""
    key: Annotated[str, Field(min_length=1, max_length=64)]
    """A key or a chord in Playwright's names: `Enter`, `Tab`, `Escape`, `ArrowDown`, `Control+A`, `a`."""
    target: Target | None = None
    """The element to press it on. Default: the page (whatever has the focus)."""


class Select(_Step):
    """Pick an option of a `<select>`."""

    action: Literal["select"] = "select"
    """The kind of step: `select`."""
    target: Target
    """The `<select>` element."""
    value: ShortText
    """The option to pick, by its value or its label. May hold `{{var}}` placeholders."""


class Check(_Step):
    """Check a checkbox or a radio button (nothing changes when it is checked already)."""

    action: Literal["check"] = "check"
    """The kind of step: `check`."""
    target: Target
    """The checkbox or radio button."""


class Uncheck(_Step):
    """Uncheck a checkbox (nothing changes when it is unchecked already)."""

    action: Literal["uncheck"] = "uncheck"
    """The kind of step: `uncheck`."""
    target: Target
    """The checkbox."""


class Hover(_Step):
    """Move the mouse over the element (to open a menu, show a tooltip)."""

    action: Literal["hover"] = "hover"
    """The kind of step: `hover`."""
    target: Target
    """The element to hover."""


class WaitFor(_Step):
    """Wait until an element is visible (`target`), or for a fixed time (`ms`): exactly one of them."""

    action: Literal["wait_for"] = "wait_for"
    """The kind of step: `wait_for`."""
    target: Target | None = None
    """The element to wait for, until it is visible or the step's `timeout_s` is up."""
    ms: Annotated[int, Field(ge=0, le=600_000)] | None = None
    """Milliseconds to wait (0 to 600,000). The step gets that time whatever the default step timeout; a
    `timeout_s` shorter than the wait is refused."""

    @model_validator(mode="after")
    def _one_of(self) -> WaitFor:
        if (self.target is None) == (self.ms is None):
            raise ValueError("wait_for needs exactly one of 'target' or 'ms'")
        if self.ms is not None and self.timeout_s is not None and self.ms / 1000 > self.timeout_s:
            raise ValueError(
                f"wait_for waits {self.ms} ms, longer than its timeout_s of {self.timeout_s:g} s: "
                "drop timeout_s (a fixed wait gets the time it asks for) or wait less"
            )
        return self


class ExpectText(_Step):
    """Pass when the text appears on the page (or in the target) before the step's time is up; with `absent`,
    when it is not shown (or no longer is) before then."""

    action: Literal["expect_text"] = "expect_text"
    """The kind of step: `expect_text`."""
    text: ExpectedText
    """The text expected, as a substring of what the page (or the target) shows, compared with runs of
    whitespace as one space (case-sensitive). Not blank: whitespace and invisible characters alone match any
    page. May hold `{{var}}`."""
    target: Target | None = None
    """The element that must contain the text. Default: the whole page."""
    absent: Annotated[bool, Field(exclude_if=lambda v: not v)] = False
    """`true`: pass when the text is *not* shown (on the page, or in the target, which must be there), waiting up
    to the step's time for it to go away (`Expect not to see "Error"`). Default: `false`, the text must appear."""


class ExpectVisible(_Step):
    """Pass when the element is visible before the step's time is up."""

    action: Literal["expect_visible"] = "expect_visible"
    """The kind of step: `expect_visible`."""
    target: Target
    """The element that must be visible."""


class ExpectUrl(_Step):
    """Pass when the page's URL matches a regular expression before the step's time is up."""

    action: Literal["expect_url"] = "expect_url"
    """The kind of step: `expect_url`."""
    pattern: Regex
    """A regular expression in RE2 syntax, searched in the URL (`/welcome`, `/items/\\d+$`); escape what is
    meant literally (`\\?`, `\\.`). Checked when the test is saved. May hold `{{var}}`."""


class ExpectTitle(_Step):
    """Pass when the page's title contains the text before the step's time is up."""

    action: Literal["expect_title"] = "expect_title"
    """The kind of step: `expect_title`."""
    text: ExpectedText
    """The text the title must contain (case-sensitive). Not blank."""


class Screenshot(_Step):
    """Take a full-page screenshot, kept as an artifact of the run (`<name>.png`)."""

    action: Literal["screenshot"] = "screenshot"
    """The kind of step: `screenshot`."""
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None
    """The artifact's name without `.png` (1 to 64 letters, digits, `_`, `.` or `-`). Default: `step-` and the
    step's index from 0 in three digits (`step-004`)."""


class Extract(_Step):
    """Store the element's text (a field's value) in a variable, for the steps after it as `{{var}}`."""

    action: Literal["extract"] = "extract"
    """The kind of step: `extract`."""
    target: Target
    """The element to read."""
    var: VarName
    """The variable's name: a letter or `_`, then letters, digits, `_`, `.` or `-` (at most 64)."""


# ------------------------------------------------------------------------------ request (API)

HeaderName = Annotated[str, Field(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


HttpStatus = Annotated[int, Field(ge=100, le=599)]


class ExpectStatus(StrictModel):
    """The response's status is this one, or one of these: `{"status": 201}`, `{"status": [200, 204]}`. A
    request with no status expectation passes whatever its status."""

    status: HttpStatus | Annotated[list[HttpStatus], Field(min_length=1, max_length=50)]
    """An HTTP status (100 to 599), or a list of 1 to 50 of them."""


class _OneCheck(StrictModel):
    """An expectation on one value: exactly one of equals / contains / matches / exists."""

    @model_validator(mode="after")
    def _one_check(self) -> _OneCheck:
        given = [k for k in ("equals", "contains", "matches", "exists") if getattr(self, k) is not None]
        if len(given) != 1:
            subject = next(iter(type(self).model_fields))
            raise ValueError(f"a {subject} expectation needs exactly one of equals, contains, matches, exists")
        return self


class ExpectJsonPath(_OneCheck):
    """A value of the JSON response body, found by a JSONPath, checked with exactly one of `equals`,
    `contains`, `matches`, `exists`: `{"jsonpath": "$.user.name", "equals": "admin"}`."""

    jsonpath: JsonPath
    """A JSONPath (RFC 9535) into the response body: `$.items[0].id`, `$.items[?@.price > 10].name`,
    `$.items[?length(@.tags) > 0]`. When it finds several values, they are checked as one list. Compiled when
    the test is saved; may hold `{{var}}` (quote it for a string: `$.items[?@.name == "{{name}}"]`)."""
    equals: Any = None
    """The value must equal this JSON value (a string also matches a number that reads the same: `"5"` and
    `5`). May hold `{{var}}`. Not null: check null with a `json_schema` expectation."""
    contains: Any = None
    """A string value must contain this text, a list hold this element, an object hold these keys and values
    (or this key). May hold `{{var}}`."""
    matches: Regex | None = None
    """The value (as JSON text, unless a string) must match this regular expression (RE2 syntax)."""
    exists: bool | None = None
    """`true`: the path must find something; `false`: it must find nothing."""


class ExpectHeader(_OneCheck):
    """A response header, checked with exactly one of `equals`, `contains`, `matches`, `exists`:
    `{"header": "Content-Type", "contains": "json"}`."""

    header: ShortText
    """The header's name (case-insensitive)."""
    equals: str | None = None
    """The header's value must be exactly this."""
    contains: str | None = None
    """The header's value must contain this text."""
    matches: Regex | None = None
    """The header's value must match this regular expression (RE2 syntax)."""
    exists: bool | None = None
    """`true`: the response must have the header; `false`: it must not."""


class ExpectBody(StrictModel):
    """The response body as text, checked with exactly one of `body_contains`, `body_matches`."""

    body_contains: ShortText | None = None
    """The body must contain this text."""
    body_matches: Regex | None = None
    """The body must match this regular expression (RE2 syntax, searched; linear time, so no pattern can stall
    a run)."""

    @model_validator(mode="after")
    def _one_check(self) -> ExpectBody:
        if (self.body_contains is None) == (self.body_matches is None):
            raise ValueError("a body expectation needs exactly one of body_contains, body_matches")
        return self


class ExpectSchema(StrictModel):
    """The response body is JSON valid against a JSON Schema."""

    json_schema: dict[str, Any]
    """A JSON Schema (`{"type": "object", "required": ["items", "count"]}`). It may refer only to itself
    (`"$ref": "#/$defs/item"`): nothing is ever fetched."""

    @model_validator(mode="after")
    def _usable(self, info: ValidationInfo) -> ExpectSchema:
        if is_stored(info):
            return self
        from shared.apitests import schema

        problem = schema.problem(self.json_schema)
        if problem:
            raise ValueError(f"json_schema: {problem}")
        return self


class ExpectExpr(StrictModel):
    """A custom check in CEL (the Common Expression Language), true for a pass:
    `{"expr": "response.status == 200 && size(body.items) > 0"}`. It sees `response` (`status`, `headers`,
    `latency_ms`, `url`, `method`, `redirects`, `text`), `body` (the JSON body, or its text when it is not JSON),
    `headers` (names lower-cased) and `vars` (the step's variables). Its value must be a bool; an error (a key
    the body does not have) fails the check with CEL's message."""

    expr: CelExpr
    """The CEL expression (up to 2,000 characters), compiled when the test is saved. Variables are `vars.name`
    (with their types), not `{{name}}`: an expression holds no placeholder."""


class ExpectLatency(StrictModel):
    """The response arrives quickly enough."""

    max_latency_ms: Annotated[int, Field(gt=0)]
    """Most milliseconds from sending the request to the whole response, redirects included (above 0)."""


def _expectation_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = value.keys()
    elif isinstance(value, StrictModel):
        keys = type(value).model_fields.keys()
    else:
        return None
    for key, tag in (
        ("status", "status"),
        ("jsonpath", "jsonpath"),
        ("header", "header"),
        ("body_contains", "body"),
        ("body_matches", "body"),
        ("json_schema", "schema"),
        ("max_latency_ms", "latency"),
        ("expr", "expr"),
    ):
        if key in keys:
            return tag
    return None


Expectation = Annotated[
    Annotated[ExpectStatus, Tag("status")]
    | Annotated[ExpectJsonPath, Tag("jsonpath")]
    | Annotated[ExpectHeader, Tag("header")]
    | Annotated[ExpectBody, Tag("body")]
    | Annotated[ExpectSchema, Tag("schema")]
    | Annotated[ExpectLatency, Tag("latency")]
    | Annotated[ExpectExpr, Tag("expr")],
    Discriminator(
        _expectation_kind,
        custom_error_type="invalid_expectation",
        custom_error_message=(
            "an expectation has one of the keys status, jsonpath, header, body_contains, "
            "body_matches, json_schema, max_latency_ms, expr"
        ),
    ),
]


class Retry(StrictModel):
    """Send the request again until its checks pass (an eventually-consistent API): at most `count` more
    times, `interval_ms` apart, within the step's `timeout_s`: `{"count": 10, "interval_ms": 500}`."""

    count: Annotated[int, Field(ge=0, le=50)]
    """How many more times the request may be sent after the first (0 to 50)."""
    interval_ms: Annotated[int, Field(ge=0, le=60_000)] = 1000
    """Milliseconds to wait before each new try (0 to 60,000). Default: 1,000."""


class Request(_Step):
    """An HTTP call (an API test's step; browser tests may have them too). It fails when the server cannot be
    reached or an expectation does not hold; each expectation that fails is named. Redirects are followed."""

    action: Literal["request"] = "request"
    """The kind of step: `request`."""
    method: HttpMethod = "GET"
    """The HTTP method. Default: `GET`."""
    url: ShortText
    """The URL to call, absolute (`http://` or `https://`). May hold `{{var}}` and `{{secret:NAME}}`."""
    headers: dict[HeaderName, str] = Field(default_factory=dict)
    """Request headers, name to value (`{"Authorization": "Bearer {{token}}"}`); values may hold placeholders."""
    query: dict[Annotated[str, Field(min_length=1, max_length=256)], str | int | float | bool] = Field(
        default_factory=dict
    )
    """Query parameters merged into the URL's own query string: the URL's stay as written, except a key this
    also names, which this replaces; these come last."""
    json_body: Any = Field(default=None, alias="json")
    """A JSON body, sent with `Content-Type: application/json` unless `headers` set one. Not with `body`."""
    body: LongText | None = None
    """A text body, sent as it is (up to 20,000 characters). Not with `json`."""
    extract: Annotated[dict[VarName, JsonPath], Field(max_length=100)] = Field(default_factory=dict)
    """Variables to set from the JSON response (up to 100), name to JSONPath (`{"order_id": "$.items[0].id"}`),
    for the steps after this one as `{{order_id}}`. A singular path (names and indexes only) gives its value;
    any other (a wildcard, a filter) the list of values it finds. Compiled when the test is saved."""
    expect: list[Expectation] = Field(default_factory=list, max_length=100)
    """Checks of the response (up to 100), every one checked and reported: each has one of the keys `status`,
    `jsonpath`, `header`, `body_contains`, `body_matches`, `json_schema`, `max_latency_ms`, `expr`."""
    retry: Retry | None = None
    """Send the request again until its checks pass: `{"count": 10, "interval_ms": 500}` (for an
    eventually-consistent API). The tries share the step's `timeout_s`. Default: one try."""

    @model_validator(mode="after")
    def _one_body(self) -> Request:
        if self.json_body is not None and self.body is not None:
            raise ValueError("a request has 'json' or 'body', not both")
        return self


Step = Annotated[
    Goto
    | Click
    | Fill
    | Press
    | Select
    | Check
    | Uncheck
    | Hover
    | WaitFor
    | ExpectText
    | ExpectVisible
    | ExpectUrl
    | ExpectTitle
    | Screenshot
    | Extract
    | Request,
    Field(discriminator="action"),
]

BROWSER_ACTIONS = frozenset(
    {
        "goto",
        "click",
        "fill",
        "press",
        "select",
        "check",
        "uncheck",
        "hover",
        "wait_for",
        "expect_text",
        "expect_visible",
        "expect_url",
        "expect_title",
        "screenshot",
        "extract",
    }
)

Plan = Annotated[list[Step], Field(max_length=500)]


def describe_step(step: Step) -> str | None:
    """What a step does besides its target, for results and progress lines (``GET /login``...)."""
    match step:
        case Goto():
            return step.url
        case Request():
            return f"{step.method} {step.url}"
        case ExpectText():
            return f'not "{step.text}"' if step.absent else f'"{step.text}"'
        case ExpectUrl():
            return step.pattern
        case ExpectTitle():
            return f'"{step.text}"'
        case Press():
            return step.key
        case Select():
            return f'"{step.value}"'
        case WaitFor() if step.ms is not None:
            return f"{step.ms} ms"
        case Screenshot() if step.name:
            return step.name
        case Extract():
            return f"into {step.var}"
    return None
