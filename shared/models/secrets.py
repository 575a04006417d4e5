"""Secrets of a project: what a name may be, how large a value, and what the API shows (never a value).

A secret name is what ``{{secret:NAME}}`` accepts (``runner_container/runner/render.py`` builds its
placeholder pattern from :data:`NAME_CHARS`), bounded so that every store can hold it: Secrets Manager
names are at most 512 characters of ``A-Za-z0-9/_+=.@-``, and ``autotest/<project>/`` is put in front.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from shared.models.common import Model, StorableInput

#: the characters of a placeholder name: a letter or ``_``, then letters, digits, ``_``, ``.`` or ``-``
NAME_CHARS = r"[A-Za-z_][A-Za-z0-9_.-]*"
MAX_NAME_CHARS = 128
NAME_PATTERN = re.compile(rf"[A-Za-z_][A-Za-z0-9_.-]{{0,{MAX_NAME_CHARS - 1}}}")
#: Secrets Manager's limit for a secret string
MAX_VALUE_BYTES = 65_536

NAME_RULE = (
    f"a secret name starts with a letter or '_' and has at most {MAX_NAME_CHARS} letters, digits, '_', '.' or '-' "
    "(the names {{secret:NAME}} accepts)"
)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a secret's name, or None."""
    return None if NAME_PATTERN.fullmatch(name) else NAME_RULE


def value_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as a secret, or None."""
    if not value:
        return "a secret's value cannot be empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "the value holds an unpaired UTF-16 surrogate, which is not valid Unicode"
    if size > MAX_VALUE_BYTES:
        return f"a secret's value is at most {MAX_VALUE_BYTES} bytes (UTF-8); this one is {size}"
    return None


def _check_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


def _check_value(value: str) -> str:
    problem = value_problem(value)
    if problem:
        raise ValueError(problem)
    return value


SecretName = Annotated[str, AfterValidator(_check_name)]
SecretValue = Annotated[str, AfterValidator(_check_value)]


class SecretPut(StorableInput):
    """The body of `PUT /v1/secrets/{name}`: the secret's value, stored for the calling project only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"value": "correct-horse-battery-staple"}]})

    value: SecretValue = Field(
        description=(
            f"The secret's value (1 to {MAX_VALUE_BYTES} bytes of UTF-8 text). It is write-only: no response "
            "ever shows it, and runs mask it in every result, log, report and artifact."
        ),
    )


class SecretInfo(Model):
    """What a store knows about a stored secret besides its value."""

    name: str
    updated_at: datetime


class SecretPublic(Model):
    """A secret as the API shows it: its name and when it was last set, never its value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "ADMIN_PASSWORD", "updated_at": "2026-01-01T12:00:00Z", "source": "project"}]
        }
    )

    name: str = Field(description="The name runs reference as {{secret:NAME}}.")
    updated_at: datetime | None = Field(
        description="When the value was last set (UTC); null for a secret from the environment."
    )
    source: Literal["project", "environment"] = Field(
        description=(
            "'project': stored for this project (PUT /v1/secrets/{name}). 'environment': local mode's "
            "AUTOTEST_SECRET_<NAME> or secrets file, which only the bootstrap project sees and which a "
            "project secret of the same name overrides."
        )
    )

    @classmethod
    def stored(cls, info: SecretInfo) -> SecretPublic:
        return cls(name=info.name, updated_at=info.updated_at, source="project")


class SecretList(Model):
    """Every secret the calling project can use, sorted by name; values are never listed."""

    items: list[SecretPublic] = Field(description="The project's secrets, sorted by name.")
