"""The stack's configuration, from ``cdk.json``'s context (``cdk deploy -c key=value`` overrides), validated
with clear errors before anything is synthesized."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: the context keys the stack reads (each a field of :class:`StackConfig`)
KEYS = ("stage", "retention_days", "retain_data")


class ConfigError(ValueError):
    """A context value the stack cannot use; the message names the key."""


class StackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    """A short lower-case name for this deployment (``dev``, ``prod``): it prefixes the stack's name."""
    retention_days: int = Field(30, ge=1, le=3650)
    """Days the artifacts (screenshots, videos, traces, reports) are kept before S3 deletes them."""
    retain_data: bool = False
    """Keep the table and the bucket when the stack is deleted (default: deleting the stack removes them)."""

    @classmethod
    def from_context(cls, values: dict[str, Any]) -> StackConfig:
        given = {k: v for k, v in values.items() if k in KEYS and v is not None}
        if isinstance(given.get("retain_data"), str):  # -c retain_data=true arrives as text
            given["retain_data"] = given["retain_data"].lower() in ("1", "true", "yes")
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(
                f"context {'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
                for e in exc.errors()
            )
            raise ConfigError(f"cdk.json / -c: {problems}") from None
