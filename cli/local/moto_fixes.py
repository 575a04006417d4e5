"""A correction to moto's DynamoDB, for local mode (and the tests that run moto in-process).

DynamoDB refuses an item over 400 KB *once written*: replacing an attribute counts the new value, not the old
one and the new one. moto's ``LimitedSizeDict`` (the item's attributes) measures a replacement as the whole
current item, the value being replaced included, plus the new value. So in moto an item whose largest
attribute is over half the limit can never be updated: a data-driven run's ``iterations`` (kept under the
limit by ``shared/services/results.py``) fails at about 200 KB with a ValidationException that AWS would never
raise. This measures the item as it will be, with the same 405,000-byte threshold moto uses. Hand-written
because it corrects moto itself; :func:`apply` is idempotent.
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
    _APPLIED = True
