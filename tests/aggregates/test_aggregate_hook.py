"""Plugins hear delivery and archive events: after the append, masked for the archive, all run.

``propcrm_delivery_events_stored`` and ``propcrm_archive_events_stored`` are told by
``DeliveryService`` and ``ArchiveService`` with the semantics of ``propcrm_events_stored``:
after the append and never before (a plugin reading the store finds the events), never for a
refused command, every plugin runs when one raises, and a ``PluginError`` naming the failures
follows. Archive events reach plugins masked: every argument is scanned for the customer's
personal values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _aggregate_helpers import STAFF, T0, Clock, delivery_commands, open_batch, stores
from test_archive_privacy import PERSONAL, erase, leaked
from test_archive_service import AGENT, BOSS, NEW_PHONE, PHONE, commands, reference

from propcrm import customers as cu
from propcrm import taxonomy as tx
from propcrm.aggregates import ARCHIVE_KIND, ArchiveService, DeliveryService
from propcrm.errors import AlreadyExistsError, NotFoundError, PluginError
from propcrm.plugins import Plugins, hookimpl, make_plugin_manager
from propcrm.plugins._manager import _reset_for_tests
from propcrm.stores import AggregateStreams, Store
from propcrm.workflow import delivery as d

STD = tx.standard()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from stores(tmp_path, request.param)


class DeliveryEar:
    """Hears delivery events and reads the store back at that moment."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.heard: list[tuple[int, list[str]]] = []
        self.stored_when_told: list[list[int]] = []

    @hookimpl
    def propcrm_delivery_events_stored(
        self, batch: d.DeliveryBatch, events: Sequence[d.DeliveryEvent]
    ) -> None:
        assert isinstance(self.store, AggregateStreams)
        versions = [r.version for r in self.store.read_stream("delivery_batch", batch.batch_id)]
        self.stored_when_told.append(versions)
        self.heard.append((batch.version, [e.type for e in events]))


class ArchiveEar:
    """Hears archive events (the record and the events) and the stored versions then."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.heard: list[tuple[cu.CustomerRecord, Sequence[cu.ArchiveEvent]]] = []
        self.stored_when_told: list[list[int]] = []

    @hookimpl
    def propcrm_archive_events_stored(
        self, record: cu.CustomerRecord, events: Sequence[cu.ArchiveEvent]
    ) -> None:
        assert isinstance(self.store, AggregateStreams)
        stream = self.store.read_stream(ARCHIVE_KIND, events[0].customer_id)
        self.stored_when_told.append([r.version for r in stream])
        self.heard.append((record, events))


class Broken:
    """Fails in both hooks."""

    @hookimpl
    def propcrm_delivery_events_stored(self) -> None:
        raise RuntimeError("warehouse unreachable")

    @hookimpl
    def propcrm_archive_events_stored(self) -> None:
        raise RuntimeError("warehouse unreachable")


def plugins(*objects: object) -> Plugins:
    return make_plugin_manager(plugins=objects, builtins=False)


def drive(service: DeliveryService, clock: Clock) -> list[list[str]]:
    """Run the helpers' batch from opening to keys; each command's event types."""
    ran: list[list[str]] = []
    for command in delivery_commands(STD):
        clock.tick()
        ran.append([e.type for e in service.run(command, actor=STAFF).events])
    return ran


def test_delivery_plugins_hear_every_append_after_it_is_stored(store: Store) -> None:
    ear = DeliveryEar(store)
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock, plugins=plugins(ear))
    ran = drive(service, clock)
    assert [types for _, types in ear.heard] == ran
    assert any(len(types) > 1 for types in ran)  # a command's events are told together
    assert ["handover_booked"] in ran
    # Each time, the store already held every version up to the batch's.
    assert [list(range(1, v + 1)) for v, _ in ear.heard] == ear.stored_when_told
    assert ear.heard[-1][0] == service.get("B1").version


def test_delivery_import_tells_the_plugins_once_with_every_event(store: Store) -> None:
    ear = DeliveryEar(store)
    delivery = d.Delivery(taxonomy=STD)
    batch: d.DeliveryBatch | None = None
    history: list[d.DeliveryEvent] = []
    now = T0
    for command in delivery_commands(STD)[:4]:
        now += timedelta(hours=1)
        batch, events = delivery.execute(batch, command, now=now, actor=STAFF)
        history += events
    service = DeliveryService(store, delivery, clock=Clock(now), plugins=plugins(ear))
    service.import_history(history)
    assert ear.heard == [(len(history), [e.type for e in history])]
    assert ear.stored_when_told == [list(range(1, len(history) + 1))]


def test_refused_delivery_commands_tell_nothing(store: Store) -> None:
    ear = DeliveryEar(store)
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock, plugins=plugins(ear))
    service.run(open_batch(), actor=STAFF)
    clock.tick()
    with pytest.raises(d.DeliveryRefusedError):
        service.run(d.HandOverUnit(batch_id="B1", unit_id="U1", keys=["K"]), actor=STAFF)
    with pytest.raises(NotFoundError):
        service.run(d.HandOverUnit(batch_id="B9", unit_id="U1", keys=["K"]), actor=STAFF)
    with pytest.raises(AlreadyExistsError):
        service.run(open_batch(), actor=STAFF)
    assert ear.heard == [(1, ["delivery_batch_opened"])]


def test_every_delivery_plugin_and_listener_runs_when_one_raises(store: Store) -> None:
    before, after = DeliveryEar(store), DeliveryEar(store)
    listened: list[int] = []

    def broken_listener(_batch: d.DeliveryBatch, _events: Any) -> None:
        raise ValueError("projection down")

    clock = Clock()
    service = DeliveryService(
        store,
        d.Delivery(taxonomy=STD),
        clock=clock,
        listeners=[broken_listener, lambda batch, _e: listened.append(batch.version)],
        plugins=plugins(before, Broken(), after),
    )
    with pytest.raises(PluginError) as failed:
        service.run(open_batch(), actor=STAFF)
    message = failed.value.message
    assert "are stored" in message
    assert "broken_listener: projection down" in message
    assert "propcrm_delivery_events_stored" in message
    assert "Broken" in message and "warehouse unreachable" in message
    assert listened == [1]
    assert before.heard == after.heard == [(1, ["delivery_batch_opened"])]
    assert service.get("B1").version == 1
    assert isinstance(failed.value.__cause__, PluginError)


def test_archive_plugins_hear_masked_events_after_they_are_stored(store: Store) -> None:
    ear = ArchiveEar(store)
    clock = Clock()
    service = ArchiveService(store, clock=clock, audit=lambda _a: None, plugins=plugins(ear))
    for command in commands():
        clock.tick(1 / 60)
        service.run(command, actor=AGENT)
    assert [record.version for record, _ in ear.heard] == list(range(1, len(commands()) + 1))
    assert [list(range(1, r.version + 1)) for r, _ in ear.heard] == ear.stored_when_told
    assert leaked(ear.heard) == []
    # Masked, not dropped: the phone number keeps its last four digits.
    registered = ear.heard[0][1][0].payload
    assert isinstance(registered, cu.CustomerRegistered)
    assert registered.phone is not None and registered.phone.endswith(PHONE[-4:])
    assert registered.phone != PHONE
    # The store keeps the full values: the masking is the hook's, not an empty record.
    assert isinstance(store, AggregateStreams)
    stored = "".join(r.document for r in store.read_stream(ARCHIVE_KIND, "C1"))
    assert [p for p in PERSONAL if p in stored] == list(PERSONAL)
    clock.tick(1 / 60)
    service.run(erase(), actor=BOSS)
    assert ear.heard[-1][0].erased
    assert [e.type for e in ear.heard[-1][1]] == ["customer_erased"]
    assert leaked(ear.heard) == []


def test_archive_import_reaches_plugins_masked(store: Store) -> None:
    ear = ArchiveEar(store)
    record, history = reference()
    service = ArchiveService(
        store, clock=Clock(T0 + timedelta(days=1)), audit=lambda _a: None, plugins=plugins(ear)
    )
    service.import_history(history)
    assert [e.type for e in ear.heard[0][1]] == [e.type for e in history]
    assert ear.heard[0][0] == record.masked()
    assert leaked(ear.heard) == []
    assert leaked(history) != []  # the scan does find the values unmasked


def test_refused_archive_commands_tell_nothing(store: Store) -> None:
    ear = ArchiveEar(store)
    clock = Clock()
    service = ArchiveService(store, clock=clock, audit=lambda _a: None, plugins=plugins(ear))
    service.run(commands()[0], actor=AGENT)
    clock.tick()
    wrong = cu.Verification(
        form_ref="f", id_number="110101199001011234", phone=NEW_PHONE, unit_id="U1"
    )
    with pytest.raises(cu.VerificationError):
        service.run(cu.ChangeCustomer(customer_id="C1", evidence=wrong, phone=PHONE), actor=AGENT)
    with pytest.raises(AlreadyExistsError):
        service.run(commands()[0], actor=AGENT)
    assert len(ear.heard) == 1


def test_every_archive_plugin_runs_when_one_raises(store: Store) -> None:
    before, after = ArchiveEar(store), ArchiveEar(store)
    service = ArchiveService(
        store, clock=Clock(), audit=lambda _a: None, plugins=plugins(before, Broken(), after)
    )
    with pytest.raises(PluginError, match=r"are stored.*warehouse unreachable"):
        service.run(commands()[0], actor=AGENT)
    assert len(before.heard) == len(after.heard) == 1
    assert service.get("C1").version == 1


def test_the_default_plugins_are_the_process_wide_ones_loaded_on_first_append(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ear = DeliveryEar(store)
    calls: list[str] = []
    process_wide = plugins(ear)

    def get_plugins() -> Plugins:
        calls.append("get_plugins")
        return process_wide

    monkeypatch.setattr("propcrm.aggregates.get_plugins", get_plugins)
    clock = Clock()
    service = DeliveryService(store, d.Delivery(taxonomy=STD), clock=clock)
    archive = ArchiveService(store, clock=clock, audit=lambda _a: None)
    assert calls == []  # building a service loads nothing
    service.run(open_batch(), actor=STAFF)
    archive.run(commands()[0], actor=AGENT)
    assert calls == ["get_plugins", "get_plugins"]
    assert ear.heard == [(1, ["delivery_batch_opened"])]


def test_the_real_process_wide_manager_is_told(store: Store) -> None:
    ear = DeliveryEar(store)
    undo = _reset_for_tests(plugins(ear))
    try:
        DeliveryService(store, d.Delivery(taxonomy=STD), clock=Clock()).run(
            open_batch(), actor=STAFF
        )
    finally:
        undo()
    assert ear.heard == [(1, ["delivery_batch_opened"])]
