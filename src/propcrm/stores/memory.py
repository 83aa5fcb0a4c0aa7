"""The memory store: the reference implementation of the store contract, with no dependencies.

Everything lives in Python dictionaries behind one lock, so the store is safe to share between
threads (not processes). ``memory://`` opens a fresh, private store; ``memory://name`` opens the
data set ``name`` shared by every store of this process opened with that URL, which is how
several tenant-scoped views of one data set are made.

Example:
    >>> from propcrm.stores import open_store
    >>> store = open_store("memory://", tenant="c1")
    >>> store.tenant
    'c1'
    >>> store.ticket_for_intake_key("hotline-42") is None
    True
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from urllib.parse import urlsplit

import attrs

from propcrm.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    NotFoundError,
    ValidationError,
)
from propcrm.model import CustomerRef, OrgTree, OrgUnit, Ticket
from propcrm.stores._contract import (
    Page,
    StoredEvent,
    StoredStreamRecord,
    StreamConcurrencyError,
    StreamRecord,
    TicketQuery,
    check_stream_page,
    check_stream_read,
    check_stream_write,
)
from propcrm.stores.helpers import (
    check_batch_size,
    check_notification_claim,
    check_save,
    check_tenant,
    check_unit_tenant,
    decode_cursor,
    encode_cursor,
    sort_key,
    ticket_matches,
    unit_companies,
    visible_units,
)
from propcrm.workflow import Event

__all__ = ["MemoryStore", "open_memory_store"]


class _Data:
    """One data set, shared by the tenant views over it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tickets: dict[str, tuple[Ticket, datetime | None]] = {}
        self.events: dict[str, list[Event]] = {}
        self.log: list[tuple[str, Event]] = []  # position = index + 1
        self.intake: dict[tuple[str, str], str] = {}
        self.customers: dict[tuple[str, str], CustomerRef] = {}
        self.units: dict[str, tuple[OrgUnit, str | None]] = {}
        self.notified: set[tuple[str, str]] = set()
        # Aggregate streams: (kind, company, stream id) -> records; per kind, the global log
        # of (stream id, company, record) whose index + 1 is the position.
        self.streams: dict[tuple[str, str, str], list[StreamRecord]] = {}
        self.stream_log: dict[str, list[tuple[str, str, StreamRecord]]] = {}


_NAMED: dict[str, _Data] = {}
_NAMED_LOCK = threading.Lock()


class MemoryStore:
    """Tickets, events, customers and org units in memory, scoped to one tenant or all.

    Args:
        tenant: The company id this store sees; ``None`` for an admin store seeing all.
        data: Internal: the data set to share (a new one when omitted); use :meth:`for_tenant`.

    Attributes:
        tenant: The company id this store is scoped to, or ``None``.
    """

    def __init__(self, *, tenant: str | None = None, data: _Data | None = None) -> None:
        if tenant is not None and (not isinstance(tenant, str) or not tenant.strip()):
            raise ValidationError.single("$.tenant", f"must be a company id, got {tenant!r}")
        self.tenant = tenant
        self._data = data if data is not None else _Data()

    def __repr__(self) -> str:
        return f"MemoryStore(tenant={self.tenant!r})"

    def for_tenant(self, tenant: str | None) -> MemoryStore:
        """Another view of the same data, scoped to ``tenant`` (``None`` for all)."""
        return MemoryStore(tenant=tenant, data=self._data)

    # -- tickets -------------------------------------------------------------------------

    def save(
        self,
        ticket: Ticket,
        new_events: Sequence[Event],
        expected_version: int,
        *,
        due_at: datetime | None = None,
    ) -> None:
        """Append ``new_events`` and store ``ticket``, atomically; see ``Store.save``."""
        events = list(new_events)
        check_save(ticket, events, expected_version)
        check_tenant(self.tenant, ticket)
        if due_at is not None and (due_at.tzinfo is None or due_at.utcoffset() is None):
            raise ValidationError.single("$.due_at", "naive datetime refused", subject="save")
        data = self._data
        company = ticket.scope.company_id
        with data.lock:
            stored = data.tickets.get(ticket.ticket_id)
            if stored is None:
                actual = 0
            elif stored[0].scope.company_id != company:
                if self.tenant is None:
                    raise ValidationError.single(
                        "$.ticket.scope.company_id",
                        f"ticket {ticket.ticket_id!r} cannot move to company {company!r}",
                        subject="save",
                    )
                raise ConcurrencyError(
                    ticket_id=ticket.ticket_id,
                    expected_version=expected_version,
                    actual_version=None,
                )
            else:
                actual = stored[0].version
            if actual != expected_version:
                raise ConcurrencyError(
                    ticket_id=ticket.ticket_id,
                    expected_version=expected_version,
                    actual_version=actual,
                )
            key = ticket.idempotency_key
            if expected_version == 0 and key is not None:
                existing = data.intake.get((company, key))
                if existing is not None:
                    raise DuplicateIntakeError(
                        ticket_id=ticket.ticket_id, idempotency_key=key, existing_ticket_id=existing
                    )
            # Every check passed: from here on nothing can fail, so the write is all or nothing.
            if expected_version == 0 and key is not None:
                data.intake[(company, key)] = ticket.ticket_id
            data.tickets[ticket.ticket_id] = (ticket, due_at)
            data.events.setdefault(ticket.ticket_id, []).extend(events)
            data.log.extend((company, event) for event in events)

    def _visible(self, ticket_id: str) -> tuple[Ticket, datetime | None]:
        found = self._data.tickets.get(ticket_id)
        if found is None or (self.tenant is not None and found[0].scope.company_id != self.tenant):
            raise NotFoundError("ticket", ticket_id)
        return found

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket; ``NotFoundError`` if absent or of another tenant."""
        with self._data.lock:
            return self._visible(ticket_id)[0]

    def events(self, ticket_id: str, after_version: int = 0) -> list[Event]:
        """The ticket's events with sequence above ``after_version``, in order."""
        with self._data.lock:
            self._visible(ticket_id)
            return [e for e in self._data.events[ticket_id] if e.sequence > after_version]

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """Tickets matching ``query``, in ``(received_at, ticket_id)`` order, one page."""
        after = decode_cursor(query.after) if query.after is not None else None
        with self._data.lock:
            rows = list(self._data.tickets.values())
        matching = [
            ticket
            for ticket, due_at in rows
            if (self.tenant is None or ticket.scope.company_id == self.tenant)
            and ticket_matches(query, ticket, due_at)
            and (after is None or sort_key(ticket) > after)
        ]
        matching.sort(key=sort_key)
        items = tuple(matching[: query.limit])
        cursor = None
        if len(matching) > query.limit:
            last = items[-1]
            cursor = encode_cursor(last.received_at, last.ticket_id)
        return Page(items=items, next_cursor=cursor)

    def iter_events(
        self, *, after_position: int = 0, batch_size: int = 10_000
    ) -> Iterator[list[StoredEvent]]:
        """Every event of the tenant after ``after_position``, in global order, in batches."""
        check_batch_size(batch_size)
        position = max(after_position, 0)
        while True:
            batch: list[StoredEvent] = []
            with self._data.lock:
                log = self._data.log
                while position < len(log) and len(batch) < batch_size:
                    company, event = log[position]
                    position += 1
                    if self.tenant is None or company == self.tenant:
                        batch.append(StoredEvent(position=position, event=event))
            if not batch:
                return
            yield batch

    def ticket_for_intake_key(self, idempotency_key: str) -> str | None:
        """The ticket an intake key made within the tenant (any tenant for an admin store)."""
        with self._data.lock:
            if self.tenant is not None:
                return self._data.intake.get((self.tenant, idempotency_key))
            found = sorted(
                (company, ticket_id)
                for (company, key), ticket_id in self._data.intake.items()
                if key == idempotency_key
            )
            return found[0][1] if found else None

    # -- organisation and customers ------------------------------------------------------

    def save_org_units(self, units: Iterable[OrgUnit]) -> None:
        """Insert or replace org units; a tenant store may only write its own company's units.

        Raises:
            PermissionDeniedError: A unit belongs to another company, or is a group (admin only).
            ValidationError: A unit has no company above it, or the tree would be invalid.
        """
        batch = list(units)
        with self._data.lock:
            known = {k: (u.level, c) for k, (u, c) in self._data.units.items()}
            companies = unit_companies(batch, known)
            check_unit_tenant(self.tenant, batch, companies, self._data.units)
            merged = dict(self._data.units)
            merged.update({u.id: (u, c) for u, c in zip(batch, companies, strict=True)})
            OrgTree.from_units(u for u, _ in merged.values())  # refuse a broken tree
            self._data.units = merged

    def org_tree(self) -> OrgTree:
        """The units of the tenant's company and the groups above it (all for an admin)."""
        with self._data.lock:
            pairs = list(self._data.units.values())
        return OrgTree.from_units(visible_units(pairs, self.tenant))

    def save_customer(self, customer: CustomerRef) -> None:
        """Insert or replace a customer of the tenant (the shared bucket for an admin store)."""
        if not isinstance(customer, CustomerRef):
            raise ValidationError.single(
                "$", f"expected a CustomerRef, got {type(customer).__name__}"
            )
        with self._data.lock:
            self._data.customers[(self.tenant or "", customer.customer_id)] = customer

    def get_customer(self, customer_id: str) -> CustomerRef:
        """A customer of the tenant; an admin store looks in its own bucket, then every tenant's.

        Raises:
            NotFoundError: No such customer for this tenant.
        """
        with self._data.lock:
            if self.tenant is not None:
                found = self._data.customers.get((self.tenant, customer_id))
            else:
                matches = sorted(
                    (company, c)
                    for (company, cid), c in self._data.customers.items()
                    if cid == customer_id
                )
                found = matches[0][1] if matches else None
        if found is None:
            raise NotFoundError("customer", customer_id)
        return found

    def claim_notification(self, company_id: str, key: str) -> bool:
        """Record a notification as delivered; ``False`` if it already was (see the ledger)."""
        check_notification_claim(self.tenant, company_id, key)
        with self._data.lock:
            if (company_id, key) in self._data.notified:
                return False
            self._data.notified.add((company_id, key))
            return True

    def release_notification(self, company_id: str, key: str) -> None:
        """Forget a notification claim (its delivery failed)."""
        check_notification_claim(self.tenant, company_id, key)
        with self._data.lock:
            self._data.notified.discard((company_id, key))

    # -- aggregate streams ---------------------------------------------------------------

    def _checked_stream(
        self, kind: str, stream_id: str, company_id: str, expected: int
    ) -> list[StreamRecord]:
        """The company's stream (new and empty if unknown); refuses a stale version."""
        stored = self._data.streams.get((kind, company_id, stream_id), [])
        if len(stored) != expected:
            raise StreamConcurrencyError(
                kind=kind,
                stream_id=stream_id,
                expected_version=expected,
                actual_version=len(stored),
            )
        return stored

    def append_stream(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        records: Sequence[StreamRecord],
        expected_version: int,
    ) -> int:
        """Append records to a stream, all or none; see ``AggregateStreams.append_stream``."""
        batch = list(records)
        check_stream_write(self.tenant, kind, stream_id, company_id, batch, expected_version)
        data = self._data
        with data.lock:
            self._checked_stream(kind, stream_id, company_id, expected_version)
            stored = data.streams.setdefault((kind, company_id, stream_id), [])
            stored.extend(batch)
            data.stream_log.setdefault(kind, []).extend(
                (stream_id, company_id, record) for record in batch
            )
            return len(stored)

    def read_stream(
        self,
        kind: str,
        stream_id: str,
        after_version: int = 0,
        *,
        company_id: str | None = None,
    ) -> list[StreamRecord]:
        """The company's stream's records above ``after_version``; empty if unknown."""
        company = check_stream_read(
            self.tenant, kind, company_id, stream_id=stream_id, after_version=after_version
        )
        with self._data.lock:
            found = self._data.streams.get((kind, company or "", stream_id), [])
            return [r for r in found if r.version > after_version]

    def stream_ids(
        self,
        kind: str,
        *,
        company_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[str]:
        """The company's stream ids of ``kind`` in code-point order, one page."""
        company = check_stream_read(self.tenant, kind, company_id)
        check_stream_page(limit, after)
        with self._data.lock:
            ids = sorted(
                stream_id
                for (k, c, stream_id) in self._data.streams
                if k == kind and c == company and (after is None or stream_id > after)
            )
        items = tuple(ids[:limit])
        return Page(items=items, next_cursor=items[-1] if len(ids) > limit else None)

    def iter_stream_records(
        self,
        kind: str,
        *,
        company_id: str | None = None,
        after_position: int = 0,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredStreamRecord]]:
        """Every record of ``kind`` of the company (all, for an admin) after a position."""
        only = check_stream_read(
            self.tenant,
            kind,
            company_id,
            after_position=after_position,
            batch_size=batch_size,
            every_company=True,
        )
        position = after_position
        while True:
            batch: list[StoredStreamRecord] = []
            with self._data.lock:
                log = self._data.stream_log.get(kind, [])
                while position < len(log) and len(batch) < batch_size:
                    stream_id, company, record = log[position]
                    position += 1
                    if only is None or company == only:
                        batch.append(
                            StoredStreamRecord(
                                position=position,
                                stream_id=stream_id,
                                company_id=company,
                                record=record,
                            )
                        )
            if not batch:
                return
            yield batch

    def rewrite_stream(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        records: Sequence[StreamRecord],
        expected_version: int,
    ) -> None:
        """Replace stored documents in place (erasure); see ``AggregateStreams.rewrite_stream``."""
        batch = list(records)
        check_stream_write(
            self.tenant, kind, stream_id, company_id, batch, expected_version, rewrite=True
        )
        data = self._data
        with data.lock:
            stored = self._checked_stream(kind, stream_id, company_id, expected_version)
            for index, record in enumerate(batch):
                old = stored[record.version - 1]
                if old.type != record.type:
                    raise ValidationError.single(
                        f"$.records[{index}].type",
                        f"version {record.version} is a {old.type!r}, not a {record.type!r}",
                        subject="rewrite_stream",
                    )
            # Every check passed: only the documents change (versions, types, times stay).
            replaced = {
                r.version: attrs.evolve(stored[r.version - 1], document=r.document) for r in batch
            }
            stored[:] = [replaced.get(r.version, r) for r in stored]
            log = data.stream_log[kind]
            for index, (sid, company, record) in enumerate(log):
                if sid == stream_id and company == company_id and record.version in replaced:
                    log[index] = (sid, company, replaced[record.version])

    def close(self) -> None:
        """Nothing to release; the data stays while other views use it."""


def open_memory_store(url: str, *, tenant: str | None) -> MemoryStore:
    """The factory of ``memory://`` (a fresh store) and ``memory://name`` (a shared data set)."""
    parts = urlsplit(url)
    name = (parts.netloc + parts.path).strip("/")
    if not name:
        return MemoryStore(tenant=tenant)
    with _NAMED_LOCK:
        data = _NAMED.setdefault(name, _Data())
    return MemoryStore(tenant=tenant, data=data)
