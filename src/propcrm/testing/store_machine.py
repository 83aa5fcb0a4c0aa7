"""A Hypothesis state machine that drives any store and the memory store alike, and compares them.

Each run opens a fresh data set of the store under test and a fresh :class:`MemoryStore` (the
reference), then applies the same random operations to both: intakes (some reusing an intake
key, some written through another tenant's store), appends with the right or a stale version,
reads and queries through tenant-scoped and admin stores, intake-key lookups and the global
event stream; and, when the store keeps aggregate streams, appends (right, stale or ahead
versions, one id under two companies), reads and listings naming a company or not (an admin
store must), the order per kind and rewrites. Every
outcome must match: the same values, or the same error type (and, for conflicts, the same
reported version).

Example::

    from propcrm.testing.store_machine import store_machine

    def open_stores():
        root = MyStore()
        return root.for_tenant, root.close

    TestMyStoreMachine = store_machine(open_stores).TestCase
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from propcrm.errors import ConcurrencyError, DuplicateIntakeError, PropcrmError
from propcrm.model import TicketKind, TicketStatus
from propcrm.stores import AggregateStreams, Store, TicketQuery
from propcrm.stores.memory import MemoryStore
from propcrm.testing.store_contract import T0, MakeStore, act, receive, stream_records
from propcrm.testing.strategies import st_command_for

__all__ = ["OpenStores", "store_machine"]

#: Opens a fresh, empty data set of the store under test: ``(make_store, close)``.
OpenStores = Callable[[], tuple[MakeStore, Callable[[], None]]]

_TENANTS = ("c1", "c2")
_KEYS = ("k1", "k2", "k3")
_KINDS = ("delivery_batch", "customer_archive")
_STREAMS = ("S1", "S2", "s1", "批次")


def _outcome(function: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", what)`` for a comparison across stores."""
    try:
        return "ok", function()
    except DuplicateIntakeError as exc:
        return "error", ("DuplicateIntakeError", exc.existing_ticket_id)
    except ConcurrencyError as exc:
        return "error", ("ConcurrencyError", exc.actual_version)
    except PropcrmError as exc:
        kinds = ("NotFoundError", "PermissionDeniedError", "ValidationError", "StoreError")
        for cls in type(exc).__mro__:
            if cls.__name__ in kinds:
                return "error", (cls.__name__,)
        return "error", (type(exc).__name__,)


def _all_pages(store: Store, query: TicketQuery) -> list[list[str]]:
    pages = []
    cursor = None
    while True:
        page = store.query(attrs.evolve(query, after=cursor))
        pages.append([t.ticket_id for t in page.items])
        cursor = page.next_cursor
        if cursor is None or len(pages) > 1000:
            return pages


def _queries() -> st.SearchStrategy[TicketQuery]:
    instants = st.integers(min_value=-2, max_value=200).map(lambda h: T0 + timedelta(hours=h))
    return st.builds(
        TicketQuery,
        statuses=st.frozensets(
            st.sampled_from([TicketStatus.RECEIVED, TicketStatus.DISPATCHED, TicketStatus.CLOSED]),
            max_size=2,
        ),
        kinds=st.frozensets(st.sampled_from(list(TicketKind)), max_size=2),
        category_prefix=st.none() | st.sampled_from(["Q", "Q.WP", "S.CL.01"]),
        project_ids=st.frozensets(st.sampled_from(["p1", "p2"]), max_size=1),
        org_unit=st.none() | st.sampled_from(["c1", "c2", "p1", "g1"]),
        received_from=st.none() | instants,
        updated_before=st.none() | instants,
        assignee=st.none() | st.sampled_from(["w1", "w2"]),
        overdue_at=st.none() | instants,
        limit=st.integers(min_value=1, max_value=4),
    )


def store_machine(open_stores: OpenStores) -> type[RuleBasedStateMachine]:
    """A state machine class comparing the store ``open_stores`` opens with the memory store.

    Args:
        open_stores: Called once per run; returns ``(make_store, close)`` over a fresh, empty
            data set, where ``make_store(tenant)`` opens a view scoped to ``tenant``.

    Returns:
        A ``RuleBasedStateMachine`` subclass; its ``TestCase`` attribute is a test to collect.
    """

    class StoreComparison(RuleBasedStateMachine):
        tickets = Bundle("tickets")

        def __init__(self) -> None:
            super().__init__()
            make_store, self._close = open_stores()
            reference = MemoryStore()
            views = (None, *_TENANTS)
            self.reference = {t: reference.for_tenant(t) for t in views}
            self.subject = {t: make_store(t) for t in views}
            self.count = 0

        def teardown(self) -> None:
            self._close()

        def _both(self, tenant: str | None, call: Callable[[Store], Any]) -> Any:
            expected = _outcome(lambda: call(self.reference[tenant]))
            actual = _outcome(lambda: call(self.subject[tenant]))
            assert actual == expected, f"store gave {actual!r}, the memory store {expected!r}"
            return expected

        @rule(
            target=tickets,
            company=st.sampled_from(_TENANTS),
            writer=st.sampled_from((None, *_TENANTS)),
            key=st.none() | st.sampled_from(_KEYS),
            hours=st.integers(min_value=0, max_value=96),
            kind=st.sampled_from(list(TicketKind)),
            project=st.sampled_from(["p1", "p2"]),
            category=st.none() | st.sampled_from(["Q.WP.08", "Q.EL.01", "S.CL.01"]),
            due_hours=st.none() | st.integers(min_value=0, max_value=120),
        )
        def intake(
            self,
            company: str,
            writer: str | None,
            key: str | None,
            hours: int,
            kind: TicketKind,
            project: str,
            category: str | None,
            due_hours: int | None,
        ) -> str:
            self.count += 1
            ticket_id = f"t{self.count}"
            at = T0 + timedelta(hours=hours)
            ticket, events = receive(
                ticket_id,
                company=company,
                project=project,
                at=at,
                kind=kind,
                key=key,
                category=category,
                group="g1",
            )
            due = None if due_hours is None else at + timedelta(hours=due_hours)
            self._both(writer, lambda s: s.save(ticket, events, 0, due_at=due))
            return ticket_id

        @rule(
            ticket_id=tickets,
            data=st.data(),
            stale=st.booleans(),
            writer=st.sampled_from((None, *_TENANTS)),
            minutes=st.integers(min_value=0, max_value=600),
            due_hours=st.none() | st.integers(min_value=0, max_value=120),
        )
        def append(
            self,
            ticket_id: str,
            data: st.DataObject,
            stale: bool,
            writer: str | None,
            minutes: int,
            due_hours: int | None,
        ) -> None:
            status, ticket = _outcome(lambda: self.reference[None].get(ticket_id))
            if status != "ok":
                return  # the intake was refused; nothing to append to
            command = data.draw(st_command_for(ticket_id))
            at = ticket.updated_at + timedelta(minutes=minutes)
            try:
                new, events = act(ticket, command, at)
            except PropcrmError:
                return  # the lifecycle refused the command
            expected_version = ticket.version - 1 if stale else ticket.version
            if stale and expected_version == 0:
                expected_version = 5
            due = None if due_hours is None else at + timedelta(hours=due_hours)
            self._both(writer, lambda s: s.save(new, events, expected_version, due_at=due))

        @rule(
            ticket_id=tickets,
            reader=st.sampled_from((None, *_TENANTS)),
            after=st.integers(min_value=0, max_value=4),
        )
        def read(self, ticket_id: str, reader: str | None, after: int) -> None:
            self._both(reader, lambda s: s.get(ticket_id))
            self._both(reader, lambda s: s.events(ticket_id, after_version=after))

        @rule(reader=st.sampled_from((None, *_TENANTS)), query=_queries())
        def query(self, reader: str | None, query: TicketQuery) -> None:
            self._both(reader, lambda s: _all_pages(s, query))

        @rule(reader=st.sampled_from((None, *_TENANTS)), key=st.sampled_from(_KEYS))
        def intake_key(self, reader: str | None, key: str) -> None:
            self._both(reader, lambda s: s.ticket_for_intake_key(key))

        @rule(
            reader=st.sampled_from((None, *_TENANTS)),
            batch=st.integers(min_value=1, max_value=5),
        )
        def stream(self, reader: str | None, batch: int) -> None:
            def run(store: Store) -> tuple[list[Any], list[int]]:
                batches = list(store.iter_events(batch_size=batch))
                positions = [s.position for b in batches for s in b]
                assert positions == sorted(set(positions)), "positions must strictly increase"
                return [s.event for b in batches for s in b], [len(b) for b in batches]

            self._both(reader, run)

        # -- aggregate streams (when the store keeps them) ------------------------------------

        def _streams_both(self, tenant: str | None, call: Callable[[AggregateStreams], Any]) -> Any:
            subject = self.subject[tenant]
            if not isinstance(subject, AggregateStreams):
                return None
            return self._both(tenant, call)  # type: ignore[arg-type]

        @rule(
            kind=st.sampled_from(_KINDS),
            stream_id=st.sampled_from(_STREAMS),
            company=st.sampled_from(_TENANTS),
            writer=st.sampled_from((None, *_TENANTS)),
            offset=st.sampled_from((0, 0, 0, -1, 1)),
            count=st.integers(min_value=1, max_value=3),
            hours=st.integers(min_value=0, max_value=48),
        )
        def stream_append(
            self,
            kind: str,
            stream_id: str,
            company: str,
            writer: str | None,
            offset: int,
            count: int,
            hours: int,
        ) -> None:
            reference = self.reference[None]
            version = len(reference.read_stream(kind, stream_id, company_id=company))
            expected = max(version + offset, 0)
            records = stream_records(
                expected + 1, count, at=T0 + timedelta(hours=hours), stream=stream_id
            )
            self._streams_both(
                writer, lambda s: s.append_stream(kind, stream_id, company, records, expected)
            )

        @rule(
            kind=st.sampled_from(_KINDS),
            stream_id=st.sampled_from(_STREAMS),
            reader=st.sampled_from((None, *_TENANTS)),
            company=st.sampled_from((None, *_TENANTS)),
            after=st.integers(min_value=0, max_value=4),
        )
        def stream_read(
            self, kind: str, stream_id: str, reader: str | None, company: str | None, after: int
        ) -> None:
            self._streams_both(
                reader, lambda s: s.read_stream(kind, stream_id, after, company_id=company)
            )

        @rule(
            kind=st.sampled_from(_KINDS),
            reader=st.sampled_from((None, *_TENANTS)),
            company=st.sampled_from((None, *_TENANTS)),
            limit=st.integers(min_value=1, max_value=3),
            batch=st.integers(min_value=1, max_value=4),
        )
        def stream_list(
            self, kind: str, reader: str | None, company: str | None, limit: int, batch: int
        ) -> None:
            def pages(store: AggregateStreams) -> list[tuple[str, ...]]:
                found: list[tuple[str, ...]] = []
                cursor = None
                while len(found) < 100:
                    page = store.stream_ids(kind, company_id=company, after=cursor, limit=limit)
                    found.append(page.items)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                return found

            def records(store: AggregateStreams) -> tuple[list[Any], list[int]]:
                batches = list(
                    store.iter_stream_records(kind, company_id=company, batch_size=batch)
                )
                positions = [s.position for b in batches for s in b]
                assert positions == sorted(set(positions)), "positions must strictly increase"
                # Positions are the store's own numbers: compare what they order.
                return (
                    [(s.stream_id, s.company_id, s.record) for b in batches for s in b],
                    [len(b) for b in batches],
                )

            self._streams_both(reader, pages)
            self._streams_both(reader, records)

        @rule(
            kind=st.sampled_from(_KINDS),
            stream_id=st.sampled_from(_STREAMS),
            company=st.sampled_from(_TENANTS),
            writer=st.sampled_from((None, *_TENANTS)),
            stale=st.booleans(),
            data=st.data(),
        )
        def stream_rewrite(
            self,
            kind: str,
            stream_id: str,
            company: str,
            writer: str | None,
            stale: bool,
            data: st.DataObject,
        ) -> None:
            stored = self.reference[None].read_stream(kind, stream_id, company_id=company)
            if not stored:
                return
            chosen = data.draw(st.sets(st.sampled_from(stored), min_size=1))
            blanked = [
                attrs.evolve(r, document=f'{{"redacted": {r.version}}}')
                for r in sorted(chosen, key=lambda r: r.version)
            ]
            expected = len(stored) - 1 if stale else len(stored)
            self._streams_both(
                writer, lambda s: s.rewrite_stream(kind, stream_id, company, blanked, expected)
            )

        @invariant()
        def same_tickets_for_the_admin(self) -> None:
            self._both(None, lambda s: _all_pages(s, TicketQuery(limit=50)))

    StoreComparison.__name__ = StoreComparison.__qualname__ = "StoreComparison"
    return StoreComparison
