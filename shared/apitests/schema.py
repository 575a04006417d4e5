"""The ``json_schema`` expectation: JSON Schema validation with ``jsonschema``, retrieving nothing.

Left to itself, jsonschema resolves a ``$ref`` it does not hold by fetching it (``urlopen``: ``http:``,
``https:``, ``file:``), outside the network guard: a test could make the runner read a local file or call the
API's own port and show the answer in its error. Here validation uses a registry that holds the JSON Schema
meta-schemas and retrieves nothing, and a schema may refer only inside itself (``"$ref": "#/$defs/item"``):
:func:`problem` refuses any other reference when the test is saved, and a reference that still cannot be
resolved at run time fails the check with a message, never a fetch.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from jsonschema_specifications import REGISTRY
from referencing.exceptions import Unresolvable

#: how deep a schema may nest (jsonschema recurses through it)
MAX_DEPTH = 48
#: keywords whose value is a reference to another schema
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")


def _references(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if key in _REFERENCES:
                yield where, value
            yield from _references(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, f"{path}[{index}]")


def _depth(node: Any) -> int:
    """How deep ``node`` nests (iteratively: a schema is checked before anything recurses into it)."""
    deepest, todo = 0, [(node, 1)]
    while todo:
        current, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
            todo += [(child, depth + 1) for child in children]
    return deepest


def problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` cannot be used (too deep, not a valid JSON Schema, or a reference outside itself), or None.
    The answer is cached by the schema's text: checking a schema against the 2020-12 meta-schema takes about a
    millisecond per four properties, and the same schema is checked again and again (an expectation, then its
    step, then its test; an imported schema in every operation that refers to it)."""
    if _depth(schema) > MAX_DEPTH:
        return f"the schema nests deeper than {MAX_DEPTH} levels"
    try:
        text = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):  # (not JSON data: checked as it is)
        return _problem(schema)
    return _cached_problem(text)


@functools.lru_cache(maxsize=256)
def _cached_problem(text: str) -> str | None:
    return _problem(json.loads(text))


def _problem(schema: dict[str, Any]) -> str | None:
    for where, ref in _references(schema):
        if not isinstance(ref, str) or not ref.startswith("#"):
            return (
                f"{where} is {ref!r}: a schema may refer only to itself (`#/$defs/name`); "
                "nothing is fetched, so copy the schema you refer to into `$defs`"
            )
    cls = validator_for(schema)
    defs = schema.get("$defs")
    if isinstance(defs, dict) and defs and all(isinstance(sub, dict | bool) for sub in defs.values()):
        # each of ``$defs`` is checked on its own (the meta-schema checks each as a schema, as it checks the
        # rest), so that one shared by many schemas (an imported document's) is checked once
        for name, sub in defs.items():
            why = _sub_problem(cls, json.dumps(sub, sort_keys=True))
            if why is not None:
                return f"not a valid JSON Schema: $defs.{name}: {why}"
        schema = {key: value for key, value in schema.items() if key != "$defs"}
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    return None


@functools.lru_cache(maxsize=1024)
def _sub_problem(cls: Any, text: str) -> str | None:
    try:
        cls.check_schema(json.loads(text))
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


def failure(document: Any, schema: dict[str, Any]) -> tuple[str, str] | None:
    """``(where, what)`` of the most relevant way ``document`` breaks ``schema`` (as ``jsonschema.validate``
    picks it), or None when it is valid. Raises ValueError for a schema that cannot be used."""
    validator = validator_for(schema)(schema, registry=REGISTRY)
    try:
        error = best_match(validator.iter_errors(document))
    except Unresolvable as exc:
        raise ValueError(f"the schema refers to {exc}, which it does not hold (nothing is fetched)") from exc
    except jsonschema.SchemaError as exc:
        raise ValueError(f"not a valid JSON Schema: {exc.message}") from exc
    except RecursionError as exc:  # a schema stored before depth was checked
        raise ValueError(f"the schema nests deeper than {MAX_DEPTH} levels") from exc
    if error is None:
        return None
    where = "$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
    return where, error.message
