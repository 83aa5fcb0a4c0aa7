"""The service's SLA wiring: ``due_at`` on every save, and due notifications delivered once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from _service_helpers import SCOPE, SHANGHAI, SUPERVISOR, T0, receive

from propcrm.errors import PluginError
from propcrm.model import Actor, OrgScope, Priority, Role, Satisfaction, TicketKind
from propcrm.plugins import Notification, NotificationKind, hookimpl, make_plugin_manager
from propcrm.service import TicketService
from propcrm.stores import MemoryStore, Store, TicketQuery, open_store
from propcrm.workflow import commands as c

H = timedelta(hours=1)
M = timedelta(minutes=1)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Outbox:
    """A delivery plugin that records what it is handed (and can fail on purpose)."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail_keys: set[str] = set()

    @hookimpl
    def propcrm_deliver_notification(self, notification: Notification) -> None:
        if notification.idempotency_key in self.fail_keys:
            raise ConnectionError("SMS gateway down")
        self.sent.append(notification)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield MemoryStore()
        return
    opened = open_store(f"sqlite:///{tmp_path / 'svc.db'}")
    yield opened
    opened.close()


def make(store: Store, clock: Clock, outbox: Outbox | None = None, **kw: Any) -> TicketService:
    plugins = make_plugin_manager(plugins=[outbox] if outbox else [])
    return TicketService(store, plugins=plugins, clock=clock, **kw)


def urgent(ticket_id: str, scope: OrgScope = SCOPE) -> c.ReceiveTicket:
    """A P2 urgent repair: on site within 30 minutes, done within 24 hours (wall clock)."""
    return attrs.evolve(receive(ticket_id), priority=Priority.P2, scope=scope)


def overdue(service: TicketService, at: datetime) -> list[str]:
    return [t.ticket_id for t in service.query(TicketQuery(overdue_at=at)).items]


def test_an_overdue_query_finds_the_ticket_after_its_deadline_and_not_before(store: Any) -> None:
    clock = Clock()
    service = make(store, clock)
    service.run(urgent("T-1"), actor=SUPERVISOR)
    # the arrival target (30 min) is the earliest running deadline
    assert overdue(service, T0 + 30 * M) == []
    assert overdue(service, T0 + 30 * M + timedelta(seconds=1)) == ["T-1"]
    clock.now = T0 + 10 * M
    service.run(c.DispatchTicket(ticket_id="T-1", party="PM", assignee="w1"), actor=SUPERVISOR)
    clock.now = T0 + 15 * M
    service.run(c.AcceptTicket(ticket_id="T-1"), actor=SUPERVISOR)
    clock.now = T0 + 20 * M
    service.run(c.ArriveOnSite(ticket_id="T-1"), actor=SUPERVISOR)
    # arrival met: the deadline is now the resolution's, 24 hours after intake
    assert overdue(service, T0 + H) == []
    assert overdue(service, T0 + 24 * H) == []
    assert overdue(service, T0 + 24 * H + M) == ["T-1"]
    clock.now = T0 + 2 * H
    service.run(c.CompleteWork(ticket_id="T-1", result="fixed"), actor=SUPERVISOR)
    assert overdue(service, T0 + 48 * H) == []  # nothing runs once the work is done


def test_the_stored_due_at_follows_the_policies_and_their_calendar(store: Any) -> None:
    clock = Clock()
    service = make(store, clock)
    service.run(receive("T-P3"), actor=SUPERVISOR)  # P3 repair: 3 working days, cn-statutory
    history = service.events("T-P3")
    due = service.due_at(history, now=T0)
    # Monday 09:00 + three 7.5-hour office days (09:00-12:00, 13:30-18:00) = Wednesday 18:00
    assert due == datetime(2026, 3, 4, 18, 0, tzinfo=SHANGHAI)
    assert overdue(service, due) == []
    assert overdue(service, due + M) == ["T-P3"]


def test_track_due_off_leaves_tickets_out_of_overdue_queries(store: Any) -> None:
    service = make(store, Clock(), track_due=False)
    service.run(urgent("T-1"), actor=SUPERVISOR)
    assert overdue(service, T0 + 100 * H) == []


def _ladder_run(store: Any) -> tuple[TicketService, Clock, Outbox]:
    clock = Clock()
    outbox = Outbox()
    service = make(store, clock, outbox)
    service.run(urgent("T-1"), actor=SUPERVISOR)
    clock.now = T0 + 5 * M
    service.run(urgent("T-2"), actor=SUPERVISOR)
    return service, clock, outbox


def test_each_notification_is_delivered_exactly_once_in_order(store: Any) -> None:
    service, _clock, outbox = _ladder_run(store)
    first = service.deliver_due_notifications(now=T0 + 20 * M)
    # T-1 arrival: 50% at 15 min; T-2: 50% at 20 min; nothing else yet
    assert [n.idempotency_key for n in first] == [
        "sla:T-1:P2-urgent-repair:arrival:0:50%",
        "sla:T-2:P2-urgent-repair:arrival:0:50%",
    ]
    assert outbox.sent == first
    assert service.deliver_due_notifications(now=T0 + 20 * M) == []
    assert service.deliver_due_notifications(now=T0 + 21 * M) == []
    later = service.deliver_due_notifications(now=T0 + 40 * M)
    keys = [n.idempotency_key for n in later]
    assert keys == [
        "sla:T-1:P2-urgent-repair:arrival:0:80%",
        "sla:T-2:P2-urgent-repair:arrival:0:80%",
        "sla:T-1:P2-urgent-repair:arrival:0:breach",
        "sla:T-2:P2-urgent-repair:arrival:0:breach",
    ]
    assert [n.due_at for n in later] == sorted(n.due_at for n in later)
    assert [n.kind for n in later] == [NotificationKind.SLA_WARNING] * 2 + [
        NotificationKind.SLA_BREACH
    ] * 2
    assert outbox.sent == first + later
    assert len({n.idempotency_key for n in outbox.sent}) == len(outbox.sent)
    # what is due is still listed, but nothing is delivered twice
    assert len(service.due_notifications(now=T0 + 40 * M)) == 6
    assert service.deliver_due_notifications(now=T0 + 40 * M) == []


def test_the_assignee_rung_goes_to_the_assignee(store: Any) -> None:
    clock = Clock()
    outbox = Outbox()
    service = make(store, clock, outbox)
    service.run(urgent("T-1"), actor=SUPERVISOR)
    clock.now = T0 + M
    service.run(c.DispatchTicket(ticket_id="T-1", party="PM", assignee="w7"), actor=SUPERVISOR)
    (notice,) = service.deliver_due_notifications(now=T0 + 16 * M)
    assert notice.recipient == "w7" and notice.ticket_id == "T-1"
    assert "T-1" in notice.text_zh and "due" in notice.text_en


def test_a_failed_delivery_is_tried_again_on_the_next_run(store: Any) -> None:
    service, _clock, outbox = _ladder_run(store)
    outbox.fail_keys = {"sla:T-1:P2-urgent-repair:arrival:0:50%"}
    with pytest.raises(PluginError, match=r"1 notification\(s\) delivered, 1 failed"):
        service.deliver_due_notifications(now=T0 + 20 * M)
    assert [n.ticket_id for n in outbox.sent] == ["T-2"]
    outbox.fail_keys = set()
    again = service.deliver_due_notifications(now=T0 + 20 * M)
    assert [n.idempotency_key for n in again] == ["sla:T-1:P2-urgent-repair:arrival:0:50%"]


def test_a_second_service_over_the_same_store_delivers_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first_store, second_store = open_store(url), open_store(url)
    one, two = Outbox(), Outbox()
    clock = Clock()
    first = make(first_store, clock, one)
    first.run(urgent("T-1"), actor=SUPERVISOR)
    second = make(second_store, clock, two)
    assert len(first.deliver_due_notifications(now=T0 + 20 * M)) == 1
    assert second.deliver_due_notifications(now=T0 + 20 * M) == []
    assert len(second.deliver_due_notifications(now=T0 + 40 * M)) == 2  # 80% and breach
    assert one.sent[0].idempotency_key not in {n.idempotency_key for n in two.sent}
    first_store.close()
    second_store.close()


def test_notifications_are_scoped_by_organisation() -> None:
    shared = MemoryStore()
    other = OrgScope(company_id="C2", project_id="P-OTHER")
    sibling = OrgScope(company_id="C1", project_id="P-SIBLING")
    clock = Clock()
    admin = make(shared, clock)
    admin.run(urgent("T-C1"), actor=SUPERVISOR)
    admin.run(urgent("T-C2", other), actor=SUPERVISOR)
    admin.run(urgent("T-SIB", sibling), actor=SUPERVISOR)
    outbox = Outbox()
    tenant = make(shared.for_tenant("C1"), clock, outbox)
    got = tenant.deliver_due_notifications(now=T0 + 20 * M, org_unit="P-CUIHU")
    assert {n.ticket_id for n in got} == {"T-C1"}
    scoped = Actor(id="mgr", role=Role.SUPERVISOR, scope=frozenset({"P-SIBLING"}))
    got = tenant.deliver_due_notifications(now=T0 + 20 * M, actor=scoped)
    assert {n.ticket_id for n in got} == {"T-SIB"}
    got = tenant.deliver_due_notifications(now=T0 + 20 * M)
    assert got == []  # C1's are all delivered; C2's are not this tenant's
    assert all(n.ticket_id != "T-C2" for n in outbox.sent)
    # C2's own scheduler still delivers C2's warning: claims are kept per company
    other_box = Outbox()
    c2 = make(shared.for_tenant("C2"), clock, other_box)
    assert [n.ticket_id for n in c2.deliver_due_notifications(now=T0 + 20 * M)] == ["T-C2"]


def test_revisit_reminders_come_when_the_window_opens_and_once_more_when_overdue(
    store: Any,
) -> None:
    clock = Clock()
    outbox = Outbox()
    service = make(store, clock, outbox, warning_ladder=())
    complaint = attrs.evolve(receive("T-9"), kind=TicketKind.COMPLAINT)
    service.run(complaint, actor=SUPERVISOR)
    clock.now = T0 + H
    service.run(c.DispatchTicket(ticket_id="T-9", party="PM", assignee="w1"), actor=SUPERVISOR)
    service.run(c.AcceptTicket(ticket_id="T-9"), actor=SUPERVISOR)
    service.run(c.ArriveOnSite(ticket_id="T-9"), actor=SUPERVISOR)
    clock.now = T0 + 2 * H
    service.run(c.CompleteWork(ticket_id="T-9", result="apologised"), actor=SUPERVISOR)
    assert service.deliver_due_notifications(now=T0 + H) == []
    (opened,) = service.deliver_due_notifications(now=T0 + 3 * H)
    assert opened.kind is NotificationKind.REVISIT_REMINDER
    assert opened.recipient == "revisit-desk" and opened.due_at == T0 + 2 * H
    assert service.deliver_due_notifications(now=T0 + 3 * H + M) == []
    (late,) = service.deliver_due_notifications(now=T0 + 2 * H + timedelta(days=3, minutes=1))
    assert late.idempotency_key == opened.idempotency_key + ":overdue"
    clock.now = T0 + 80 * H
    service.run(
        c.RecordRevisit(ticket_id="T-9", satisfaction=Satisfaction.SATISFIED, resolved=True),
        actor=SUPERVISOR,
    )
    assert service.due_notifications(now=T0 + 100 * H) == []
