from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from propcrm.errors import PropcrmError
from propcrm.model import (
    Actor,
    Channel,
    OrgScope,
    Role,
    Ticket,
    TicketKind,
)
from propcrm.workflow import Event, Lifecycle, LifecycleRules
from propcrm.workflow import commands as c

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)

AGENT = Actor(id="agent", role=Role.HOTLINE_AGENT)
DISPATCHER = Actor(id="dispatcher", role=Role.DISPATCHER)
HANDLER = Actor(id="handler", role=Role.HANDLER, party="PM")
SUPERVISOR = Actor(id="boss", role=Role.SUPERVISOR)
CUSTOMER = Actor(id="owner", role=Role.CUSTOMER)


class Flow:
    """Drives one ticket through the lifecycle, one minute per step unless told otherwise."""

    def __init__(self, kind: TicketKind, rules: LifecycleRules | None = None) -> None:
        self.lifecycle = Lifecycle(rules=rules or LifecycleRules.default())
        self.now = T0
        self.history: list[Event] = []
        self.ticket: Ticket | None = None
        self.id = "T-1"
        self.do(
            c.ReceiveTicket(
                ticket_id=self.id,
                kind=kind,
                channel=Channel.HOTLINE,
                scope=OrgScope(company_id="c1", project_id="p1"),
                description="test ticket",
            ),
            AGENT,
        )

    @property
    def t(self) -> Ticket:
        assert self.ticket is not None
        return self.ticket

    def do(
        self, command: c.Command, actor: Actor = SUPERVISOR, *, after: timedelta | None = None
    ) -> list[Event]:
        self.now += after if after is not None else timedelta(minutes=1)
        self.ticket, events = self.lifecycle.execute(
            self.ticket, command, now=self.now, actor=actor
        )
        self.history += events
        return events

    def refused(
        self, command: c.Command, actor: Actor = SUPERVISOR, *, after: timedelta | None = None
    ) -> Exception:
        before = self.ticket
        when = self.now + (after if after is not None else timedelta(minutes=1))
        with pytest.raises(PropcrmError) as info:
            self.lifecycle.handle(self.ticket, command, now=when, actor=actor)
        assert self.ticket is before
        return info.value  # type: ignore[return-value]

    # shortcuts for the usual path
    def dispatch(self) -> None:
        self.do(c.DispatchTicket(ticket_id=self.id, party="PM", assignee="handler"), DISPATCHER)

    def to_completed(self) -> None:
        self.dispatch()
        self.do(c.AcceptTicket(ticket_id=self.id), HANDLER)
        self.do(c.ArriveOnSite(ticket_id=self.id), HANDLER)
        self.do(c.StartWork(ticket_id=self.id), HANDLER)
        self.do(c.CompleteWork(ticket_id=self.id, result="done"), HANDLER)


@pytest.fixture
def flow() -> Callable[..., Flow]:
    return Flow
