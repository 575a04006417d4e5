"""The AWS side of local mode's write-ahead journal: which calls change state, how a call is recorded,
and how a recorded call is applied again. The files are ``cli/local/persistence.py``'s.

Local mode runs moto in its own process, in memory. So that no acknowledged write is lost to a crash,
every call that changes the table or the artifact bucket goes through a :class:`JournaledClient`, which
hands it to a :class:`JournalSink`: the sink makes the call durable (fsync'd) *before* moto applies it,
under one lock, so the journal's order is the order of application (and moto's ``transact_write_items``,
which is not thread-safe, never runs twice at once). Read-only calls pass straight through. Any other
call that would change state is refused: a write that a restart would silently lose must not happen.

Hand-written because no library journals boto3 calls; a client wrapper rather than botocore's event
hooks because one call (lock, record, apply) is one Python call here, with its errors, whatever retries
botocore makes inside it.
"""

from __future__ import annotations

import base64
import functools
from typing import Any, Protocol

from botocore import xform_name
from botocore.exceptions import ClientError

from shared.aws.errors import error_code

#: the operations that change the state local mode keeps (SQS and EventBridge are rebuilt on start)
JOURNALED: dict[str, frozenset[str]] = {
    "dynamodb": frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}),
    "s3": frozenset({"PutObject"}),
}
_READS = ("Get", "List", "Query", "Scan", "Describe", "Head", "BatchGet", "TransactGet")
#: client methods that are not API operations but would write past the wrapper (s3transfer)
_WRITES_PAST = frozenset({"upload_file", "upload_fileobj", "copy"})
#: error codes a replayed call may meet again because it met them the first time (a lost abort mark)
EXPECTED_REPLAY_ERRORS = frozenset(
    {"ConditionalCheckFailedException", "TransactionCanceledException", "TransactionConflictException"}
)


class NotJournaled(RuntimeError):
    """A call that would change state without being journaled (a bug in local mode's wiring)."""


class JournalSink(Protocol):
    def write(self, service: str, operation: str, params: dict[str, Any], body: bytes | None, apply: Any) -> Any:
        """Make ``(service, operation, params, body)`` durable, then return ``apply()``'s result."""


class JournaledClient:
    """A boto3 client whose state-changing calls go through ``sink``; everything else is the client's."""

    def __init__(self, client: Any, service: str, sink: JournalSink) -> None:
        self._client = client
        self._service = service
        self._sink = sink
        self._operations: dict[str, str] = dict(client.meta.method_to_api_mapping)
        self._journaled = JOURNALED.get(service, frozenset())

    def __getattr__(self, name: str) -> Any:
        operation = self._operations.get(name)
        if operation is None:
            if name in _WRITES_PAST:
                raise NotJournaled(f"{self._service}.{name} writes past the journal: use put_object")
            return getattr(self._client, name)  # meta, exceptions, get_paginator, ...
        if operation in self._journaled:
            return functools.partial(self._call, name, operation)
        if operation.startswith(_READS):
            return getattr(self._client, name)
        raise NotJournaled(f"{self._service}.{operation} changes state that local mode does not journal")

    def _call(self, method: str, operation: str, **params: Any) -> Any:
        body: bytes | None = None
        if "Body" in params:
            raw = params.pop("Body")
            body = bytes(raw) if isinstance(raw, bytes | bytearray | memoryview) else raw.read()
        call = getattr(self._client, method)

        def apply() -> Any:
            return call(**params, **({"Body": body} if body is not None else {}))

        return self._sink.write(self._service, operation, params, body, apply)


def encode(value: Any) -> Any:
    """``value`` as JSON-able data: bytes (DynamoDB binary attributes) as ``{"$b64": ...}``."""
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot journal a {type(value).__name__}")


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def retarget(service: str, operation: str, params: dict[str, Any], *, table: str, bucket: str) -> dict[str, Any]:
    """``params`` aimed at ``table`` / ``bucket``: local mode has one of each, and their names may differ
    from those of the start that recorded the call (tests give every start fresh names)."""
    out = dict(params)
    if service == "s3":
        out["Bucket"] = bucket
    elif operation == "TransactWriteItems":
        out["TransactItems"] = [
            {kind: {**spec, "TableName": table} for kind, spec in item.items()} for item in params["TransactItems"]
        ]
    elif operation == "BatchWriteItem":
        out["RequestItems"] = {table: [req for reqs in params["RequestItems"].values() for req in reqs]}
    else:
        out["TableName"] = table
    return out


class ReplayFailed(Exception):
    """A recorded call that AWS (moto) refused on replay for a reason it cannot have had the first time."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def apply_recorded(
    clients: Any, service: str, operation: str, params: dict[str, Any], body: bytes | None, *, table: str, bucket: str
) -> bool:
    """Make a recorded call again (replay): on ``clients(service)``, aimed at ``table`` / ``bucket``. True when
    applied; False when a condition refused it, as it may have the first time; ReplayFailed otherwise."""
    call = getattr(clients(service), xform_name(operation))
    aimed = retarget(service, operation, params, table=table, bucket=bucket)
    try:
        call(**aimed, **({"Body": body} if body is not None else {}))
    except ClientError as exc:
        code = error_code(exc)
        if code in EXPECTED_REPLAY_ERRORS:
            return False
        raise ReplayFailed(code) from exc
    return True
