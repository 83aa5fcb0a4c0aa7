"""Building blocks for store authors: the checks and encodings every store shares.

The built-in stores use these, and a third-party store should too, so that every backend refuses
the same bad writes with the same errors and pages with the same cursors:

- :func:`check_save` validates a write before anything is touched;
- :func:`check_tenant` refuses a ticket of another tenant;
- :func:`ticket_matches` and :func:`sort_key` filter and order tickets in Python;
- :func:`encode_cursor` and :func:`decode_cursor` make the opaque keyset cursor;
- :func:`dump_ticket`, :func:`load_ticket`, :func:`dump_event`, :func:`load_event` and friends
  turn values into JSON text and back (personal data kept), raising typed errors that name the
  ticket or event when stored data is malformed;
- :func:`unit_companies` works out which company (tenant) each org unit belongs to, and
  :func:`visible_units` which units a tenant sees;
- :func:`check_stream_write`, :func:`check_stream_read` and :func:`check_stream_page` check the
  arguments of the :class:`propcrm.stores.AggregateStreams` methods (kind, ids up to
  :data:`MAX_STREAM_ID_LENGTH`, record types up to :data:`MAX_STREAM_TYPE_LENGTH`, versions,
  positions, batch sizes, the company of a tenant or admin store).

Example:
    >>> from propcrm.stores.helpers import decode_cursor, encode_cursor
    >>> from datetime import datetime, timezone
    >>> cursor = encode_cursor(datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), "t-1")
    >>> decode_cursor(cursor)
    (datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc), 't-1')
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from propcrm.errors import FieldError, PermissionDeniedError, StoreError, ValidationError
from propcrm.model import CustomerRef, OrgLevel, OrgUnit, Ticket
from propcrm.serialization import make_converter
from propcrm.stores._contract import (
    MAX_STREAM_ID_LENGTH,
    MAX_STREAM_TYPE_LENGTH,
    TicketQuery,
    check_stream_page,
    check_stream_read,
    check_stream_write,
)
from propcrm.workflow import Event, replay

__all__ = [
    "MAX_STREAM_ID_LENGTH",
    "MAX_STREAM_TYPE_LENGTH",
    "check_batch_size",
    "check_notification_claim",
    "check_save",
    "check_stream_page",
    "check_stream_read",
    "check_stream_write",
    "check_tenant",
    "check_unit_tenant",
    "decode_cursor",
    "dump_customer",
    "dump_event",
    "dump_org_unit",
    "dump_ticket",
    "encode_cursor",
    "load_customer",
    "load_event",
    "load_org_unit",
    "load_ticket",
    "sort_key",
    "ticket_matches",
    "to_utc",
    "unit_companies",
    "visible_units",
]

#: The converter every store writes with: personal data kept (``reveal_pii=True``).
CONVERTER = make_converter(reveal_pii=True)
_UTC = timezone.utc


def to_utc(value: datetime) -> datetime:
    """The same instant as a naive UTC datetime, the form SQL columns keep."""
    return value.astimezone(_UTC).replace(tzinfo=None)


def check_tenant(tenant: str | None, ticket: Ticket) -> None:
    """Refuse a ticket whose company is not the store's tenant (``None`` allows any).

    Raises:
        PermissionDeniedError: The ticket belongs to another company.
    """
    if tenant is not None and ticket.scope.company_id != tenant:
        raise PermissionDeniedError(
            f"ticket {ticket.ticket_id!r} belongs to company {ticket.scope.company_id!r}, "
            f"not to this store's tenant {tenant!r}; nothing was written",
            hint="open the store for that company, or an admin store with tenant=None",
        )


def check_save(ticket: Ticket, new_events: Sequence[Event], expected_version: int) -> None:
    """Validate a write before any state is touched (the rules of ``Store.save``).

    The events must be non-empty, belong to ``ticket`` and be numbered ``expected_version + 1``
    onwards; the ticket's version and ``updated_at`` must be the last event's. A new ticket's
    events must replay to exactly ``ticket``.

    Raises:
        ValidationError: Listing every bad field, with paths like ``$.new_events[1].sequence``.
    """
    errors: list[FieldError] = []
    if (
        not isinstance(expected_version, int)
        or isinstance(expected_version, bool)
        or expected_version < 0
    ):
        raise ValidationError.single(
            "$.expected_version",
            f"must be a non-negative integer, got {expected_version!r}",
            subject="save",
        )
    given: object = ticket  # callers may pass anything; refuse it with a typed error
    if not isinstance(given, Ticket):
        raise ValidationError.single(
            "$.ticket", f"expected a Ticket, got {type(given).__name__}", subject="save"
        )
    events: list[object] = list(new_events)
    if not events:
        raise ValidationError.single(
            "$.new_events",
            "at least one event is needed",
            subject="save",
            hint="a save records what happened; pass the events the command produced",
        )
    for index, event in enumerate(events):
        path = f"$.new_events[{index}]"
        if not isinstance(event, Event):
            errors.append(FieldError(path=path, message=f"expected an Event, got {event!r}"))
            continue
        if event.ticket_id != ticket.ticket_id:
            errors.append(
                FieldError(
                    path=f"{path}.ticket_id",
                    message=f"event of ticket {event.ticket_id!r}, not {ticket.ticket_id!r}",
                )
            )
        expected_sequence = expected_version + 1 + index
        if event.sequence != expected_sequence:
            errors.append(
                FieldError(
                    path=f"{path}.sequence",
                    message=f"expected sequence {expected_sequence}, got {event.sequence}",
                )
            )
    if errors:
        raise ValidationError(errors, subject="save")
    last = new_events[-1]
    if ticket.version != last.sequence:
        errors.append(
            FieldError(
                path="$.ticket.version",
                message=f"the ticket is at version {ticket.version}, "
                f"but the last event is number {last.sequence}",
            )
        )
    if ticket.updated_at != last.occurred_at:
        errors.append(
            FieldError(
                path="$.ticket.updated_at",
                message="the ticket's updated_at is not the last event's occurred_at",
            )
        )
    if not errors and expected_version == 0:
        folded = replay(new_events)  # raises ValidationError for a history not starting at intake
        if folded != ticket:
            errors.append(
                FieldError(path="$.ticket", message="the ticket is not the fold of its events")
            )
    if errors:
        raise ValidationError(
            errors, subject="save", hint="save the ticket that the new events fold to"
        )


def check_notification_claim(tenant: str | None, company_id: str, key: str) -> None:
    """Refuse a notification claim outside the tenant, or with an empty company id or key.

    Raises:
        ValidationError: At ``$.company_id`` or ``$.key``.
        PermissionDeniedError: ``company_id`` is not the store's tenant.
    """
    for path, value in (("$.company_id", company_id), ("$.key", key)):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError.single(
                path, f"must be a non-empty string, got {value!r}", subject="notification"
            )
    if tenant is not None and company_id != tenant:
        raise PermissionDeniedError(
            f"notification {key!r} belongs to company {company_id!r}, not to this store's "
            f"tenant {tenant!r}",
            hint="claim it through a store opened for that company",
        )


def check_batch_size(batch_size: int) -> None:
    """Refuse a batch size that is not a positive integer.

    Raises:
        ValidationError: At ``$.batch_size``.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValidationError.single(
            "$.batch_size", f"must be a positive integer, got {batch_size!r}"
        )


def sort_key(ticket: Ticket) -> tuple[datetime, str]:
    """The order of query results: ``(received_at, ticket_id)``, instants compared in UTC."""
    return (ticket.received_at.astimezone(_UTC), ticket.ticket_id)


def encode_cursor(received_at: datetime, ticket_id: str) -> str:
    """The opaque cursor for the item ``(received_at, ticket_id)``."""
    raw = json.dumps([received_at.astimezone(_UTC).isoformat(), ticket_id], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(received_at, ticket_id)`` a cursor stands for, received_at in UTC.

    Raises:
        ValidationError: At ``$.after`` when the cursor was not made by :func:`encode_cursor`.
    """
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8"))
        stamp, ticket_id = raw
        received_at = datetime.fromisoformat(stamp)
        if received_at.tzinfo is None or not isinstance(ticket_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, UnicodeError, binascii.Error, AttributeError):
        raise ValidationError.single(
            "$.after",
            f"not a cursor made by this store: {cursor!r}",
            hint="pass the next_cursor of the previous page unchanged",
        ) from None
    return received_at.astimezone(_UTC), ticket_id


def ticket_matches(query: TicketQuery, ticket: Ticket, due_at: datetime | None) -> bool:
    """Whether ``ticket`` (with its stored ``due_at``) passes every filter of ``query``.

    The cursor (``query.after``) is not applied here; compare :func:`sort_key` for that.
    """
    q = query
    checks = (
        not q.statuses or ticket.status in q.statuses,
        not q.kinds or ticket.kind in q.kinds,
        q.category_prefix is None
        or (
            ticket.category_code is not None and ticket.category_code.startswith(q.category_prefix)
        ),
        not q.project_ids or ticket.scope.project_id in q.project_ids,
        q.org_unit is None or ticket.scope.within(q.org_unit),
        q.received_from is None or ticket.received_at >= q.received_from,
        q.received_before is None or ticket.received_at < q.received_before,
        q.updated_from is None or ticket.updated_at >= q.updated_from,
        q.updated_before is None or ticket.updated_at < q.updated_before,
        q.assignee is None or ticket.assignee == q.assignee,
        q.responsible_party is None or ticket.responsible_party == q.responsible_party,
        q.overdue_at is None or (ticket.is_open and due_at is not None and due_at < q.overdue_at),
    )
    return all(checks)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _loads(text: object, what: str) -> Any:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise StoreError(f"{what}: stored data is {type(text).__name__}, not JSON text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{what}: stored data is not valid JSON ({exc})",
            hint="the row was changed outside propcrm; restore it from a backup",
        ) from None


def _structure(data: Any, cls: type[Any], what: str) -> Any:
    try:
        return CONVERTER.structure(data, cls)
    except ValidationError as exc:
        raise ValidationError(
            exc.errors,
            subject=what,
            hint="the row was changed outside propcrm or written by another schema",
        ) from None


def dump_ticket(ticket: Ticket) -> str:
    """A ticket as compact JSON text, personal data kept."""
    return _dumps(CONVERTER.unstructure(ticket))


def load_ticket(text: object, ticket_id: str) -> Ticket:
    """The ticket stored as ``text``.

    Raises:
        StoreError: The text is not JSON.
        ValidationError: The JSON is not a ticket, or is another ticket; subject names it.
    """
    what = f"stored ticket {ticket_id!r}"
    ticket: Ticket = _structure(_loads(text, what), Ticket, what)
    if ticket.ticket_id != ticket_id:
        raise ValidationError.single(
            "$.ticket_id", f"row holds ticket {ticket.ticket_id!r}", subject=what
        )
    return ticket


def dump_event(event: Event) -> str:
    """An event envelope as compact JSON text, personal data kept."""
    return _dumps(CONVERTER.unstructure(event))


def load_event(text: object, *, ticket_id: str, position: int | None = None) -> Event:
    """The event stored as ``text``; errors name the ticket and the position.

    Raises:
        StoreError: The text is not JSON.
        ValidationError: The JSON is not an event of ``ticket_id``.
    """
    where = f" at position {position}" if position is not None else ""
    what = f"stored event of ticket {ticket_id!r}{where}"
    event: Event = _structure(_loads(text, what), Event, what)
    if event.ticket_id != ticket_id:
        raise ValidationError.single(
            "$.ticket_id", f"row holds an event of ticket {event.ticket_id!r}", subject=what
        )
    return event


def dump_customer(customer: CustomerRef) -> str:
    """A customer as compact JSON text, personal data kept."""
    return _dumps(CONVERTER.unstructure(customer))


def load_customer(text: object, customer_id: str) -> CustomerRef:
    """The customer stored as ``text``.

    Raises:
        StoreError: The text is not JSON.
        ValidationError: The JSON is not a customer.
    """
    what = f"stored customer {customer_id!r}"
    customer: CustomerRef = _structure(_loads(text, what), CustomerRef, what)
    return customer


def dump_org_unit(unit: OrgUnit) -> str:
    """An org unit as compact JSON text."""
    return _dumps(CONVERTER.unstructure(unit))


def load_org_unit(text: object, unit_id: str) -> OrgUnit:
    """The org unit stored as ``text``.

    Raises:
        StoreError: The text is not JSON.
        ValidationError: The JSON is not an org unit.
    """
    what = f"stored org unit {unit_id!r}"
    unit: OrgUnit = _structure(_loads(text, what), OrgUnit, what)
    return unit


def unit_companies(
    units: Sequence[OrgUnit], known: Mapping[str, tuple[OrgLevel, str | None]]
) -> list[str | None]:
    """The company each unit belongs to: itself for a company, the company above it otherwise.

    Groups belong to no company (``None``). A unit's parent may be among ``units`` or in
    ``known`` (``unit id -> (level, company id)`` of units already stored).

    Raises:
        ValidationError: A unit below company level has no company above it
            (path ``$[i].parent_id``), or an item is not an ``OrgUnit``.
    """
    by_id: dict[str, OrgUnit] = {}
    for index, unit in enumerate(units):
        if not isinstance(unit, OrgUnit):
            raise ValidationError.single(
                f"$[{index}]", f"expected an OrgUnit, got {type(unit).__name__}", subject="org"
            )
        by_id[unit.id] = unit
    errors: list[FieldError] = []
    result: list[str | None] = []
    for index, unit in enumerate(units):
        company = _company_of(unit, by_id, known)
        if company is _MISSING:
            errors.append(
                FieldError(
                    path=f"$[{index}].parent_id",
                    message=f"org unit {unit.id!r} has no company above it in the store",
                )
            )
            continue
        result.append(company if isinstance(company, str) else None)
    if errors:
        raise ValidationError(
            errors, subject="org units", hint="save the parents first, or in the same call"
        )
    return result


_MISSING = object()


def _company_of(
    unit: OrgUnit,
    by_id: Mapping[str, OrgUnit],
    known: Mapping[str, tuple[OrgLevel, str | None]],
) -> object:
    seen: set[str] = set()
    current: OrgUnit | None = unit
    while current is not None:
        if current.level is OrgLevel.COMPANY:
            return current.id
        if current.level is OrgLevel.GROUP:
            return None
        if current.id in seen or current.parent_id is None:
            return _MISSING
        seen.add(current.id)
        parent_id = current.parent_id
        current = by_id.get(parent_id)
        if current is None:
            if parent_id not in known:
                return _MISSING
            level, company = known[parent_id]
            if level is OrgLevel.GROUP:
                return _MISSING
            return company
    return _MISSING  # pragma: no cover - the loop always returns


def visible_units(units: Iterable[tuple[OrgUnit, str | None]], tenant: str | None) -> list[OrgUnit]:
    """The units a tenant sees: its company's units and the groups above its company."""
    pairs = list(units)
    if tenant is None:
        return [unit for unit, _ in pairs]
    by_id = {unit.id: unit for unit, _ in pairs}
    seen = [unit for unit, company in pairs if company == tenant]
    own = by_id.get(tenant)
    parent_id = own.parent_id if own is not None else None
    while parent_id is not None and parent_id in by_id:
        parent = by_id[parent_id]
        seen.append(parent)
        parent_id = parent.parent_id
    return seen


def check_unit_tenant(
    tenant: str | None,
    batch: Sequence[OrgUnit],
    companies: Sequence[str | None],
    stored: Mapping[str, tuple[OrgUnit, str | None]],
) -> None:
    """Refuse org units a tenant store may not write: other companies' units and groups.

    Args:
        tenant: The store's tenant (``None`` allows everything).
        batch: The units being saved.
        companies: Their companies, from :func:`unit_companies`.
        stored: The units already stored, by id, with their companies.

    Raises:
        PermissionDeniedError: Naming the first unit outside the tenant.
    """
    if tenant is None:
        return
    for index, (unit, company) in enumerate(zip(batch, companies, strict=True)):
        previous = stored.get(unit.id)
        if company != tenant or (previous is not None and previous[1] != tenant):
            what = "a group" if unit.level is OrgLevel.GROUP else f"of company {company!r}"
            raise PermissionDeniedError(
                f"org unit {unit.id!r} (at $[{index}]) is {what}, outside tenant {tenant!r}; "
                "nothing was written",
                hint="groups and other companies' units are written through an admin store",
            )
