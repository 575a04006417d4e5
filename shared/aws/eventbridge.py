"""EventBridge publisher (EventBus port): source ``autotest``, detail-type from the event model."""

from __future__ import annotations

from typing import Any

from shared.aws.errors import translate
from shared.errors import Unavailable
from shared.models.events import Event
from shared.resources import EVENT_SOURCE


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish(self, event: Event) -> None:
        with translate(f"publish {event.detail_type}"):
            response = self._events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": event.detail_type,
                        "Detail": event.model_dump_json(),
                        "EventBusName": self._bus,
                    }
                ]
            )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise Unavailable(f"publish {event.detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
