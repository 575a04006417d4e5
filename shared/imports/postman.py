"""Postman collections (format v2.1) as autotest API tests.

Each top-level folder becomes one API test whose steps are its requests in order, depth-first through nested
folders (whose names become the test's tags); a collection with no folders becomes one test, and requests at
the top level of a collection that has folders make one more, named after the collection. Within a test the
steps share variables as a Newman run does: what a test script sets (``pm.environment.set("x",
pm.response.json().y)``) is an ``extract`` that the later steps read as ``{{x}}``.

Translated:

- requests: method, URL (``raw``, or ``protocol``/``host``/``port``/``path``/``query`` with ``:name`` path
  variables filled in), headers; disabled headers, query parameters and form fields are left out;
- variables: the collection's, then the environment's over them, as the test's ``variables`` (only those
  the test uses; values that refer to other variables are filled in); an environment value of type ``secret``
  becomes ``{{secret:NAME}}``; Postman's dynamic variables (``{{$guid}}``) have no equivalent and are reported;
- auth, inherited from the collection through folders to the request (``noauth`` stops it): ``bearer``,
  ``basic`` (encoded when its values are known when importing), ``apikey`` in a header or the query;
- bodies: raw JSON as ``json`` (as text with ``Content-Type: application/json`` when it holds placeholders
  outside strings, or a string that is only a placeholder of a value extracted at run time, whose JSON type
  Postman would not keep), other raw text as ``body``, ``urlencoded`` as a form ``body``, ``formdata``'s text
  fields as a ``multipart/form-data`` body (autotest sends no files: file fields are reported), GraphQL as
  ``json``;
- test scripts (the collection's and folders', which Newman runs for every request under them, then the
  request's): see ``postman_scripts.py``.

Everything else is reported (:class:`~shared.models.imports.ReportEntry`): pre-request scripts, other auth
types, file bodies, every statement of a test script that has no equivalent (with its line and text).
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from shared.imports import postman_scripts
from shared.imports.common import Budget, FileNames, ImportError_, Report, VarNames, imported, tag, valid_expectation
from shared.imports.common import valid_request as request_problem
from shared.models.common import find_unstorable
from shared.models.imports import ImportResult
from shared.models.plans import HttpMethod

#: ``{{name}}`` as Postman reads it (any characters but braces)
_POSTMAN_VAR = re.compile(r"\{\{([^{}]+?)\}\}")
_AUTOTEST_VAR = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}$")
_METHODS: frozenset[str] = frozenset(HttpMethod.__args__)  # type: ignore[attr-defined]
_BOUNDARY = "autotest-form-boundary"
_RAW_TYPES = {
    "json": "application/json",
    "text": "text/plain",
    "javascript": "application/javascript",
    "html": "text/html",
    "xml": "application/xml",
}
#: steps an autotest test holds at most
MAX_STEPS = 500
MAX_TAGS = 20


def import_collection(collection: Any, environment: Any = None, *, max_chars: int | None = None) -> ImportResult:
    """The collection's tests and the report of what was not translated. A collection that is not a Postman
    v2.1 collection, or an environment that is not a Postman environment, is an :class:`ImportError_` (422), as
    are tests that hold more than ``max_chars`` characters of JSON in all (:class:`Budget`)."""
    collection = _check_collection(collection)
    values = _check_environment(environment) if environment is not None else []
    return _Importer(collection, values).run(Budget(max_chars))


# ------------------------------------------------------------------------------ input checks


def _check_collection(collection: Any) -> dict[str, Any]:
    if isinstance(collection, dict) and "info" not in collection and isinstance(collection.get("collection"), dict):
        collection = collection["collection"]  # as the Postman API returns it: {"collection": {...}}
    if not isinstance(collection, dict):
        raise ImportError_("collection", "a Postman collection is a JSON object with `info` and `item`")
    info = collection.get("info")
    if not isinstance(info, dict):
        raise ImportError_("collection.info", "missing: a Postman collection has `info` (its name and schema)")
    schema = info.get("schema")
    if not isinstance(schema, str) or "/collection/" not in schema:
        raise ImportError_(
            "collection.info.schema", "missing or not a Postman collection schema URL (export the collection as v2.1)"
        )
    if "/v2.1" not in schema:
        version = re.search(r"/(v[\d.]+)/", schema)
        raise ImportError_(
            "collection.info.schema",
            f"a {version.group(1) if version else 'different'} collection: only format v2.1 is read; export it "
            "again from Postman as Collection v2.1",
        )
    if not isinstance(collection.get("item"), list):
        raise ImportError_("collection.item", "missing or not a list: a collection's requests and folders")
    return collection


def _check_environment(environment: Any) -> list[dict[str, Any]]:
    if not isinstance(environment, dict) or not isinstance(environment.get("values"), list):
        raise ImportError_(
            "environment", "a Postman environment is a JSON object with `values`: [{key, value, enabled}]"
        )
    values = environment["values"]
    for index, value in enumerate(values):
        if not isinstance(value, dict) or not isinstance(value.get("key"), str):
            raise ImportError_(f"environment.values[{index}]", "each value is an object with a string `key`")
    return list(values)


# ------------------------------------------------------------------------------ the walk


@dataclass
class _Folder:
    """A folder on the way from the collection to a request: what the request inherits from it."""

    name: str
    auth: Any
    events: list[Any]
    where: str


@dataclass
class _Group:
    """What becomes one test: its requests with the folders above each."""

    name: str
    description: str | None
    requests: list[tuple[dict[str, Any], list[_Folder], str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    """A description: a string, or ``{"content": ...}``."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value.strip() else None


def _clean(text: str, limit: int) -> str:
    """Text without control characters (tabs and line breaks kept), cut to ``limit``."""
    kept = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) not in ("Cc", "Cf"))
    return kept[:limit]


def _is_folder(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("item"), list)


def _scripts(events: Any, listen: str) -> list[str]:
    out = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or event.get("listen") != listen or event.get("disabled"):
            continue
        script = event.get("script")
        exec_ = script.get("exec") if isinstance(script, dict) else None
        text = "\n".join(str(line) for line in exec_) if isinstance(exec_, list) else exec_
        if isinstance(text, str) and text.strip():
            out.append(text)
    return out


def _enabled(entries: Any) -> list[dict[str, Any]]:
    return [e for e in entries if isinstance(e, dict) and not e.get("disabled")] if isinstance(entries, list) else []


class _Importer:
    def __init__(self, collection: dict[str, Any], environment: list[dict[str, Any]]) -> None:
        self.collection = collection
        self.report = Report()
        self.names = VarNames(self.report, "collection")
        self.name = str(collection["info"].get("name") or "Postman collection").strip() or "Postman collection"
        #: source variable name -> value (collection, then environment)
        self.static: dict[str, Any] = {}
        self.secret_vars: set[str] = set()
        for entry in _enabled(collection.get("variable")):
            if isinstance(entry.get("key"), str):
                self.static[entry["key"]] = entry.get("value")
        for entry in environment:
            if entry.get("enabled", True) is False:
                continue
            if entry.get("type") == "secret":
                self.secret_vars.add(entry["key"])
                self.static.pop(entry["key"], None)
            else:
                self.secret_vars.discard(entry["key"])
                self.static[entry["key"]] = entry.get("value")
        #: per test: autotest variable names it uses, and names its steps extract
        self.used: set[str] = set()
        self.extracted: set[str] = set()
        self.produced_by: dict[str, str] = {}

    # -------------------------------------------------------------------------- placeholders

    def placeholders(self, text: str, where: str, part: str) -> str:
        """``text`` with Postman's ``{{name}}`` written as autotest's (names made fit, secrets, dynamics)."""

        def one(match: re.Match[str]) -> str:
            return self.ref(match.group(1).strip(), where, part)

        return _POSTMAN_VAR.sub(one, text)

    def ref(self, name: str, where: str, part: str) -> str:
        if name.startswith("$"):
            mapped = self.names("postman_" + name[1:])
            self.report.needs_value(
                where,
                part,
                f"Postman's dynamic variable {{{{{name}}}}} has no autotest equivalent: it is "
                f"{{{{{mapped}}}}}, which needs a value (the test's variables, or --var when it runs)",
                test=self.test_name,
            )
            self.used.add(mapped)
            return f"{{{{{mapped}}}}}"
        if name in self.secret_vars:
            mapped = self.names(name)
            self.report.needs_value(
                where,
                part,
                f"{{{{{name}}}}} is a secret value of the environment: it is {{{{secret:{mapped}}}}}, so set the "
                f"secret (`autotest secrets set {mapped}`)",
                test=self.test_name,
            )
            return f"{{{{secret:{mapped}}}}}"
        mapped = self.names(name)
        self.used.add(mapped)
        return f"{{{{{mapped}}}}}"

    def static_value(self, name: str, depth: int = 0) -> Any:
        """A variable's value with the placeholders in it filled in from the other variables, as Postman does
        (autotest fills in none inside a variable's value)."""
        value = self.static.get(name)
        if value is None:
            return ""
        if isinstance(value, dict | list):
            value = json.dumps(value)
        if not isinstance(value, str) or "{{" not in value or depth > 10:
            return value

        def one(match: re.Match[str]) -> str:
            inner = match.group(1).strip()
            if inner in self.static and inner not in self.secret_vars:
                filled = self.static_value(inner, depth + 1)
                return filled if isinstance(filled, str) else json.dumps(filled)
            return match.group(0)

        return _POSTMAN_VAR.sub(one, value)

    # -------------------------------------------------------------------------- groups

    def groups(self) -> list[_Group]:
        items = self.collection["item"]
        top = _Folder(self.name, self.collection.get("auth"), self.collection.get("event") or [], "collection")
        has_folders = any(_is_folder(item) for item in items)
        groups: list[_Group] = []
        loose: _Group | None = None
        if not has_folders:
            loose = _Group(self.name, _text(self.collection["info"].get("description")))
            groups.append(loose)
        for index, item in enumerate(items):
            where = f"collection.item[{index}]"
            if _is_folder(item):
                name = str(item.get("name") or f"Folder {index + 1}")
                group = _Group(name, _text(item.get("description")))
                folder = _Folder(name, item.get("auth"), item.get("event") or [], f"folder {name!r}")
                self.walk(item["item"], [top, folder], group, f"{where}.item", [])
                groups.append(group)
            else:
                if loose is None:
                    loose = _Group(self.name, _text(self.collection["info"].get("description")))
                    groups.append(loose)
                self.add_request(item, [top], loose, where, [])
        return groups

    def walk(self, items: list[Any], chain: list[_Folder], group: _Group, where: str, path: list[str]) -> None:
        for index, item in enumerate(items):
            here = f"{where}[{index}]"
            if _is_folder(item):
                name = str(item.get("name") or f"Folder {index + 1}")
                folder = _Folder(name, item.get("auth"), item.get("event") or [], f"folder {name!r}")
                nested = [*path, name]
                label = tag(name)
                if label not in group.tags:
                    group.tags.append(label)
                self.walk(item["item"], [*chain, folder], group, f"{here}.item", nested)
            else:
                self.add_request(item, chain, group, here, path)

    def add_request(self, item: Any, chain: list[_Folder], group: _Group, where: str, path: list[str]) -> None:
        if not isinstance(item, dict) or "request" not in item:
            raise ImportError_(where, "an item is a request (with `request`) or a folder (with `item`)")
        name = str(item.get("name") or "request")
        label = f"request {name!r}" + (f" ({' / '.join(path)})" if path else "")
        group.requests.append((item, chain, label))

    # -------------------------------------------------------------------------- the run

    def run(self, budget: Budget) -> ImportResult:
        self.test_name: str | None = None
        for script in _scripts(self.collection.get("event"), "prerequest"):
            self.report_prerequest(script, "collection (runs before every request)")
        groups = self.groups()
        files = FileNames()
        tests = []
        bodies: list[tuple[dict[str, Any], set[str], set[str], str]] = []
        seen_folders: set[int] = set()
        for group in groups:
            self.test_name = _clean(group.name, 200).strip() or "Postman folder"
            self.report.current_test = self.test_name
            self.used, self.extracted = set(), set()
            undefined: set[str] = set()
            steps = []
            for item, chain, label in group.requests:
                for folder in chain[1:]:
                    if id(folder.events) not in seen_folders:
                        seen_folders.add(id(folder.events))
                        for script in _scripts(folder.events, "prerequest"):
                            self.report_prerequest(script, f"{folder.where} (runs before every request in it)")
                before = set(self.used)
                step = self.step(item, chain, label)
                if step is None:
                    continue
                undefined |= {n for n in self.used - before if n not in self.extracted}
                self.extracted |= set(step.get("extract", {}))
                steps.append(step)
            if not steps:
                self.report.note(self.test_name, "folder", "it has no request autotest can send: no test made for it")
                continue
            if len(steps) > MAX_STEPS:
                raise ImportError_(
                    f"folder {group.name!r}", f"{len(steps)} requests: an autotest test holds at most {MAX_STEPS}"
                )
            body: dict[str, Any] = {"name": self.test_name, "kind": "api"}
            tags = group.tags[:MAX_TAGS]
            if len(group.tags) > MAX_TAGS:
                self.report.note(self.test_name, "tags", f"only the first {MAX_TAGS} nested folders are tags")
            if tags:
                body["tags"] = tags
            if group.description:
                body["description"] = _clean(group.description, 20_000)
            variables = self.variables(undefined)
            if variables:
                body["variables"] = variables
            body["steps"] = steps
            for var in self.extracted:
                self.produced_by.setdefault(var, self.test_name)
            bodies.append((body, undefined - set(variables), set(self.extracted), self.test_name))
        self.report.current_test = None
        for body, missing, _, name in bodies:
            for var in sorted(missing):
                other = self.produced_by.get(var)
                if other and other != name:
                    self.report.needs_value(
                        name,
                        "variable",
                        f"{{{{{var}}}}} is set by test {other!r} (as Newman shares variables between folders): "
                        "run the two in a sequential suite, or give it a value",
                        test=name,
                    )
                elif not var.startswith("postman_"):
                    self.report.needs_value(
                        name,
                        "variable",
                        f"{{{{{var}}}}} is used but neither the collection nor the environment defines it: give it "
                        "a value (a column of the data file, as Newman's -d: autotest run --data; the test's "
                        "variables; or --var when it runs)",
                        test=name,
                    )
            tests.append(imported(body, files(name), f"test {name!r}", budget))
        return ImportResult(tests=tests, report=self.report.entries, saved=False)

    def variables(self, needed: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        by_mapped = {self.names(name): name for name in self.static}
        for mapped in sorted(self.used):
            source = by_mapped.get(mapped)
            if source is None:
                continue
            value = self.static_value(source)
            if isinstance(value, str) and "{{" in value:
                value = self.placeholders(value, "collection", "variable")
                self.report.note(
                    self.test_name or "collection",
                    "variable",
                    f"the value of {{{{{mapped}}}}} refers to other variables that have no value when importing: "
                    "autotest fills in no placeholder inside a variable's value",
                    test=self.test_name,
                )
            if value is None:
                value = ""
            out[mapped] = value
        return out

    def report_prerequest(self, script: str, source: str) -> None:
        for dropped in postman_scripts.statements(script):
            self.report.dropped(
                source, "pre-request script", dropped.reason, test=self.test_name, line=dropped.line, text=dropped.text
            )

    # -------------------------------------------------------------------------- one request

    def step(self, item: dict[str, Any], chain: list[_Folder], label: str) -> dict[str, Any] | None:
        request = item["request"]
        if isinstance(request, str):
            request = {"url": request, "method": "GET"}
        if not isinstance(request, dict):
            self.report.dropped(label, "request", "not a request object: left out", test=self.test_name)
            return None
        method = str(request.get("method") or "GET").upper()
        if method not in _METHODS:
            self.report.dropped(
                label, "method", f"autotest sends {', '.join(sorted(_METHODS))}, not {method}: request left out"
            )
            return None
        url = self.url(request.get("url"), label)
        if url is None:
            return None
        headers = self.headers(request.get("header"), label)
        step: dict[str, Any] = {"action": "request", "description": _clean(str(item.get("name") or ""), 2000) or None}
        step["method"] = method
        auth_query = self.auth(request, chain, label, headers)
        if auth_query:
            url += ("&" if "?" in url else "?") + "&".join(auth_query)
        step["url"] = url
        self.body(request.get("body"), label, headers, step)
        if headers:
            step["headers"] = headers
        for script in _scripts(item.get("event"), "prerequest"):
            self.report_prerequest(script, label)
        scripts = [(script, folder.where) for folder in chain for script in _scripts(folder.events, "test")] + [
            (script, label) for script in _scripts(item.get("event"), "test")
        ]
        expect: list[dict[str, Any]] = []
        extract: dict[str, str] = {}
        for script, source in scripts:
            self.script(script, source, label, expect, extract)
        if extract:
            step["extract"] = extract
        if expect:
            step["expect"] = expect
        if step["description"] is None:
            del step["description"]
        problem = request_problem(step)
        if problem:
            self.report.dropped(label, "request", f"autotest cannot send it as translated ({problem}): left out")
            return None
        return step

    def script(
        self, script: str, source: str, label: str, expect: list[dict[str, Any]], extract: dict[str, str]
    ) -> None:
        shown = source if source == label else f"{source} (its test script runs for {label})"

        def placeholder(name: str) -> str:
            return self.ref(name, shown, "test script")

        translated = postman_scripts.translate(script, placeholder)
        for check, line, text in translated.expect:
            problem = valid_expectation(check)
            if problem:
                self.report.dropped(
                    shown, "test script", f"not a check autotest accepts: {problem}", line=line, text=text
                )
            elif check not in expect:
                expect.append(check)
        for name, path in translated.extract.items():
            extract[self.names(name)] = path
        for dropped in translated.dropped:
            self.report.dropped(
                shown, "test script", dropped.reason, test=self.test_name, line=dropped.line, text=dropped.text
            )

    def url(self, url: Any, label: str) -> str | None:
        if isinstance(url, str):
            text = url
        elif isinstance(url, dict) and url.get("host"):
            host = url["host"]
            text = ".".join(str(h) for h in host) if isinstance(host, list) else str(host)
            if url.get("protocol"):
                text = f"{url['protocol']}://{text}"
            if url.get("port"):
                text += f":{url['port']}"
            path = url.get("path")
            segments = [str(p) for p in path] if isinstance(path, list) else [str(path).lstrip("/")] if path else []
            if segments:
                text += "/" + "/".join(segments)
            query = _enabled(url.get("query"))
            if query:
                text += "?" + "&".join(
                    str(q.get("key") or "") + ("" if q.get("value") is None else f"={q['value']}") for q in query
                )
        elif isinstance(url, dict) and isinstance(url.get("raw"), str):
            text = url["raw"]
        else:
            self.report.dropped(label, "url", "the request has no URL: left out", test=self.test_name)
            return None
        if isinstance(url, dict):
            for variable in url.get("variable") or []:
                if isinstance(variable, dict) and variable.get("key") and variable.get("value") is not None:
                    key = re.escape(str(variable["key"]))
                    text = re.sub(rf"(?<=/):{key}(?=/|\?|#|$)", str(variable["value"]).replace("\\", "\\\\"), text)
        text = text.split("#", 1)[0].strip()
        if not re.match(r"^(https?://|\{\{)", text, re.IGNORECASE):
            text = "http://" + text
            self.report.note(label, "url", "the URL has no scheme: http:// is added, as Newman does")
        text = self.placeholders(text, label, "url")
        first = _AUTOTEST_VAR.match(text.split("/", 1)[0])
        if first:
            source = next((n for n in self.static if self.names(n) == first.group(1)), None)
            value = self.static_value(source) if source is not None else None
            if isinstance(value, str) and value and "://" not in value and not value.startswith("{{"):
                self.static[source] = "http://" + value  # type: ignore[index]
                self.report.note(
                    label, "variable", f"{{{{{first.group(1)}}}}} has no scheme: http:// is added, as Newman does"
                )
        return text

    def headers(self, headers: Any, label: str) -> dict[str, str]:
        if isinstance(headers, str):
            entries = [
                {"key": k.strip(), "value": v.strip()}
                for k, _, v in (line.partition(":") for line in headers.splitlines())
                if k.strip()
            ]
        else:
            entries = _enabled(headers)
        out: dict[str, str] = {}
        for entry in entries:
            key, value = str(entry.get("key") or "").strip(), entry.get("value")
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}", key):
                self.report.dropped(
                    label, "header", f"{key!r} is not a header name autotest can send: left out", test=self.test_name
                )
                continue
            out[key] = self.placeholders("" if value is None else str(value), label, "header")
        return out

    def auth(self, request: dict[str, Any], chain: list[_Folder], label: str, headers: dict[str, str]) -> list[str]:
        """Add the request's auth (its own, or the nearest folder's, or the collection's) to ``headers``; returns
        query parameters to add (``key=value``)."""
        auth: Any = request.get("auth")
        source = label
        if not isinstance(auth, dict) or auth.get("type") == "inherit":
            auth, source = None, label
            for folder in reversed(chain):
                if isinstance(folder.auth, dict) and folder.auth.get("type") != "inherit":
                    auth, source = folder.auth, folder.where
                    break
        if auth is None or auth.get("type") == "noauth":
            return []
        kind = str(auth.get("type"))
        values = {
            str(e.get("key")): e.get("value") for e in auth.get(kind) or [] if isinstance(e, dict) and e.get("key")
        }
        if kind == "bearer":
            token = self.placeholders(str(values.get("token") or ""), label, "auth")
            headers["Authorization"] = f"Bearer {token}"
        elif kind == "basic":
            headers["Authorization"] = f"Basic {self.basic(values, label, source)}"
        elif kind == "apikey":
            key = str(values.get("key") or "")
            value = self.placeholders(str(values.get("value") or ""), label, "auth")
            if values.get("in") == "query":
                return [f"{key}={value}"]
            if re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}", key):
                headers[key] = value
            else:
                self.report.dropped(label, "auth", f"API key header {key!r} is not a header name autotest can send")
        else:
            self.report.dropped(
                label,
                "auth",
                f"{kind} auth (from {source}) is not translated (bearer, basic and apikey are): add its header",
                test=self.test_name,
            )
        return []

    def basic(self, values: dict[str, Any], label: str, source: str) -> str:
        username, password = str(values.get("username") or ""), str(values.get("password") or "")
        resolved = []
        for text in (username, password):
            filled = _POSTMAN_VAR.sub(lambda m: self.fill_static(m.group(1).strip()), text)
            resolved.append(filled)
        if all("{{" not in text for text in resolved):
            if resolved != [username, password]:
                self.report.note(
                    label,
                    "auth",
                    "basic auth is encoded from the variables' values when importing: a value given when the test "
                    "runs does not change it",
                    test=self.test_name,
                )
            return base64.b64encode(f"{resolved[0]}:{resolved[1]}".encode()).decode()
        name = self.names("basic_auth")
        self.used.add(name)
        self.report.needs_value(
            label,
            "auth",
            f"basic auth (from {source}) uses values unknown when importing: the header is `Basic {{{{{name}}}}}`; "
            f"give {name} the base64 of username:password (or a secret)",
            test=self.test_name,
        )
        return f"{{{{{name}}}}}"

    def fill_static(self, name: str) -> str:
        if name in self.static and name not in self.secret_vars and not name.startswith("$"):
            value = self.static_value(name)
            if self.names(name) not in self.extracted:
                return value if isinstance(value, str) else json.dumps(value)
        return "{{" + name + "}}"

    def body(self, body: Any, label: str, headers: dict[str, str], step: dict[str, Any]) -> None:
        if not isinstance(body, dict) or body.get("disabled") or not body.get("mode"):
            return
        mode = body["mode"]
        has_type = any(k.lower() == "content-type" for k in headers)

        def content_type(value: str) -> None:
            if not has_type:
                headers["Content-Type"] = value

        if mode == "raw":
            raw = body.get("raw")
            if not isinstance(raw, str) or not raw:
                return
            options = body.get("options")
            language = options.get("raw", {}).get("language") if isinstance(options, dict) else None
            typed = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
            if language == "json" or (language is None and "json" in typed.lower()):
                parsed = self.json_body(raw)
                if parsed is not _NOT_JSON:
                    step["json"] = self.placeholders_in(parsed, label)
                    return
                content_type("application/json")
            else:
                content_type(_RAW_TYPES.get(str(language), "text/plain"))
            step["body"] = self.placeholders(raw, label, "body")
        elif mode == "urlencoded":
            fields = [f for f in _enabled(body.get("urlencoded")) if f.get("key")]
            if fields:
                content_type("application/x-www-form-urlencoded")
                step["body"] = "&".join(
                    f"{self.form_part(str(f['key']), label)}={self.form_part(str(f.get('value') or ''), label)}"
                    for f in fields
                )
        elif mode == "formdata":
            parts = []
            for entry in _enabled(body.get("formdata")):
                if entry.get("type") == "file":
                    self.report.dropped(
                        label,
                        "body",
                        f"form-data file field {entry.get('key')!r}: autotest's requests send no files, so it is "
                        "left out (the text fields are sent)",
                        test=self.test_name,
                    )
                    continue
                key = self.placeholders(str(entry.get("key") or ""), label, "body")
                value = self.placeholders(str(entry.get("value") or ""), label, "body")
                parts.append(f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n')
            if parts:
                content_type(f"multipart/form-data; boundary={_BOUNDARY}")
                step["body"] = "".join(parts) + f"--{_BOUNDARY}--\r\n"
        elif mode == "graphql" and isinstance(body.get("graphql"), dict):
            graphql = body["graphql"]
            out: dict[str, Any] = {"query": str(graphql.get("query") or "")}
            variables = graphql.get("variables")
            if isinstance(variables, str) and variables.strip():
                try:
                    parsed = json.loads(variables)
                except (ValueError, RecursionError):
                    self.report.dropped(label, "body", "the GraphQL variables are not JSON: left out")
                else:
                    unfit = find_unstorable(parsed)
                    if unfit is None:
                        out["variables"] = parsed
                    else:
                        self.report.dropped(label, "body", f"the GraphQL variables at {unfit[0]}: {unfit[1]}: left out")
            step["json"] = self.placeholders_in(out, label)
        else:
            self.report.dropped(
                label, "body", f"a {mode} body is not translated (raw, urlencoded, form-data and GraphQL are)"
            )

    def json_body(self, raw: str) -> Any:
        """The raw body as JSON to send as ``json``, or ``_NOT_JSON`` when it must go as text: it is not JSON (a
        placeholder outside a string), or a string in it is only a placeholder of a value extracted at run time
        (autotest would send that value with its JSON type; Postman sends text)."""
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):  # (nested past the parser's depth: sent as written too)
            return _NOT_JSON
        if find_unstorable(parsed) is not None:  # NaN, 1e999, deeper than a test holds: sent as written
            return _NOT_JSON
        for text in _strings(parsed):
            match = _POSTMAN_VAR.fullmatch(text.strip())
            if match:
                name = match.group(1).strip()
                if not isinstance(self.static.get(name), str) or self.names(name) in self.extracted:
                    return _NOT_JSON
        return parsed

    def placeholders_in(self, value: Any, label: str) -> Any:
        if isinstance(value, str):
            return self.placeholders(value, label, "body")
        if isinstance(value, dict):
            return {self.placeholders(k, label, "body"): self.placeholders_in(v, label) for k, v in value.items()}
        if isinstance(value, list):
            return [self.placeholders_in(v, label) for v in value]
        return value

    def form_part(self, text: str, label: str) -> str:
        """Form-encoded text, its placeholders kept as they are (their values are sent as they are)."""
        out, pos = [], 0
        for match in _POSTMAN_VAR.finditer(text):
            out.append(quote_plus(text[pos : match.start()]))
            out.append(self.ref(match.group(1).strip(), label, "body"))
            pos = match.end()
        out.append(quote_plus(text[pos:]))
        return "".join(out)


_NOT_JSON = object()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
