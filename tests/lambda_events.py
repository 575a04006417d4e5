"""Event builders for the Lambda handlers' tests: an SQS event source's batch, instead of copied JSON blobs."""

from __future__ import annotations

from typing import Any


def sqs_event(
    bodies: list[str], *, queue: str = "autotest-runs", receive_count: int = 1, ids: str = "m-{i}"
) -> dict[str, Any]:
    """An SQS event source's batch: one record per body, its message id ``ids`` (``{i}``: its index) and its
    receipt handle the same with ``r`` for ``m``."""
    return {
        "Records": [
            {
                "messageId": ids.format(i=i),
                "receiptHandle": ids.format(i=i).replace("m", "r", 1),
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }
