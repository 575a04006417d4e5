"""Reusable constrained types and the base model."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from shared.controlchars import TEXT_ALLOWED, describe, first_control

#: the validation context of items read back from the store: a rule added after an item was saved (RE2
#: syntax for patterns, say) must not make it unreadable; a run re-validates its steps when it renders them
STORED: dict[str, Any] = {"stored": True}


#: the validation context of a step whose placeholders were just filled in (its values come from variables,
#: the dataset and earlier steps, not from what the test's author wrote)
RENDERED: dict[str, Any] = {"rendered": True}


def is_stored(info: ValidationInfo) -> bool:
    """Whether the value being validated was read back from the store (validated with :data:`STORED`)."""
    return bool(info.context and info.context.get("stored"))


def is_rendered(info: ValidationInfo) -> bool:
    """Whether the value being validated is a rendered step's (validated with :data:`RENDERED`)."""
    return bool(info.context and info.context.get("rendered"))


def _refusing_controls(allowed: str, rule: str) -> Callable[[Any, ValidationInfo], Any]:
    def check(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not is_stored(info):
            found = first_control(value, allowed=allowed)
            if found is not None:
                index, char = found
                raise ValueError(f"{describe(char)} at character {index + 1} is not allowed: {rule}")
        return value

    return check


#: names, tags, labels: shown in tables, terminals and reports, so no control or bidi character at all
NoControls = BeforeValidator(
    _refusing_controls("", "names, tags and labels may not hold control or bidirectional-formatting characters")
)
#: free text (descriptions): tabs and line breaks, no other control or bidi character
TextControls = BeforeValidator(
    _refusing_controls(
        TEXT_ALLOWED, "text may hold tabs and line breaks, but no other control or bidirectional-formatting character"
    )
)

#: a variable name usable as ``{{name}}``
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
#: a scalar a variable may hold (finite numbers only: NaN and Infinity have no JSON form)
VarValue = str | int | Annotated[float, Field(allow_inf_nan=False)] | bool
#: the id of a stored object (``tst_...``, ``run_...``)
ObjectId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,64}$"), NoControls]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoControls]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
#: free text: a step's description
ShortFreeText = Annotated[ShortText, TextControls]
#: free text: a test's description, its goal
FreeText = Annotated[LongText, TextControls]
Variables = Annotated[dict[VarName, VarValue], Field(max_length=200)]
#: the most a variable a run makes (an ``extract``) may hold, as text: 256 KiB
MAX_VARIABLE_CHARS = 256 * 1024
#: the most one field of a step may hold once its placeholders are filled in: 1 MiB
MAX_RENDERED_CHARS = 1024 * 1024


class StrictModel(BaseModel):
    """Input models: unknown fields are an error, so a typo never passes silently.

    The class docstring of a model is its description in the OpenAPI document, and the docstring under a field
    (``use_attribute_docstrings``) the field's: what a reader of ``/docs`` sees.
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, serialize_by_alias=True, use_attribute_docstrings=True
    )


#: how deep a stored body may nest (JSON values in request bodies, schemas): deeper cannot be stored
MAX_DEPTH = 64


def find_unstorable(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """``(path, why)`` of the first value that cannot be stored and returned as it was given, or None: text that
    is not valid Unicode (an unpaired UTF-16 surrogate such as ``"\\udfff"`` in JSON), a number that is not
    finite (``1e400`` parses as infinity, which JSON cannot hold: it would come back as null), or nesting
    deeper than :data:`MAX_DEPTH`."""
    where = path or "(the body)"
    if depth > MAX_DEPTH:
        shown = where if len(where) <= 80 else where[:80] + "..."
        return shown, f"nests deeper than {MAX_DEPTH} levels, which cannot be stored"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where, "the text holds an unpaired UTF-16 surrogate, which is not valid Unicode"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return where, "a number too large for JSON (or not a number): numbers must be finite"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = find_unstorable(key, inner, depth + 1) or find_unstorable(item, inner, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_unstorable(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


class StorableInput(StrictModel):
    """A request body that will be stored: its text valid Unicode, its numbers finite, its nesting bounded."""

    @model_validator(mode="wrap")
    @classmethod
    def _storable(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        model = handler(data)  # the fields' own errors first, each at its place
        found = find_unstorable(data)  # then what no field type sees (values of free-form JSON fields)
        if found is not None:
            raise ValueError(f"{found[0]}: {found[1]}")
        return model


class Model(BaseModel):
    """Stored and public models. Documented as :class:`StrictModel` is: docstrings under fields; built on first
    use as it is."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
        defer_build=True,
    )
