"""ArchiveService keeps personal data behind an audited reveal, per company, and erasures stick.

Every way events leave the service (``history``, listeners, outcomes, imports) is scanned for the
customer's name, phone numbers, ID number and address; only ``reveal_history`` and ``read_full``
return them, after the PII policy allowed it and the audit sink recorded the access.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from _aggregate_helpers import T0, Clock, sqlite_url, stores
from test_archive_service import (
    AGENT,
    BOSS,
    HANDLER,
    ID_NUMBER,
    NAME,
    NEW_PHONE,
    PHONE,
    commands,
    reference,
    service_with,
)

from propcrm import customers as cu
from propcrm.aggregates import ARCHIVE_KIND, ArchiveService
from propcrm.errors import (
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    StoreError,
    ValidationError,
)
from propcrm.model import Actor, OrgScope, Role
from propcrm.plugins import PiiAccess
from propcrm.serialization import make_converter
from propcrm.stores import AggregateStreams, MemoryStore, Store, open_store
from propcrm.stores.sql import SqlStore

PERSONAL = (NAME, PHONE, NEW_PHONE, ID_NUMBER, "民族大道")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from stores(tmp_path, request.param)


def leaked(values: Any) -> list[str]:
    """The personal values found in ``values``' reprs and their full (revealing) JSON."""
    text = repr(values) + str(values)
    text += json.dumps(make_converter(reveal_pii=True).unstructure(values), ensure_ascii=False)
    return [p for p in PERSONAL if p in text]


def register(**changes: Any) -> cu.RegisterCustomer:
    """The test's registration of C1, with ``changes``."""
    command = commands()[0]
    assert isinstance(command, cu.RegisterCustomer)
    return attrs.evolve(command, **changes)


def erase() -> cu.EraseCustomer:
    return cu.EraseCustomer(customer_id="C1", reason="PIPL deletion", request_ref="REQ-9")


def stored_text(store: Store, customer_id: str = "C1") -> str:
    assert isinstance(store, AggregateStreams)
    return "".join(r.document for r in store.read_stream(ARCHIVE_KIND, customer_id))


def test_history_is_masked_and_logs_nothing(store: Store) -> None:
    service, _, log = service_with(store)
    shown = service.history("C1")
    assert [e.type for e in shown] == [e.type for e in reference()[1]]
    assert leaked(shown) == []
    registered = shown[0].payload
    assert isinstance(registered, cu.CustomerRegistered)
    assert registered.phone is not None  # masked, not dropped: the shape stays readable
    assert registered.phone.endswith(PHONE[-4:])
    assert log == []
    # The full history is in the store: the masking is the service's, not an empty record.
    assert NAME in stored_text(store)


def test_history_is_revealed_only_audited_and_permitted(store: Store) -> None:
    service, clock, log = service_with(store)
    full = service.reveal_history("C1", actor=AGENT, reason="PIPL access request 3")
    assert full == reference()[1]
    assert [(a.actor, a.customer_id, a.purpose, a.at) for a in log] == [
        (AGENT, "C1", "PIPL access request 3", clock.now)
    ]
    with pytest.raises(PermissionDeniedError):
        service.reveal_history("C1", actor=HANDLER, reason="curious")
    with pytest.raises(ValidationError):
        service.reveal_history("C1", actor=AGENT, reason=" ")
    with pytest.raises(NotFoundError):
        service.reveal_history("C9", actor=AGENT, reason="check")
    assert len(log) == 1  # refusals log nothing and return nothing

    def refuse(_access: PiiAccess) -> None:
        raise RuntimeError("audit log unavailable")

    with pytest.raises(RuntimeError):
        ArchiveService(store, clock=clock, audit=refuse).reveal_history(
            "C1", actor=AGENT, reason="check"
        )


def test_history_checks_the_actors_scope(store: Store) -> None:
    service, _, _ = service_with(store)
    elsewhere = Actor(id="x", role=Role.HOTLINE_AGENT, scope=frozenset({"p9"}))
    with pytest.raises(PermissionDeniedError, match="does not cover the customer"):
        service.history("C1", actor=elsewhere)
    inside = Actor(id="y", role=Role.HOTLINE_AGENT, scope=frozenset({"p1"}))
    assert len(service.history("C1", actor=inside)) == len(commands())


def test_listeners_and_outcomes_get_masked_events(store: Store) -> None:
    heard: list[tuple[cu.CustomerRecord, Sequence[cu.ArchiveEvent]]] = []
    service, clock, _ = service_with(store, listeners=[lambda r, e: heard.append((r, e))])
    assert [len(events) for _, events in heard] == [1] * len(commands())
    assert leaked(heard) == []
    clock.now += timedelta(minutes=1)
    evidence = cu.Verification(form_ref="f-2", id_number=ID_NUMBER, phone=NEW_PHONE, unit_id="U1")
    outcome = service.run(
        cu.ChangeCustomer(customer_id="C1", evidence=evidence, address="民族大道200号"),
        actor=AGENT,
    )
    assert leaked(outcome) == []
    assert leaked(heard[-1]) == []


def test_imported_history_reaches_listeners_masked(store: Store) -> None:
    record, history = reference()
    heard: list[Sequence[cu.ArchiveEvent]] = []
    service = ArchiveService(
        store, clock=Clock(T0 + timedelta(days=1)), listeners=[lambda _r, e: heard.append(e)]
    )
    assert leaked(service.import_history(history)) == []
    assert [e.type for e in heard[0]] == [e.type for e in history]
    assert leaked(heard) == []
    assert (
        ArchiveService(store, audit=lambda _a: None).read_full("C1", actor=AGENT, reason="check")
        == record
    )


def test_two_companies_may_each_have_customer_c1(tmp_path: Path) -> None:
    sql = open_store(sqlite_url(tmp_path), tenant=None)
    assert isinstance(sql, SqlStore)
    roots: list[MemoryStore | SqlStore] = [MemoryStore(), sql]
    for root in roots:
        one, _, _ = service_with(root.for_tenant("c1"))
        two = ArchiveService(root.for_tenant("c2"), clock=Clock(), audit=lambda _a: None)
        assert two.history("C1") == []
        registered = register(scope=OrgScope(company_id="c2", project_id="p1"), full_name="李四")
        assert two.run(registered, actor=AGENT).record.version == 1
        assert one.get("C1").version == len(commands())
        assert two.get("C1").scope.company_id == "c2"
        assert two.read_full("C1", actor=AGENT, reason="check").name == "李四"
        assert one.read_full("C1", actor=AGENT, reason="check").name == NAME
        # An admin store's service works on the company it is given, and needs one.
        admin = root.for_tenant(None)
        with pytest.raises(ValidationError):
            ArchiveService(admin)
        as_c2 = ArchiveService(admin, company_id="c2", audit=lambda _a: None)
        assert as_c2.read_full("C1", actor=AGENT, reason="check").name == "李四"
        # Erasing c1's C1 leaves c2's C1 alone.
        one.run(erase(), actor=BOSS)
        assert NAME not in stored_text(root.for_tenant("c1"))
        assert "李四" in stored_text(root.for_tenant("c2"))
        root.close()


def test_sweep_redacts_an_erasure_whose_rewrite_never_ran(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, clock, _ = service_with(store)

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise StoreError("the process died here")

    # The process "dies" between appending the erasure and rewriting the history.
    monkeypatch.setattr(store, "rewrite_stream", crash)
    clock.now += timedelta(minutes=1)
    with pytest.raises(StoreError, match="died"):
        service.run(erase(), actor=BOSS)
    monkeypatch.undo()
    assert service.get("C1").erased
    assert NAME in stored_text(store)  # the erasure stands, the personal data too
    # Another customer, not erased, is left alone by the sweep.
    other = register(customer_id="C2", full_name="王五")
    service.run(other, actor=AGENT)
    restarted = ArchiveService(store, clock=clock, audit=lambda _a: None)
    assert restarted.redact_all_erased() == {"C1": 2}
    text = stored_text(store)
    for personal in PERSONAL:
        assert personal not in text
    assert "王五" in stored_text(store, "C2")
    assert restarted.redact_all_erased() == {}  # idempotent


def test_failed_redaction_is_raised_over_a_failed_listener(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_record: cu.CustomerRecord, _events: Sequence[cu.ArchiveEvent]) -> None:
        raise RuntimeError("projection down")

    _, clock, _ = service_with(store)
    failing = ArchiveService(store, clock=clock, listeners=[broken], audit=lambda _a: None)

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise StoreError("database gone")

    monkeypatch.setattr(store, "rewrite_stream", crash)
    clock.now += timedelta(minutes=1)
    # The redaction must be retried: its error wins over the listener's "do not retry".
    with pytest.raises(StoreError, match="database gone"):
        failing.run(erase(), actor=BOSS)
    monkeypatch.undo()
    assert failing.redact_erased("C1") == 2
    # Without a redaction failure the listener's PluginError is raised as before.
    clock.now += timedelta(minutes=1)
    with pytest.raises(PluginError, match="do not retry"):
        failing.run(register(customer_id="C2"), actor=AGENT)


def test_a_damaged_stored_document_is_reported_without_its_values(store: Store) -> None:
    service, _, _ = service_with(store)
    assert isinstance(store, AggregateStreams)
    first = store.read_stream(ARCHIVE_KIND, "C1")[0]
    document = json.loads(first.document)
    document["payload"]["birthday"] = f"{NAME} {PHONE}"  # changed outside propcrm
    damaged = attrs.evolve(first, document=json.dumps(document, ensure_ascii=False))
    store.rewrite_stream(ARCHIVE_KIND, "C1", "c1", [damaged], len(commands()))
    with pytest.raises(ValidationError) as caught:
        service.get("C1")
    assert caught.value.errors[0].path == "$.payload.birthday"
    assert leaked(str(caught.value)) == []
