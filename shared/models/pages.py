"""Cursor pagination shapes."""

from __future__ import annotations

import inspect
from typing import Any, Generic, TypeVar

from pydantic import Field

from shared.models.common import Model

T = TypeVar("T")


def _describe(schema: dict[str, Any]) -> None:
    # a parametrized model (``Page[RunPublic]``) is a class of its own, without the generic one's docstring
    schema.setdefault("description", inspect.cleandoc(Page.__doc__ or ""))


class Page(Model, Generic[T]):
    """One page of a list. Ask for the next with the same query and `cursor` set to this page's `next_cursor`;
    the last page's is null. A cursor only fits the query (filters, sort) that made it: with another it is a
    422."""

    # the fields' descriptions given here, not as docstrings under them: each parametrized model is a class
    # pydantic would look for those docstrings again, and on Python < 3.13 it looks by walking the stack of frames
    # up from the class statement, which for ``Page[X]`` is nowhere in this module: the whole stack, importlib's
    # frames included, each looked up in every module loaded (0.15-0.25 s of the API's cold start on 3.11)
    model_config = {"json_schema_extra": _describe, "use_attribute_docstrings": False}

    items: list[T] = Field(description="This page's items, in the list's order.")
    next_cursor: str | None = Field(
        None, description="Pass it as `cursor` to get the next page; null on the last page."
    )
