"""JSONPath (RFC 9535) through the adapter: selectors, filters, functions, singular queries, placeholders."""

from __future__ import annotations

import pytest

from shared.apitests.jsonpath import JsonPathError, compile_path, is_definite, problem, query, template_problem

DOC = {
    "items": [
        {"id": 1, "name": "Apples", "price": 5, "tags": ["x"]},
        {"id": 2, "name": "Bob's beans", "price": 20, "tags": []},
        {"id": 3, "name": "Cherries", "price": 12, "tags": ["x", "y"]},
    ],
    "meta": {"count": 3, "odd key": True, "nested": {"name": "deep"}},
    "rows": [1, 2, 3],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", [DOC]),
        ("$.meta.count", [3]),
        ("$['meta']['odd key']", [True]),
        ('$["meta"].count', [3]),
        ("$.items[0].name", ["Apples"]),
        ("$.items[-1].id", [3]),
        ("$.items[*].id", [1, 2, 3]),
        ("$.items.*.id", [1, 2, 3]),
        ("$.items[0:2].id", [1, 2]),
        ("$.items[0,2].id", [1, 3]),
        ("$..nested.name", ["deep"]),
        ("$.items[5].id", []),
        ("$.missing", []),
        ("$.meta.count.deeper", []),
    ],
)
def test_selectors(path: str, expected: list[object]) -> None:
    assert query(DOC, path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.items[?@.price > 10].name", ["Bob's beans", "Cherries"]),
        ("$.items[?@.price > 10 && @.id != 2].id", [3]),
        ("$.items[?@.name == 'Apples'].id", [1]),
        ("$.items[?length(@.tags) > 0].id", [1, 3]),
        ("$.items[?length(@.name) == 6].id", [1]),
        ("$.items[?count(@.tags[*]) == 2].id", [3]),
        ('$.items[?match(@.name, "[A-C][a-z]+")].id', [1, 3]),
        ('$.items[?search(@.name, "bean")].id', [2]),
        ("$.items[?value(@.tags[0]) == 'x'].id", [1, 3]),
        ("$[?@.count == 3].nested.name", ["deep"]),
        ("$.items[?@.tags[?@ == 'y']].id", [3]),
    ],
)
def test_filters_and_functions(path: str, expected: list[object]) -> None:
    assert query(DOC, path) == expected


def test_match_and_search_run_with_re2_not_backtracking() -> None:
    # (a+)+$ on a long run of a's with a mismatch at the end stalls a backtracking engine; RE2 is linear
    doc = {"s": "a" * 50_000 + "b"}
    assert query(doc, '$[?match(@, "(a+)+")]') == []
    assert query(doc, '$[?search(@, "(a+)+b")]') == [doc["s"]]


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("items", "starts with $"),
        ("$.rows.length()", "no .length()"),
        ("$.items[?@.price > 10", "unexpected end"),
        ("$.", "$."),
        ("$[abc]", "$[abc]"),
        ("$.items[?nope(@.x)]", "'nope' is not defined"),
        ('$.items[?match(@.name, "(")]', "invalid regular expression /(/"),
        ('$.items[?search(@.name, "(?=a)")]', "RE2"),
        ("$.items[?length(@.*) > 1]", "length() argument"),
    ],
)
def test_bad_paths_are_clear_errors(path: str, says: str) -> None:
    why = problem(path)
    assert why is not None and says in why, why
    with pytest.raises(JsonPathError):
        query(DOC, path)


def test_a_document_that_is_a_string_is_not_read_as_json_text() -> None:
    assert query('{"a": 1}', "$") == ['{"a": 1}']
    assert query("[1]", "$[0]") == []


def test_singular_queries_are_definite() -> None:
    assert is_definite("$.items[0].name")
    assert is_definite("$['meta']['odd key']")
    assert not is_definite("$.items[*].name")
    assert not is_definite("$..name")
    assert not is_definite("$.items[?@.id == 1]")
    assert not is_definite("$.items[0:1]")


def test_compiled_paths_are_cached() -> None:
    assert compile_path("$.items[?@.id == 1].name") is compile_path("$.items[?@.id == 1].name")


@pytest.mark.parametrize(
    "path",
    [
        "$.items[?@.id == {{id}}].name",
        '$.items[?@.name == "{{name}}"].id',
        "$.{{field}}[{{ index }}]",
        "$.items[{{i}}].{{f}}",
        '$.items[?@.token == "{{secret:TOKEN}}"]',
    ],
)
def test_placeholders_stand_for_a_name_or_a_number_when_a_test_is_saved(path: str) -> None:
    assert template_problem(path) is None


def test_a_path_bad_whatever_its_placeholders_hold_is_refused() -> None:
    why = template_problem("$.items[{{i}}")
    assert why is not None and "placeholders standing for a name or a number" in why
    assert "no .length()" in (template_problem("$.{{list}}.length()") or "")
