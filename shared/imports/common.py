"""What both importers share: the report they fill, names made safe (variables, tags, file names), and
checking each translated piece against the test models so that a piece autotest would refuse is reported
where it came from, never a 500 and never a file that cannot be created."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.errors import InvalidInput
from shared.models.common import VarName, find_unstorable
from shared.models.imports import ImportedTest, ReportEntry, ReportKind
from shared.models.plans import Expectation, Request
from shared.models.tests import TestCreate
from shared.models.validation import describe_errors

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.:/-]+")
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
#: a script line is shown up to this many characters
MAX_SHOWN = 200

_EXPECTATION = TypeAdapter[Any](Expectation)
_REQUEST = TypeAdapter(Request)
_VARNAME = TypeAdapter[str](VarName)


class ImportError_(InvalidInput):
    """The source is not what the importer reads (not a Postman v2.1 collection, not OpenAPI 3.x): a 422
    naming where (``collection.item[2].request``)."""

    code = "invalid_import"

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}", details={"field": where})


def clipped(text: str, limit: int = MAX_SHOWN) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Report:
    """The report an import fills, in the source's order."""

    entries: list[ReportEntry] = field(default_factory=list)
    #: the test being made, for the entries that do not name one
    current_test: str | None = None

    def add(
        self,
        kind: ReportKind,
        source: str,
        part: str,
        message: str,
        *,
        test: str | None = None,
        line: int | None = None,
        text: str | None = None,
    ) -> None:
        entry = ReportEntry(
            kind=kind,
            source=source,
            part=part,
            message=message,
            test=test if test is not None else self.current_test,
            line=line,
            text=clipped(text) if text is not None else None,
        )
        if entry not in self.entries:
            self.entries.append(entry)

    def dropped(self, source: str, part: str, message: str, **kw: Any) -> None:
        self.add(ReportKind.dropped, source, part, message, **kw)

    def needs_value(self, source: str, part: str, message: str, **kw: Any) -> None:
        self.add(ReportKind.needs_value, source, part, message, **kw)

    def note(self, source: str, part: str, message: str, **kw: Any) -> None:
        self.add(ReportKind.note, source, part, message, **kw)


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slug(text: str, *, limit: int = 60, default: str = "test") -> str:
    """``"Items / Admin (v2)"`` -> ``items-admin-v2``: lower-case ASCII letters, digits and ``-`` only, so it is
    safe as a file name on every system (no ``/``, ``..``, dots or reserved characters)."""
    out = _SLUG_CHARS.sub("-", ascii_fold(text).lower()).strip("-")
    return out[:limit].strip("-") or default


def tag(text: str) -> str:
    """A folder's name as a test tag (letters, digits and ``_ . : / -``, up to 64)."""
    out = _TAG_CHARS.sub("-", ascii_fold(text).strip()).strip("-").lower()
    return out[:64].strip("-") or "folder"


def is_var_name(name: str) -> bool:
    return bool(_VAR_NAME.match(name))


class VarNames:
    """Source variable names to autotest's (a letter or ``_``, then letters, digits, ``_ . -``, at most 64):
    names that fit stay as they are; others are changed the same way everywhere, and each change is
    reported once."""

    def __init__(self, report: Report, source: str) -> None:
        self._map: dict[str, str] = {}
        self._taken: set[str] = set()
        self._report = report
        self._source = source

    def __call__(self, name: str) -> str:
        if name in self._map:
            return self._map[name]
        if is_var_name(name) and name not in self._taken:
            out = name
        else:
            base = re.sub(r"[^A-Za-z0-9_.-]", "_", ascii_fold(name)) or "var"
            if not re.match(r"[A-Za-z_]", base):
                base = "_" + base
            base = base[:60]
            out, n = base, 2
            while out in self._taken or not is_var_name(out):
                out = f"{base[:58]}_{n}"
                n += 1
            self._report.note(
                self._source,
                "variable",
                f"variable {name!r} is named {out!r}: autotest's names are a letter or _, then letters, digits, "
                "_ . - (at most 64)",
            )
        self._map[name] = out
        self._taken.add(out)
        return out


def problems(exc: ValidationError) -> str:
    return "; ".join(f"{p['loc'] or 'value'}: {p['msg']}" for p in describe_errors(exc.errors()))


#: how deep a step sits in a test (``steps[i]``) and an expectation in it (``steps[i].expect[j]``), for the
#: nesting a test may hold (``find_unstorable``)
_STEP_DEPTH = 2
_EXPECTATION_DEPTH = 4


def valid_expectation(check: dict[str, Any]) -> str | None:
    """Why ``check`` is not an expectation autotest accepts (nor stores: nested too deeply, a number that is not
    finite), or None."""
    try:
        _EXPECTATION.validate_python(check)
    except ValidationError as exc:
        return problems(exc)
    return _unstorable(check, _EXPECTATION_DEPTH)


def valid_request(step: dict[str, Any]) -> str | None:
    """Why ``step`` (a ``request`` step) is not one autotest accepts (nor stores), or None."""
    try:
        _REQUEST.validate_python(step)
    except ValidationError as exc:
        return problems(exc)
    return _unstorable(step, _STEP_DEPTH)


def _unstorable(piece: dict[str, Any], depth: int) -> str | None:
    found = find_unstorable(piece, depth=depth)
    return None if found is None else f"{found[0]}: {found[1]}"


class FileNames:
    """Unique, safe file names (``slug.yaml``, then ``slug-2.yaml``...) within one import."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def __call__(self, name: str) -> str:
        base = slug(name)
        out, n = f"{base}.yaml", 2
        while out in self._taken:
            out = f"{base}-{n}.yaml"
            n += 1
        self._taken.add(out)
        return out


class Budget:
    """How much test text an import may still make (None: no bound). The tests an import makes can be far
    larger than its source: an OpenAPI schema that 1,500 operations refer to is copied into 1,500 tests, a
    collection's variables into each folder's test; through the API the tests are checked, saved and sent back,
    so their size is bounded, checked before each test is validated."""

    def __init__(self, max_chars: int | None = None) -> None:
        self.max_chars = max_chars
        self.used = 0

    def spend(self, body: dict[str, Any], where: str) -> None:
        if self.max_chars is None:
            return
        self.used += len(json.dumps(body, default=str))
        if self.used > self.max_chars:
            raise ImportError_(
                where,
                f"the tests made so far hold more than {self.max_chars // 1_000_000} MB of text (schemas and "
                "variables are copied into each test that uses them): import a part of the source at a time "
                "(fewer folders or paths), or use the CLI (`autotest import`), which writes files and has no bound",
            )


def imported(body: dict[str, Any], file: str, where: str, budget: Budget | None = None) -> ImportedTest:
    """A translated test, checked as ``POST /v1/tests`` checks it: a test autotest would refuse is a 422 naming
    the source (a bug of the importer's if it ever happens, but never a 500). With a ``budget``, a test that
    takes the import past it is a 422 too."""
    if budget is not None:
        budget.spend(body, where)
    try:
        test = TestCreate.model_validate(body)
    except ValidationError as exc:
        raise ImportError_(where, f"the translated test {body.get('name')!r} is not valid: {problems(exc)}") from exc
    return ImportedTest(file=file, test=test)
