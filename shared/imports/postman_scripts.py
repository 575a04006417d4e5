"""Postman test scripts (``event[listen=test].script.exec``) read with a JavaScript parser, not patterns.

The script is parsed by tree-sitter's JavaScript grammar (ES2023: arrow functions, ``?.``, template strings),
and its statements are translated one at a time into autotest expectations and extractions:

=============================================================  ====================================================
Postman                                                        autotest
=============================================================  ====================================================
``pm.response.to.have.status(201)``, ``.to.be.ok`` (200)...    ``{status: 201}``
``pm.expect(pm.response.code).to.eql(201)`` / ``.oneOf([..])``  ``{status: 201}`` / ``{status: [...]}``
``pm.expect(pm.response.json().a.b[0]).to.eql(V)``              ``{jsonpath: $.a.b[0], equals: V}``
``... .to.include(V)`` / ``.to.exist`` / ``.to.not.exist``     ``contains: V`` / ``exists: true`` / ``exists: false``
``... .to.be.true`` / ``.to.match(/re/)`` / ``.property("k")``  ``equals: true`` / ``matches: re`` / ``$.path.k``
``... .to.be.a("string")`` (``.an("array")``, number, ...)      ``{expr: 'type(body["a"]) == string'}`` (CEL)
``pm.expect(pm.response.headers.get("X")).to.include("v")``     ``{header: X, contains: v}`` (``eql``: ``equals``)
``pm.response.to.have.header("X"[, "v"])``                      ``{header: X, exists: true}`` (or ``equals: v``)
``pm.expect(pm.response.text()).to.include("t")``               ``{body_contains: t}``
``pm.expect(pm.response.responseTime).to.be.below(500)``        ``{max_latency_ms: 499}``
``pm.response.to.be.json``                                      ``{json_schema: {}}`` (the body must be JSON)
``pm.environment.set("x", pm.response.json().y)`` (also         ``extract: {x: $.y}``
``pm.collectionVariables`` / ``pm.variables`` / ``pm.globals``)
``var jsonData = pm.response.json();`` then ``jsonData.x``      ``$.x`` (an alias; ``JSON.parse(responseBody)`` too)
``pm.environment.get("x")`` as an expected value                ``"{{x}}"``
=============================================================  ====================================================

Everything else (conditions, loops, other ``pm`` calls, ``postman.setNextRequest``, assertions with no
equivalent, ``.length``, values computed at run time) is reported with its line and text, and adds no check:
a statement is translated whole or not at all, so no translation can pass where the script would fail
for a reason it left out. Differences that remain: autotest's ``exists`` finds a JSON ``null`` (chai's
``exist`` does not), and its ``equals`` takes ``"5"`` for ``5`` where the expected value is a variable (a data
file's CSV cell is text): an ``eql`` of a literal string that reads as a number checks the type too (a CEL
``expr``).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from shared.apitests.expectations import NUMBER_TEXT

#: chai's words that only read well (``to.be.been.is.that.which.and.has.have.with.at.of.same.but.does``)
_CHAINS = frozenset(
    {"to", "be", "been", "is", "that", "which", "and", "has", "have", "with", "at", "of", "same", "but", "does"}
)
_EQUALS = frozenset({"eql", "eqls", "equal", "equals", "eq"})
_INCLUDES = frozenset({"include", "includes", "contain", "contains"})
#: ``pm.response.to.be.<name>``: the statuses chai-postman's status properties stand for
_STATUS_WORDS: dict[str, int | list[int]] = {
    "ok": 200,
    "accepted": 202,
    "withoutContent": 204,
    "badRequest": 400,
    "unauthorized": 401,
    "unauthorised": 401,
    "forbidden": 403,
    "notFound": 404,
    "rateLimited": 429,
    "success": [200, 201, 202, 203, 204, 205, 206, 207, 208, 226],
}
_VARIABLE_SCOPES = frozenset({"environment", "collectionVariables", "variables", "globals", "iterationData"})
_LEGACY_SETTERS = frozenset({"setEnvironmentVariable", "setGlobalVariable"})
_SHORTHAND = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_javascript.language()))


@dataclass
class Dropped:
    """A statement not translated: its line (from 1), that line's text, and why."""

    line: int
    text: str
    reason: str


@dataclass
class Translated:
    """What a test script became."""

    #: the checks, each with the line (from 1) and text of the statement it came from
    expect: list[tuple[dict[str, Any], int, str]] = field(default_factory=list)
    #: the script's variable name (as written) -> JSONPath into the response body
    extract: dict[str, str] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)


class _Unsupported(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: ``placeholder(name)``: the ``{{...}}`` text that stands for the script's variable ``name``
Placeholder = Callable[[str], str]


def statements(source: str) -> list[Dropped]:
    """Every top-level statement of ``source`` (comments left out), as entries to report: for scripts that are
    not translated at all (pre-request scripts)."""
    tree = _parser().parse(source.encode())
    lines = source.split("\n")
    return [
        Dropped(node.start_point[0] + 1, _line(lines, node), "pre-request scripts are not translated")
        for node in _named(tree.root_node)
    ]


def translate(source: str, placeholder: Placeholder) -> Translated:
    """``source``, a test script, as expectations and extractions, and the statements left out."""
    data = source.encode()
    tree = _parser().parse(data)
    out = Translated()
    _Translator(data, source.split("\n"), placeholder, out).block(tree.root_node)
    return out


def _named(node: Node) -> list[Node]:
    return [child for child in node.named_children if child.type != "comment"]


def _line(lines: list[str], node: Node) -> str:
    row = node.start_point[0]
    return lines[row] if row < len(lines) else ""


@dataclass
class _Link:
    kind: str  # "prop" | "call" | "index"
    name: str = ""
    node: Node | None = None  # the arguments of a call, the index of a subscript


class _Translator:
    def __init__(self, data: bytes, lines: list[str], placeholder: Placeholder, out: Translated) -> None:
        self.data = data
        self.lines = lines
        self.placeholder = placeholder
        self.out = out
        #: identifiers bound to the response body or a part of it (``var jsonData = pm.response.json()``)
        self.aliases: dict[str, str] = {}
        self.current: Node | None = None

    # ------------------------------------------------------------------------------ statements

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode(errors="replace")

    def drop(self, node: Node, reason: str) -> None:
        first, last = node.start_point[0] + 1, node.end_point[0] + 1
        span = f" (lines {first}-{last})" if last > first else ""
        self.out.dropped.append(Dropped(first, _line(self.lines, node), reason + span))

    def block(self, node: Node) -> None:
        for statement in _named(node):
            self.statement(statement)

    def statement(self, node: Node) -> None:
        if node.type == "empty_statement":
            return
        if node.has_error:
            self.drop(node, "the script does not parse here (a syntax error)")
            return
        self.current = node
        try:
            if node.type == "expression_statement":
                inner = _named(node)
                if len(inner) != 1:
                    raise _Unsupported("a statement of several expressions is not translated")
                self.expression(inner[0])
            elif node.type in ("variable_declaration", "lexical_declaration"):
                self.declaration(node)
            elif node.type == "statement_block":
                self.block(node)
            else:
                kind = node.type.removesuffix("_statement").replace("_", " ")
                raise _Unsupported(f"{kind} statements are not translated (autotest's checks have no control flow)")
        except _Unsupported as exc:
            self.drop(node, exc.reason)
        except RecursionError:  # (a literal or a call nested thousands deep)
            self.drop(node, "nested too deeply to translate")

    def declaration(self, node: Node) -> None:
        aliases: dict[str, str] = {}
        for declarator in _named(node):
            name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
            if declarator.type != "variable_declarator" or name is None or name.type != "identifier" or value is None:
                raise _Unsupported("only `var x = pm.response.json()` (or a part of the body) is translated")
            path = self.json_path(value)
            if path is None:
                raise _Unsupported(
                    "only variables bound to the response body (`var x = pm.response.json()`) are translated"
                )
            aliases[self.text(name)] = path
        self.aliases.update(aliases)

    def expression(self, node: Node) -> None:
        base, links = self.chain(node)
        head = self.text(base) if base.type == "identifier" else None
        names = [link.name for link in links]
        if head == "pm" and names[:2] == ["test", ""] and links[1].kind == "call":
            self.pm_test(links[1])
            return
        if head == "pm" and len(links) >= 2 and links[0].name == "expect" and links[1].kind == "call":
            self.commit(self.expect(self.only_argument(links[1]), links[2:]))
            return
        if head == "pm" and names[:1] == ["response"] and len(links) >= 2 and links[1].name == "to":
            self.commit(self.response_assertion(links[1:]))
            return
        if head == "pm" and len(links) == 3 and links[0].name in _VARIABLE_SCOPES and links[1].name == "set":
            self.set_variable(links[2])
            return
        if head == "postman" and len(links) == 2 and links[0].name in _LEGACY_SETTERS and links[1].kind == "call":
            self.set_variable(links[1])
            return
        if head == "postman" and names[:1] == ["setNextRequest"]:
            raise _Unsupported("postman.setNextRequest (choosing the next request) is not translated")
        if node.type == "assignment_expression" and self.text(node).startswith("tests["):
            raise _Unsupported("the legacy `tests[...] = ...` form is not translated: use pm.test with pm.expect")
        what = self.text(base if not links else node).split("(")[0][:60]
        raise _Unsupported(f"`{what}` is not translated")

    def commit(self, check: dict[str, Any]) -> None:
        node = self.current
        line = node.start_point[0] + 1 if node is not None else 1
        self.out.expect.append((check, line, _line(self.lines, node) if node is not None else ""))

    def pm_test(self, call: _Link) -> None:
        arguments = _named(call.node) if call.node is not None else []
        if len(arguments) != 2 or arguments[1].type not in ("function_expression", "arrow_function", "function"):
            raise _Unsupported("pm.test(name, function) with a function written in place is translated, not this")
        body = arguments[1].child_by_field_name("body")
        if body is None:
            raise _Unsupported("pm.test's function has no body")
        if body.type == "statement_block":
            self.block(body)
        else:  # an arrow function's expression body: () => pm.response.to.have.status(200)
            self.current = body
            try:
                self.expression(body)
            except _Unsupported as exc:
                self.drop(body, exc.reason)

    def set_variable(self, call: _Link) -> None:
        arguments = _named(call.node) if call.node is not None else []
        if len(arguments) != 2:
            raise _Unsupported("setting a variable takes a name and a value")
        name = self.literal(arguments[0])
        if not isinstance(name, str) or not name:
            raise _Unsupported("a variable's name must be written as a string")
        path = self.json_path(arguments[1])
        if path is None:
            raise _Unsupported(
                "only a variable set from the response's JSON body (`pm.response.json().x`) is translated "
                "(as `extract`); set fixed values in the test's variables"
            )
        self.out.extract[name] = path

    # ------------------------------------------------------------------------------ expressions

    def chain(self, node: Node) -> tuple[Node, list[_Link]]:
        """``a.b(c)[0].d`` -> ``(a, [prop b, call (c), index 0, prop d])``."""
        links: list[_Link] = []
        while True:
            if node.type == "parenthesized_expression" and len(_named(node)) == 1:
                node = _named(node)[0]
            elif node.type == "member_expression":
                obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
                if obj is None or prop is None:
                    break
                links.append(_Link("prop", self.text(prop)))
                node = obj
            elif node.type == "call_expression":
                function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
                if function is None or arguments is None or arguments.type != "arguments":
                    break  # a tagged template
                links.append(_Link("call", node=arguments))
                node = function
            elif node.type == "subscript_expression":
                obj, index = node.child_by_field_name("object"), node.child_by_field_name("index")
                if obj is None or index is None:
                    break
                links.append(_Link("index", node=index))
                node = obj
            else:
                break
        links.reverse()
        return node, links

    def only_argument(self, call: _Link) -> Node:
        arguments = _named(call.node) if call.node is not None else []
        if len(arguments) != 1:
            raise _Unsupported("pm.expect takes one value")
        return arguments[0]

    def arguments(self, call: _Link | None) -> list[Any]:
        if call is None or call.node is None:
            return []
        return [self.value(node) for node in _named(call.node)]

    def json_path(self, node: Node) -> str | None:
        """The JSONPath of an expression that reads the response body, or None when it reads something else."""
        base, links = self.chain(node)
        head = self.text(base) if base.type == "identifier" else None
        if head == "pm" and len(links) >= 3 and [lk.name for lk in links[:2]] == ["response", "json"]:
            call = links[2]
            if call.kind != "call" or (call.node is not None and _named(call.node)):
                return None
            rest = links[3:]
            path = "$"
        elif head == "JSON" and len(links) >= 2 and links[0].name == "parse" and links[1].kind == "call":
            arguments = _named(links[1].node) if links[1].node is not None else []
            if len(arguments) != 1 or self.text(arguments[0]) not in ("responseBody", "pm.response.text()"):
                return None
            rest, path = links[2:], "$"
        elif head is not None and head in self.aliases:
            rest, path = links, self.aliases[head]
        else:
            return None
        for link in rest:
            if link.kind == "prop":
                if link.name == "length":
                    raise _Unsupported("`.length` is JavaScript's, not a member of the JSON body: not translated")
                path += _member(link.name)
            elif link.kind == "index" and link.node is not None:
                index = self.literal(link.node)
                if isinstance(index, bool) or not isinstance(index, int | str):
                    raise _Unsupported("an index computed at run time is not translated")
                if isinstance(index, int):
                    if index < 0:
                        raise _Unsupported("a negative index is undefined in JavaScript: not translated")
                    path += f"[{index}]"
                else:
                    path += _member(index)
            else:
                raise _Unsupported("a method call on the JSON body is not translated")
        return path

    def literal(self, node: Node) -> Any:
        """A value written in the script (JSON-like literals only)."""
        match node.type:
            case "string":
                return self.string(node)
            case "template_string":
                if any(child.type == "template_substitution" for child in node.named_children):
                    raise _Unsupported("a template string with ${...} is computed at run time: not translated")
                return self.string(node)
            case "number":
                text = self.text(node).replace("_", "")
                try:
                    number = float(text) if re.search(r"[.eE]", text) and not text.lower().startswith("0x") else None
                    parsed: int | float = number if number is not None else int(text, 0)
                except ValueError as exc:
                    raise _Unsupported(f"the number {text} is not translated") from exc
                return parsed
            case "true":
                return True
            case "false":
                return False
            case "null":
                return None
            case "regex":
                pattern, flags = node.child_by_field_name("pattern"), node.child_by_field_name("flags")
                inline = "".join(f for f in (self.text(flags) if flags is not None else "") if f in "ims")
                body = self.text(pattern) if pattern is not None else ""
                return _Regex(f"(?{inline}){body}" if inline else body)
            case "unary_expression":
                operand = node.child_by_field_name("argument")
                operator = node.child_by_field_name("operator")
                if operand is not None and operator is not None and self.text(operator) in "-+":
                    number = self.literal(operand)
                    if isinstance(number, int | float) and not isinstance(number, bool):
                        return -number if self.text(operator) == "-" else number
            case "array":
                return [self.value(child) for child in _named(node)]
            case "object":
                out: dict[str, Any] = {}
                for pair in _named(node):
                    key, item = pair.child_by_field_name("key"), pair.child_by_field_name("value")
                    if pair.type != "pair" or key is None or item is None:
                        raise _Unsupported("an object literal with computed parts is not translated")
                    name = self.literal(key) if key.type in ("string", "number") else self.text(key)
                    if key.type == "computed_property_name":
                        raise _Unsupported("an object literal with computed keys is not translated")
                    out[str(name)] = self.value(item)
                return out
            case "parenthesized_expression" if len(_named(node)) == 1:
                return self.literal(_named(node)[0])
        raise _Unsupported(f"`{self.text(node)[:60]}` is computed at run time: only written values are translated")

    def value(self, node: Node) -> Any:
        """An expected value: a literal, or a variable read (``pm.environment.get("x")`` -> ``"{{x}}"``)."""
        base, links = self.chain(node)
        head = self.text(base) if base.type == "identifier" else None
        if head == "pm" and len(links) == 3 and links[0].name in _VARIABLE_SCOPES and links[1].name == "get":
            arguments = self.arguments(links[2])
            if len(arguments) == 1 and isinstance(arguments[0], str):
                return self.placeholder(arguments[0])
        value = self.literal(node)
        if isinstance(value, str) and "{{" in value:
            raise _Unsupported("a written value holding `{{` would be read as a placeholder: not translated")
        return value

    def string(self, node: Node) -> str:
        pieces: list[str] = []
        for child in node.named_children:
            if child.type == "string_fragment":
                pieces.append(self.text(child))
            elif child.type == "escape_sequence":
                pieces.append(_unescape(self.text(child)))
        return "".join(pieces)

    # ------------------------------------------------------------------------------ assertions

    def assertion(self, links: list[_Link]) -> tuple[str, list[Any] | None, bool, Node | None]:
        """``[to, not, have, status, call(200)]`` -> ``("status", [200], True, args)``: the assertion's word,
        its arguments (None for a property assertion such as ``exist``), and whether it is negated."""
        negated = False
        for index, link in enumerate(links):
            if link.kind != "prop":
                raise _Unsupported("this assertion is not translated")
            if link.name in _CHAINS or link.name == "deep":
                continue
            if link.name == "not":
                negated = not negated
                continue
            rest = links[index + 1 :]
            if not rest:
                return link.name, None, negated, None
            if len(rest) == 1 and rest[0].kind == "call":
                return link.name, self.arguments(rest[0]), negated, rest[0].node
            raise _Unsupported("a chain of several assertions is not translated")
        raise _Unsupported("an expectation with no assertion checks nothing: not translated")

    def subject(self, node: Node) -> tuple[str, Any]:
        """What ``pm.expect(...)`` looks at: ``("status", None)``, ``("json", "$.a")``, ``("header", "X")``..."""
        text = self.text(node)
        if text in ("pm.response.code", "responseCode.code"):
            return "status", None
        if text in ("pm.response.responseTime", "responseTime"):
            return "latency", None
        if text in ("pm.response.text()", "responseBody"):
            return "body", None
        base, links = self.chain(node)
        names = [link.name for link in links]
        if (
            base.type == "identifier"
            and self.text(base) == "pm"
            and names[:3] == ["response", "headers", "get"]
            and len(links) == 4
            and links[3].kind == "call"
        ):
            arguments = self.arguments(links[3])
            if len(arguments) == 1 and isinstance(arguments[0], str):
                return "header", arguments[0]
        path = self.json_path(node)
        if path is not None:
            return "json", path
        raise _Unsupported(f"pm.expect of `{text[:60]}` is not translated (not the status, a header or the body)")

    def expect(self, subject_node: Node, links: list[_Link]) -> dict[str, Any]:
        subject, about = self.subject(subject_node)
        word, arguments, negated, _ = self.assertion(links)
        if subject == "json":
            return self.json_check(about, word, arguments, negated)
        if negated and word != "exist":
            raise _Unsupported(f"a negated `{word}` has no autotest check: not translated")
        one = arguments[0] if arguments and len(arguments) == 1 else None
        if subject == "status":
            if word in _EQUALS and _is_status(one):
                return {"status": one}
            if word == "oneOf" and isinstance(one, list) and one and all(_is_status(s) for s in one):
                return {"status": one}
        elif subject == "latency" and isinstance(one, int | float) and not isinstance(one, bool):
            if word in ("below", "lessThan", "lt"):
                limit = math.ceil(one) - 1
            elif word in ("most", "lte", "lessThanOrEqual"):
                limit = math.floor(one)
            else:
                limit = 0
            if limit > 0:
                return {"max_latency_ms": limit}
        elif subject == "header":
            if word == "exist" and arguments is None:
                return {"header": about, "exists": not negated}
            if isinstance(one, str) and word in _INCLUDES | _EQUALS:
                return {"header": about, ("contains" if word in _INCLUDES else "equals"): one}
            if isinstance(one, _Regex) and word == "match":
                return {"header": about, "matches": one.pattern}
        elif subject == "body":
            if isinstance(one, str) and one and word in _INCLUDES:
                return {"body_contains": one}
            if isinstance(one, _Regex) and word == "match":
                return {"body_matches": one.pattern}
        raise _Unsupported(f"`{word}` on {_SUBJECTS[subject]} has no autotest check: not translated")

    def json_check(self, path: str, word: str, arguments: list[Any] | None, negated: bool) -> dict[str, Any]:
        if word == "exist" and arguments is None:
            return {"jsonpath": path, "exists": not negated}
        if negated:
            raise _Unsupported(f"a negated `{word}` has no autotest check: not translated")
        if word in ("true", "false") and arguments is None:
            return {"jsonpath": path, "equals": word == "true"}
        if word == "property" and arguments and isinstance(arguments[0], str) and len(arguments) <= 2:
            inner = path + _member(arguments[0])
            if len(arguments) == 1:
                return {"jsonpath": inner, "exists": True}
            return self.json_check(inner, "eql", arguments[1:], negated)
        if word in ("a", "an") and arguments and len(arguments) == 1 and isinstance(arguments[0], str):
            return {"expr": _type_expr(path, arguments[0].lower())}
        if arguments is None or len(arguments) != 1:
            raise _Unsupported(f"`{word}` on the JSON body has no autotest check: not translated")
        (value,) = arguments
        if isinstance(value, _Regex):
            if word == "match":
                return {"jsonpath": path, "matches": value.pattern}
            raise _Unsupported("a regular expression is translated only with `match`")
        if value is None:
            raise _Unsupported("a check against null or undefined is not translated (autotest's equals takes no null)")
        if word in _EQUALS:
            if word != "eql" and word != "eqls" and isinstance(value, list | dict):
                raise _Unsupported(
                    f"`{word}` compares objects by identity, so this fails in Postman whatever the body: use eql"
                )
            if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
                # chai's eql("3") fails on the number 3, autotest's equals takes it: the type is checked too
                return {"expr": f"{_type_expr(path, 'string')} && {_accessor(path)} == {json.dumps(value)}"}
            return {"jsonpath": path, "equals": value}
        if word in _INCLUDES:
            return {"jsonpath": path, "contains": value}
        raise _Unsupported(f"`{word}` on the JSON body has no autotest check: not translated")

    def response_assertion(self, links: list[_Link]) -> dict[str, Any]:
        """``pm.response.to.have.status(200)``, ``.to.have.header("X")``, ``.to.be.ok``, ``.to.be.json``."""
        word, arguments, negated, _ = self.assertion(links)
        if negated and word != "header":
            raise _Unsupported(f"a negated `{word}` has no autotest check: not translated")
        if word == "status" and arguments and len(arguments) == 1:
            if _is_status(arguments[0]):
                return {"status": arguments[0]}
            raise _Unsupported("a status given by its reason phrase is not translated: give the number")
        if word == "header" and arguments and 1 <= len(arguments) <= 2 and all(isinstance(a, str) for a in arguments):
            if len(arguments) == 1:
                return {"header": arguments[0], "exists": not negated}
            if not negated:
                return {"header": arguments[0], "equals": arguments[1]}
        if arguments is None and word in _STATUS_WORDS:
            return {"status": _STATUS_WORDS[word]}
        if arguments is None and word == "json":
            return {"json_schema": {}}
        raise _Unsupported(f"pm.response.to...{word} has no autotest check: not translated")


_SUBJECTS = {"status": "the status", "latency": "the response time", "header": "a header", "body": "the body"}


@dataclass(frozen=True)
class _Regex:
    pattern: str


def _is_status(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


#: chai's type names (``.to.be.a("string")``) as CEL type tests of ``{}``, a value of the body
_CEL_TYPES = {
    "string": "type({}) == string",
    "number": "(type({0}) == int || type({0}) == uint || type({0}) == double)",
    "boolean": "type({}) == bool",
    "array": "type({}) == list",
    "object": "type({}) == map",
    "null": "type({}) == null_type",
}
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def _type_expr(path: str, name: str) -> str:
    """``.to.be.a(name)`` of the body's value at ``path`` (a JSONPath this module wrote: ``$``, members and
    indexes) as a CEL check; a value the body does not have fails it, as chai fails on ``undefined``."""
    if name not in _CEL_TYPES:
        raise _Unsupported(f"`.a({name!r})`: a type chai knows but JSON has not: not translated")
    return _CEL_TYPES[name].format(_accessor(path))


def _accessor(path: str) -> str:
    """The CEL for the body's value at ``path`` (``$.a['b-c'][0]`` -> ``body["a"]["b-c"][0]``)."""
    accessor, at = "body", 1
    while at < len(path):
        part = _PATH_PART.match(path, at)
        if part is None:
            raise _Unsupported(f"a check of {path}: not translated")
        member, quoted, index = part.groups()
        if index is not None:
            accessor += f"[{index}]"
        else:
            key = member if member is not None else re.sub(r"\\(.)", r"\1", quoted)
            accessor += f"[{json.dumps(key)}]"
        at = part.end()
    return accessor


def _member(name: str) -> str:
    if _SHORTHAND.match(name):
        return f".{name}"
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"['{escaped}']"


def _unescape(sequence: str) -> str:
    if sequence.startswith("\\u{"):
        return chr(int(sequence[3:-1], 16))
    if sequence in ("\\'", '\\"', "\\`", "\\\\", "\\/"):
        return sequence[1]
    if sequence.startswith("\\\n") or sequence.startswith("\\\r"):
        return ""  # a line continuation
    try:
        return codecs.decode(sequence, "unicode_escape")
    except UnicodeDecodeError:
        return sequence[1:]
