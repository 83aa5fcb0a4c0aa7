"""TicketService: load, decide, save, then tell; retries, idempotent intake, routing, audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from _service_helpers import AGENT, DISPATCHER, SHANGHAI, SUPERVISOR, T0, FakeStore, receive

from propcrm.errors import (
    ConcurrencyError,
    InvalidTransitionError,
    NotFoundError,
    PluginError,
    ValidationError,
)
from propcrm.model import CustomerRef, Role, Ticket, TicketKind, TicketStatus
from propcrm.plugins import (
    PiiAccess,
    Plugins,
    Router,
    RoutingConfig,
    hookimpl,
    make_plugin_manager,
)
from propcrm.service import TicketService
from propcrm.workflow import Event, LifecycleRules
from propcrm.workflow import commands as c


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Listener:
    """Records what it hears, and what the store held at that moment."""

    def __init__(self, name: str, store: FakeStore, calls: list[str]) -> None:
        self.__name__ = name
        self.store = store
        self.calls = calls

    @hookimpl
    def propcrm_events_stored(self, ticket: Ticket, events: tuple[Event, ...]) -> None:
        stored = self.store.tickets.get(ticket.ticket_id)
        assert stored is not None and stored.version == ticket.version, "told before the save"
        self.calls.append(f"{self.__name__} {ticket.ticket_id}@{[e.sequence for e in events]}")


def service_with(
    store: FakeStore, *plugins: object, clock: Clock | None = None, **kwargs: Any
) -> TicketService:
    return TicketService(
        store, plugins=make_plugin_manager(plugins=plugins), clock=clock or Clock(), **kwargs
    )


# -- the four steps --------------------------------------------------------------------------


def test_a_command_is_saved_with_the_loaded_version_then_told() -> None:
    store, calls = FakeStore(), []
    service = service_with(store, Listener("L", store, calls))
    first = service.execute(receive(), actor=AGENT)
    assert [e.sequence for e in first] == [1]
    outcome = service.run(c.AddWorkLog(ticket_id="T-1", note="called owner"), actor=AGENT)
    assert [e.sequence for e in outcome.events] == [2]
    assert outcome.ticket == store.get("T-1") == service.get("T-1")
    assert outcome.ticket.version == 2 and outcome.attempts == 1
    assert store.saves == [("T-1", 1), ("T-1", 2)]
    assert calls == ["L T-1@[1]", "L T-1@[2]"]


def test_a_refused_command_writes_nothing_and_tells_nobody() -> None:
    store, calls = FakeStore(), []
    service = service_with(store, Listener("L", store, calls))
    service.execute(receive(), actor=AGENT)
    with pytest.raises(InvalidTransitionError):
        service.execute(c.CloseTicket(ticket_id="T-1"), actor=SUPERVISOR)
    assert store.saves == [("T-1", 1)] and len(calls) == 1


def test_listeners_run_in_registration_order_after_the_save() -> None:
    store, calls = FakeStore(), []
    first, second = Listener("first", store, calls), Listener("second", store, calls)
    service_with(store, first, second).execute(receive(), actor=AGENT)
    assert calls == ["first T-1@[1]", "second T-1@[1]"]


def test_a_failing_listener_does_not_stop_the_others_and_is_named() -> None:
    store, calls = FakeStore(), []

    class Broken:
        __name__ = "broken-listener"

        @hookimpl
        def propcrm_events_stored(self, ticket: Ticket) -> None:
            raise RuntimeError("smtp down")

    service = service_with(store, Broken(), Listener("after", store, calls))
    with pytest.raises(PluginError, match="broken-listener") as info:
        service.execute(receive(), actor=AGENT)
    assert "are stored" in str(info.value) and "smtp down" in str(info.value)
    assert store.saves == [("T-1", 1)]
    assert calls == ["after T-1@[1]"]


def test_the_clock_is_injected_and_must_be_aware() -> None:
    store = FakeStore()
    clock = Clock()
    service = service_with(store, clock=clock)
    service.execute(receive(), actor=AGENT)
    clock.now = T0 + timedelta(hours=2)
    (event,) = service.execute(c.AddWorkLog(ticket_id="T-1", note="x"), actor=AGENT)
    assert event.occurred_at == T0 + timedelta(hours=2)
    naive = service_with(FakeStore(), clock=Clock(datetime(2026, 3, 2, 9)))
    with pytest.raises(ValidationError) as info:
        naive.execute(receive(), actor=AGENT)
    assert info.value.paths == ("$.clock",)


# -- retries ---------------------------------------------------------------------------------


def test_a_lost_race_is_retried_against_the_winners_version() -> None:
    store, calls = FakeStore(), []
    service = service_with(store, Listener("L", store, calls))
    service.execute(receive(), actor=AGENT)
    rival = service_with(store)

    store.fail_next.append(
        lambda: rival.execute(c.AddWorkLog(ticket_id="T-1", note="rival"), actor=AGENT)
    )
    outcome = service.run(c.AddWorkLog(ticket_id="T-1", note="mine"), actor=AGENT)
    assert outcome.attempts == 2
    assert [e.sequence for e in outcome.events] == [3]
    assert [e.sequence for e in store.events("T-1")] == [1, 2, 3]
    assert calls == ["L T-1@[1]", "L T-1@[3]"]  # told once, about what was stored


def test_a_retry_decides_again_and_may_be_refused() -> None:
    store = FakeStore()
    service = service_with(store)
    service.execute(receive(), actor=AGENT)
    rival = service_with(store)
    store.fail_next.append(
        lambda: rival.execute(c.VoidTicket(ticket_id="T-1", reason="mistake"), actor=SUPERVISOR)
    )
    with pytest.raises(InvalidTransitionError, match="voided"):
        service.execute(c.DispatchTicket(ticket_id="T-1", party="PM"), actor=DISPATCHER)
    assert store.get("T-1").status is TicketStatus.VOIDED


def test_retries_are_bounded_then_the_conflict_is_raised() -> None:
    store = FakeStore()
    service = service_with(store, max_attempts=3)
    service.execute(receive(), actor=AGENT)
    store.fail_next.extend([None, None, None, None])
    with pytest.raises(ConcurrencyError):
        service.execute(c.AddWorkLog(ticket_id="T-1", note="x"), actor=AGENT)
    assert len(store.fail_next) == 1  # three attempts, then it gave up
    assert store.saves == [("T-1", 1)]


def test_an_intake_whose_id_is_taken_is_not_retried() -> None:
    store = FakeStore()
    service = service_with(store)
    store.fail_next.extend([None, None])
    with pytest.raises(ConcurrencyError):
        service.execute(receive(), actor=AGENT)
    assert len(store.fail_next) == 1


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="max_attempts"):
        TicketService(FakeStore(), plugins=make_plugin_manager(), max_attempts=0)


# -- idempotent intake -----------------------------------------------------------------------


def test_the_same_submission_twice_makes_one_ticket() -> None:
    store, calls = FakeStore(), []
    service = service_with(store, Listener("L", store, calls))
    first = service.run(receive("T-1", key="hotline-call-77"), actor=AGENT)
    again = service.run(receive("T-2", key="hotline-call-77"), actor=AGENT)
    assert not first.duplicate and again.duplicate
    assert again.ticket.ticket_id == "T-1"
    assert again.events == first.events
    assert set(store.tickets) == {"T-1"} and calls == ["L T-1@[1]"]


def test_a_racing_duplicate_intake_returns_the_winners_ticket() -> None:
    store = FakeStore()
    service = service_with(store)
    service.execute(receive("T-1", key="wechat-9"), actor=AGENT)
    store.ticket_for_intake_key = lambda key: None  # type: ignore[method-assign]  # stale read
    outcome = service.run(receive("T-2", key="wechat-9"), actor=AGENT)
    assert outcome.duplicate and outcome.ticket.ticket_id == "T-1"
    assert [e.ticket_id for e in outcome.events] == ["T-1"]
    assert set(store.tickets) == {"T-1"}


# -- plugins shape the decision --------------------------------------------------------------


def test_rules_from_plugins_apply() -> None:
    class NoVoidingRepairs:
        @hookimpl
        def propcrm_lifecycle_rules(self, rules: LifecycleRules) -> LifecycleRules:
            return rules.forbid(TicketKind.REPAIR, TicketStatus, "void")

    store = FakeStore()
    service = service_with(store, NoVoidingRepairs())
    service.execute(receive(), actor=AGENT)
    with pytest.raises(InvalidTransitionError, match="does not allow 'void'"):
        service.execute(c.VoidTicket(ticket_id="T-1", reason="x"), actor=SUPERVISOR)


def test_category_codes_are_checked_against_the_plugins_taxonomy() -> None:
    store = FakeStore()
    service = service_with(store)
    (event,) = service.execute(receive(code="Q.WP.08"), actor=AGENT)
    assert event.payload.taxonomy_version == "propcrm-standard@1.0.0"  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as info:
        service.execute(receive("T-2", code="Q.WP.99"), actor=AGENT)
    assert info.value.paths == ("$.category_code",)


# -- routing ---------------------------------------------------------------------------------


def _at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, ss, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("when", "desk"),
    [
        (_at(8, 29, 59), "monitoring-centre"),
        (_at(8, 30), "hotline-desk"),
        (_at(19, 59, 59), "hotline-desk"),
        (_at(20, 0), "monitoring-centre"),
    ],
)
def test_dispatch_routes_by_the_time_of_day(when: datetime, desk: str) -> None:
    store = FakeStore()
    clock = Clock(_at(0, 0))
    service = service_with(store, clock=clock)
    service.execute(receive(code="S.CS.02"), actor=AGENT)  # late response: a PM matter
    clock.now = when
    outcome = service.dispatch("T-1", actor=DISPATCHER)
    assert outcome.ticket.status is TicketStatus.DISPATCHED
    assert outcome.ticket.responsible_party == "PM"
    assert outcome.ticket.assignee == desk
    (event,) = outcome.events
    assert f"{desk} on duty" in (event.payload.note or "")  # type: ignore[union-attr]


def test_a_contractor_defect_goes_to_the_taxonomy_party_without_assignee() -> None:
    store = FakeStore()
    service = service_with(store, clock=Clock(_at(21, 0)))
    service.execute(receive(code="Q.WP.08"), actor=AGENT)
    route = service.route("T-1")
    assert route is not None
    assert (route.party, route.assignee, route.desk) == ("GC", None, "monitoring-centre")


def test_a_registered_router_answers_before_the_builtin_one() -> None:
    store = FakeStore()
    nine_to_five = Router(RoutingConfig(desk_hours="09:00-17:00"))
    service = service_with(store, nine_to_five, clock=Clock(_at(8, 45)))
    service.execute(receive(code="S.CS.02"), actor=AGENT)
    route = service.route("T-1")
    assert route is not None and route.desk == "monitoring-centre"


def test_with_the_builtin_router_blocked_nothing_routes() -> None:
    store = FakeStore()
    plugins = make_plugin_manager(blocked=["propcrm.plugins.builtin_router"])
    service = TicketService(store, plugins=plugins, clock=Clock())
    service.execute(receive(), actor=AGENT)
    assert service.route("T-1") is None
    with pytest.raises(NotFoundError, match="route"):
        service.dispatch("T-1", actor=DISPATCHER)
    assert store.get("T-1").status is TicketStatus.RECEIVED


# -- the customer archive --------------------------------------------------------------------


class Audit:
    def __init__(self, fail: bool = False) -> None:
        self.log: list[PiiAccess] = []
        self.fail = fail

    @hookimpl
    def propcrm_audit_pii_access(self, access: PiiAccess) -> None:
        if self.fail:
            raise OSError("audit log unavailable")
        self.log.append(access)


def _customer_store() -> FakeStore:
    store = FakeStore()
    store.save_customer(
        CustomerRef(customer_id="CU-1", name="张伟", phone="13812345678", id_number=None)
    )
    return store


def test_reading_personal_data_is_audited_and_only_asked_fields_are_revealed() -> None:
    audit = Audit()
    service = service_with(_customer_store(), audit)
    owner = service.read_customer("CU-1", actor=AGENT, purpose="revisit call", fields=["phone"])
    assert owner.phone == "13812345678" and owner.name == "张*"
    (access,) = audit.log
    assert access.actor == AGENT and access.customer_id == "CU-1"
    assert access.fields == frozenset({"phone"}) and access.purpose == "revisit call"
    assert access.at == T0


def test_a_failing_audit_withholds_the_data() -> None:
    service = service_with(_customer_store(), Audit(fail=True))
    with pytest.raises(PluginError, match="audit log unavailable"):
        service.read_customer("CU-1", actor=AGENT, purpose="revisit call")


def test_an_unknown_personal_field_is_refused() -> None:
    service = service_with(_customer_store())
    with pytest.raises(ValidationError) as info:
        service.read_customer("CU-1", actor=AGENT, purpose="x", fields=["bank_account"])
    assert info.value.paths == ("$.fields",)


def test_the_process_wide_plugins_are_used_when_none_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from propcrm.plugins import _manager

    hermetic: Plugins = make_plugin_manager()
    monkeypatch.setattr(_manager, "_default", hermetic)
    assert TicketService(FakeStore()).plugins is hermetic


def test_role_permissions_still_apply() -> None:
    from propcrm.errors import PermissionDeniedError
    from propcrm.model import Actor

    service = service_with(FakeStore())
    with pytest.raises(PermissionDeniedError):
        service.execute(receive(), actor=Actor(id="h", role=Role.HANDLER))
