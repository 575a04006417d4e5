"""Cursor pagination shapes."""

from __future__ import annotations

import inspect
from typing import Any, Generic, TypeVar

from shared.models.common import Model

T = TypeVar("T")


def _describe(schema: dict[str, Any]) -> None:
    # a parametrized model (``Page[RunPublic]``) is a class of its own, without the generic one's docstring
    schema.setdefault("description", inspect.cleandoc(Page.__doc__ or ""))


class Page(Model, Generic[T]):
    """One page of a list. Ask for the next with the same query and `cursor` set to this page's `next_cursor`;
    the last page's is null. A cursor only fits the query (filters, sort) that made it: with another it is a
    422."""

    model_config = {"json_schema_extra": _describe}

    items: list[T]
    """This page's items, in the list's order."""
    next_cursor: str | None = None
    """Pass it as `cursor` to get the next page; null on the last page."""
