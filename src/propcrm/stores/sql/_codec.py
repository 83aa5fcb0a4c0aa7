"""Event rows: the envelope in columns, actor and payload as JSON text (private).

Reading events is the hot path of KPI streams, so decoding avoids a JSON document per event:
the envelope comes from typed columns, and the actor and payload, which repeat a lot (the same
handler, an empty ``ticket_accepted``), are decoded once per distinct text and shared (they are
frozen values). The caches are bounded; malformed text still raises typed errors that name the
ticket and the event's position.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from propcrm.errors import FieldError, StoreError, ValidationError
from propcrm.model import Actor
from propcrm.stores.helpers import CONVERTER, to_utc
from propcrm.workflow import EVENT_SCHEMA_VERSION, EVENT_TYPES, Event

__all__ = ["EventDecoder", "event_columns"]

_UTC = timezone.utc
_CACHE_SIZE = 4096


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def event_columns(event: Event) -> dict[str, Any]:
    """The column values of one event (without ``company_id`` and ``position``)."""
    return {
        "event_id": event.event_id,
        "ticket_id": event.ticket_id,
        "sequence": event.sequence,
        "type": event.type,
        "occurred_at": to_utc(event.occurred_at),
        "actor": _dumps(CONVERTER.unstructure(event.actor)),
        "payload": _dumps(CONVERTER.unstructure(event.payload)),
        "schema_version": event.schema_version,
    }


class EventDecoder:
    """Decodes event rows, sharing the actors and payloads it has already decoded."""

    def __init__(self) -> None:
        self._actors: dict[str, Actor] = {}
        self._payloads: dict[tuple[str, str], Any] = {}

    def decode(
        self,
        position: int,
        event_id: Any,
        ticket_id: str,
        sequence: Any,
        type_name: Any,
        occurred_at: Any,
        actor: Any,
        payload: Any,
        schema_version: Any,
    ) -> Event:
        """The event of one row.

        Raises:
            StoreError: The actor or payload text is not JSON.
            ValidationError: A field is not valid; the subject names the ticket and position.
        """
        what = f"stored event of ticket {ticket_id!r} at position {position}"
        if schema_version != EVENT_SCHEMA_VERSION:
            raise ValidationError.single(
                "$.schema_version",
                f"schema version {schema_version!r} is not supported",
                subject=what,
            )
        key = (type_name, payload)
        found_payload = self._payloads.get(key)
        if found_payload is None:
            payload_cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
            if payload_cls is None:
                raise ValidationError.single(
                    "$.type", f"unknown event type {type_name!r}", subject=what
                )
            found_payload = self._structure(payload, payload_cls, "$.payload", what)
            if len(self._payloads) >= _CACHE_SIZE:
                self._payloads.clear()
            self._payloads[key] = found_payload
        found_actor = self._actors.get(actor)
        if found_actor is None:
            found_actor = self._structure(actor, Actor, "$.actor", what)
            if len(self._actors) >= _CACHE_SIZE:
                self._actors.clear()
            self._actors[actor] = found_actor
        if isinstance(occurred_at, str):
            try:
                occurred_at = datetime.fromisoformat(occurred_at)
            except ValueError:
                raise ValidationError.single(
                    "$.occurred_at", f"not a time: {occurred_at!r}", subject=what
                ) from None
        if isinstance(occurred_at, datetime) and occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=_UTC)
        try:
            return Event(
                event_id=event_id,
                ticket_id=ticket_id,
                sequence=sequence,
                occurred_at=occurred_at,
                actor=found_actor,
                payload=found_payload,
            )
        except ValidationError as exc:
            raise ValidationError(exc.errors, subject=what) from None

    @staticmethod
    def _structure(text: Any, cls: type[Any], path: str, what: str) -> Any:
        if isinstance(text, bytes | bytearray):
            text = bytes(text).decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise StoreError(
                f"{what}: {path[2:]} is not valid JSON ({exc})",
                hint="the row was changed outside propcrm; restore it from a backup",
            ) from None
        try:
            return CONVERTER.structure(data, cls)
        except ValidationError as exc:
            errors = [FieldError(path=path + e.path[1:], message=e.message) for e in exc.errors]
            raise ValidationError(errors, subject=what) from None
