"""Corrections to moto's DynamoDB, for local mode (and the tests that run moto in-process).

DynamoDB refuses an item over 400 KB *once written*: replacing an attribute counts the new value, not the old
one and the new one. moto's ``LimitedSizeDict`` (the item's attributes) measures a replacement as the whole
current item, the value being replaced included, plus the new value. So in moto an item whose largest
attribute is over half the limit can never be updated: a data-driven run's ``iterations`` (kept under the
limit by ``shared/services/results.py``) fails at about 200 KB with a ValidationException that AWS would never
raise. This measures the item as it will be, with the same 405,000-byte threshold moto uses. Hand-written
because it corrects moto itself; :func:`apply` is idempotent.

And a projection (``ProjectionExpression``) costs moto a conversion of the whole item for each attribute named
(``Item.project`` calls ``to_regular_json()`` once per path): listing 200 runs by the 24 fields of a list row
took longer than reading them whole. A projection of top-level attributes only copies those attributes;
nested paths still take moto's own way (one conversion, not one per path).

And moto answers every call through a serializer that walks the response's shape value by value (ten member
lookups for each attribute value: 0.6 s for a page of 200 list rows). The item operations' results are
DynamoDB's wire JSON already (``{"Items": [{"name": {"S": ...}}]}``), so they are dumped as they are; a result
that is not plain JSON (bytes, a timestamp) goes moto's way.

And a query deep-copies every item it found before projecting them, though a projection copies what it keeps
again: for a query with a projection, the found items are copied shallowly (their attribute dicts, not the
values), and the projection makes the only deep copy, of the attributes it keeps. Nothing reads the shallow
copies but the filter and the projection.

And EventBridge: for every target of every rule an event matches, moto renders the event through its input
template, compiling the template's eight JSONPath expressions afresh each time (``jsonpath_ng.ext.parse`` builds a
parser per call, about 2 ms each): some 15 ms of the GIL per target per event, the largest single cost of a
browser run in local mode. The compiled expressions are kept (``jsonpath_ng``'s are not changed by ``find``); the
events, rules and targets are moto's as before.
"""

from __future__ import annotations

from typing import Any

_APPLIED = False


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    limit = 405_000  # moto's threshold (its comment: DynamoDB's real limit is between 409 and 410 KB)

    def size(value: Any) -> int:
        return int(value.size()) if type(value) is dynamo_type.DynamoType else bytesize(str(value))

    def setitem(self: dict[str, Any], key: str, value: Any) -> None:
        current = sum(bytesize(k) + size(v) for k, v in self.items() if k != key)
        if current + bytesize(key) + size(value) > limit:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    dynamo_type.LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]

    import copy

    own_project = dynamo_type.Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        if any(len(path) != 1 for path in projection_expressions):
            return own_project(self, projection_expressions)
        wanted = {path[0] for path in projection_expressions}
        item = dynamo_type.Item(hash_key=self.hash_key, range_key=self.range_key, attrs={})
        for name, value in self.attrs.items():
            if name in wanted:  # a part of an item that fits: no size check (setitem above) needed
                dict.__setitem__(item.attrs, name, copy.deepcopy(value))
        return item

    dynamo_type.Item.project = project  # type: ignore[method-assign]

    import json

    from moto.core.serialize import JSONSerializer

    own_serialize = JSONSerializer._serialize_result

    def serialize_result(self: Any, resp: Any, result: Any) -> Any:
        model = self.operation_model
        if model.service_model.service_name == "dynamodb" and model.name in _ITEM_OPERATIONS and type(result) is dict:
            try:
                body = json.dumps(result)
            except (TypeError, ValueError):
                return own_serialize(self, resp, result)
            resp["body"] = body
            resp["headers"]["Content-Type"] = self._get_protocol_specific_content_type()
            return resp
        return own_serialize(self, resp, result)

    JSONSerializer._serialize_result = serialize_result  # type: ignore[method-assign]

    import threading

    from moto.dynamodb.models import table as table_module

    projecting = threading.local()

    class _Copy:
        """``copy`` as moto's table module sees it: shallow copies of a query's items while it projects."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if getattr(projecting, "on", False) and type(value) is list:
                return [_shallow(item) if type(item) is dynamo_type.Item else copy.deepcopy(item) for item in value]
            return copy.deepcopy(value, memo)

    def _shallow(item: Any) -> Any:
        shallow: Any = dynamo_type.Item.__new__(dynamo_type.Item)
        shallow.hash_key, shallow.range_key = item.hash_key, item.range_key
        attrs = dynamo_type.LimitedSizeDict.__new__(dynamo_type.LimitedSizeDict)
        dict.__init__(attrs, item.attrs)
        shallow.attrs = attrs
        return shallow

    own_query = table_module.Table.query

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        projection = kwargs.get("projection_expressions", args[6] if len(args) > 6 else None)
        projecting.on = bool(projection)
        try:
            return own_query(self, *args, **kwargs)
        finally:
            projecting.on = False

    table_module.copy = _Copy()  # type: ignore[assignment]
    table_module.Table.query = query  # type: ignore[method-assign]

    import functools

    import jsonpath_ng.ext  # moto's dependency: its events templates import ``parse`` from here on every call

    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    _APPLIED = True


#: the DynamoDB operations whose results moto builds as wire JSON (``_serialize_result`` above)
_ITEM_OPERATIONS = frozenset(
    {"GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactGetItems"}
)
