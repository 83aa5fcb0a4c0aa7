"""Event rows: the envelope in columns, actor and payload as JSON text (private).

Reading events is the hot path of KPI streams, so decoding has two paths:

- the **trusted-row path** (:meth:`EventDecoder.decode_rows`) for rows the store wrote itself:
  the actor and payload, which repeat a lot (the same handler, an empty ``ticket_accepted``),
  are decoded once per distinct text and shared (they are frozen values); a text not seen
  before is parsed with the stdlib ``json`` and structured by a converter without cattrs'
  detailed validation (the value classes' own validators still run); the envelope is checked
  with a few type tests and the :class:`Event` is built without re-running the validators the
  checks stand for. Any row that fails a check or raises goes to
- the **validating path** (:meth:`EventDecoder.decode`), which raises the typed error naming
  the ticket, the position and the field path. So a malformed row costs nothing until it is met,
  and is then reported exactly as before.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from functools import cache
from typing import Any

from propcrm.errors import FieldError, StoreError, ValidationError
from propcrm.model import Actor
from propcrm.serialization import PropcrmConverter, make_converter
from propcrm.stores._contract import StoredEvent
from propcrm.stores.helpers import CONVERTER, to_utc
from propcrm.workflow import EVENT_SCHEMA_VERSION, EVENT_TYPES, Event

__all__ = ["EventDecoder", "event_columns", "gc_paused", "trusted_converter"]

_UTC = timezone.utc
_CACHE_SIZE = 4096
_new = object.__new__
# Slot setters of the frozen classes: building a value from checked parts without its __init__.
_EVENT_SLOTS = tuple(
    Event.__dict__[name].__set__
    for name in (
        "event_id",
        "ticket_id",
        "sequence",
        "occurred_at",
        "actor",
        "payload",
        "schema_version",
    )
)
_STORED_SLOTS = tuple(StoredEvent.__dict__[name].__set__ for name in ("position", "event"))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch of values is built.

    A batch allocates a few objects per event, all of which stay alive, so every collection the
    allocations trigger scans them for nothing (a third of the decoding time at 10,000 events a
    batch). Reference counting still frees everything as usual. The collector is re-enabled
    afterwards only if it was enabled before.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@cache
def trusted_converter() -> PropcrmConverter:
    """The converter for text the store wrote itself: personal data kept, no detailed validation.

    Its structure hooks skip cattrs' error bookkeeping; a value that does not fit raises some
    exception, and the caller then decodes again with the validating converter to report it.
    """
    converter = make_converter(reveal_pii=True)
    # Hooks are generated on first use from this flag, so set it before anything is structured.
    converter.detailed_validation = False
    return converter


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
    """Decodes event rows, sharing the actors and payloads it has already decoded.

    A row is ``(position, event_id, ticket_id, sequence, type, occurred_at, actor, payload,
    schema_version)``; ``occurred_at`` is naive UTC, as a ``datetime`` or ISO text.
    """

    def __init__(self) -> None:
        self._actors: dict[Any, Actor] = {}
        self._payloads: dict[tuple[Any, Any], Any] = {}
        self._fast = trusted_converter()

    def decode_rows(self, rows: Iterable[Sequence[Any]]) -> list[StoredEvent]:
        """The stored events of rows the store wrote, through the trusted-row path.

        Raises:
            StoreError: An actor or payload text is not JSON.
            ValidationError: A field is not valid; the subject names the ticket and position.
        """
        actors = self._actors
        payloads = self._payloads
        fromiso = datetime.fromisoformat
        set_id, set_ticket, set_seq, set_at, set_actor, set_payload, set_version = _EVENT_SLOTS
        set_position, set_event = _STORED_SLOTS
        version = EVENT_SCHEMA_VERSION
        out: list[StoredEvent] = []
        append = out.append
        for row in rows:
            position, event_id, ticket_id, sequence, type_name, occurred, actor, payload, sv = row
            event: Event | None = None
            found_payload = payloads.get((type_name, payload))
            if found_payload is None:
                found_payload = self._trusted_payload(type_name, payload)
            found_actor = actors.get(actor)
            if found_actor is None:
                found_actor = self._trusted_actor(actor)
            if (
                found_payload is not None
                and found_actor is not None
                and sv == version
                and type(sequence) is int
                and sequence > 0
                and type(event_id) is str
                and type(ticket_id) is str
                and event_id.strip()
                and ticket_id.strip()
            ):
                when: datetime | None = None
                if type(occurred) is str:
                    try:
                        when = fromiso(occurred + "+00:00")
                    except ValueError:
                        when = None
                elif type(occurred) is datetime and occurred.tzinfo is None:
                    when = occurred.replace(tzinfo=_UTC)
                if when is not None:
                    event = _new(Event)
                    set_id(event, event_id)
                    set_ticket(event, ticket_id)
                    set_seq(event, sequence)
                    set_at(event, when)
                    set_actor(event, found_actor)
                    set_payload(event, found_payload)
                    set_version(event, version)
            if event is None:
                event = self.decode(*row)  # raises the typed error, or handles an odd time
            stored = _new(StoredEvent)
            set_position(stored, position)
            set_event(stored, event)
            append(stored)
        return out

    def _trusted_payload(self, type_name: Any, text: Any) -> Any:
        """Structure a payload not seen before without detailed validation; ``None`` if bad."""
        cls = EVENT_TYPES.get(type_name) if type(type_name) is str else None
        if cls is None or type(text) is not str:
            return None
        try:
            value = self._fast.structure(json.loads(text), cls)
        except Exception:  # any failure: the validating path reports it
            return None
        if len(self._payloads) >= _CACHE_SIZE:
            self._payloads.clear()
        self._payloads[(type_name, text)] = value
        return value

    def _trusted_actor(self, text: Any) -> Actor | None:
        """Structure an actor not seen before without detailed validation; ``None`` if bad."""
        if type(text) is not str:
            return None
        try:
            value: Actor = self._fast.structure(json.loads(text), Actor)
        except Exception:  # any failure: the validating path reports it
            return None
        if len(self._actors) >= _CACHE_SIZE:
            self._actors.clear()
        self._actors[text] = value
        return value

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
        """The event of one row, every field validated (the validating path).

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
        payload_cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
        if payload_cls is None:
            raise ValidationError.single(
                "$.type", f"unknown event type {type_name!r}", subject=what
            )
        found_payload = self._structure(payload, payload_cls, "$.payload", what)
        found_actor = self._structure(actor, Actor, "$.actor", what)
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
