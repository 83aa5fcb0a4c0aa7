"""Evaluate SLA targets by replaying a ticket's events; nothing about SLAs is stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol

import attrs

from propcrm._validation import require_aware
from propcrm.errors import ValidationError
from propcrm.metrics.calendar import BusinessCalendar, get_calendar
from propcrm.metrics.sla._policy import (
    HoldAccounting,
    PolicyApplication,
    PolicySet,
    SlaTarget,
    TargetRule,
)
from propcrm.model.enums import LabelledEnum
from propcrm.workflow import Event, replay
from propcrm.workflow.events import TicketPaused

__all__ = [
    "CalendarLookup",
    "ClockArithmetic",
    "SlaReport",
    "SlaStatus",
    "TargetClock",
    "TargetState",
    "arithmetic",
    "evaluate",
]

_ZERO = timedelta(0)
_ENDINGS = frozenset({"ticket_voided", "ticket_merged"})


class SlaStatus(LabelledEnum):
    """Where a target stands at the evaluation instant."""

    PENDING = ("pending", "计时中", "Pending")
    AT_RISK = ("at_risk", "即将超时", "At risk")
    MET = ("met", "已达成", "Met")
    BREACHED = ("breached", "已超时", "Breached")
    PAUSED = ("paused", "暂停计时", "Paused")
    NOT_APPLICABLE = ("not_applicable", "不适用", "Not applicable")


@attrs.frozen(kw_only=True)
class TargetState:
    """One target of one policy, evaluated at an instant.

    Times are business time on the target's calendar (wall-clock time for wall-clock targets).

    Attributes:
        policy: The policy's name.
        target: What is measured.
        status: Pending, at risk, met, breached, paused or not applicable.
        calendar: The calendar the clock ran on.
        started_at: When the clock (of the current cycle) started.
        due_at: When the target is due; ``None`` while a pause holds it before it was due.
        elapsed: Time used so far (to the stop, or to the evaluation instant).
        remaining: Time left before the due instant (zero once breached); ``None`` when not
            applicable.
        breached_by: How late: the time used past the duration; ``None`` unless breached.
        met_at: When the clock stopped (met or late); ``None`` while running.
        cycle: How many times a reopen reset this clock.
        reason: Why the target does not apply, when it does not.
    """

    policy: str
    target: SlaTarget
    status: SlaStatus
    calendar: str
    started_at: datetime | None = None
    due_at: datetime | None = None
    elapsed: timedelta = _ZERO
    remaining: timedelta | None = None
    breached_by: timedelta | None = None
    met_at: datetime | None = None
    cycle: int = 0
    reason: str | None = None

    @property
    def elapsed_seconds(self) -> float:
        """``elapsed`` in seconds."""
        return self.elapsed.total_seconds()

    @property
    def remaining_seconds(self) -> float | None:
        """``remaining`` in seconds."""
        return None if self.remaining is None else self.remaining.total_seconds()

    @property
    def breached_by_seconds(self) -> float | None:
        """``breached_by`` in seconds."""
        return None if self.breached_by is None else self.breached_by.total_seconds()


@attrs.frozen(kw_only=True)
class SlaReport:
    """Every target of every applicable policy for one ticket, at one instant."""

    ticket_id: str
    evaluated_at: datetime
    policies: tuple[PolicyApplication, ...]
    targets: tuple[TargetState, ...]

    def get(self, target: SlaTarget, policy: str | None = None) -> TargetState | None:
        """The state of ``target`` (of ``policy`` when several policies apply)."""
        for state in self.targets:
            if state.target is target and (policy is None or state.policy == policy):
                return state
        return None

    @property
    def breached(self) -> tuple[TargetState, ...]:
        """The breached targets."""
        return tuple(s for s in self.targets if s.status is SlaStatus.BREACHED)


class CalendarLookup:
    """Resolves calendar names once per evaluation.

    The caller's mapping is asked first, then the registry
    (``propcrm.metrics.calendar.get_calendar``).
    """

    def __init__(self, calendars: Mapping[str, BusinessCalendar] | None = None) -> None:
        self._given = dict(calendars or {})
        self._cache: dict[str, BusinessCalendar] = {}

    def __call__(self, name: str) -> BusinessCalendar:
        """The calendar called ``name``."""
        calendar = self._given.get(name) or self._cache.get(name)
        if calendar is None:
            calendar = self._cache[name] = get_calendar(name)
        return calendar


class ClockArithmetic(Protocol):
    """The two calendar operations the SLA clocks need (a :class:`BusinessCalendar` has them)."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant ``duration`` of business time after ``start``."""
        ...  # pragma: no cover - a protocol

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end``."""
        ...  # pragma: no cover - a protocol


class _AlwaysOpen:
    """The arithmetic of a calendar open every microsecond: plain absolute time.

    Gives the same datetimes as the calendar itself (``add`` returns the instant in ``start``'s
    zone, as the calendar's general path does) without its index look-ups.
    """

    __slots__ = ()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return (start.astimezone(timezone.utc) + duration).astimezone(start.tzinfo)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        wall = end - start
        if start.tzinfo is not end.tzinfo or type(start.tzinfo) is timezone:
            return wall  # different zones subtract as instants; a fixed offset cancels out
        off_end, off_start = end.utcoffset(), start.utcoffset()
        assert off_end is not None  # aware: the caller checked
        assert off_start is not None
        return wall - (off_end - off_start)


_ALWAYS_OPEN = _AlwaysOpen()
_FULL_DAY = 86_400
#: id(calendar) -> (calendar, its arithmetic); the calendar is held so its id is not reused.
_ARITHMETIC: dict[int, tuple[BusinessCalendar, ClockArithmetic]] = {}


def _is_always_open(calendar: BusinessCalendar) -> bool:
    return (
        not calendar.holidays
        and not calendar.overrides
        and calendar.data_start is None
        and calendar.data_end is None
        and calendar.deadline == "earliest"
        and len(calendar.weekly) == 7
        and all(
            len(day) == 1 and day[0].start == 0 and day[0].end == _FULL_DAY
            for day in calendar.weekly
        )
    )


def arithmetic(calendar: BusinessCalendar) -> ClockArithmetic:
    """The cheapest exact arithmetic of ``calendar``, remembered per calendar object.

    Plain absolute time for a calendar open every day around the clock with no holidays,
    overrides or data limits (such as ``24x7``); the calendar itself otherwise.
    """
    known = _ARITHMETIC.get(id(calendar))
    if known is not None and known[0] is calendar:
        return known[1]
    found: ClockArithmetic = _ALWAYS_OPEN if _is_always_open(calendar) else calendar
    if len(_ARITHMETIC) >= 256:
        _ARITHMETIC.clear()
    _ARITHMETIC[id(calendar)] = (calendar, found)
    return found


@attrs.define
class TargetClock:
    """The running history of one target's clock, built by folding a ticket's events.

    ``segments`` are the intervals the clock ran (the last one open while it runs); ``holds``
    the pauses that held it. Everything SLA-related is derived from these two lists.
    """

    rule: TargetRule
    started_at: datetime | None = None
    segments: list[tuple[datetime, datetime | None]] = attrs.Factory(list)
    holds: list[tuple[datetime, datetime | None]] = attrs.Factory(list)
    stopped_at: datetime | None = None
    cycle: int = 0
    ended: str | None = None

    @property
    def running(self) -> bool:
        """Whether the clock runs now (started, not stopped, not held)."""
        return bool(self.segments) and self.segments[-1][1] is None

    @property
    def held(self) -> bool:
        """Whether a pause holds the clock now."""
        return bool(self.holds) and self.holds[-1][1] is None

    def feed(self, event: Event) -> None:
        """Fold one event into the clock."""
        if self.ended is not None:
            return
        kind, at = event.type, event.occurred_at
        rule = self.rule
        if kind in _ENDINGS:
            if self.stopped_at is None:
                self.ended = "the ticket was " + ("voided" if kind == "ticket_voided" else "merged")
            return
        if self.started_at is None:
            if kind in rule.start_on:
                self.started_at = at
                self.segments.append((at, None))
            return
        if kind == "ticket_reopened":
            self._reopen(at)
            return
        if self.stopped_at is not None:
            return
        if kind in rule.stop_on:
            self._close_segment(at)
            if self.held:
                self.holds[-1] = (self.holds[-1][0], at)
            self.stopped_at = at
        elif kind == "ticket_paused":
            assert isinstance(event.payload, TicketPaused)
            if event.payload.reason in rule.paused_by and self.running:
                self.holds.append((at, None))
                if rule.hold is HoldAccounting.BUSINESS:
                    self._close_segment(at)
        elif kind == "ticket_resumed" and self.held:
            self.holds[-1] = (self.holds[-1][0], at)
            if rule.hold is HoldAccounting.BUSINESS:
                self.segments.append((at, None))

    def _close_segment(self, at: datetime) -> None:
        if self.running:
            self.segments[-1] = (self.segments[-1][0], at)

    def _reopen(self, at: datetime) -> None:
        rule = self.rule
        if rule.target is SlaTarget.FIRST_RESPONSE:
            return  # a first response happens once
        restarts_with_its_event = "ticket_received" not in rule.start_on
        if restarts_with_its_event:
            # e.g. the revisit clock: the next completion starts a fresh cycle
            self._fresh(None)
            return
        if self.stopped_at is None:
            return
        if rule.on_reopen.resets(at - self.stopped_at):
            self._fresh(at)
        else:
            self.stopped_at = None
            self.segments.append((at, None))

    def _fresh(self, at: datetime | None) -> None:
        self.cycle += 1
        self.started_at = at
        self.segments = [] if at is None else [(at, None)]
        self.holds = []
        self.stopped_at = None


def _business(calendar: ClockArithmetic, start: datetime, end: datetime) -> timedelta:
    return calendar.elapsed(start, end) if end > start else _ZERO


def used(clock: TargetClock, calendar: ClockArithmetic, now: datetime) -> timedelta:
    """Business time the clock ran up to ``now``."""
    total = _ZERO
    for start, end in clock.segments:
        stop = now if end is None else min(end, now)
        total += _business(calendar, start, stop)
    if clock.rule.hold is HoldAccounting.WALL:
        # Wall-clock holds do not cut segments: remove the business time held instead.
        for start, end in clock.holds:
            stop = now if end is None else min(end, now)
            total -= _business(calendar, start, stop)
    return total


def crossing(clock: TargetClock, calendar: ClockArithmetic, amount: timedelta) -> datetime | None:
    """The instant the clock's used time reaches ``amount``.

    ``None`` if it has not, and cannot while the clock is held or stopped.
    """
    acc = _ZERO
    for start, end in clock.segments:
        length = None if end is None else _business(calendar, start, end)
        if length is None or acc + length >= amount:
            instant = calendar.add(start, amount - acc)
            if end is not None and instant > end:  # pragma: no cover - guarded by the length
                instant = end
            break
        acc += length
    else:
        return None
    if clock.rule.hold is HoldAccounting.WALL:
        # The deadline moves by the wall-clock length of every hold that began before it.
        for hold_start, hold_end in clock.holds:
            if hold_start >= instant:
                break
            if hold_end is None:
                return None
            instant += hold_end - hold_start
    return instant


def state_of(
    clock: TargetClock, policy: str, calendar: ClockArithmetic, now: datetime
) -> TargetState:
    """The :class:`TargetState` of ``clock`` at ``now``."""
    rule = clock.rule
    if clock.ended is not None or clock.started_at is None:
        return TargetState(
            policy=policy,
            target=rule.target,
            calendar=rule.calendar_name,
            status=SlaStatus.NOT_APPLICABLE,
            cycle=clock.cycle,
            reason=clock.ended if clock.ended is not None else _waiting_for(rule.start_on),
        )
    end = clock.stopped_at if clock.stopped_at is not None else now
    elapsed = used(clock, calendar, end)
    due = crossing(clock, calendar, rule.duration)
    if due is None and clock.stopped_at is not None:
        # Met early: report when it would have been due had the clock kept running.
        due = calendar.add(clock.stopped_at, rule.duration - elapsed)
    late = (
        elapsed - rule.duration
        if rule.hold is HoldAccounting.BUSINESS
        else (_business(calendar, due, end) if due is not None else _ZERO)
    )
    breached = due is not None and end > due and late > _ZERO
    if clock.stopped_at is not None:
        status = SlaStatus.BREACHED if breached else SlaStatus.MET
    elif breached:
        status = SlaStatus.BREACHED
    elif clock.held:
        status = SlaStatus.PAUSED
    elif elapsed >= rule.duration * rule.at_risk_at:
        status = SlaStatus.AT_RISK
    else:
        status = SlaStatus.PENDING
    if due is not None and end < due:
        remaining = _business(calendar, end, due)
    elif due is None:
        remaining = max(rule.duration - elapsed, _ZERO)
    else:
        remaining = _ZERO
    return TargetState(
        policy=policy,
        target=rule.target,
        calendar=rule.calendar_name,
        status=status,
        cycle=clock.cycle,
        started_at=clock.started_at,
        due_at=due,
        elapsed=elapsed,
        remaining=remaining,
        breached_by=late if breached else None,
        met_at=clock.stopped_at,
    )


_WAITING: dict[frozenset[str], str] = {}


def _waiting_for(start_on: frozenset[str]) -> str:
    text = _WAITING.get(start_on)
    if text is None:
        text = "not started: waiting for " + ", ".join(sorted(start_on))
        if len(_WAITING) < 1024:
            _WAITING[start_on] = text
    return text


def clocks_for(
    history: Sequence[Event], rules: Sequence[TargetRule], now: datetime
) -> list[TargetClock]:
    """Fold the events up to ``now`` into one clock per rule."""
    clocks = [TargetClock(rule=rule) for rule in rules]
    relevant = _relevant(rules)
    for event in history:
        if event.occurred_at > now:
            break
        if event.payload.event_type in relevant:  # TargetClock.feed ignores every other type
            for clock in clocks:
                clock.feed(event)
    return clocks


_CLOCK_EVENTS = _ENDINGS | {"ticket_reopened", "ticket_paused", "ticket_resumed"}
#: id(rules) -> (rules, the event types their clocks react to); rules held so ids stay unique.
_RELEVANT: dict[int, tuple[Sequence[TargetRule], frozenset[str]]] = {}


def _relevant(rules: Sequence[TargetRule]) -> frozenset[str]:
    known = _RELEVANT.get(id(rules))
    if known is not None and known[0] is rules:
        return known[1]
    found = frozenset(_CLOCK_EVENTS.union(*(r.start_on | r.stop_on for r in rules)))
    if isinstance(rules, tuple):  # a policy's targets: immutable, worth remembering
        if len(_RELEVANT) >= 1024:
            _RELEVANT.clear()
        _RELEVANT[id(rules)] = (rules, found)
    return found


def evaluate(
    history: Sequence[Event],
    policies: PolicySet,
    now: datetime,
    *,
    calendars: Mapping[str, BusinessCalendar] | CalendarLookup | None = None,
) -> SlaReport:
    """Evaluate every applicable policy's targets for one ticket at ``now``.

    The policies are matched against the ticket as classified at ``now``; events after ``now``
    are ignored, so evaluating at past instants replays the SLA history.

    Args:
        history: The ticket's events, in order.
        policies: The policy set.
        now: The evaluation instant (timezone-aware).
        calendars: Calendars by name; names not given come from the calendar registry.

    Raises:
        ValidationError: ``now`` is naive or the history is empty or out of order.
    """
    require_aware(now, "$.now")
    past = [event for event in history if event.occurred_at <= now]
    if not past:
        raise ValidationError.single("$.history", "no event at or before now", subject="SLA")
    ticket = replay(past)
    lookup = calendars if isinstance(calendars, CalendarLookup) else CalendarLookup(calendars)
    applications = policies.applicable(ticket)
    states: list[TargetState] = []
    for application in applications:
        rules = application.policy.targets
        for clock in clocks_for(past, rules, now):
            calendar = arithmetic(lookup(clock.rule.calendar_name))
            states.append(state_of(clock, application.policy.name, calendar, now))
    return SlaReport(
        ticket_id=ticket.ticket_id,
        evaluated_at=now,
        policies=applications,
        targets=tuple(states),
    )
