"""The store conformance suite: pytest base classes any store subclasses to prove the contract.

A store author overrides one fixture, ``make_store``, which returns a function opening stores
over **one fresh, empty data set** for the test: ``make_store("c1")`` a store scoped to company
``c1``, ``make_store(None)`` an admin store seeing every tenant. Every store a test opens through
it must see the same data::

    import pytest
    from propcrm.testing.store_contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            root = MyStore(tmp_path / "data")
            yield root.for_tenant
            root.close()

The suite then runs every rule of :class:`propcrm.stores.Store` against it: atomic saves with
optimistic concurrency, the validation of writes, intake idempotency keys, tenant isolation,
every query filter with keyset paging, global event streaming in bounded batches, customers and
org units. Tests name the rule they check; a failure says which promise the store broke.

The suite needs pytest and Hypothesis (extra ``testing``); nothing in propcrm imports it.
"""

# ruff: noqa: D102 - each test method is named after the contract rule it checks; the name is its
# documentation, and the module docstring says how to use the suite.
from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from propcrm.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from propcrm.model import (
    Actor,
    Channel,
    CustomerRef,
    OrgLevel,
    OrgScope,
    OrgUnit,
    Role,
    Ticket,
    TicketKind,
    TicketStatus,
)
from propcrm.stores import (
    AggregateStreams,
    NotificationLedger,
    Store,
    StreamConcurrencyError,
    StreamRecord,
    TicketQuery,
)
from propcrm.testing.strategies import st_histories
from propcrm.workflow import Event, Lifecycle, replay
from propcrm.workflow import commands as c
from propcrm.workflow.events import TicketReceived

__all__ = [
    "T0",
    "MakeStore",
    "StoreContract",
    "act",
    "receive",
    "renamed_history",
    "stream_records",
]

#: Opens a store over the test's data set, scoped to a tenant (``None``: admin).
MakeStore = Callable[[str | None], Store]

#: The first intake instant of the suite's tickets.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
_ACTOR = Actor(id="agent-1", role=Role.SUPERVISOR)
_LIFECYCLE = Lifecycle()
_SHANGHAI = ZoneInfo("Asia/Shanghai")
_RUN = uuid.uuid4().hex[:8]
_COUNTER = itertools.count(1)


def receive(
    ticket_id: str,
    *,
    company: str = "c1",
    project: str = "p1",
    at: datetime = T0,
    kind: TicketKind = TicketKind.REPAIR,
    key: str | None = None,
    category: str | None = None,
    centre: str | None = None,
    group: str | None = None,
    reporter: CustomerRef | None = None,
) -> tuple[Ticket, list[Event]]:
    """A new ticket and its intake event, made by the lifecycle."""
    command = c.ReceiveTicket(
        ticket_id=ticket_id,
        kind=kind,
        channel=Channel.HOTLINE,
        scope=OrgScope(
            company_id=company, project_id=project, group_id=group, service_centre_id=centre
        ),
        description="卫生间渗水 water seeping in the bathroom",
        category_code=category,
        reporter=reporter,
        idempotency_key=key,
    )
    return _LIFECYCLE.execute(None, command, now=at, actor=_ACTOR)


def act(ticket: Ticket, command: c.Command, at: datetime) -> tuple[Ticket, list[Event]]:
    """The ticket after ``command`` at ``at``, and the events it made."""
    return _LIFECYCLE.execute(ticket, command, now=at, actor=_ACTOR)


def renamed_history(events: list[Event], ticket_id: str) -> list[Event]:
    """The same history under another ticket id (and a unique intake key, if it had one)."""
    renamed = []
    for event in events:
        payload = event.payload
        if isinstance(payload, TicketReceived) and payload.idempotency_key is not None:
            payload = attrs.evolve(payload, idempotency_key=f"{ticket_id}-key")
        renamed.append(
            attrs.evolve(
                event,
                ticket_id=ticket_id,
                event_id=f"{ticket_id}/{event.sequence}",
                payload=payload,
            )
        )
    return renamed


def stream_records(
    first: int, count: int, *, at: datetime = T0, stream: str = "B1"
) -> list[StreamRecord]:
    """``count`` stream records numbered from ``first``, an hour apart, with distinct documents.

    The documents hold non-ASCII text and personal-looking data, which stores keep as written.
    """
    return [
        StreamRecord(
            version=version,
            type="unit_inspected" if version % 2 else "defect_found",
            occurred_at=at + timedelta(hours=version),
            document=json.dumps(
                {
                    "stream": stream,
                    "sequence": version,
                    "note": f"第{version}次 验房 🏠",
                    "phone": "13812345678",
                },
                ensure_ascii=False,
            ),
        )
        for version in range(first, first + count)
    ]


def _imaginary(instant: datetime) -> bool:
    """Whether a wall time falls in a DST gap: it names no real instant, so no store can keep it.

    A time in a fold (it names two instants) is real; the round trip compares it as a UTC
    instant (:func:`_in_utc`), since Python (PEP 495) compares it unequal to every datetime of
    another zone, even the same instant in UTC.
    """
    zone = instant.tzinfo
    if zone is None:
        return False
    back = instant.astimezone(timezone.utc).astimezone(zone)
    return back.replace(tzinfo=None) != instant.replace(tzinfo=None)


def _in_utc(value: Any) -> Any:
    """``value`` with every aware datetime in it moved to UTC (the same instants).

    Looks inside attrs values, tuples, lists, frozensets and dicts, so values compare by instant
    whatever their zone or fold.
    """
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo is not None else value
    if attrs.has(type(value)):
        changes = {
            field.alias: _in_utc(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if field.init
        }
        return attrs.evolve(value, **changes)
    if isinstance(value, tuple | list | frozenset):
        return type(value)(_in_utc(item) for item in value)
    if isinstance(value, dict):
        return {key: _in_utc(item) for key, item in value.items()}
    return value


def _unique(stem: str) -> str:
    return f"{stem}-{_RUN}-{next(_COUNTER)}"


class StoreContract:
    """The conformance suite. Subclass it and override :meth:`make_store`.

    Every test gets a fresh, empty data set through ``make_store``; stores opened through it for
    different tenants must see the same data set.
    """

    @pytest.fixture
    def make_store(self) -> MakeStore:
        """Override: return (or yield) a function opening stores over one fresh data set."""
        raise NotImplementedError("a StoreContract subclass must override the make_store fixture")

    @pytest.fixture
    def store(self, make_store: MakeStore) -> Store:
        """The test's store scoped to tenant ``c1``."""
        return make_store("c1")

    @pytest.fixture
    def admin(self, make_store: MakeStore) -> Store:
        """The test's admin store (all tenants)."""
        return make_store(None)

    # -- save and read back --------------------------------------------------------------

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert store.tenant == "c1"

    def test_new_ticket_reads_back(self, store: Store) -> None:
        ticket, events = receive("t1")
        store.save(ticket, events, 0)
        assert store.get("t1") == ticket
        assert store.events("t1") == events

    def test_appended_events_read_back_in_order(self, store: Store) -> None:
        ticket, first = receive("t1")
        store.save(ticket, first, 0)
        ticket2, more = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        ticket3, last = act(ticket2, c.AcceptTicket(ticket_id="t1"), T0 + timedelta(hours=1))
        store.save(ticket3, more + last, 1)
        assert store.get("t1") == ticket3
        assert store.get("t1").version == 3
        assert store.events("t1") == first + more + last
        assert store.events("t1", after_version=1) == more + last
        assert store.events("t1", after_version=3) == []

    def test_unknown_ticket_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.get("nope")
        with pytest.raises(NotFoundError):
            store.events("nope")

    def test_personal_data_is_kept(self, store: Store) -> None:
        owner = CustomerRef(
            customer_id="o1", name="张伟", phone="13800138000", id_number="110101199001011234"
        )
        ticket, events = receive("t1", reporter=owner)
        store.save(ticket, events, 0)
        assert store.get("t1").reporter == owner
        payload = store.events("t1")[0].payload
        assert isinstance(payload, TicketReceived)
        assert payload.reporter == owner

    def test_times_keep_their_instant_across_time_zones(self, store: Store) -> None:
        at = datetime(2026, 3, 2, 23, 30, 15, 123456, tzinfo=_SHANGHAI)
        ticket, events = receive("t1", at=at)
        store.save(ticket, events, 0)
        back = store.get("t1")
        assert back.received_at == at
        assert back.received_at.utcoffset() is not None
        assert store.events("t1")[0].occurred_at == at

    def test_due_at_is_optional_and_naive_refused(self, store: Store) -> None:
        ticket, events = receive("t1")
        with pytest.raises(ValidationError):
            store.save(ticket, events, 0, due_at=datetime(2026, 3, 3))
        with pytest.raises(NotFoundError):
            store.get("t1")

    # -- optimistic concurrency -----------------------------------------------------------

    def test_stale_version_is_a_conflict_and_writes_nothing(self, store: Store) -> None:
        ticket, first = receive("t1")
        store.save(ticket, first, 0)
        ticket2, more = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        store.save(ticket2, more, 1)
        # A second writer that also read version 1 decides something else.
        other, others = act(ticket, c.RespondToCustomer(ticket_id="t1", message="hi"), T0)
        with pytest.raises(ConcurrencyError) as info:
            store.save(other, others, 1)
        assert info.value.expected_version == 1
        assert info.value.actual_version == 2
        assert store.get("t1") == ticket2
        assert store.events("t1") == first + more

    def test_creating_an_existing_ticket_is_a_conflict(self, store: Store) -> None:
        ticket, events = receive("t1")
        store.save(ticket, events, 0)
        again, again_events = receive("t1", at=T0 + timedelta(minutes=5))
        with pytest.raises(ConcurrencyError) as info:
            store.save(again, again_events, 0)
        assert not isinstance(info.value, DuplicateIntakeError)
        assert info.value.actual_version == 1
        assert store.get("t1") == ticket

    def test_expected_version_ahead_is_a_conflict(self, store: Store) -> None:
        ticket, events = receive("t1")
        store.save(ticket, events, 0)
        t2, _e2 = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        t3, e3 = act(t2, c.AcceptTicket(ticket_id="t1"), T0)
        with pytest.raises(ConcurrencyError):
            store.save(t3, e3, 2)
        assert store.events("t1") == events

    def test_appending_to_a_missing_ticket_is_a_conflict(self, store: Store) -> None:
        ticket, _events = receive("t1")
        t2, e2 = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        with pytest.raises(ConcurrencyError) as info:
            store.save(t2, e2, 1)
        assert info.value.actual_version in (0, None)
        with pytest.raises(NotFoundError):
            store.get("t1")

    # -- validation of writes ------------------------------------------------------------

    def test_gap_in_sequence_is_refused(self, store: Store) -> None:
        ticket, events = receive("t1")
        store.save(ticket, events, 0)
        t2, _e2 = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        t3, e3 = act(t2, c.AcceptTicket(ticket_id="t1"), T0)
        with pytest.raises(ValidationError) as info:
            store.save(t3, e3, 1)  # skips event 2
        assert "$.new_events[0].sequence" in info.value.paths
        assert store.get("t1") == ticket

    def test_event_of_another_ticket_is_refused(self, store: Store) -> None:
        ticket, _events = receive("t1")
        _, foreign = receive("t2")
        with pytest.raises(ValidationError) as info:
            store.save(ticket, foreign, 0)
        assert "$.new_events[0].ticket_id" in info.value.paths
        with pytest.raises(NotFoundError):
            store.get("t1")

    def test_ticket_must_be_at_the_last_events_version(self, store: Store) -> None:
        ticket, events = receive("t1")
        store.save(ticket, events, 0)
        _t2, e2 = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        with pytest.raises(ValidationError) as info:
            store.save(ticket, e2, 1)  # the old ticket with the new event
        assert "$.ticket.version" in info.value.paths
        assert store.events("t1") == events

    def test_new_ticket_must_be_the_fold_of_its_events(self, store: Store) -> None:
        ticket, events = receive("t1")
        with pytest.raises(ValidationError):
            store.save(attrs.evolve(ticket, description="changed"), events, 0)
        with pytest.raises(NotFoundError):
            store.get("t1")

    def test_new_ticket_must_start_with_intake(self, store: Store) -> None:
        ticket, _events = receive("t1")
        t2, e2 = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        shifted = [attrs.evolve(e2[0], sequence=1, event_id="t1/1")]
        with pytest.raises(ValidationError):
            store.save(attrs.evolve(t2, version=1), shifted, 0)

    def test_empty_events_are_refused(self, store: Store) -> None:
        ticket, _ = receive("t1")
        with pytest.raises(ValidationError) as info:
            store.save(ticket, [], 0)
        assert "$.new_events" in info.value.paths

    def test_negative_expected_version_is_refused(self, store: Store) -> None:
        ticket, events = receive("t1")
        with pytest.raises(ValidationError) as info:
            store.save(ticket, events, -1)
        assert "$.expected_version" in info.value.paths

    # -- intake idempotency keys ---------------------------------------------------------

    def test_intake_key_finds_its_ticket(self, store: Store) -> None:
        ticket, events = receive("t1", key="hotline-42")
        store.save(ticket, events, 0)
        assert store.ticket_for_intake_key("hotline-42") == "t1"
        assert store.ticket_for_intake_key("hotline-43") is None

    def test_reused_intake_key_makes_no_second_ticket(self, store: Store) -> None:
        ticket, events = receive("t1", key="hotline-42")
        store.save(ticket, events, 0)
        dup, dup_events = receive("t2", key="hotline-42", at=T0 + timedelta(seconds=3))
        with pytest.raises(DuplicateIntakeError) as info:
            store.save(dup, dup_events, 0)
        assert info.value.existing_ticket_id == "t1"
        assert info.value.idempotency_key == "hotline-42"
        with pytest.raises(NotFoundError):
            store.get("t2")
        assert [s.event.ticket_id for b in store.iter_events() for s in b] == ["t1"]

    def test_intake_key_is_per_tenant(self, make_store: MakeStore) -> None:
        one, two = make_store("c1"), make_store("c2")
        t1, e1 = receive("t1", key="k", company="c1")
        t2, e2 = receive("t2", key="k", company="c2")
        one.save(t1, e1, 0)
        two.save(t2, e2, 0)
        assert one.ticket_for_intake_key("k") == "t1"
        assert two.ticket_for_intake_key("k") == "t2"
        assert make_store("c3").ticket_for_intake_key("k") is None

    def test_tickets_without_key_do_not_collide(self, store: Store) -> None:
        for ticket_id in ("t1", "t2", "t3"):
            ticket, events = receive(ticket_id)
            store.save(ticket, events, 0)
        assert len(store.query(TicketQuery()).items) == 3

    # -- tenant scope --------------------------------------------------------------------

    def test_saving_another_tenants_ticket_is_denied(self, store: Store) -> None:
        ticket, events = receive("t1", company="c2")
        with pytest.raises(PermissionDeniedError):
            store.save(ticket, events, 0)
        with pytest.raises(NotFoundError):
            store.get("t1")

    def test_another_tenants_ticket_is_not_found(self, make_store: MakeStore) -> None:
        ticket, events = receive("t2", company="c2", key="k2")
        make_store("c2").save(ticket, events, 0)
        mine = make_store("c1")
        with pytest.raises(NotFoundError):
            mine.get("t2")
        with pytest.raises(NotFoundError):
            mine.events("t2")
        assert mine.query(TicketQuery()).items == ()
        assert mine.ticket_for_intake_key("k2") is None
        assert list(mine.iter_events()) == []

    def test_another_tenants_ticket_id_is_a_conflict_that_reveals_nothing(
        self, make_store: MakeStore
    ) -> None:
        theirs, their_events = receive("t1", company="c2")
        make_store("c2").save(theirs, their_events, 0)
        mine, my_events = receive("t1", company="c1")
        with pytest.raises(ConcurrencyError) as info:
            make_store("c1").save(mine, my_events, 0)
        assert info.value.actual_version is None
        assert make_store("c2").get("t1") == theirs

    def test_admin_store_sees_every_tenant(self, make_store: MakeStore) -> None:
        for company in ("c1", "c2"):
            ticket, events = receive(f"t-{company}", company=company)
            make_store(company).save(ticket, events, 0)
        admin = make_store(None)
        assert admin.tenant is None
        assert {t.ticket_id for t in admin.query(TicketQuery()).items} == {"t-c1", "t-c2"}
        assert admin.get("t-c2").scope.company_id == "c2"
        assert len([s for b in admin.iter_events() for s in b]) == 2

    def test_admin_store_writes_any_tenant(self, make_store: MakeStore) -> None:
        ticket, events = receive("t1", company="c2")
        make_store(None).save(ticket, events, 0)
        assert make_store("c2").get("t1") == ticket
        with pytest.raises(NotFoundError):
            make_store("c1").get("t1")

    def test_a_ticket_cannot_move_to_another_company(self, admin: Store) -> None:
        ticket, events = receive("t1", company="c1")
        admin.save(ticket, events, 0)
        t2, e2 = act(ticket, c.DispatchTicket(ticket_id="t1", party="PM"), T0)
        moved = attrs.evolve(t2, scope=OrgScope(company_id="c2", project_id="p1"))
        with pytest.raises((ValidationError, ConcurrencyError)):
            admin.save(moved, e2, 1)
        assert admin.get("t1") == ticket

    # -- queries -------------------------------------------------------------------------

    def _portfolio(self, store: Store) -> dict[str, Ticket]:
        """Six tickets of c1 across projects, kinds, categories, assignees and states."""
        made: dict[str, Ticket] = {}
        specs = [
            ("a", "p1", TicketKind.REPAIR, "Q.WP.08", "ctr-1", 0),
            ("b", "p1", TicketKind.COMPLAINT, "S.CL.01", "ctr-1", 1),
            ("c", "p2", TicketKind.REPAIR, "Q.WP.01", "ctr-2", 2),
            ("d", "p2", TicketKind.INQUIRY, None, "ctr-2", 3),
            ("e", "p3", TicketKind.REPAIR, "Q.EL.02", None, 4),
            ("f", "p3", TicketKind.SUGGESTION, None, None, 5),
        ]
        for ticket_id, project, kind, category, centre, hours in specs:
            at = T0 + timedelta(hours=hours)
            ticket, events = receive(
                ticket_id,
                project=project,
                kind=kind,
                category=category,
                centre=centre,
                group="g1",
                at=at,
            )
            store.save(ticket, events, 0, due_at=at + timedelta(hours=4))
            made[ticket_id] = ticket
        # a and c dispatched (to PM / GC, assignees w1 / w2); e voided (not open).
        for ticket_id, party, worker in (("a", "PM", "w1"), ("c", "GC", "w2")):
            ticket = made[ticket_id]
            at = ticket.received_at + timedelta(minutes=30)
            new, events = act(
                ticket, c.DispatchTicket(ticket_id=ticket_id, party=party, assignee=worker), at
            )
            store.save(new, events, ticket.version, due_at=at + timedelta(days=1))
            made[ticket_id] = new
        ticket = made["e"]
        new, events = act(
            ticket,
            c.VoidTicket(ticket_id="e", reason="test call"),
            ticket.received_at + timedelta(minutes=1),
        )
        store.save(new, events, ticket.version, due_at=None)
        made["e"] = new
        return made

    @staticmethod
    def _ids(store: Store, **filters: object) -> list[str]:
        page = store.query(TicketQuery(**filters))  # type: ignore[arg-type]
        return [t.ticket_id for t in page.items]

    def test_query_all_in_received_order(self, store: Store) -> None:
        made = self._portfolio(store)
        page = store.query(TicketQuery())
        assert [t.ticket_id for t in page.items] == list("abcdef")
        assert page.items == tuple(made[i] for i in "abcdef")
        assert page.next_cursor is None

    def test_query_by_status(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(store, statuses=frozenset({TicketStatus.DISPATCHED})) == ["a", "c"]
        assert self._ids(store, statuses=frozenset({TicketStatus.VOIDED})) == ["e"]

    def test_query_by_kind(self, store: Store) -> None:
        self._portfolio(store)
        kinds = frozenset({TicketKind.COMPLAINT, TicketKind.INQUIRY})
        assert self._ids(store, kinds=kinds) == ["b", "d"]

    def test_query_by_category_prefix(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(store, category_prefix="Q.WP") == ["a", "c"]
        assert self._ids(store, category_prefix="Q.") == ["a", "c", "e"]
        assert self._ids(store, category_prefix="q.wp") == []  # case matters
        assert self._ids(store, category_prefix="Q.WP.08") == ["a"]

    def test_query_by_project(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(store, project_ids=frozenset({"p2", "p3"})) == ["c", "d", "e", "f"]

    def test_query_by_org_unit_at_every_level(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(store, org_unit="g1") == list("abcdef")
        assert self._ids(store, org_unit="c1") == list("abcdef")
        assert self._ids(store, org_unit="ctr-2") == ["c", "d"]
        assert self._ids(store, org_unit="p1") == ["a", "b"]
        assert self._ids(store, org_unit="elsewhere") == []

    def test_query_by_received_range(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(
            store,
            received_from=T0 + timedelta(hours=1),
            received_before=T0 + timedelta(hours=3),
        ) == ["b", "c"]
        # The same instants given in another time zone select the same tickets.
        assert self._ids(store, received_from=(T0 + timedelta(hours=4)).astimezone(_SHANGHAI)) == [
            "e",
            "f",
        ]

    def test_query_by_updated_range(self, store: Store) -> None:
        self._portfolio(store)
        # a was updated at T0+30min, c at T0+2h30, e at T0+4h01; the rest at intake.
        assert self._ids(
            store,
            updated_from=T0 + timedelta(minutes=30),
            updated_before=T0 + timedelta(hours=2, minutes=30),
        ) == ["a", "b"]
        assert self._ids(store, updated_from=T0 + timedelta(hours=4, minutes=1)) == ["e", "f"]

    def test_query_by_assignee_and_party(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(store, assignee="w2") == ["c"]
        assert self._ids(store, responsible_party="PM") == ["a"]
        assert self._ids(store, assignee="w1", responsible_party="GC") == []

    def test_query_overdue_uses_stored_due_at_of_open_tickets(self, store: Store) -> None:
        self._portfolio(store)
        # due: a +1d after dispatch, b +5h, c +1d, d +7h, e voided (None), f +9h.
        assert self._ids(store, overdue_at=T0 + timedelta(hours=8)) == ["b", "d"]
        assert self._ids(store, overdue_at=T0 + timedelta(days=3)) == ["a", "b", "c", "d", "f"]
        assert self._ids(store, overdue_at=T0) == []

    def test_query_filters_combine(self, store: Store) -> None:
        self._portfolio(store)
        assert self._ids(
            store, kinds=frozenset({TicketKind.REPAIR}), project_ids=frozenset({"p2"})
        ) == ["c"]
        assert (
            self._ids(
                store,
                kinds=frozenset({TicketKind.REPAIR}),
                statuses=frozenset({TicketStatus.RECEIVED}),
            )
            == []
        )

    def test_keyset_pages_cover_everything_once(self, store: Store) -> None:
        self._portfolio(store)
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = store.query(TicketQuery(limit=4, after=cursor))
            seen.extend(t.ticket_id for t in page.items)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == list("abcdef")
        assert pages == 2

    def test_exact_last_page_has_no_cursor(self, store: Store) -> None:
        self._portfolio(store)
        first = store.query(TicketQuery(limit=3))
        second = store.query(TicketQuery(limit=3, after=first.next_cursor))
        assert [t.ticket_id for t in second.items] == ["d", "e", "f"]
        assert second.next_cursor is None

    def test_pages_keep_their_place_when_earlier_tickets_arrive(self, store: Store) -> None:
        self._portfolio(store)
        first = store.query(TicketQuery(limit=2))
        late, events = receive("early", at=T0 - timedelta(days=1))
        store.save(late, events, 0)
        rest = store.query(TicketQuery(limit=10, after=first.next_cursor))
        assert [t.ticket_id for t in rest.items] == list("cdef")

    def test_same_instant_orders_by_ticket_id(self, store: Store) -> None:
        for ticket_id in ("t-b", "t-a", "t-c", "t-B"):
            ticket, events = receive(ticket_id)
            store.save(ticket, events, 0)
        ids = [t.ticket_id for t in store.query(TicketQuery()).items]
        assert ids == sorted(["t-b", "t-a", "t-c", "t-B"])
        first = store.query(TicketQuery(limit=1))
        second = store.query(TicketQuery(limit=1, after=first.next_cursor))
        assert [t.ticket_id for t in second.items] == [ids[1]]

    def test_received_order_is_by_instant_not_by_local_time(self, store: Store) -> None:
        # 08:00 in Shanghai is 00:00 UTC, earlier than 01:00 UTC.
        ticket, events = receive("late-utc", at=T0.replace(hour=1))
        store.save(ticket, events, 0)
        ticket, events = receive("early-sh", at=T0.replace(hour=8, tzinfo=_SHANGHAI))
        store.save(ticket, events, 0)
        assert self._ids(store) == ["early-sh", "late-utc"]

    def test_malformed_cursor_is_refused(self, store: Store) -> None:
        with pytest.raises(ValidationError) as info:
            store.query(TicketQuery(after="not-a-cursor"))
        assert "$.after" in info.value.paths

    def test_query_on_empty_store(self, store: Store) -> None:
        page = store.query(TicketQuery(statuses=frozenset({TicketStatus.RECEIVED})))
        assert page.items == ()
        assert page.next_cursor is None

    # -- the global event stream -----------------------------------------------------------

    def _three_tickets(self, store: Store) -> list[Event]:
        written: list[Event] = []
        tickets = {}
        for ticket_id in ("x", "y", "z"):
            ticket, events = receive(ticket_id)
            store.save(ticket, events, 0)
            tickets[ticket_id] = ticket
            written += events
        for ticket_id in ("y", "x"):
            ticket = tickets[ticket_id]
            new, events = act(ticket, c.DispatchTicket(ticket_id=ticket_id, party="PM"), T0)
            store.save(new, events, ticket.version)
            written += events
        return written

    def test_iter_events_in_write_order_with_increasing_positions(self, store: Store) -> None:
        written = self._three_tickets(store)
        stored = [s for batch in store.iter_events() for s in batch]
        assert [s.event for s in stored] == written
        positions = [s.position for s in stored]
        assert positions == sorted(set(positions))
        assert all(p > 0 for p in positions)

    def test_iter_events_batches_are_bounded(self, store: Store) -> None:
        written = self._three_tickets(store)
        batches = list(store.iter_events(batch_size=2))
        assert [len(b) for b in batches] == [2, 2, 1]
        assert [s.event for b in batches for s in b] == written

    def test_iter_events_resumes_after_a_position(self, store: Store) -> None:
        written = self._three_tickets(store)
        stored = [s for batch in store.iter_events() for s in batch]
        resumed = [s for b in store.iter_events(after_position=stored[1].position) for s in b]
        assert [s.event for s in resumed] == written[2:]
        assert list(store.iter_events(after_position=stored[-1].position)) == []

    def test_iter_events_refuses_a_bad_batch_size(self, store: Store) -> None:
        with pytest.raises(ValidationError):
            next(iter(store.iter_events(batch_size=0)))

    def test_iter_events_of_a_tenant_skip_others_and_keep_order(
        self, make_store: MakeStore
    ) -> None:
        one, two = make_store("c1"), make_store("c2")
        for index in range(3):
            for company, store in (("c1", one), ("c2", two)):
                ticket, events = receive(f"{company}-{index}", company=company)
                store.save(ticket, events, 0)
        mine = [s for b in one.iter_events(batch_size=2) for s in b]
        assert [s.event.ticket_id for s in mine] == ["c1-0", "c1-1", "c1-2"]
        everything = [s for b in make_store(None).iter_events() for s in b]
        assert len(everything) == 6
        assert [s.position for s in mine] == [
            s.position for s in everything if s.event.ticket_id.startswith("c1")
        ]

    # -- customers -----------------------------------------------------------------------

    def test_customer_reads_back_with_personal_data(self, store: Store) -> None:
        owner = CustomerRef(
            customer_id="o1", name="王芳", phone="13912345678", id_number="11010119900101123X"
        )
        store.save_customer(owner)
        assert store.get_customer("o1") == owner

    def test_customer_is_replaced(self, store: Store) -> None:
        store.save_customer(CustomerRef(customer_id="o1", name="王芳"))
        store.save_customer(CustomerRef(customer_id="o1", name="王芳芳", phone="13912345678"))
        assert store.get_customer("o1").name == "王芳芳"

    def test_unknown_customer_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.get_customer("nobody")

    def test_customers_are_per_tenant(self, make_store: MakeStore) -> None:
        make_store("c1").save_customer(CustomerRef(customer_id="o1", name="张伟"))
        make_store("c2").save_customer(CustomerRef(customer_id="o1", name="李娜"))
        assert make_store("c1").get_customer("o1").name == "张伟"
        assert make_store("c2").get_customer("o1").name == "李娜"
        with pytest.raises(NotFoundError):
            make_store("c3").get_customer("o1")

    # -- organisation --------------------------------------------------------------------

    @staticmethod
    def _org() -> list[OrgUnit]:
        return [
            OrgUnit(id="g1", name="集团", level=OrgLevel.GROUP),
            OrgUnit(id="c1", name="物业一公司", level=OrgLevel.COMPANY, parent_id="g1"),
            OrgUnit(id="c2", name="物业二公司", level=OrgLevel.COMPANY, parent_id="g1"),
            OrgUnit(id="sc1", name="服务中心", level=OrgLevel.SERVICE_CENTRE, parent_id="c1"),
            OrgUnit(
                id="p1", name="翠湖花园", level=OrgLevel.PROJECT, parent_id="sc1", households=800
            ),
            OrgUnit(id="p2", name="滨江府", level=OrgLevel.PROJECT, parent_id="c2"),
        ]

    def test_org_tree_reads_back(self, admin: Store) -> None:
        admin.save_org_units(self._org())
        tree = admin.org_tree()
        assert {u.id for u in tree} == {"g1", "c1", "c2", "sc1", "p1", "p2"}
        assert tree.get("p1").households == 800
        assert tree.scope_of("p1") == OrgScope(
            company_id="c1", project_id="p1", group_id="g1", service_centre_id="sc1"
        )

    def test_tenant_sees_its_company_and_the_groups_above(self, make_store: MakeStore) -> None:
        make_store(None).save_org_units(self._org())
        assert {u.id for u in make_store("c1").org_tree()} == {"g1", "c1", "sc1", "p1"}
        assert {u.id for u in make_store("c2").org_tree()} == {"g1", "c2", "p2"}
        assert len(make_store("c9").org_tree()) == 0

    def test_tenant_writes_only_its_own_units(self, make_store: MakeStore) -> None:
        make_store(None).save_org_units(self._org())
        mine = make_store("c1")
        mine.save_org_units(
            [OrgUnit(id="p3", name="新项目", level=OrgLevel.PROJECT, parent_id="c1")]
        )
        assert "p3" in mine.org_tree()
        with pytest.raises(PermissionDeniedError):
            mine.save_org_units(
                [OrgUnit(id="p4", name="别人的", level=OrgLevel.PROJECT, parent_id="c2")]
            )
        with pytest.raises(PermissionDeniedError):
            mine.save_org_units([OrgUnit(id="g1", name="改名", level=OrgLevel.GROUP)])
        assert "p4" not in make_store(None).org_tree()
        assert make_store(None).org_tree().get("g1").name == "集团"

    def test_unit_without_a_company_above_is_refused(self, admin: Store) -> None:
        with pytest.raises(ValidationError):
            admin.save_org_units(
                [OrgUnit(id="p9", name="孤儿", level=OrgLevel.PROJECT, parent_id="nowhere")]
            )
        assert len(admin.org_tree()) == 0

    def test_org_unit_is_replaced(self, admin: Store) -> None:
        admin.save_org_units(self._org())
        admin.save_org_units(
            [OrgUnit(id="p2", name="滨江府二期", level=OrgLevel.PROJECT, parent_id="c2")]
        )
        assert admin.org_tree().get("p2").name == "滨江府二期"
        assert len(admin.org_tree()) == 6

    # -- the notification ledger (optional capability) --------------------------------------

    @staticmethod
    def _ledger(store: Store) -> NotificationLedger:
        if not isinstance(store, NotificationLedger):
            pytest.skip("the store keeps no notification ledger (an optional capability)")
        return store

    def test_ledger_claims_a_key_once(self, store: Store) -> None:
        ledger = self._ledger(store)
        assert ledger.claim_notification("c1", "sla:t1:P2:arrival:0:50%") is True
        assert ledger.claim_notification("c1", "sla:t1:P2:arrival:0:50%") is False
        assert ledger.claim_notification("c1", "sla:t1:P2:arrival:0:80%") is True

    def test_ledger_release_makes_a_key_claimable_again(self, store: Store) -> None:
        ledger = self._ledger(store)
        assert ledger.claim_notification("c1", "revisit:complaint:t1")
        ledger.release_notification("c1", "revisit:complaint:t1")
        ledger.release_notification("c1", "never-claimed")
        assert ledger.claim_notification("c1", "revisit:complaint:t1") is True

    def test_ledger_keeps_long_and_non_ascii_keys_apart(self, store: Store) -> None:
        ledger = self._ledger(store)
        long_key = "sla:" + "工单" * 400
        assert ledger.claim_notification("c1", long_key)
        assert ledger.claim_notification("c1", long_key + "x")
        assert not ledger.claim_notification("c1", long_key)

    def test_ledger_is_per_tenant(self, make_store: MakeStore) -> None:
        one = self._ledger(make_store("c1"))
        two = self._ledger(make_store("c2"))
        assert one.claim_notification("c1", "k")
        assert two.claim_notification("c2", "k")
        assert not self._ledger(make_store("c1")).claim_notification("c1", "k")
        with pytest.raises(PermissionDeniedError):
            one.claim_notification("c2", "other")
        with pytest.raises(PermissionDeniedError):
            one.release_notification("c2", "k")
        assert not two.claim_notification("c2", "k")
        assert self._ledger(make_store(None)).claim_notification("c3", "k")

    def test_ledger_refuses_empty_keys(self, store: Store) -> None:
        ledger = self._ledger(store)
        with pytest.raises(ValidationError):
            ledger.claim_notification("c1", " ")
        with pytest.raises(ValidationError):
            ledger.claim_notification("", "k")

    # -- aggregate streams (optional capability) -------------------------------------------

    @staticmethod
    def _streams(store: Store) -> AggregateStreams:
        if not isinstance(store, AggregateStreams):
            pytest.skip("the store keeps no aggregate streams (an optional capability)")
        return store

    def test_stream_appends_read_back_in_order(self, store: Store) -> None:
        streams = self._streams(store)
        first, second = stream_records(1, 2), stream_records(3, 1)
        assert streams.append_stream("delivery_batch", "B1", "c1", first, 0) == 2
        assert streams.append_stream("delivery_batch", "B1", "c1", second, 2) == 3
        assert streams.read_stream("delivery_batch", "B1") == first + second
        assert streams.read_stream("delivery_batch", "B1", after_version=1) == first[1:] + second
        assert streams.read_stream("delivery_batch", "B1", after_version=3) == []
        # Documents come back exactly as written (text, not re-encoded JSON).
        assert [r.document for r in streams.read_stream("delivery_batch", "B1")] == [
            r.document for r in first + second
        ]

    def test_unknown_stream_reads_empty(self, store: Store) -> None:
        streams = self._streams(store)
        assert streams.read_stream("delivery_batch", "nope") == []
        assert streams.stream_ids("delivery_batch").items == ()
        assert list(streams.iter_stream_records("delivery_batch")) == []

    def test_stream_times_keep_their_instant(self, store: Store) -> None:
        streams = self._streams(store)
        local = datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=_SHANGHAI)
        records = stream_records(1, 2, at=local)
        streams.append_stream("delivery_batch", "B1", "c1", records, 0)
        read = streams.read_stream("delivery_batch", "B1")
        assert [r.occurred_at for r in read] == [r.occurred_at for r in records]
        assert all(r.occurred_at.utcoffset() is not None for r in read)

    def test_stale_stream_version_is_a_conflict_and_writes_nothing(self, store: Store) -> None:
        streams = self._streams(store)
        streams.append_stream("delivery_batch", "B1", "c1", stream_records(1, 2), 0)
        for expected, records in ((1, stream_records(2, 1)), (0, stream_records(1, 1))):
            with pytest.raises(StreamConcurrencyError) as caught:
                streams.append_stream("delivery_batch", "B1", "c1", records, expected)
            assert caught.value.actual_version == 2
            assert caught.value.expected_version == expected
        with pytest.raises(ConcurrencyError):  # ahead of the stream
            streams.append_stream("delivery_batch", "B1", "c1", stream_records(6, 1), 5)
        with pytest.raises(StreamConcurrencyError) as missing:
            streams.append_stream("delivery_batch", "B9", "c1", stream_records(2, 1), 1)
        assert missing.value.actual_version == 0
        assert streams.read_stream("delivery_batch", "B1") == stream_records(1, 2)
        assert streams.read_stream("delivery_batch", "B9") == []

    def test_stream_append_is_all_or_none(self, store: Store) -> None:
        streams = self._streams(store)
        streams.append_stream("delivery_batch", "B1", "c1", stream_records(1, 1), 0)
        gap = stream_records(2, 1) + stream_records(4, 1)
        with pytest.raises(ValidationError) as caught:
            streams.append_stream("delivery_batch", "B1", "c1", gap, 1)
        assert caught.value.errors[0].path == "$.records[1].version"
        broken = [*stream_records(2, 2), attrs.evolve(stream_records(4, 1)[0], document='{"a":')]
        with pytest.raises(ValidationError) as bad:
            streams.append_stream("delivery_batch", "B1", "c1", broken, 1)
        assert bad.value.errors[0].path == "$.records[2].document"
        assert streams.read_stream("delivery_batch", "B1") == stream_records(1, 1)
        assert [
            s.record.version for b in streams.iter_stream_records("delivery_batch") for s in b
        ] == [1]

    @pytest.mark.parametrize("document", ["[1, 2]", "not json", "", '{"a": 1', "null"])
    def test_stream_documents_must_be_json_objects(self, store: Store, document: str) -> None:
        streams = self._streams(store)
        record = stream_records(1, 1)[0]
        # Past the value's own shape check, as a buggy caller could: the store must parse.
        object.__setattr__(record, "document", document)
        with pytest.raises(ValidationError):
            streams.append_stream("delivery_batch", "B1", "c1", [record], 0)
        assert streams.read_stream("delivery_batch", "B1") == []

    def test_stream_bad_arguments_are_refused(self, store: Store) -> None:
        streams = self._streams(store)
        good = stream_records(1, 1)
        for kind, stream_id, company, records, expected, path in (
            ("Delivery Batch", "B1", "c1", good, 0, "$.kind"),
            ("", "B1", "c1", good, 0, "$.kind"),
            ("delivery_batch", " ", "c1", good, 0, "$.stream_id"),
            ("delivery_batch", "B" * 256, "c1", good, 0, "$.stream_id"),
            ("delivery_batch", "B1", "", good, 0, "$.company_id"),
            ("delivery_batch", "B1", "c1", good, -1, "$.expected_version"),
            ("delivery_batch", "B1", "c1", [], 0, "$.records"),
            ("delivery_batch", "B1", "c1", [{"version": 1}], 0, "$.records[0]"),
        ):
            with pytest.raises(ValidationError) as caught:
                streams.append_stream(kind, stream_id, company, records, expected)  # type: ignore[arg-type]
            assert caught.value.errors[0].path == path
        with pytest.raises(ValidationError):
            streams.stream_ids("delivery_batch", limit=0)
        with pytest.raises(ValidationError):
            next(iter(streams.iter_stream_records("delivery_batch", batch_size=0)))
        assert streams.stream_ids("delivery_batch").items == ()

    def test_stream_kinds_are_separate(self, store: Store) -> None:
        streams = self._streams(store)
        streams.append_stream("delivery_batch", "X1", "c1", stream_records(1, 2), 0)
        streams.append_stream("customer_archive", "X1", "c1", stream_records(1, 1), 0)
        assert len(streams.read_stream("delivery_batch", "X1")) == 2
        assert len(streams.read_stream("customer_archive", "X1")) == 1
        assert streams.stream_ids("customer_archive").items == ("X1",)
        archive = [s for b in streams.iter_stream_records("customer_archive") for s in b]
        assert [(s.stream_id, s.record.version) for s in archive] == [("X1", 1)]

    def test_streams_are_per_tenant(self, make_store: MakeStore) -> None:
        one = self._streams(make_store("c1"))
        two = self._streams(make_store("c2"))
        admin = self._streams(make_store(None))
        one.append_stream("delivery_batch", "B1", "c1", stream_records(1, 2), 0)
        # The same id in another company is another stream: written independently, at version 0,
        # and nothing about c1's "B1" (its existence, its version) shows through c2's store.
        assert two.read_stream("delivery_batch", "B1") == []
        assert two.append_stream("delivery_batch", "B1", "c2", stream_records(1, 1), 0) == 1
        with pytest.raises(StreamConcurrencyError) as caught:
            two.append_stream("delivery_batch", "B1", "c2", stream_records(3, 1), 2)
        assert caught.value.actual_version == 1  # c2's own stream, never c1's
        assert "None" not in str(caught.value)
        two.append_stream("delivery_batch", "B2", "c2", stream_records(1, 1), 0)
        assert one.read_stream("delivery_batch", "B1") == stream_records(1, 2)
        assert two.read_stream("delivery_batch", "B1") == stream_records(1, 1)
        assert one.stream_ids("delivery_batch").items == ("B1",)
        assert two.stream_ids("delivery_batch").items == ("B1", "B2")
        mine = [s for b in two.iter_stream_records("delivery_batch") for s in b]
        assert [(s.stream_id, s.company_id) for s in mine] == [("B1", "c2"), ("B2", "c2")]
        # A rewrite touches its company's stream only.
        blank = [attrs.evolve(stream_records(1, 1)[0], document='{"redacted": true}')]
        two.rewrite_stream("delivery_batch", "B1", "c2", blank, 1)
        assert one.read_stream("delivery_batch", "B1") == stream_records(1, 2)
        assert two.read_stream("delivery_batch", "B1") == blank
        # Another company through a tenant store: denied, for writes and reads alike.
        with pytest.raises(PermissionDeniedError):
            one.append_stream("delivery_batch", "B3", "c2", stream_records(1, 1), 0)
        with pytest.raises(PermissionDeniedError):
            one.read_stream("delivery_batch", "B1", company_id="c2")
        with pytest.raises(PermissionDeniedError):
            one.stream_ids("delivery_batch", company_id="c2")
        with pytest.raises(PermissionDeniedError):
            next(iter(one.iter_stream_records("delivery_batch", company_id="c2")))
        assert one.read_stream("delivery_batch", "B1", company_id="c1") == stream_records(1, 2)
        assert admin.read_stream("delivery_batch", "B3", company_id="c2") == []

    def test_admin_store_names_the_company_of_a_stream(self, make_store: MakeStore) -> None:
        admin = self._streams(make_store(None))
        admin.append_stream("delivery_batch", "B1", "c1", stream_records(1, 2), 0)
        admin.append_stream("delivery_batch", "B1", "c2", stream_records(1, 1), 0)
        assert admin.append_stream("delivery_batch", "B1", "c1", stream_records(3, 1), 2) == 3
        assert admin.read_stream("delivery_batch", "B1", company_id="c1") == stream_records(1, 3)
        assert admin.read_stream("delivery_batch", "B1", company_id="c2") == stream_records(1, 1)
        assert admin.stream_ids("delivery_batch", company_id="c2").items == ("B1",)
        assert admin.stream_ids("delivery_batch", company_id="c3").items == ()
        # Reading one stream or listing ids needs the company: an id alone names no stream.
        with pytest.raises(ValidationError) as read:
            admin.read_stream("delivery_batch", "B1")
        assert read.value.errors[0].path == "$.company_id"
        with pytest.raises(ValidationError) as listed:
            admin.stream_ids("delivery_batch")
        assert listed.value.errors[0].path == "$.company_id"
        # Iterating records may read every company's (each record says its company) or one's.
        every = [s for b in admin.iter_stream_records("delivery_batch") for s in b]
        assert [(s.company_id, s.record.version) for s in every] == [
            ("c1", 1),
            ("c1", 2),
            ("c2", 1),
            ("c1", 3),
        ]
        only = [s for b in admin.iter_stream_records("delivery_batch", company_id="c2") for s in b]
        assert [(s.company_id, s.record.version) for s in only] == [("c2", 1)]
        assert len(self._streams(make_store("c1")).read_stream("delivery_batch", "B1")) == 3

    def test_stream_read_arguments_are_refused(self, store: Store) -> None:
        streams = self._streams(store)
        streams.append_stream("delivery_batch", "B1", "c1", stream_records(1, 1), 0)
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: streams.read_stream("Delivery Batch", "B1"), "$.kind"),
            (lambda: streams.read_stream("delivery_batch", ""), "$.stream_id"),
            (lambda: streams.read_stream("delivery_batch", "B" * 256), "$.stream_id"),
            (lambda: streams.read_stream("delivery_batch", 7), "$.stream_id"),  # type: ignore[arg-type]
            (lambda: streams.read_stream("delivery_batch", "B1", -1), "$.after_version"),
            (lambda: streams.read_stream("delivery_batch", "B1", "1"), "$.after_version"),  # type: ignore[arg-type]
            (lambda: streams.read_stream("delivery_batch", "B1", True), "$.after_version"),
            (lambda: streams.read_stream("delivery_batch", "B1", company_id=""), "$.company_id"),
            (lambda: streams.stream_ids("", limit=3), "$.kind"),
            (lambda: streams.stream_ids("delivery_batch", limit=True), "$.limit"),
            (lambda: streams.stream_ids("delivery_batch", after=3), "$.after"),  # type: ignore[arg-type]
            (lambda: next(iter(streams.iter_stream_records("X"))), "$.kind"),
            (
                lambda: next(
                    iter(streams.iter_stream_records("delivery_batch", after_position=-1))
                ),
                "$.after_position",
            ),
            (
                lambda: next(
                    iter(streams.iter_stream_records("delivery_batch", after_position=1.5))  # type: ignore[arg-type]
                ),
                "$.after_position",
            ),
            (
                lambda: next(iter(streams.iter_stream_records("delivery_batch", batch_size=0))),
                "$.batch_size",
            ),
            (
                lambda: next(iter(streams.iter_stream_records("delivery_batch", batch_size=True))),
                "$.batch_size",
            ),
        ]
        for call, path in calls:
            with pytest.raises(ValidationError) as caught:
                call()
            assert caught.value.errors[0].path == path

    def test_stream_record_type_fits_the_column(self, store: Store) -> None:
        streams = self._streams(store)
        with pytest.raises(ValidationError) as caught:
            StreamRecord(version=1, type="t" * 65, occurred_at=T0, document="{}")
        assert caught.value.errors[0].path == "$.type"
        fits = StreamRecord(version=1, type="t" * 64, occurred_at=T0, document="{}")
        too_long = StreamRecord(version=1, type="t" * 64, occurred_at=T0, document="{}")
        object.__setattr__(too_long, "type", "t" * 65)  # past the value's check: the store checks
        with pytest.raises(ValidationError) as refused:
            streams.append_stream("delivery_batch", "B1", "c1", [too_long], 0)
        assert refused.value.errors[0].path == "$.records[0].type"
        assert streams.append_stream("delivery_batch", "B1", "c1", [fits], 0) == 1
        assert streams.read_stream("delivery_batch", "B1") == [fits]

    def test_stream_lone_surrogate_is_refused(self, store: Store) -> None:
        streams = self._streams(store)
        # A lone surrogate, as text decoded with errors="surrogateescape" may hold: valid JSON
        # text to Python, not encodable as UTF-8 by a SQL driver.
        bad = StreamRecord(version=1, type="t", occurred_at=T0, document='{"name": "\ud800"}')
        with pytest.raises(ValidationError) as caught:
            streams.append_stream("delivery_batch", "B1", "c1", [bad], 0)
        assert caught.value.errors[0].path == "$.records[0].document"
        assert streams.read_stream("delivery_batch", "B1") == []
        with pytest.raises(ValidationError) as surrogate_id:
            streams.append_stream("delivery_batch", "B\udc80", "c1", stream_records(1, 1), 0)
        assert surrogate_id.value.errors[0].path == "$.stream_id"

    def test_stream_errors_never_quote_a_document(self, store: Store) -> None:
        streams = self._streams(store)
        secret = '["张三丰", "13812345678"]'
        with pytest.raises(ValidationError) as shape:
            StreamRecord(version=1, type="t", occurred_at=T0, document=secret)
        assert "张三丰" not in str(shape.value)
        assert "1381234" not in str(shape.value)
        record = stream_records(1, 1)[0]
        for document in (secret, '{"name": "张三丰", "phone": 13812345678,,}'):
            object.__setattr__(record, "document", document)
            with pytest.raises(ValidationError) as caught:
                streams.append_stream("delivery_batch", "B1", "c1", [record], 0)
            assert "张三丰" not in str(caught.value)
            assert "1381234" not in str(caught.value)

    def test_stream_ids_pages_cover_everything_once(self, make_store: MakeStore) -> None:
        store = self._streams(make_store("c1"))
        ids = ["B10", "B2", "b1", "批次1", "B1", "B1 ", "Z"]
        for stream_id in ids:
            store.append_stream("delivery_batch", stream_id, "c1", stream_records(1, 2), 0)
        self._streams(make_store("c2")).append_stream(
            "delivery_batch", "B3", "c2", stream_records(1, 1), 0
        )
        seen: list[str] = []
        pages = 0
        cursor = None
        while True:
            page = store.stream_ids("delivery_batch", after=cursor, limit=3)
            seen += page.items
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == sorted(ids)  # code-point order, each stream once
        assert pages == 3
        exact = store.stream_ids("delivery_batch", limit=len(ids))
        assert exact.next_cursor is None
        assert len(exact.items) == len(ids)

    def test_stream_records_in_store_order(self, store: Store) -> None:
        streams = self._streams(store)
        streams.append_stream("delivery_batch", "B1", "c1", stream_records(1, 2), 0)
        streams.append_stream("delivery_batch", "B2", "c1", stream_records(1, 1, stream="B2"), 0)
        streams.append_stream("delivery_batch", "B1", "c1", stream_records(3, 1), 2)
        stored = [s for b in streams.iter_stream_records("delivery_batch") for s in b]
        assert [(s.stream_id, s.record.version) for s in stored] == [
            ("B1", 1),
            ("B1", 2),
            ("B2", 1),
            ("B1", 3),
        ]
        positions = [s.position for s in stored]
        assert positions == sorted(set(positions))
        assert all(p > 0 for p in positions)
        assert all(s.company_id == "c1" for s in stored)
        batches = list(streams.iter_stream_records("delivery_batch", batch_size=3))
        assert [len(b) for b in batches] == [3, 1]
        resumed = streams.iter_stream_records("delivery_batch", after_position=positions[1])
        assert [s for b in resumed for s in b] == stored[2:]

    def test_racing_stream_appends_have_one_winner(self, store: Store) -> None:
        streams = self._streams(store)
        streams.append_stream("delivery_batch", "B1", "c1", stream_records(1, 1), 0)
        writers = 4
        barrier = threading.Barrier(writers)
        outcomes: list[str] = []
        lock = threading.Lock()

        def write(index: int) -> None:
            record = attrs.evolve(stream_records(2, 1)[0], document=json.dumps({"w": index}))
            barrier.wait()
            try:
                streams.append_stream("delivery_batch", "B1", "c1", [record], 1)
                result = f"won {index}"
            except ConcurrencyError:
                result = "lost"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if o.startswith("won")]
        assert len(winners) == 1, outcomes
        assert outcomes.count("lost") == writers - 1
        stored = streams.read_stream("delivery_batch", "B1")
        assert [r.version for r in stored] == [1, 2]
        assert json.loads(stored[1].document) == {"w": int(winners[0].split()[1])}

    def test_stream_rewrite_replaces_documents_only(self, store: Store) -> None:
        streams = self._streams(store)
        records = stream_records(1, 3)
        streams.append_stream("delivery_batch", "B1", "c1", records, 0)
        before = [s for b in streams.iter_stream_records("delivery_batch") for s in b]
        blank = attrs.evolve(
            records[1], document='{"phone": null}', occurred_at=T0 + timedelta(days=9)
        )
        streams.rewrite_stream("delivery_batch", "B1", "c1", [blank], 3)
        after = streams.read_stream("delivery_batch", "B1")
        assert [r.document for r in after] == [
            records[0].document,
            '{"phone": null}',
            records[2].document,
        ]
        assert [(r.version, r.type, r.occurred_at) for r in after] == [
            (r.version, r.type, r.occurred_at) for r in records
        ]
        positions = [s.position for b in streams.iter_stream_records("delivery_batch") for s in b]
        assert positions == [s.position for s in before]

    def test_stream_rewrite_is_checked_and_writes_nothing_when_refused(self, store: Store) -> None:
        streams = self._streams(store)
        records = stream_records(1, 2)
        streams.append_stream("delivery_batch", "B1", "c1", records, 0)
        blank = attrs.evolve(records[0], document="{}")
        with pytest.raises(StreamConcurrencyError):
            streams.rewrite_stream("delivery_batch", "B1", "c1", [blank], 1)
        with pytest.raises(ValidationError):  # a version not stored
            streams.rewrite_stream(
                "delivery_batch", "B1", "c1", [attrs.evolve(blank, version=3)], 2
            )
        with pytest.raises(ValidationError):  # another event type at that version
            streams.rewrite_stream(
                "delivery_batch", "B1", "c1", [blank, attrs.evolve(records[1], type="x")], 2
            )
        with pytest.raises(PermissionDeniedError):
            streams.rewrite_stream("delivery_batch", "B1", "c2", [blank], 2)
        assert streams.read_stream("delivery_batch", "B1") == records

    # -- any history -----------------------------------------------------------------------

    @pytest.mark.parametrize("fold", [0, 1])
    def test_a_wall_time_in_a_dst_fold_keeps_its_instant(self, store: Store, fold: int) -> None:
        # 01:30 on 2024-11-03 happens twice in New York; fold picks which (EDT, then EST).
        at = datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=fold)
        ticket, events = receive(_unique("fold"), at=at)
        store.save(ticket, events, 0)
        stored = store.events(ticket.ticket_id)
        assert [e.occurred_at.astimezone(timezone.utc) for e in stored] == [
            at.astimezone(timezone.utc)
        ]
        assert _in_utc(stored) == _in_utc(events)
        assert _in_utc(store.get(ticket.ticket_id)) == _in_utc(ticket)

    @settings(
        max_examples=25,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,  # one test method, run by every subclass
        ],
        deadline=None,
    )
    @given(history=st_histories(max_commands=12), split=st.integers(min_value=1, max_value=12))
    def test_any_history_round_trips(
        self, make_store: MakeStore, history: list[Event], split: int
    ) -> None:
        assume(not any(_imaginary(e.occurred_at) for e in history))
        ticket_id = _unique("h")
        events = renamed_history(history, ticket_id)
        company = events[0].payload.scope.company_id  # type: ignore[union-attr]
        store = make_store(company)
        cut = min(split, len(events))
        first = replay(events[:cut])
        store.save(first, events[:cut], 0)
        if cut < len(events):
            store.save(replay(events), events[cut:], cut)
        # As UTC instants: a wall time in a DST fold equals no datetime of another zone.
        assert _in_utc(store.get(ticket_id)) == _in_utc(replay(events))
        assert _in_utc(store.events(ticket_id)) == _in_utc(events)
        assert _in_utc(store.events(ticket_id, after_version=cut)) == _in_utc(events[cut:])
