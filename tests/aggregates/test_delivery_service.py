"""DeliveryService: batches persisted as streams replay to what the pure core computes."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from _aggregate_helpers import (
    CONTRACTOR,
    SCOPE,
    STAFF,
    T0,
    UNITS,
    Clock,
    defect,
    delivery_commands,
    open_batch,
    sqlite_url,
    stores,
)

from propcrm import taxonomy as tx
from propcrm.aggregates import DELIVERY_KIND, DeliveryService
from propcrm.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    StoreError,
    ValidationError,
)
from propcrm.model import Actor, OrgScope, Role
from propcrm.plugins import make_plugin_manager
from propcrm.service import TicketService
from propcrm.stores import MemoryStore, Store, StreamRecord, open_store
from propcrm.stores.sql import SqlStore
from propcrm.workflow import delivery as d

STD = tx.standard()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from stores(tmp_path, request.param)


def reference(commands: list[d.DeliveryCommand]) -> tuple[d.DeliveryBatch, list[d.DeliveryEvent]]:
    """The batch and history the pure core computes in memory, an hour per command."""
    delivery = d.Delivery(taxonomy=STD)
    batch: d.DeliveryBatch | None = None
    history: list[d.DeliveryEvent] = []
    now = T0
    for command in commands:
        now += timedelta(hours=1)
        batch, events = delivery.execute(batch, command, now=now, actor=STAFF)
        history += events
    assert batch is not None
    return batch, history


def drive(service: DeliveryService, clock: Clock, commands: list[d.DeliveryCommand]) -> None:
    for command in commands:
        clock.tick()
        service.run(command, actor=STAFF)


def test_persisted_batch_replays_to_the_in_memory_batch(store: Store) -> None:
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock)
    commands = delivery_commands(STD)
    drive(service, clock, commands)
    batch, history = reference(commands)
    assert service.history("B1") == history
    assert service.get("B1") == batch
    assert service.get("B1").version == len(history)
    assert list(service) == ["B1"]


def test_a_second_store_on_the_same_file_reads_the_same_batch(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    first = open_store(url, tenant="c1")
    clock = Clock()
    drive(
        DeliveryService(first, d.Delivery(taxonomy=STD), clock=clock), clock, delivery_commands(STD)
    )
    first.close()
    again = open_store(url, tenant="c1")
    try:
        batch, _ = reference(delivery_commands(STD))
        assert DeliveryService(again, d.Delivery(taxonomy=STD)).get("B1") == batch
    finally:
        again.close()


def test_refused_commands_write_nothing(store: Store) -> None:
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock)
    service.run(open_batch(), actor=STAFF)
    clock.tick()
    with pytest.raises(d.DeliveryRefusedError):
        service.run(d.HandOverUnit(batch_id="B1", unit_id="U1", keys=["K"]), actor=STAFF)
    with pytest.raises(NotFoundError):
        service.run(d.HandOverUnit(batch_id="B9", unit_id="U1", keys=["K"]), actor=STAFF)
    with pytest.raises(AlreadyExistsError, match="already exists") as taken:  # not retried
        service.run(open_batch(), actor=STAFF)
    assert isinstance(taken.value, ConcurrencyError)
    assert "retry" not in str(taken.value)
    assert service.get("B1").version == 1
    with pytest.raises(NotFoundError):
        service.get("B9")


def test_batches_are_per_tenant(tmp_path: Path) -> None:
    root = MemoryStore()
    clock = Clock()
    DeliveryService(root.for_tenant("c1"), d.Delivery(taxonomy=STD), clock=clock).run(
        open_batch(), actor=STAFF
    )
    other = DeliveryService(root.for_tenant("c2"), d.Delivery(taxonomy=STD), clock=clock)
    with pytest.raises(NotFoundError):
        other.get("B1")
    assert list(other) == []
    scoped = Actor(id="x", role=Role.SUPERVISOR, scope=frozenset({"p9"}))
    with pytest.raises(PermissionDeniedError, match="does not cover the batch"):
        DeliveryService(root.for_tenant("c1"), d.Delivery(taxonomy=STD)).get("B1", actor=scoped)
    with pytest.raises(PermissionDeniedError, match="does not cover the batch"):
        DeliveryService(root.for_tenant("c1"), d.Delivery(taxonomy=STD)).history("B1", actor=scoped)


def test_two_companies_may_each_have_batch_b1(tmp_path: Path) -> None:
    sql = open_store(sqlite_url(tmp_path), tenant=None)
    assert isinstance(sql, SqlStore)
    roots: list[MemoryStore | SqlStore] = [MemoryStore(), sql]
    for root in roots:
        clock = Clock()
        one = DeliveryService(root.for_tenant("c1"), d.Delivery(taxonomy=STD), clock=clock)
        two = DeliveryService(root.for_tenant("c2"), d.Delivery(taxonomy=STD), clock=clock)
        one.run(open_batch(), actor=STAFF)
        clock.tick()
        one.run(
            d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=["Q.WP"]),
            actor=STAFF,
        )
        # c2 learns nothing of c1's B1 and opens its own, on two units.
        assert two.history("B1") == []
        c2_open = attrs.evolve(
            open_batch(units=("U7", "U8")), scope=OrgScope(company_id="c2", project_id="p1")
        )
        assert two.run(c2_open, actor=STAFF).batch.version == 1
        assert one.get("B1").version == 2
        assert one.get("B1").scope.company_id == "c1"
        assert two.get("B1").scope.company_id == "c2"
        assert set(two.get("B1").units) == {"U7", "U8"}
        assert list(one) == ["B1"]
        assert list(two) == ["B1"]
        # A tenant's service cannot write another company's batch, nor be made for it.
        with pytest.raises(PermissionDeniedError):
            DeliveryService(root.for_tenant("c1"), d.Delivery(taxonomy=STD), company_id="c2")
        with pytest.raises(PermissionDeniedError):
            one.run(attrs.evolve(c2_open, batch_id="B5"), actor=STAFF)
        assert list(one) == ["B1"]
        # An admin store's service says which company it works on.
        admin = root.for_tenant(None)
        with pytest.raises(ValidationError) as unnamed:
            DeliveryService(admin, d.Delivery(taxonomy=STD))
        assert unnamed.value.errors[0].path == "$.company_id"
        as_c2 = DeliveryService(admin, d.Delivery(taxonomy=STD), company_id="c2")
        assert as_c2.get("B1") == two.get("B1")
        root.close()


def test_listeners_hear_after_the_append_and_failures_say_it_is_stored(store: Store) -> None:
    heard: list[tuple[int, list[str]]] = []

    def listen(batch: d.DeliveryBatch, events: Any) -> None:
        # The events are already readable from the store when a listener hears of them.
        assert service.get(batch.batch_id).version == batch.version
        heard.append((batch.version, [e.type for e in events]))

    def broken(_batch: d.DeliveryBatch, _events: Any) -> None:
        raise RuntimeError("projection down")

    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock, listeners=[listen])
    service.run(open_batch(), actor=STAFF)
    assert heard == [(1, ["delivery_batch_opened"])]
    failing = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock, listeners=[broken])
    clock.tick()
    command = d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=["Q.WP"])
    with pytest.raises(PluginError, match="are stored"):
        failing.run(command, actor=STAFF)
    assert service.get("B1").version == 2


def test_handover_issues_warranty_tickets_once(store: Store) -> None:
    clock = Clock()
    tickets = TicketService(store, plugins=make_plugin_manager(plugins=[]), clock=clock)
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock, tickets=tickets)
    outcomes = []
    for command in delivery_commands(STD):
        clock.tick()
        outcomes.append(service.run(command, actor=STAFF))
    batch = service.get("B1")
    issued = [o for outcome in outcomes for o in outcome.tickets]
    expected_defects = [dd for u in UNITS for dd in batch.units[u].warranty_defect_ids]
    assert len(issued) == len(expected_defects) == 4
    assert all(not o.duplicate for o in issued)
    assert {o.ticket.idempotency_key for o in issued} == {
        f"delivery:B1:{dd}" for dd in expected_defects
    }
    for outcome in issued:
        assert tickets.get(outcome.ticket.ticket_id) == outcome.ticket
        assert outcome.ticket.responsible_party is not None
    again = service.issue_warranty_tickets("B1", "U3")
    assert len(again) == 3
    assert all(o.duplicate for o in again)
    assert {o.ticket.ticket_id for o in again} <= {o.ticket.ticket_id for o in issued}
    with pytest.raises(ValidationError):
        DeliveryService(store, d.Delivery(taxonomy=STD)).issue_warranty_tickets("B1", "U3")


def test_a_store_without_streams_is_refused() -> None:
    class NoStreams:
        tenant = "c1"

    with pytest.raises(ValidationError, match="keeps no aggregate streams"):
        DeliveryService(NoStreams(), d.Delivery(taxonomy=STD))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_attempts"):
        DeliveryService(MemoryStore(), d.Delivery(taxonomy=STD), max_attempts=0)


def test_damaged_documents_raise_typed_errors(tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path), tenant="c1")
    assert isinstance(store, SqlStore)
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock)
    service.run(open_batch(), actor=STAFF)
    table = sa.table("propcrm_streams", sa.column("document"), sa.column("version"))
    try:
        for document, error, message in (
            ("{not json", StoreError, "not JSON"),
            ('{"event_id": "B1/1"}', ValidationError, "delivery_batch stream 'B1' version 1"),
        ):
            with store.engine.begin() as conn:
                conn.execute(table.update().values(document=document))
            with pytest.raises(error, match=message):
                service.get("B1")
        # Another stream's (valid) event in this row is refused too.
        other = service.delivery.handle(None, open_batch("B2"), now=T0, actor=STAFF)[0]
        from propcrm.aggregates import _encode

        with store.engine.begin() as conn:
            conn.execute(table.update().values(document=_encode(other).document))
        with pytest.raises(ValidationError, match="not version 1 of 'B1'"):
            service.get("B1")
    finally:
        store.close()


def test_threads_racing_on_one_batch_lose_nothing(tmp_path: Path) -> None:
    """Writers on separate engines (as separate processes would be) append to one batch."""
    url = sqlite_url(tmp_path)
    clock = Clock()
    setup = open_store(url, tenant="c1")
    units = tuple(f"U{i}" for i in range(12))
    DeliveryService(setup, d.Delivery(taxonomy=STD), clock=clock).run(
        open_batch(units=units), actor=STAFF
    )
    checklist = d.checklist(STD)
    barrier = threading.Barrier(3)
    attempts: list[int] = []
    lock = threading.Lock()

    def inspect(share: tuple[str, ...]) -> None:
        own = open_store(url, tenant="c1")
        service = DeliveryService(
            own, d.Delivery(taxonomy=STD), clock=lambda: T0 + timedelta(days=1), max_attempts=50
        )
        barrier.wait()
        for unit in share:
            outcome = service.run(
                d.RecordInspection(
                    batch_id="B1",
                    unit_id=unit,
                    inspector=STAFF.id,
                    checklist=checklist,
                    defects=[defect(f"{unit}-D", "Q.WP.04", unit)],
                ),
                actor=STAFF,
            )
            with lock:
                attempts.append(outcome.attempts)
        own.close()

    threads = [threading.Thread(target=inspect, args=(units[i::3],)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    service = DeliveryService(setup, d.Delivery(taxonomy=STD))
    batch = service.get("B1")
    history = service.history("B1")
    setup.close()
    assert [e.sequence for e in history] == list(range(1, len(history) + 1))
    assert all(batch.units[u].inspections == 1 for u in units)
    assert len(batch.tasks) == len(units)  # one rectification task per inspected unit
    assert len(attempts) == len(units)


def test_same_version_writers_have_exactly_one_winner(tmp_path: Path) -> None:
    """Without retries, of writers who all read version 1 exactly one appends version 2."""
    url = sqlite_url(tmp_path)
    setup = open_store(url, tenant="c1")
    DeliveryService(setup, d.Delivery(taxonomy=STD), clock=Clock()).run(open_batch(), actor=STAFF)
    results: list[str] = []
    barrier = threading.Barrier(4)
    lock = threading.Lock()

    class GatedStore(SqlStore):
        """Every writer has read version 1; each waits for the others before it appends."""

        def append_stream(self, *args: Any, **kwargs: Any) -> int:
            barrier.wait()
            return super().append_stream(*args, **kwargs)

    def write(index: int) -> None:
        own = open_store(url, tenant="c1")
        assert isinstance(own, SqlStore)
        gated = GatedStore(own.engine, tenant="c1")
        service = DeliveryService(
            gated,
            d.Delivery(taxonomy=STD),
            clock=Clock(T0 + timedelta(hours=index + 1)),
            max_attempts=1,
        )
        try:
            service.run(
                d.RecordInspection(
                    batch_id="B1", unit_id="U1", inspector=f"insp-{index}", checklist=["Q.WP"]
                ),
                actor=STAFF,
            )
            outcome = f"won {index}"
        except ConcurrencyError:
            outcome = "lost"
        finally:
            own.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r.startswith("won")]
    assert len(winners) == 1, results
    batch = DeliveryService(setup, d.Delivery(taxonomy=STD)).get("B1")
    setup.close()
    assert batch.version == 2
    assert batch.units["U1"].inspector == f"insp-{winners[0].split()[1]}"


def _inspect_in_process(url: str, units: list[str], ready: Any) -> None:
    store = open_store(url, tenant="c1")
    service = DeliveryService(
        store,
        d.Delivery(taxonomy=tx.standard()),
        clock=lambda: T0 + timedelta(days=1),
        max_attempts=100,
    )
    ready.wait()
    checklist = d.checklist(tx.standard())
    for unit in units:
        service.run(
            d.RecordInspection(batch_id="B1", unit_id=unit, inspector="i", checklist=checklist),
            actor=STAFF,
        )
    store.close()


def test_two_processes_on_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    units = tuple(f"U{i}" for i in range(16))
    setup = open_store(url, tenant="c1")
    DeliveryService(setup, d.Delivery(taxonomy=STD), clock=Clock()).run(
        open_batch(units=units), actor=STAFF
    )
    setup.close()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    workers = [
        context.Process(target=_inspect_in_process, args=(url, list(units[i::2]), ready))
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    again = open_store(url, tenant="c1")
    batch = DeliveryService(again, d.Delivery(taxonomy=STD)).get("B1")
    records = again.read_stream(DELIVERY_KIND, "B1")  # type: ignore[attr-defined]
    again.close()
    assert all(batch.units[u].inspections == 1 for u in units)
    assert [r.version for r in records] == list(range(1, len(units) + 2))
    assert all(isinstance(r, StreamRecord) for r in records)


def test_contractor_reports_through_the_service(store: Store) -> None:
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock)
    for command in delivery_commands(STD)[:3]:
        clock.tick()
        service.run(command, actor=STAFF)
    task = next(iter(service.get("B1").tasks))
    clock.tick()
    service.run(d.ReportRectified(batch_id="B1", task_id=task), actor=CONTRACTOR)
    assert service.get("B1").tasks[task].status is d.TaskStatus.REPORTED
    assert service.get("B1").scope == SCOPE


def test_history_decided_in_memory_imports_and_continues(store: Store) -> None:
    batch, history = reference(delivery_commands(STD))
    heard: list[int] = []
    service = DeliveryService(
        store, d.Delivery(taxonomy=STD), listeners=[lambda b, _e: heard.append(b.version)]
    )
    cut = 5
    assert service.import_history(history[:cut]).version == cut
    with pytest.raises(ValidationError):  # a gap: events 7 onwards after 5
        service.import_history(history[cut + 1 :])
    with pytest.raises(ValidationError):  # a repeat of stored events
        service.import_history(history[:2])
    with pytest.raises(ValidationError):
        service.import_history([])
    assert service.get("B1").version == cut
    assert service.import_history(history[cut:]) == batch
    assert service.history("B1") == history
    assert heard == [cut, len(history)]
