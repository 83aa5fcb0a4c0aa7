"""A small builder of ticket histories for hand-computed KPI cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from propcrm.model import (
    Actor,
    Channel,
    EscalationLevel,
    Location,
    OrgScope,
    Priority,
    Role,
    Satisfaction,
    TicketKind,
)
from propcrm.workflow import Event, Lifecycle
from propcrm.workflow import commands as c

CN = timezone(timedelta(hours=8))
BOSS = Actor(id="boss", role=Role.SUPERVISOR)


class Story:
    """One ticket, told command by command at given local (UTC+8) times."""

    def __init__(
        self,
        ticket_id: str,
        kind: TicketKind,
        at: datetime,
        *,
        project: str = "p1",
        building: str | None = None,
        category: str | None = None,
        party: str | None = None,
        channel: Channel = Channel.HOTLINE,
        priority: Priority = Priority.P3,
    ) -> None:
        self.id = ticket_id
        self.lifecycle = Lifecycle()
        self.now = at.replace(tzinfo=CN)
        location = (
            None
            if building is None
            else Location(project_id=project, area="common", building_id=building)
        )
        receive = c.ReceiveTicket(
            ticket_id=ticket_id,
            kind=kind,
            channel=channel,
            scope=OrgScope(company_id="co", project_id=project, service_centre_id="sc"),
            description="x",
            priority=priority,
            category_code=category,
            location=location,
            responsible_party=party,
        )
        self.ticket, self.history = self.lifecycle.execute(None, receive, now=self.now, actor=BOSS)

    def do(self, hours: float, command: c.Command) -> Story:
        self.now += timedelta(hours=hours)
        self.ticket, events = self.lifecycle.execute(self.ticket, command, now=self.now, actor=BOSS)
        self.history += events
        return self

    def respond(self, hours: float = 0) -> Story:
        return self.do(hours, c.RespondToCustomer(ticket_id=self.id, message="ok"))

    def dispatch(self, hours: float = 0, party: str = "PM", assignee: str = "a1") -> Story:
        return self.do(hours, c.DispatchTicket(ticket_id=self.id, party=party, assignee=assignee))

    def complete(self, hours: float = 0) -> Story:
        """Wait ``hours``, then (re)dispatch, accept and start as needed, and complete."""
        self.now += timedelta(hours=hours)
        status = self.ticket.status.value
        if status in ("received", "reopened"):
            self.dispatch(party=self.ticket.responsible_party or "PM")
        if self.ticket.status.value == "dispatched":
            self.do(0, c.AcceptTicket(ticket_id=self.id))
        if self.ticket.status.value in ("accepted", "arrived"):
            self.do(0, c.StartWork(ticket_id=self.id))
        return self.do(0, c.CompleteWork(ticket_id=self.id, result="done"))

    def revisit(self, hours: float = 0, sat: Satisfaction = Satisfaction.SATISFIED) -> Story:
        return self.do(
            hours, c.RecordRevisit(ticket_id=self.id, satisfaction=sat, resolved=sat.is_satisfied)
        )

    def close(self, hours: float = 0) -> Story:
        return self.do(hours, c.CloseTicket(ticket_id=self.id))

    def reopen(self, hours: float = 0) -> Story:
        return self.do(hours, c.ReopenTicket(ticket_id=self.id, reason="again"))

    def void(self, hours: float = 0) -> Story:
        return self.do(hours, c.VoidTicket(ticket_id=self.id, reason="mistake"))

    def merge(self, hours: float = 0) -> Story:
        return self.do(hours, c.MergeAsDuplicate(ticket_id=self.id, into_ticket_id="other"))

    def invalid(self, hours: float = 0) -> Story:
        return self.do(hours, c.MarkComplaintInvalid(ticket_id=self.id, reason="out of scope"))

    def escalate(self, hours: float = 0) -> Story:
        return self.do(
            hours,
            c.EscalateTicket(ticket_id=self.id, level=EscalationLevel.TEAM_LEAD, reason="slow"),
        )

    def follow_up(self, hours: float = 0) -> Story:
        return self.do(hours, c.RecordFollowUp(ticket_id=self.id, note="called"))

    def events(self) -> list[Event]:
        return list(self.history)


def local(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=CN)
