"""OpenAPI 3.x documents as smoke tests: one API test per operation.

Each test sends the operation once and checks its first documented 2xx status and, when that response
documents a JSON body, the body against its schema (a ``json_schema`` check). The schema is made to stand on its
own, since autotest's schemas may refer only to themselves: every ``$ref`` into the document is copied into the
schema's ``$defs`` (``#/components/schemas/Item`` becomes ``#/$defs/Item``), and OpenAPI 3.0's dialect is
turned into JSON Schema 2020-12 (``nullable``, boolean ``exclusiveMinimum``/``exclusiveMaximum``, ``example``
and ``x-`` keywords dropped); 3.1's schemas are JSON Schema 2020-12 already. Keywords that validate nothing
(``title``, ``description``, ``examples``...) are left out: a run reads ``{{...}}`` anywhere in a step.

Values come from the document: a path, query (required) or header (required) parameter's ``example``,
``examples``, or its schema's ``example``, ``default``, ``enum[0]``; a request body from the media type's
``example``/``examples`` or its schema's. A value the document does not give becomes a ``{{variable}}`` and is
reported (``needs_value``). Tests are tagged ``smoke``, the operation's tags, and ``read-only`` for
``GET``/``HEAD``/``OPTIONS`` (the others change things: run them against a server you may change).
 The base URL is the ``base_url`` variable: ``--base-url``, else ``servers[0].url``
(its variables filled with their defaults). An operation that needs credentials (its ``security``, else the
document's) gets a header (or query parameter) holding ``{{secret:SCHEME}}`` for the first alternative it
lists, and it is reported: set the secret before the test runs.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from typing import Any
from urllib.parse import quote, urljoin

import yaml

from shared import safeyaml
from shared.imports.common import (
    Budget,
    FileNames,
    ImportError_,
    Report,
    VarNames,
    imported,
    slug,
    tag,
    valid_expectation,
)
from shared.imports.common import valid_request as request_problem
from shared.models.imports import ImportResult
from shared.models.plans import HttpMethod

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SENDABLE: frozenset[str] = frozenset(HttpMethod.__args__)  # type: ignore[attr-defined]
_TWO_XX = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226]
#: keywords of OpenAPI 3.0's schema dialect that JSON Schema does not have
_OAS30_ONLY = frozenset({"nullable", "example", "discriminator", "xml", "externalDocs"})
#: keywords that validate nothing, left out of the checks (a description may hold `{{...}}`, which a run would
#: read as a placeholder)
_ANNOTATIONS = frozenset(
    {"title", "description", "example", "examples", "default", "$comment", "xml", "deprecated", "readOnly", "writeOnly"}
)
_NO_VALUE = object()


def parse_document(document: Any) -> dict[str, Any]:
    """The document as an object: given as one, or as YAML or JSON text (YAML's own types, which JSON does not
    have, made JSON: a date or timestamp its ISO text, a key that is a number or null its text)."""
    if isinstance(document, str):
        try:
            document = safeyaml.load(document)  # JSON is YAML too
        except (yaml.YAMLError, ValueError) as exc:
            raise ImportError_("document", f"neither JSON nor YAML: {str(exc).splitlines()[0]}") from exc
        except RecursionError as exc:
            raise ImportError_("document", "it nests too deep") from exc
        try:
            document = _as_json(document)
        except ValueError as exc:
            raise ImportError_("document", f"not JSON data: it holds {exc}") from exc
        except RecursionError as exc:
            raise ImportError_("document", "it nests too deep") from exc
    if not isinstance(document, dict):
        raise ImportError_("document", "an OpenAPI document is an object with `openapi`, `info` and `paths`")
    return document


def _as_json(value: Any) -> Any:
    """YAML data as JSON data: keys as text (YAML's ``200:`` is a number, ``~:`` null), dates and timestamps as
    ISO text, a set as a list; raises ValueError for what JSON cannot hold (bytes, a key that is a list)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool | int | float) or key is None:
                key = json.dumps(key)
            elif isinstance(key, datetime.date):
                key = key.isoformat()
            elif not isinstance(key, str):
                raise ValueError(f"a key of type {type(key).__name__} ({key!r:.60}): keys are text")
            out[key] = _as_json(item)
        return out
    if isinstance(value, list | set | frozenset | tuple):
        return [_as_json(item) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValueError(f"a value of type {type(value).__name__} (YAML's !!{type(value).__name__}): JSON has none")


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one (a part of the document of the wrong type is ignored,
    as a part it does not have is)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def import_openapi(document: Any, base_url: str | None = None, *, max_chars: int | None = None) -> ImportResult:
    """One smoke test per operation of ``document`` (an object, or YAML/JSON text), and the report. Tests that
    hold more than ``max_chars`` characters of JSON in all are an :class:`ImportError_` (:class:`Budget`)."""
    doc = parse_document(document)
    version = doc.get("openapi")
    if not isinstance(version, str) or not re.match(r"^3\.\d+", version):
        if "swagger" in doc:
            raise ImportError_("document.swagger", "a Swagger 2.0 document: convert it to OpenAPI 3 first")
        raise ImportError_("document.openapi", f"{version!r} is not an OpenAPI 3.x version (`openapi: 3.1.0`)")
    if not isinstance(doc.get("paths"), dict):
        raise ImportError_("document.paths", "missing or not an object: an OpenAPI document's operations")
    if base_url is not None and not re.match(r"^https?://", base_url, re.IGNORECASE):
        raise ImportError_("base_url", f"{base_url!r} is not an absolute http(s) URL")
    return _Importer(doc, base_url).run(Budget(max_chars))


class _Importer:
    def __init__(self, doc: dict[str, Any], base_url: str | None) -> None:
        self.doc = doc
        self.oas30 = str(doc["openapi"]).startswith("3.0")
        self.report = Report()
        self.names = VarNames(self.report, "document")
        self.base_url = self.server(base_url)

    # -------------------------------------------------------------------------- references

    def resolve(self, node: Any, where: str) -> Any:
        """``node`` with a ``$ref`` (to this document) followed, repeatedly."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise ImportError_(where, f"{ref} refers to itself")
            seen.add(ref)
            node = self.pointer(ref, where)
        return node

    def pointer(self, ref: str, where: str) -> Any:
        if not ref.startswith("#/"):
            raise ImportError_(where, f"{ref!r} refers outside the document: only `#/...` references are read")
        node: Any = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise ImportError_(where, f"{ref} is not in the document")
        return node

    # -------------------------------------------------------------------------- schemas

    def schema(self, schema: Any, where: str) -> dict[str, Any]:
        """A JSON Schema 2020-12 standing on its own: every reference copied into ``$defs``."""
        defs: dict[str, Any] = {}
        names: dict[str, str] = {}

        def convert(node: Any) -> Any:
            if isinstance(node, list):
                return [convert(n) for n in node]
            if not isinstance(node, dict):
                return node
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key.startswith("x-") or (self.oas30 and key in _OAS30_ONLY) or key in _ANNOTATIONS:
                    continue
                if key == "$ref" and isinstance(value, str):
                    out[key] = reference(value)
                elif key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
                    out[key] = {k: convert(v) for k, v in value.items()} if isinstance(value, dict) else value
                elif key in ("enum", "const", "required"):
                    out[key] = value
                else:
                    out[key] = convert(value)
            if self.oas30:
                for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
                    if isinstance(out.get(bound), bool):
                        exclusive = out.pop(bound)
                        if exclusive and limit in out:
                            out[bound] = out.pop(limit)
                if node.get("nullable") is True:
                    kind = out.get("type")
                    if isinstance(kind, str):
                        out["type"] = [kind, "null"]
                        if "enum" in out and None not in out["enum"]:
                            out["enum"] = [*out["enum"], None]
                    elif "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
                        out = {"anyOf": [out, {"type": "null"}]}
            return out

        def reference(ref: str) -> str:
            if ref in names:
                return f"#/$defs/{names[ref]}"
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", ref.rsplit("/", 1)[-1]) or "def"
            while name in defs:
                name += "_"
            names[ref] = name
            defs[name] = {}  # taken before converting: a schema may refer to itself
            defs[name] = convert(self.pointer(ref, where))
            return f"#/$defs/{name}"

        root = convert(schema) if isinstance(schema, dict) else {}
        if defs:
            root = {**root, "$defs": {**root.get("$defs", {}), **defs}}
        return root

    def example(self, node: Any, schema: Any, where: str) -> Any:
        """A value the document gives for a parameter or a media type: ``example``, ``examples``, or its schema's
        ``example``/``examples``/``default``/``enum``/``const``; otherwise built from an object schema's
        properties when each required one has a value; :data:`_NO_VALUE` when there is none."""
        node = self.resolve(node, where) if isinstance(node, dict) else {}
        if "example" in node:
            return node["example"]
        examples = node.get("examples")
        if isinstance(examples, dict):
            for example in examples.values():
                example = self.resolve(example, where)
                if isinstance(example, dict) and "value" in example:
                    return example["value"]
        return self.schema_example(schema, where, 0)

    def schema_example(self, schema: Any, where: str, depth: int) -> Any:
        schema = self.resolve(schema, where)
        if not isinstance(schema, dict) or depth > 8:
            return _NO_VALUE
        for key in ("example", "default", "const"):
            if key in schema:
                return schema[key]
        for key in ("examples", "enum"):
            if isinstance(schema.get(key), list) and schema[key]:
                return schema[key][0]
        for key in ("allOf", "oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key] and key != "allOf":
                return self.schema_example(schema[key][0], where, depth + 1)
        properties = schema.get("properties")
        if isinstance(properties, dict) and (schema.get("type") in (None, "object")):
            out = {}
            for name in schema.get("required") or []:
                value = self.schema_example(properties.get(name), where, depth + 1)
                if value is _NO_VALUE:
                    return _NO_VALUE
                out[name] = value
            return out
        return _NO_VALUE

    # -------------------------------------------------------------------------- servers, security

    def server(self, given: str | None) -> str | None:
        if given is not None:
            servers = self.doc.get("servers")
            relative = servers[0].get("url") if isinstance(servers, list) and servers else None
            if isinstance(relative, str) and relative.startswith("/") and relative != "/":
                return urljoin(given.rstrip("/") + "/", relative.lstrip("/")).rstrip("/")
            return given.rstrip("/")
        servers = self.doc.get("servers")
        if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
            self.report.needs_value(
                "document", "servers", "no servers: give the URL to call as {{base_url}} (--base-url when importing)"
            )
            return None
        url = str(servers[0].get("url") or "")
        for name, variable in _dict(servers[0].get("variables")).items():
            if isinstance(variable, dict) and "default" in variable:
                url = url.replace("{" + name + "}", str(variable["default"]))
        if not re.match(r"^https?://", url, re.IGNORECASE):
            self.report.needs_value(
                "document",
                "servers",
                f"servers[0].url is {url!r}, not an absolute http(s) URL: give the URL to call as {{{{base_url}}}} "
                "(--base-url when importing)",
            )
            return None
        return url.rstrip("/")

    def security(self, operation: dict[str, Any], source: str, headers: dict[str, str], query: dict[str, str]) -> None:
        requirements = operation.get("security", self.doc.get("security"))
        if not isinstance(requirements, list) or not requirements:
            return
        first = requirements[0]
        if not isinstance(first, dict) or not first:
            return  # {} among the alternatives: no credentials needed
        schemes = _dict(_dict(self.doc.get("components")).get("securitySchemes"))
        for name in first:
            scheme = self.resolve(schemes.get(name), f"components.securitySchemes.{name}")
            secret = "{{secret:" + self.names(name) + "}}"
            kind = scheme.get("type") if isinstance(scheme, dict) else None
            placed = None
            if kind == "apiKey" and scheme.get("in") == "header" and scheme.get("name"):
                headers[str(scheme["name"])] = secret
                placed = f"header {scheme['name']}"
            elif kind == "apiKey" and scheme.get("in") == "query" and scheme.get("name"):
                query[str(scheme["name"])] = secret
                placed = f"query parameter {scheme['name']}"
            elif kind == "apiKey" and scheme.get("in") == "cookie" and scheme.get("name"):
                headers["Cookie"] = f"{scheme['name']}={secret}"
                placed = "header Cookie"
            elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
                headers["Authorization"] = f"Bearer {secret}"
                placed = "header Authorization (Bearer)"
            elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
                headers["Authorization"] = f"Basic {secret}"
                placed = "header Authorization (Basic: the secret is the base64 of user:password)"
            elif kind in ("oauth2", "openIdConnect"):
                headers["Authorization"] = f"Bearer {secret}"
                placed = "header Authorization (Bearer: the secret is an access token)"
            if placed:
                self.report.needs_value(
                    source,
                    "security",
                    f"credentials of scheme {name!r} are {secret} in the {placed}: set the secret "
                    f"(`autotest secrets set {self.names(name)}`)",
                )
            else:
                self.report.dropped(source, "security", f"scheme {name!r} ({kind}) is not translated: add it by hand")

    # -------------------------------------------------------------------------- operations

    def run(self, budget: Budget) -> ImportResult:
        files = FileNames()
        tests = []
        for path, item in self.doc["paths"].items():
            where = f"document.paths.{path}"
            item = self.resolve(item, where)
            if not isinstance(item, dict):
                raise ImportError_(where, "a path item is an object of operations")
            for method in _METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                body = self.operation(path, method, item, operation, f"{where}.{method}")
                if body is not None:
                    name = operation.get("operationId") or f"{method} {path}"
                    tests.append(imported(body, files(str(name)), f"{where}.{method}", budget))
        return ImportResult(tests=tests, report=self.report.entries, saved=False)

    def operation(
        self, path: str, method: str, item: dict[str, Any], operation: dict[str, Any], where: str
    ) -> dict[str, Any] | None:
        source = f"{method.upper()} {path}"
        name = source[:200]
        self.report.current_test = name
        if method.upper() not in _SENDABLE:
            self.report.dropped(source, "operation", f"autotest sends no {method.upper()} request: no test made")
            return None
        parameters: dict[tuple[str, str], dict[str, Any]] = {}
        for index, parameter in enumerate([*_list(item.get("parameters")), *_list(operation.get("parameters"))]):
            parameter = self.resolve(parameter, f"{where}.parameters[{index}]")
            if isinstance(parameter, dict) and parameter.get("name") and parameter.get("in"):
                parameters[(str(parameter["in"]), str(parameter["name"]))] = parameter
        url_path = path
        query: dict[str, str] = {}
        headers: dict[str, str] = {}
        variables: dict[str, Any] = {}
        for (place, pname), parameter in parameters.items():
            if place != "path" and not parameter.get("required"):
                continue
            value = self.example(parameter, parameter.get("schema"), where)
            if value is _NO_VALUE:
                var = self.names(pname)
                self.report.needs_value(
                    source,
                    f"parameter {pname}",
                    f"the document gives no example of {place} parameter {pname!r}: it is {{{{{var}}}}}; give it a "
                    "value (the test's variables, or --var when it runs)",
                )
                text = f"{{{{{var}}}}}"
            else:
                text = value if isinstance(value, str) else json.dumps(value)
                self.braces(text, source, f"parameter {pname}")
                if place == "path":
                    text = quote(text, safe="")
            if place == "path":
                url_path = url_path.replace("{" + pname + "}", text)
            elif place == "query":
                query[pname] = text
            elif place == "header":
                headers[pname] = text
            elif place == "cookie":
                headers["Cookie"] = "; ".join(filter(None, [headers.get("Cookie"), f"{pname}={text}"]))
        self.security(operation, source, headers, query)
        step: dict[str, Any] = {"action": "request", "method": method.upper(), "url": "{{base_url}}" + url_path}
        if operation.get("summary"):
            step["description"] = str(operation["summary"])[:2000]
        if query:
            step["query"] = query
        self.request_body(operation, source, where, step, headers)
        if headers:
            step["headers"] = headers
        step["expect"] = self.expectations(operation, source, where)
        problem = request_problem(step)
        if problem:
            self.report.dropped(source, "operation", f"autotest cannot send it as translated ({problem}): no test")
            return None
        if self.base_url is not None:
            variables["base_url"] = self.base_url
        test: dict[str, Any] = {"name": name, "kind": "api", "tags": self.tags(operation, method), "steps": [step]}
        description = operation.get("description") or operation.get("summary")
        if isinstance(description, str) and description.strip():
            test["description"] = description[:20_000]
        if variables:
            test["variables"] = variables
        return test

    def braces(self, value: Any, source: str, part: str) -> None:
        if "{{" in json.dumps(value):
            self.report.note(
                source,
                part,
                "the document's example holds `{{...}}`, which autotest reads as a placeholder: it needs that "
                "variable or secret when the test runs",
            )

    def tags(self, operation: dict[str, Any], method: str) -> list[str]:
        out = ["smoke", "read-only"] if method in ("get", "head", "options") else ["smoke"]
        for name in _list(operation.get("tags")):
            label = tag(str(name))
            if label not in out:
                out.append(label)
        return out[:20]

    def request_body(
        self, operation: dict[str, Any], source: str, where: str, step: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = self.resolve(operation.get("requestBody"), f"{where}.requestBody")
        if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
            return
        content = body["content"]
        media = next((m for m in content if m == "application/json" or m.endswith("+json")), None)
        if media is not None:
            value = self.example(content[media], _dict(content[media]).get("schema"), where)
            if value is not _NO_VALUE:
                self.braces(value, source, "body")
                step["json"] = value
                if media != "application/json":
                    headers["Content-Type"] = media
                return
        elif "application/x-www-form-urlencoded" in content:
            media = "application/x-www-form-urlencoded"
            value = self.example(content[media], _dict(content[media]).get("schema"), where)
            if isinstance(value, dict):
                headers["Content-Type"] = media
                step["body"] = "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in value.items())
                return
        else:
            media = next(iter(content), None)
            if media is None:
                return
            value = self.example(content[media], _dict(content[media]).get("schema"), where)
            if isinstance(value, str):
                headers["Content-Type"] = media
                step["body"] = value
                return
        if not body.get("required"):
            return
        var = self.names(slug(source, default="request").replace("-", "_") + "_body")
        headers["Content-Type"] = media
        step["body"] = f"{{{{{var}}}}}"
        self.report.needs_value(
            source,
            "body",
            f"the document gives no example of the {media} request body: it is {{{{{var}}}}}; give it the body's "
            "text (the test's variables, or --var when it runs)",
        )

    def expectations(self, operation: dict[str, Any], source: str, where: str) -> list[dict[str, Any]]:
        responses = operation.get("responses")
        if not isinstance(responses, dict):
            self.report.note(source, "responses", "no responses documented: the test checks only that it succeeds")
            return []
        code, response = next(
            ((str(c), r) for c, r in responses.items() if re.fullmatch(r"2(\d\d|XX)", str(c).upper())), (None, None)
        )
        if code is None:
            self.report.note(
                source, "responses", "no 2xx response documented: the test checks only that the status is below 400"
            )
            return []
        checks: list[dict[str, Any]] = [{"status": _TWO_XX if code.upper() == "2XX" else int(code)}]
        response = self.resolve(response, f"{where}.responses.{code}")
        content = response.get("content") if isinstance(response, dict) else None
        if isinstance(content, dict):
            media = next((m for m in content if m == "application/json" or m.endswith("+json")), None)
            schema = _dict(content.get(media)).get("schema") if media is not None else None
            if isinstance(schema, dict):
                try:
                    converted = self.schema(copy.deepcopy(schema), f"{where}.responses.{code}")
                except RecursionError:  # (references that lead to references, thousands deep)
                    self.report.dropped(
                        source, "response schema", f"the {code} response's schema nests too deeply to be checked"
                    )
                    return checks
                check = {"json_schema": converted}
                self.braces(converted, source, "response schema")
                problem = valid_expectation(check)
                if problem:
                    self.report.dropped(
                        source, "response schema", f"the {code} response's schema cannot be checked: {problem}"
                    )
                else:
                    checks.append(check)
        return checks
