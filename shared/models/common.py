"""Reusable constrained types and the base model."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: a variable name usable as ``{{name}}``
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
#: a scalar a variable may hold
VarValue = str | int | float | bool
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Variables = Annotated[dict[VarName, VarValue], Field(max_length=200)]


class StrictModel(BaseModel):
    """Input models: unknown fields are an error, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class Model(BaseModel):
    """Stored and public models."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, serialize_by_alias=True)
