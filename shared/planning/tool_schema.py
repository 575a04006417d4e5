"""A pydantic model's JSON schema as a model tool's input schema (Bedrock Converse ``toolSpec.inputSchema``).

Pydantic's schema is written for validators and OpenAPI readers; a tool schema is read by a model and checked
by Bedrock, whose models do not all follow ``$ref``. So the schema handed to a model is self-contained and
compact: every ``$ref`` resolved in place (no ``$defs``), no ``title``, no ``default: null``, an optional field
``X | None`` shown as ``X`` (leaving it out means null), ``oneOf`` read as ``anyOf`` (the alternatives of a
discriminated union exclude each other anyway) and no OpenAPI ``discriminator``; a union's tag field (``action``)
is required, as pydantic requires it. Descriptions of the definitions named ``quiet`` are left out (the
system prompt explains them once instead of the schema repeating them wherever they are used).

What the model answers is still validated with the pydantic model itself: this schema guides, it does not
judge.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DROPPED = frozenset({"title", "discriminator", "$defs"})


def tool_input_schema(model: type[BaseModel], *, quiet: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``model``'s validation schema, self-contained and compact (see the module's docstring)."""
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.get("$defs", {})

    def walk(node: Any, seen: frozenset[str], hush: bool) -> Any:
        if isinstance(node, list):
            return [walk(item, seen, hush) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            if name in seen:  # a recursive model cannot be inlined
                raise ValueError(f"{model.__name__}: {name} refers to itself; a tool schema cannot hold it")
            resolved = walk(definitions[name], seen | {name}, hush or name in quiet)
            beside = walk({k: v for k, v in node.items() if k != "$ref"}, seen, hush)
            return {**resolved, **beside}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or (key == "default" and value is None) or (key == "description" and hush):
                continue
            if key == "properties":
                out[key] = {name: walk(sub, seen, hush) for name, sub in value.items()}
            else:
                out["anyOf" if key == "oneOf" else key] = walk(value, seen, hush)
        tag = (node.get("discriminator") or {}).get("propertyName")
        if tag:
            for branch in out.get("anyOf", []):
                required = branch.setdefault("required", [])
                if tag not in required:
                    required.insert(0, tag)
        alternatives = out.get("anyOf")
        if isinstance(alternatives, list):
            kept = [alt for alt in alternatives if alt != {"type": "null"}]
            if len(kept) == 1 and len(kept) < len(alternatives):
                rest = {k: v for k, v in out.items() if k != "anyOf"}
                out = {**kept[0], **rest}
        return out

    result: dict[str, Any] = walk(schema, frozenset(), False)
    return result
