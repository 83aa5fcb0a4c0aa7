"""The SLA engine against a slow, obviously right reference that steps minute by minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, note
from hypothesis import strategies as st

from propcrm.errors import PropcrmError
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.metrics.sla import (
    PolicySet,
    SlaPolicy,
    SlaStatus,
    SlaTarget,
    TargetRule,
    evaluate,
)
from propcrm.model import Actor, Channel, OrgScope, PauseReason, Role, TicketKind
from propcrm.workflow import Event, Lifecycle
from propcrm.workflow import commands as c
from propcrm.workflow.events import TicketPaused

MINUTE = timedelta(minutes=1)
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")]  # NY: DST starts 2026-03-08
PAUSED_BY = frozenset({PauseReason.WAITING_FOR_PARTS, PauseReason.CUSTOMER_UNAVAILABLE})


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    weekly: dict[str, str] = {"mon-fri": "09:00-12:00,13:00-18:00"}
    if draw(st.booleans()):
        weekly["sat"] = "10:00-15:00"
    if draw(st.booleans()):
        weekly["sun"] = "20:00-23:30"
    holidays = draw(
        st.lists(
            st.dates(min_value=datetime(2026, 3, 2).date(), max_value=datetime(2026, 3, 14).date()),
            max_size=2,
        )
    )
    return BusinessCalendar(name="cal", timezone=zone, weekly=weekly, holidays=holidays)


COMMANDS = ["dispatch", "accept", "arrive", "pause", "resume", "complete", "reopen", "close"]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    lifecycle = Lifecycle()
    start = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc) + MINUTE * draw(
        st.integers(0, 5 * 24 * 60)
    )
    ticket, history = lifecycle.execute(
        None,
        c.ReceiveTicket(
            ticket_id="T",
            kind=TicketKind.REPAIR,
            channel=Channel.APP,
            scope=OrgScope(company_id="c", project_id="p"),
            description="x",
        ),
        now=start,
        actor=BOSS,
    )
    now = start
    for _ in range(draw(st.integers(0, 16))):
        now += MINUTE * draw(st.integers(0, 36 * 60))
        allowed = sorted(set(COMMANDS) & lifecycle.rules.commands_for(ticket.kind, ticket.status))
        if not allowed:
            break
        name = draw(st.sampled_from(allowed))
        makers: dict[str, Callable[[], c.Command]] = {
            "dispatch": lambda: c.DispatchTicket(ticket_id="T", party="PM"),
            "accept": lambda: c.AcceptTicket(ticket_id="T"),
            "arrive": lambda: c.ArriveOnSite(ticket_id="T"),
            "pause": lambda: c.PauseWork(
                ticket_id="T", reason=draw(st.sampled_from(list(PauseReason)))
            ),
            "resume": lambda: c.ResumeWork(ticket_id="T"),
            "complete": lambda: c.CompleteWork(ticket_id="T", result="ok"),
            "reopen": lambda: c.ReopenTicket(ticket_id="T", reason="again"),
            "close": lambda: c.CloseTicket(ticket_id="T"),
        }
        command = makers[name]()
        try:
            ticket, events = lifecycle.execute(ticket, command, now=now, actor=BOSS)
        except PropcrmError:
            continue
        history += events
    return history


def reference(
    history: list[Event], calendar: BusinessCalendar, duration: timedelta, now: datetime
) -> dict[str, object]:
    """Minute stepping: the clock runs in a minute if started, not stopped, not held, and the
    calendar is working at the minute's start. Continue-on-reopen, business-time holds."""
    by_minute: dict[datetime, list[Event]] = {}
    for event in history:
        if event.occurred_at <= now:
            by_minute.setdefault(event.occurred_at, []).append(event)
    flags = {"started": False, "stopped": False, "held": False}
    stopped_at: list[datetime | None] = [None]

    def apply_events_at(t: datetime) -> None:
        for event in by_minute.get(t, []):
            if event.type == "ticket_received":
                flags["started"] = True
            elif event.type == "ticket_paused" and not flags["stopped"] and not flags["held"]:
                assert isinstance(event.payload, TicketPaused)
                flags["held"] = event.payload.reason in PAUSED_BY
            elif event.type == "ticket_resumed":
                flags["held"] = False
            elif event.type == "ticket_completed" and not flags["stopped"]:
                flags["stopped"], flags["held"] = True, False
                stopped_at[0] = t
            elif event.type == "ticket_reopened" and flags["stopped"]:
                flags["stopped"] = False
                stopped_at[0] = None

    def running() -> bool:
        return flags["started"] and not flags["stopped"] and not flags["held"]

    target = int(duration / MINUTE)
    used, due = 0, None
    t = history[0].occurred_at
    while t < now:  # phase 1: the past, minute by minute
        apply_events_at(t)
        if running() and calendar.is_working(t):
            used += 1
            if used == target:
                due = t + MINUTE
        t += MINUTE
    apply_events_at(now)
    elapsed = used
    if due is None and (running() or flags["stopped"]):
        # phase 2: project the due instant from now (or from the stop: when it would have been
        # due), nothing else changing
        t = stopped_at[0] or now
        while t < now + timedelta(days=90):
            if calendar.is_working(t):
                used += 1
                if used == target:
                    due = t + MINUTE
                    break
            t += MINUTE
    return {
        "elapsed": timedelta(minutes=elapsed),
        "due": due,
        "stopped_at": stopped_at[0],
        "held": flags["held"],
    }


@given(histories(), calendars(), st.integers(1, 40 * 60), st.integers(0, 10 * 24 * 60))
def test_engine_matches_minute_stepping(
    history: list[Event], calendar: BusinessCalendar, minutes: int, offset: int
) -> None:
    duration = timedelta(minutes=minutes)
    now = history[0].occurred_at + MINUTE * offset
    rule = TargetRule(
        target=SlaTarget.RESOLUTION, duration=duration, calendar="cal", paused_by=PAUSED_BY
    )
    policies = PolicySet(policies=[SlaPolicy(name="p", label_zh="p", label_en="p", targets=[rule])])
    state = evaluate(history, policies, now, calendars={"cal": calendar}).get(SlaTarget.RESOLUTION)
    expected = reference(history, calendar, duration, now)
    note(f"{[(e.type, e.occurred_at.isoformat()) for e in history]} now={now} {expected} {state}")
    assert state is not None
    assert state.elapsed == expected["elapsed"]
    assert state.met_at == expected["stopped_at"]
    if state.status is SlaStatus.NOT_APPLICABLE:
        return
    assert state.due_at == expected["due"]
    end = expected["stopped_at"] or now
    due = expected["due"]
    assert due is None or isinstance(due, datetime)
    assert isinstance(end, datetime)
    late = due is not None and end > due and state.elapsed > duration
    assert (state.status is SlaStatus.BREACHED) == late
    if late:
        assert state.breached_by == state.elapsed - duration
    elif expected["stopped_at"] is not None:
        assert state.status is SlaStatus.MET
    elif expected["held"]:
        assert state.status is SlaStatus.PAUSED
