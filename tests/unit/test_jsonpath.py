from __future__ import annotations

import pytest

from shared.apitests.jsonpath import JsonPathError, is_definite, query

DOC = {
    "items": [{"id": 1, "name": "a", "tags": ["x"]}, {"id": 2, "name": "b", "tags": []}],
    "meta": {"count": 2, "odd key": True, "nested": {"name": "deep"}},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", [DOC]),
        ("$.meta.count", [2]),
        ("$['meta']['odd key']", [True]),
        ('$["meta"].count', [2]),
        ("$.items[0].name", ["a"]),
        ("$.items[-1].id", [2]),
        ("$.items[*].id", [1, 2]),
        ("$.items.*.name", ["a", "b"]),
        ("$..name", ["a", "b", "deep"]),
        ("$.items[5].id", []),
        ("$.missing", []),
        ("$.meta.count.deeper", []),
    ],
)
def test_query(path: str, expected: list[object]) -> None:
    assert query(DOC, path) == expected


@pytest.mark.parametrize("path", ["items", "$.items[?(@.id==1)]", "$.items[0:1]", "$.", "$..", "$[abc]"])
def test_unsupported_syntax_is_a_clear_error(path: str) -> None:
    with pytest.raises(JsonPathError):
        query(DOC, path)


def test_definite_paths() -> None:
    assert is_definite("$.items[0].name")
    assert not is_definite("$.items[*].name")
    assert not is_definite("$..name")
