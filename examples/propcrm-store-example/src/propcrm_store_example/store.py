"""``JsonFileStore``: a whole propcrm data set in one JSON file.

Reads are served from memory; every write checks the contract's rules with the helpers propcrm
ships (:mod:`propcrm.stores.helpers`), changes the in-memory copy and rewrites the file
atomically (a temporary file, then ``os.replace``), so a crash leaves the old file or the new
one, never half of each. One process only: there is no file locking.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from propcrm.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from propcrm.model import CustomerRef, OrgTree, OrgUnit, Ticket
from propcrm.stores import Page, StoredEvent, TicketQuery
from propcrm.stores import helpers as h
from propcrm.workflow import Event

__all__ = ["JsonFileStore", "open_jsonfile_store"]


class _File:
    """The data set of one file, shared by the tenant views over it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.tickets: dict[str, tuple[Ticket, datetime | None]] = {}
        self.log: list[tuple[str, Event]] = []
        self.customers: dict[tuple[str, str], CustomerRef] = {}
        self.units: dict[str, tuple[OrgUnit, str | None]] = {}
        if path.exists():
            self._load(json.loads(path.read_text(encoding="utf-8")))

    def _load(self, raw: dict[str, Any]) -> None:
        for ticket_id, row in raw["tickets"].items():
            due = datetime.fromisoformat(row["due_at"]) if row["due_at"] else None
            self.tickets[ticket_id] = (h.load_ticket(row["ticket"], ticket_id), due)
        for position, (company, ticket_id, text) in enumerate(raw["events"], start=1):
            self.log.append((company, h.load_event(text, ticket_id=ticket_id, position=position)))
        for company, customer_id, text in raw["customers"]:
            self.customers[(company, customer_id)] = h.load_customer(text, customer_id)
        for unit_id, company, text in raw["units"]:
            self.units[unit_id] = (h.load_org_unit(text, unit_id), company)

    def flush(self) -> None:
        raw = {
            "tickets": {
                ticket_id: {"ticket": h.dump_ticket(t), "due_at": due.isoformat() if due else None}
                for ticket_id, (t, due) in self.tickets.items()
            },
            "events": [(co, e.ticket_id, h.dump_event(e)) for co, e in self.log],
            "customers": [(co, cid, h.dump_customer(c)) for (co, cid), c in self.customers.items()],
            "units": [(uid, co, h.dump_org_unit(u)) for uid, (u, co) in self.units.items()],
        }
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(raw, out, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc}") from exc


class JsonFileStore:
    """The propcrm store contract over one JSON file.

    Args:
        path: The file (created on the first write).
        tenant: The company id this store sees; ``None`` for an admin store.
    """

    def __init__(self, path: str | Path, *, tenant: str | None = None, _file: _File | None = None):
        self.tenant = tenant
        self._f = _file or _File(Path(path))

    def for_tenant(self, tenant: str | None) -> JsonFileStore:
        """A view of the same file scoped to ``tenant``."""
        return JsonFileStore(self._f.path, tenant=tenant, _file=self._f)

    def _mine(self, company: str | None) -> bool:
        return self.tenant is None or company == self.tenant

    def save(
        self,
        ticket: Ticket,
        new_events: Sequence[Event],
        expected_version: int,
        *,
        due_at: datetime | None = None,
    ) -> None:
        """Append the events and store the ticket, or raise and change nothing."""
        events = list(new_events)
        h.check_save(ticket, events, expected_version)
        h.check_tenant(self.tenant, ticket)
        if due_at is not None and due_at.utcoffset() is None:
            raise ValidationError.single("$.due_at", "naive datetime refused")
        company, f = ticket.scope.company_id, self._f
        with f.lock:
            stored = f.tickets.get(ticket.ticket_id)
            actual: int | None = 0 if stored is None else stored[0].version
            if stored is not None and stored[0].scope.company_id != company:
                if self.tenant is None:
                    raise ValidationError.single("$.ticket.scope.company_id", "cannot move")
                actual = None  # another tenant's ticket: reveal nothing
            if actual != expected_version:
                raise ConcurrencyError(
                    ticket_id=ticket.ticket_id,
                    expected_version=expected_version,
                    actual_version=actual,
                )
            key = ticket.idempotency_key
            if expected_version == 0 and key is not None:
                for other, _ in f.tickets.values():
                    if other.scope.company_id == company and other.idempotency_key == key:
                        raise DuplicateIntakeError(
                            ticket_id=ticket.ticket_id,
                            idempotency_key=key,
                            existing_ticket_id=other.ticket_id,
                        )
            f.tickets[ticket.ticket_id] = (ticket, due_at)
            f.log.extend((company, e) for e in events)
            f.flush()

    def get(self, ticket_id: str) -> Ticket:
        """The ticket; ``NotFoundError`` when absent or another tenant's."""
        found = self._f.tickets.get(ticket_id)
        if found is None or not self._mine(found[0].scope.company_id):
            raise NotFoundError("ticket", ticket_id)
        return found[0]

    def events(self, ticket_id: str, after_version: int = 0) -> list[Event]:
        """The ticket's events after ``after_version``."""
        self.get(ticket_id)
        with self._f.lock:
            return [
                e for _, e in self._f.log if e.ticket_id == ticket_id and e.sequence > after_version
            ]

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """One page of matching tickets, in ``(received_at, ticket_id)`` order."""
        after = h.decode_cursor(query.after) if query.after else None
        with self._f.lock:
            found = sorted(
                (
                    t
                    for t, due in self._f.tickets.values()
                    if self._mine(t.scope.company_id)
                    and h.ticket_matches(query, t, due)
                    and (after is None or h.sort_key(t) > after)
                ),
                key=h.sort_key,
            )
        items = tuple(found[: query.limit])
        more = len(found) > query.limit
        cursor = h.encode_cursor(items[-1].received_at, items[-1].ticket_id) if more else None
        return Page(items=items, next_cursor=cursor)

    def iter_events(
        self, *, after_position: int = 0, batch_size: int = 10_000
    ) -> Iterator[list[StoredEvent]]:
        """The tenant's events in file order, in batches."""
        h.check_batch_size(batch_size)
        batch: list[StoredEvent] = []
        for position in range(max(after_position, 0) + 1, len(self._f.log) + 1):
            company, event = self._f.log[position - 1]
            if self._mine(company):
                batch.append(StoredEvent(position=position, event=event))
                if len(batch) == batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def ticket_for_intake_key(self, idempotency_key: str) -> str | None:
        """The ticket an intake key made within the tenant."""
        found = sorted(
            (t.scope.company_id, t.ticket_id)
            for t, _ in self._f.tickets.values()
            if t.idempotency_key == idempotency_key and self._mine(t.scope.company_id)
        )
        return found[0][1] if found else None

    def save_org_units(self, units: Iterable[OrgUnit]) -> None:
        """Insert or replace org units (a tenant writes only its own company's)."""
        batch, f = list(units), self._f
        with f.lock:
            companies = h.unit_companies(batch, {k: (u.level, c) for k, (u, c) in f.units.items()})
            h.check_unit_tenant(self.tenant, batch, companies, f.units)
            merged = {**f.units, **{u.id: (u, c) for u, c in zip(batch, companies, strict=True)}}
            OrgTree.from_units(u for u, _ in merged.values())
            f.units = merged
            f.flush()

    def org_tree(self) -> OrgTree:
        """The org units the tenant sees."""
        return OrgTree.from_units(h.visible_units(list(self._f.units.values()), self.tenant))

    def save_customer(self, customer: CustomerRef) -> None:
        """Insert or replace a customer of the tenant."""
        if not isinstance(customer, CustomerRef):
            raise ValidationError.single("$", "expected a CustomerRef")
        with self._f.lock:
            self._f.customers[(self.tenant or "", customer.customer_id)] = customer
            self._f.flush()

    def get_customer(self, customer_id: str) -> CustomerRef:
        """A customer of the tenant (an admin store looks in every tenant)."""
        found = sorted(
            (co, c)
            for (co, cid), c in self._f.customers.items()
            if cid == customer_id and (self.tenant is None or co == self.tenant)
        )
        if not found:
            raise NotFoundError("customer", customer_id)
        return found[0][1]

    def close(self) -> None:
        """Nothing to release: every write is already on disk."""


def open_jsonfile_store(url: str, *, tenant: str | None) -> JsonFileStore:
    """The factory of ``jsonfile:///path/to/file.json``."""
    path = urlsplit(url).path
    if not path:
        raise ValidationError.single("$.url", f"{url!r} names no file")
    return JsonFileStore(path, tenant=tenant)
