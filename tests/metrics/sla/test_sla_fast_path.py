"""The fast paths (memoised matching, plain-time arithmetic) against the explaining reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from propcrm.errors import PropcrmError
from propcrm.metrics.calendar import BusinessCalendar, twenty_four_seven
from propcrm.metrics.sla import (
    WARRANTY_TRADE_DAYS,
    PolicyMatch,
    PolicySet,
    SlaPolicy,
    SlaReport,
    SlaTarget,
    TargetRule,
    _policy,
    default_policies,
    evaluate,
)
from propcrm.metrics.sla._evaluate import (
    CalendarLookup,
    TargetClock,
    _AlwaysOpen,
    arithmetic,
    clocks_for,
)
from propcrm.metrics.sla._evaluate import state_of as reference_state_of
from propcrm.model import (
    Actor,
    Channel,
    OrgScope,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    Ticket,
    TicketKind,
)
from propcrm.workflow import Event, Lifecycle, replay
from propcrm.workflow import commands as c

T = TypeVar("T")
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
MINUTE = timedelta(minutes=1)
ZONES = [
    timezone.utc,
    timezone(timedelta(hours=8)),
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("America/New_York"),  # DST starts 2026-03-08 and ends 2026-11-01
    ZoneInfo("Europe/London"),
]
PREFIXES = sorted(WARRANTY_TRADE_DAYS)
CODES = [None, "Q", "Q.W", *PREFIXES, *(f"{p}.0{i}" for p in PREFIXES[:4] for i in (1, 2))]
PROJECTS = ["p1", "p2", "p3"]

# -- tickets and policies ------------------------------------------------------------------------

receive_commands = st.builds(
    c.ReceiveTicket,
    ticket_id=st.just("T"),
    kind=st.sampled_from(list(TicketKind)),
    channel=st.sampled_from(list(Channel)),
    scope=st.builds(OrgScope, company_id=st.just("co"), project_id=st.sampled_from(PROJECTS)),
    description=st.just("x"),
    priority=st.sampled_from(list(Priority)),
    category_code=st.sampled_from(CODES),
)


def ticket_of(command: c.ReceiveTicket) -> Ticket:
    at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    ticket, _ = Lifecycle().execute(None, command, now=at, actor=BOSS)
    return ticket


def subsets(values: Sequence[T]) -> st.SearchStrategy[frozenset[T]]:
    return st.frozensets(st.sampled_from(values), max_size=3)


matches = st.builds(
    PolicyMatch,
    kinds=subsets(list(TicketKind)),
    priorities=subsets(list(Priority)),
    category_prefixes=subsets(["Q", "Q.W", *PREFIXES[:5]]),
    project_ids=subsets(PROJECTS),
    channels=subsets(list(Channel)),
)


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    count = draw(st.integers(0, 8))
    policies = [
        SlaPolicy(
            name=f"p{i}",
            label_zh="p",
            label_en="p",
            match=draw(matches),
            precedence=draw(st.integers(0, 3)),  # few values: ties are common
            targets=[TargetRule(target=SlaTarget.RESOLUTION, duration=timedelta(hours=1))],
        )
        for i in range(count)
    ]
    return PolicySet(policies=policies, all_matching=draw(st.booleans()))


@given(policy_sets(), st.lists(receive_commands, min_size=1, max_size=12))
def test_fast_matching_equals_the_explaining_path(
    policies: PolicySet, commands: list[c.ReceiveTicket]
) -> None:
    tickets = [ticket_of(command) for command in commands]
    for ticket in tickets * 2:  # the second round answers from the memo
        reference = policies.applicable(ticket, memo=False)
        assert policies.applicable(ticket) == reference
        assert policies.policies_for(ticket) == tuple(a.policy for a in reference)
        for policy in policies.policies:
            assert policy.match.matches(ticket) == policy.match.explain(ticket)[0]


@given(st.lists(receive_commands, min_size=1, max_size=12))
def test_default_policies_fast_matching(commands: list[c.ReceiveTicket]) -> None:
    for policies in (default_policies(), default_policies(all_matching=True)):
        for ticket in [ticket_of(command) for command in commands] * 2:
            assert policies.applicable(ticket) == policies.applicable(ticket, memo=False)


def test_match_key_reads_only_the_criteria_in_use() -> None:
    policies = default_policies()
    ticket = ticket_of(
        c.ReceiveTicket(
            ticket_id="T",
            kind=TicketKind.REPAIR,
            channel=Channel.APP,
            scope=OrgScope(company_id="co", project_id="p1"),
            description="x",
            priority=Priority.P4,
            category_code="Q.WP.01",
        )
    )
    # the defaults read kind, priority and category, never the project or the channel
    assert policies.match_key(ticket) == (TicketKind.REPAIR, Priority.P4, "Q.WP.01")
    assert PolicySet(policies=[]).match_key(ticket) == ()
    only_projects = PolicySet(
        policies=[
            SlaPolicy(
                name="p",
                label_zh="p",
                label_en="p",
                match=PolicyMatch(project_ids={"p1"}),
                targets=[TargetRule(target=SlaTarget.RESOLUTION, duration=timedelta(hours=1))],
            )
        ]
    )
    assert only_projects.match_key(ticket) == ("p1",)


def test_the_memo_is_bounded_and_stays_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_policy, "MEMO_SIZE", 2)
    policies = default_policies()
    tickets = [
        ticket_of(
            c.ReceiveTicket(
                ticket_id="T",
                kind=TicketKind.REPAIR,
                channel=Channel.APP,
                scope=OrgScope(company_id="co", project_id="p1"),
                description="x",
                priority=Priority.P4,
                category_code=code,
            )
        )
        for code in ("Q.WP.01", "Q.EL.01", "Q.LF.01", "X.1")
    ]
    for ticket in tickets * 2:
        assert policies.applicable(ticket) == policies.applicable(ticket, memo=False)
        assert len(policies._chosen) <= 2
        assert len(policies._explained) <= 2
    names = [policies.policies_for(t)[0].name for t in tickets]
    assert names == ["P4-warranty-Q.WP", "P4-warranty-Q.EL", "P4-warranty-Q.LF", "P4-warranty"]


def test_the_memo_is_not_part_of_the_value() -> None:
    used, fresh = default_policies(), default_policies()
    ticket = ticket_of(
        c.ReceiveTicket(
            ticket_id="T",
            kind=TicketKind.COMPLAINT,
            channel=Channel.APP,
            scope=OrgScope(company_id="co", project_id="p1"),
            description="x",
        )
    )
    assert used.policies_for(ticket)[0].name == "complaint"
    assert used == fresh
    assert hash(used) == hash(fresh)
    assert "_chosen" not in repr(used)


# -- plain-time arithmetic for always-open calendars ---------------------------------------------

instants = st.builds(
    lambda minutes, zone: (
        datetime(2026, 1, 1, tzinfo=timezone.utc) + MINUTE * minutes + timedelta(seconds=0.5)
    ).astimezone(zone),
    st.integers(0, 365 * 24 * 60),
    st.sampled_from(ZONES),
)


@given(
    st.sampled_from(["UTC", "America/New_York", "Asia/Shanghai"]),
    instants,
    instants,
    st.integers(0, 40 * 24 * 60),
)
def test_always_open_arithmetic_equals_the_calendar(
    zone: str, start: datetime, end: datetime, minutes: int
) -> None:
    calendar = twenty_four_seven(zone)
    fast = arithmetic(calendar)
    assert isinstance(fast, _AlwaysOpen)
    duration = MINUTE * minutes
    for a, b in ((start, end), (start, start.astimezone(end.tzinfo) + duration)):
        assert fast.elapsed(a, b) == calendar.elapsed(a, b)
    added, expected = fast.add(start, duration), calendar.add(start, duration)
    assert added == expected
    assert repr(added) == repr(expected)


def test_calendars_with_closed_time_keep_their_own_arithmetic() -> None:
    office = BusinessCalendar(name="office", weekly={"mon-fri": "09:00-18:00"})
    holiday = BusinessCalendar(name="h", weekly={"daily": "00:00-24:00"}, holidays=["2026-10-01"])
    limited = BusinessCalendar(name="l", weekly={"daily": "00:00-24:00"}, data_end="2026-12-31")
    for calendar in (office, holiday, limited):
        assert arithmetic(calendar) is calendar
    assert isinstance(arithmetic(twenty_four_seven()), _AlwaysOpen)


# -- evaluation ----------------------------------------------------------------------------------

COMMANDS = [
    "respond",
    "dispatch",
    "accept",
    "arrive",
    "start",
    "pause",
    "resume",
    "complete",
    "revisit",
    "reopen",
    "close",
    "void",
]


def make_command(name: str, draw: st.DrawFn) -> c.Command:
    if name == "pause":
        return c.PauseWork(ticket_id="T", reason=draw(st.sampled_from(list(PauseReason))))
    if name == "revisit":
        sat = draw(st.sampled_from(list(Satisfaction)))
        return c.RecordRevisit(ticket_id="T", satisfaction=sat, resolved=sat.is_satisfied)
    simple: dict[str, Callable[[], c.Command]] = {
        "respond": lambda: c.RespondToCustomer(ticket_id="T", message="ok"),
        "dispatch": lambda: c.DispatchTicket(ticket_id="T", party="PM"),
        "accept": lambda: c.AcceptTicket(ticket_id="T"),
        "arrive": lambda: c.ArriveOnSite(ticket_id="T"),
        "start": lambda: c.StartWork(ticket_id="T"),
        "resume": lambda: c.ResumeWork(ticket_id="T"),
        "complete": lambda: c.CompleteWork(ticket_id="T", result="ok"),
        "reopen": lambda: c.ReopenTicket(ticket_id="T", reason="again"),
        "close": lambda: c.CloseTicket(ticket_id="T"),
        "void": lambda: c.VoidTicket(ticket_id="T", reason="mistake"),
    }
    return simple[name]()


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    lifecycle = Lifecycle()
    zone = draw(st.sampled_from(ZONES))
    now = (
        datetime(2026, 2, 20, tzinfo=timezone.utc) + MINUTE * draw(st.integers(0, 40 * 24 * 60))
    ).astimezone(zone)
    ticket, history = lifecycle.execute(None, draw(receive_commands), now=now, actor=BOSS)
    for _ in range(draw(st.integers(0, 14))):
        now += MINUTE * draw(st.integers(0, 30 * 60))
        allowed = sorted(set(COMMANDS) & lifecycle.rules.commands_for(ticket.kind, ticket.status))
        if not allowed:
            break
        try:
            ticket, events = lifecycle.execute(
                ticket, make_command(draw(st.sampled_from(allowed)), draw), now=now, actor=BOSS
            )
        except PropcrmError:
            continue
        history += events
    return history


def reference_evaluate(
    history: list[Event], policies: PolicySet, now: datetime, lookup: CalendarLookup
) -> SlaReport:
    """The engine as it was: every policy explained, the calendars' own arithmetic."""
    past = [e for e in history if e.occurred_at <= now]
    ticket = replay(past)
    applications = policies.applicable(ticket, memo=False)
    states = []
    for application in applications:
        clocks = [TargetClock(rule=rule) for rule in application.policy.targets]
        for event in past:  # every event to every clock, no filtering
            for clock in clocks:
                clock.feed(event)
        states += [
            reference_state_of(
                clock, application.policy.name, lookup(clock.rule.calendar_name), now
            )
            for clock in clocks
        ]
    return SlaReport(
        ticket_id=ticket.ticket_id, evaluated_at=now, policies=applications, targets=tuple(states)
    )


OFFICE = BusinessCalendar(
    name="office",
    timezone="Asia/Shanghai",
    weekly={"mon-fri": "09:00-12:00,13:30-18:00", "sat": "10:00-15:00"},
    holidays=["2026-03-09"],
)
NY_ALWAYS = twenty_four_seven("America/New_York", name="ny")


@given(
    histories(),
    st.integers(-60, 20 * 24 * 60),
    st.sampled_from(["office", "ny", "24x7"]),
    st.booleans(),
)
def test_evaluate_equals_the_explaining_reference(
    history: list[Event], offset: int, business: str, all_matching: bool
) -> None:
    policies = default_policies(business_calendar=business, all_matching=all_matching)
    now = history[-1].occurred_at + MINUTE * offset
    if now < history[0].occurred_at:
        now = history[0].occurred_at
    calendars = {"office": OFFICE, "ny": NY_ALWAYS}
    got = evaluate(history, policies, now, calendars=calendars)
    expected = reference_evaluate(history, policies, now, CalendarLookup(calendars))
    note(f"{[(e.type, e.occurred_at.isoformat()) for e in history]} now={now}")
    assert got == expected
    assert repr(got) == repr(expected)  # the same zones and folds, not only the same instants


def test_clocks_for_skips_only_the_events_no_clock_reacts_to() -> None:
    rules = default_policies().policies[0].targets  # P1: first response, arrival, resolution
    lifecycle = Lifecycle()
    at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    ticket, history = lifecycle.execute(None, ticket_receive(), now=at, actor=BOSS)
    for command in (
        c.DispatchTicket(ticket_id="T", party="PM"),
        c.AcceptTicket(ticket_id="T"),
        c.ArriveOnSite(ticket_id="T"),
    ):
        at += MINUTE * 7
        ticket, events = lifecycle.execute(ticket, command, now=at, actor=BOSS)
        history += events
    clocks = clocks_for(history, rules, at)
    assert [clock.stopped_at for clock in clocks] == [
        history[2].occurred_at,  # accepted: the first response
        history[3].occurred_at,  # arrived
        None,
    ]
    # the same clocks when the rules come as a list (not remembered) or again (remembered)
    assert clocks_for(history, list(rules), at) == clocks == clocks_for(history, rules, at)


def ticket_receive() -> c.ReceiveTicket:
    return c.ReceiveTicket(
        ticket_id="T",
        kind=TicketKind.REPAIR,
        channel=Channel.APP,
        scope=OrgScope(company_id="co", project_id="p1"),
        description="x",
        priority=Priority.P1,
    )
