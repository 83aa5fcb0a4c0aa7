"""ArchiveService: customer records kept as streams; masked and audited reads, erasure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from _aggregate_helpers import SCOPE, T0, Clock, stores

from propcrm import customers as cu
from propcrm.aggregates import ARCHIVE_KIND, ArchiveService
from propcrm.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from propcrm.model import Actor, Role, Satisfaction, TicketKind
from propcrm.plugins import PiiAccess
from propcrm.stores import AggregateStreams, Store

AGENT = Actor(id="cs-1", role=Role.HOTLINE_AGENT)
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
HANDLER = Actor(id="fixer", role=Role.HANDLER, party="GC")
PHONE = "13812345678"
NEW_PHONE = "13987654321"
ID_NUMBER = "45010219900101123X"
NAME = "张三丰"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from stores(tmp_path, request.param)


def commands() -> list[cu.ArchiveCommand]:
    evidence = cu.Verification(
        form_ref="变更登记表-001", id_number=ID_NUMBER, phone=PHONE, unit_id="U1"
    )
    return [
        cu.RegisterCustomer(
            customer_id="C1",
            scope=SCOPE,
            full_name=NAME,
            phone=PHONE,
            id_number=ID_NUMBER,
            address="南宁市青秀区民族大道100号",
            units=[cu.UnitHolding(unit_id="U1", since=date(2026, 1, 5))],
        ),
        cu.ChangeCustomer(customer_id="C1", evidence=evidence, phone=NEW_PHONE),
        cu.LinkTicket(customer_id="C1", ticket_id="T-1", kind=TicketKind.REPAIR),
        cu.RecordRevisitResult(
            customer_id="C1",
            revisit_id="R-1",
            satisfaction=Satisfaction.SATISFIED,
            on=date(2026, 4, 2),
        ),
        cu.UpdateProfile(customer_id="C1", segment="champions"),
    ]


def reference() -> tuple[cu.CustomerRecord, list[cu.ArchiveEvent]]:
    """What the pure core computes in memory, a minute per command."""
    record: cu.CustomerRecord | None = None
    history: list[cu.ArchiveEvent] = []
    now = T0
    for command in commands():
        now += timedelta(minutes=1)
        events = cu.decide(record, command, now=now, actor=AGENT)
        for event in events:
            record = cu.apply(record, event)
        history += events
    assert record is not None
    return record, history


def service_with(store: Store, **kwargs: Any) -> tuple[ArchiveService, Clock, list[PiiAccess]]:
    clock = Clock()
    log: list[PiiAccess] = []
    service = ArchiveService(store, clock=clock, audit=log.append, **kwargs)
    for command in commands():
        clock.now += timedelta(minutes=1)
        service.run(command, actor=AGENT)
    return service, clock, log


def test_persisted_record_replays_to_the_in_memory_record(store: Store) -> None:
    service, _, log = service_with(store)
    record, history = reference()
    assert service.reveal_history("C1", actor=AGENT, reason="audit the record") == history
    assert service.read_full("C1", actor=AGENT, reason="revisit call") == record
    assert list(service) == ["C1"]
    assert len(log) == 2


def test_get_is_masked_and_logs_nothing(store: Store) -> None:
    service, _, log = service_with(store)
    shown = service.get("C1")
    assert shown.phone != NEW_PHONE
    assert shown.id_number != ID_NUMBER
    assert shown.name != NAME
    assert shown.tickets == reference()[0].tickets
    assert NEW_PHONE not in repr(shown)
    assert log == []


def test_full_reads_are_logged_before_they_return(store: Store) -> None:
    service, clock, log = service_with(store)
    full = service.read_full("C1", actor=AGENT, reason="revisit call for T-1", ticket_id="T-1")
    assert full.phone == NEW_PHONE
    assert [(a.actor, a.customer_id, a.purpose, a.ticket_id, a.at) for a in log] == [
        (AGENT, "C1", "revisit call for T-1", "T-1", clock.now)
    ]
    with pytest.raises(PermissionDeniedError):
        service.read_full("C1", actor=HANDLER, reason="curious")
    assert len(log) == 1  # a refused read is not logged and returns nothing

    def refuse(_access: PiiAccess) -> None:
        raise RuntimeError("audit log unavailable")

    blocked = ArchiveService(store, clock=clock, audit=refuse)
    with pytest.raises(RuntimeError):
        blocked.read_full("C1", actor=AGENT, reason="revisit call")


def test_export_is_masked_unless_revealed_and_logged(store: Store) -> None:
    service, _, log = service_with(store)
    masked = service.export("C1", actor=AGENT, reason="PIPL request 7")
    assert NEW_PHONE not in str(masked)
    assert log == []
    revealed = service.export("C1", actor=AGENT, reason="PIPL request 7", reveal=True)
    assert NEW_PHONE in str(revealed)
    assert len(log) == 1


def test_erasure_removes_personal_data_from_the_stored_history(store: Store) -> None:
    service, clock, _ = service_with(store)
    streams = store
    assert isinstance(streams, AggregateStreams)
    before = "".join(r.document for r in streams.read_stream(ARCHIVE_KIND, "C1"))
    assert PHONE in before
    assert NAME in before
    clock.now += timedelta(minutes=1)
    outcome = service.run(
        cu.EraseCustomer(customer_id="C1", reason="PIPL deletion", request_ref="REQ-9"),
        actor=BOSS,
    )
    assert outcome.record.erased
    stored = streams.read_stream(ARCHIVE_KIND, "C1")
    text = "".join(r.document for r in stored)
    for personal in (PHONE, NEW_PHONE, ID_NUMBER, NAME, "民族大道"):
        assert personal not in text
    # Versions, types and the non-personal facts KPIs read are kept.
    _, history = reference()
    assert [(r.version, r.type) for r in stored[:-1]] == [(e.sequence, e.type) for e in history]
    full = service.read_full("C1", actor=BOSS, reason="check erasure")
    assert full.erased
    assert full.name is None
    assert full.phone is None
    assert [t.ticket_id for t in full.tickets] == ["T-1"]
    assert full.held_units == ("U1",)
    assert service.redact_erased("C1") == 0  # idempotent: nothing personal left
    stored_events = service.reveal_history("C1", actor=BOSS, reason="check erasure")
    assert stored_events == list(cu.redact(stored_events))


def test_redacting_a_customer_not_erased_is_refused(store: Store) -> None:
    service, _, _ = service_with(store)
    with pytest.raises(ValidationError, match="not erased"):
        service.redact_erased("C1")
    with pytest.raises(NotFoundError):
        service.redact_erased("C9")


def test_refusals_write_nothing(store: Store) -> None:
    service, clock, _ = service_with(store)
    version = service.get("C1").version
    clock.now += timedelta(minutes=1)
    wrong = cu.Verification(
        form_ref="f", id_number="110101199001011234", phone=NEW_PHONE, unit_id="U1"
    )
    with pytest.raises(cu.VerificationError):
        service.run(cu.ChangeCustomer(customer_id="C1", evidence=wrong, phone=PHONE), actor=AGENT)
    with pytest.raises(AlreadyExistsError) as taken:  # registering a taken id: not retried
        service.run(commands()[0], actor=AGENT)
    assert isinstance(taken.value, ConcurrencyError)
    assert "already exists" in str(taken.value)
    with pytest.raises(NotFoundError):
        service.run(
            cu.LinkTicket(customer_id="C9", ticket_id="T-2", kind=TicketKind.REPAIR), actor=AGENT
        )
    assert service.get("C1").version == version


def test_listeners_get_the_masked_record(store: Store) -> None:
    heard: list[cu.CustomerRecord] = []
    service_with(store, listeners=[lambda record, _events: heard.append(record)])
    assert len(heard) == len(commands())
    assert all(r.phone not in (PHONE, NEW_PHONE) for r in heard)
    assert [r.version for r in heard] == list(range(1, len(commands()) + 1))


def test_history_decided_in_memory_imports_masked_and_redacted(store: Store) -> None:
    record, history = reference()
    log: list[PiiAccess] = []
    service = ArchiveService(store, clock=Clock(T0 + timedelta(days=1)), audit=log.append)
    imported = service.import_history(history)
    assert imported == record.masked()
    assert service.read_full("C1", actor=AGENT, reason="check") == record
    erased = cu.decide(
        record,
        cu.EraseCustomer(customer_id="C1", reason="PIPL", request_ref="R"),
        now=T0 + timedelta(days=1),
        actor=BOSS,
    )
    assert service.import_history(erased).erased
    assert isinstance(store, AggregateStreams)
    text = "".join(r.document for r in store.read_stream(ARCHIVE_KIND, "C1"))
    assert PHONE not in text
    assert NEW_PHONE not in text
