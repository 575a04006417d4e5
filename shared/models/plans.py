"""The step plan: the test language. A plan is a list of steps, a discriminated union on ``action``.

Targets are semantic, in Playwright's accessibility-first terms, or a plain string describing
the element. Values and URLs may hold ``{{var}}`` and ``{{secret:NAME}}`` placeholders.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationInfo, model_validator

from shared import regex
from shared.models.common import LongText, ShortFreeText, ShortText, StrictModel, VarName, is_stored


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

# --------------------------------------------------------------------------------------- targets


class RoleTarget(StrictModel):
    role: Annotated[str, Field(min_length=1, max_length=64)]
    name: ShortText | None = None
    exact: bool = False


class LabelTarget(StrictModel):
    label: ShortText
    exact: bool = False


class TextTarget(StrictModel):
    text: ShortText
    exact: bool = False


class PlaceholderTarget(StrictModel):
    placeholder: ShortText
    exact: bool = False


class TestIdTarget(StrictModel):
    test_id: ShortText


class CssTarget(StrictModel):
    css: ShortText


_TARGET_KEYS = ("role", "label", "text", "placeholder", "test_id", "css")


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
    | Annotated[ShortText, Tag("description")],
    Discriminator(
        _target_kind,
        custom_error_type="invalid_target",
        custom_error_message=(
            "a target is a string describing the element or an object with one of the keys "
            "role, label, text, placeholder, test_id, css"
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
}


def describe_target(target: Target | None) -> str | None:
    """A short human-readable form of a target, used in results and error messages."""
    if target is None:
        return None
    if isinstance(target, str):
        return target
    if isinstance(target, RoleTarget):
        return f"role={target.role}" + (f' name="{target.name}"' if target.name else "")
    field = _target_kind(target) or "target"
    return f'{field}="{getattr(target, field)}"'


# ----------------------------------------------------------------------------------------- steps


class _Step(StrictModel):
    description: ShortFreeText | None = None
    timeout_s: Annotated[float, Field(ge=0.01, le=600)] | None = None


#: a status a main document may answer with and still pass a ``goto`` (one of 400 and above: lower ones always pass)
ErrorStatus = Annotated[int, Field(ge=400, le=599)]


class Goto(_Step):
    """Open ``url``. The step fails when the page cannot be reached, and when its main document answers with
    a status of 400 or above, unless that status is in ``allow_status`` (a page that legitimately answers
    404 or 401)."""

    action: Literal["goto"] = "goto"
    url: ShortText
    allow_status: Annotated[list[ErrorStatus], Field(max_length=50)] = Field(default_factory=list)


class Click(_Step):
    action: Literal["click"] = "click"
    target: Target


class Fill(_Step):
    action: Literal["fill"] = "fill"
    target: Target
    value: LongText


class Press(_Step):
    action: Literal["press"] = "press"
    key: Annotated[str, Field(min_length=1, max_length=64)]
    target: Target | None = None


class Select(_Step):
    action: Literal["select"] = "select"
    target: Target
    value: ShortText


class Check(_Step):
    action: Literal["check"] = "check"
    target: Target


class Uncheck(_Step):
    action: Literal["uncheck"] = "uncheck"
    target: Target


class Hover(_Step):
    action: Literal["hover"] = "hover"
    target: Target


class WaitFor(_Step):
    action: Literal["wait_for"] = "wait_for"
    target: Target | None = None
    ms: Annotated[int, Field(ge=0, le=600_000)] | None = None

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
    action: Literal["expect_text"] = "expect_text"
    text: ShortText
    target: Target | None = None


class ExpectVisible(_Step):
    action: Literal["expect_visible"] = "expect_visible"
    target: Target


class ExpectUrl(_Step):
    action: Literal["expect_url"] = "expect_url"
    pattern: Regex


class ExpectTitle(_Step):
    action: Literal["expect_title"] = "expect_title"
    text: ShortText


class Screenshot(_Step):
    action: Literal["screenshot"] = "screenshot"
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None


class Extract(_Step):
    action: Literal["extract"] = "extract"
    target: Target
    var: VarName


# ------------------------------------------------------------------------------ request (API)

HeaderName = Annotated[str, Field(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


HttpStatus = Annotated[int, Field(ge=100, le=599)]


class ExpectStatus(StrictModel):
    status: HttpStatus | Annotated[list[HttpStatus], Field(min_length=1, max_length=50)]


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
    jsonpath: ShortText
    equals: Any = None
    contains: Any = None
    matches: Regex | None = None
    exists: bool | None = None


class ExpectHeader(_OneCheck):
    header: ShortText
    equals: str | None = None
    contains: str | None = None
    matches: Regex | None = None
    exists: bool | None = None


class ExpectBody(StrictModel):
    body_contains: ShortText | None = None
    body_matches: Regex | None = None

    @model_validator(mode="after")
    def _one_check(self) -> ExpectBody:
        if (self.body_contains is None) == (self.body_matches is None):
            raise ValueError("a body expectation needs exactly one of body_contains, body_matches")
        return self


class ExpectSchema(StrictModel):
    json_schema: dict[str, Any]


class ExpectLatency(StrictModel):
    max_latency_ms: Annotated[int, Field(gt=0)]


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
    | Annotated[ExpectLatency, Tag("latency")],
    Discriminator(
        _expectation_kind,
        custom_error_type="invalid_expectation",
        custom_error_message=(
            "an expectation has one of the keys status, jsonpath, header, body_contains, "
            "body_matches, json_schema, max_latency_ms"
        ),
    ),
]


class Request(_Step):
    action: Literal["request"] = "request"
    method: HttpMethod = "GET"
    url: ShortText
    headers: dict[HeaderName, str] = Field(default_factory=dict)
    query: dict[Annotated[str, Field(min_length=1, max_length=256)], str | int | float | bool] = Field(
        default_factory=dict
    )
    json_body: Any = Field(default=None, alias="json")
    body: LongText | None = None
    extract: dict[VarName, ShortText] = Field(default_factory=dict)
    expect: list[Expectation] = Field(default_factory=list, max_length=100)

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
            return f'"{step.text}"'
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
