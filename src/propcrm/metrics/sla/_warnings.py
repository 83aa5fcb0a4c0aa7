"""The SLA warnings ladder: who is told, when, and never twice.

A rung fires when a running target has used a share of its duration, at a lead time before it is
due, or some time after it is due. A warning held by quiet hours is delivered at the next instant
the quiet-hours calendar allows. Each warning carries an idempotency key that is the same on
every scheduler run, so a delivery channel can drop repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from propcrm._validation import non_empty_str, require_aware
from propcrm.errors import ValidationError
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.metrics.sla._evaluate import CalendarLookup, TargetClock, clocks_for, crossing
from propcrm.metrics.sla._policy import PolicySet, SlaTarget
from propcrm.workflow import Event, replay

__all__ = ["DEFAULT_LADDER", "SlaWarning", "WarningRung", "due_warnings", "warnings_for"]


@attrs.frozen(kw_only=True)
class WarningRung:
    """One rung of the ladder; exactly one of ``at_share``, ``before_due``, ``after_due`` is set.

    Attributes:
        name: Stable name, part of the idempotency key (``"80%"``, ``"breach+4h"``).
        recipient: Who is told: a role such as ``"assignee"``, ``"supervisor"``, ``"manager"``.
        at_share: Fire when this share of the duration is used (0 < share ≤ 1).
        before_due: Fire this long (business time) before the due instant.
        after_due: Fire this long (business time) after the due instant; zero means at breach.
        ignores_quiet_hours: Deliver at once even in quiet hours (life-safety escalations).
    """

    name: str = attrs.field(validator=non_empty_str)
    recipient: str = attrs.field(validator=non_empty_str)
    at_share: float | None = None
    before_due: timedelta | None = None
    after_due: timedelta | None = None
    ignores_quiet_hours: bool = False

    def __attrs_post_init__(self) -> None:
        given = [x is not None for x in (self.at_share, self.before_due, self.after_due)]
        if sum(given) != 1:
            raise ValidationError.single(
                "$.at_share", "set exactly one of at_share, before_due and after_due"
            )
        if self.at_share is not None and not 0 < self.at_share <= 1:
            raise ValidationError.single("$.at_share", f"must be in (0, 1], got {self.at_share}")
        for name in ("before_due", "after_due"):
            value = getattr(self, name)
            if value is not None and value < timedelta(0):
                raise ValidationError.single(f"$.{name}", "must not be negative")


#: 50% → assignee, 80% → supervisor, breach → manager, breach + 4 h → director.
DEFAULT_LADDER = (
    WarningRung(name="50%", recipient="assignee", at_share=0.5),
    WarningRung(name="80%", recipient="supervisor", at_share=0.8),
    WarningRung(name="breach", recipient="manager", after_due=timedelta(0)),
    WarningRung(name="breach+4h", recipient="director", after_due=timedelta(hours=4)),
)


@attrs.frozen(kw_only=True)
class SlaWarning:
    """A warning to deliver.

    Attributes:
        idempotency_key: Stable across runs: ticket, policy, target, clock cycle and rung.
        ticket_id: The ticket.
        policy: The policy's name.
        target: The target.
        rung: The rung's name.
        recipient: Who is told.
        fire_at: When the rung's condition became true.
        deliver_at: When it may be delivered (after quiet hours).
        due_at: The target's due instant, for the message.
        cycle: The target's clock cycle (a reset by reopen starts a new one).
    """

    idempotency_key: str
    ticket_id: str
    policy: str
    target: SlaTarget
    rung: str
    recipient: str
    fire_at: datetime
    deliver_at: datetime
    due_at: datetime | None
    cycle: int


def _fire_at(
    rung: WarningRung, clock: TargetClock, calendar: BusinessCalendar
) -> tuple[datetime | None, datetime | None]:
    """(when the rung fires, the due instant) for a clock; ``None`` if it cannot fire yet."""
    duration = clock.rule.duration
    due = crossing(clock, calendar, duration)
    if rung.at_share is not None:
        return crossing(clock, calendar, duration * rung.at_share), due
    if due is None:
        return None, None
    if rung.before_due is not None:
        return calendar.subtract(due, rung.before_due), due
    assert rung.after_due is not None
    return (calendar.add(due, rung.after_due) if rung.after_due else due), due


def warnings_for(
    history: Sequence[Event],
    policies: PolicySet,
    now: datetime,
    *,
    ladder: Sequence[WarningRung] = DEFAULT_LADDER,
    quiet_hours: BusinessCalendar | None = None,
    calendars: Mapping[str, BusinessCalendar] | CalendarLookup | None = None,
) -> list[SlaWarning]:
    """The warnings of one ticket whose delivery time has come by ``now``.

    A rung fires only while its target's clock is still running at the firing instant: a target
    met before a rung's time never warns.
    """
    require_aware(now, "$.now")
    past = [e for e in history if e.occurred_at <= now]
    if not past:
        return []
    ticket = replay(past)
    lookup = calendars if isinstance(calendars, CalendarLookup) else CalendarLookup(calendars)
    found: list[SlaWarning] = []
    for application in policies.applicable(ticket):
        policy = application.policy
        for clock in clocks_for(past, policy.targets, now):
            if clock.ended is not None or clock.started_at is None:
                continue
            calendar = lookup(clock.rule.calendar_name)
            for rung in ladder:
                fire_at, due = _fire_at(rung, clock, calendar)
                if fire_at is None or fire_at > now:
                    continue
                if clock.stopped_at is not None and clock.stopped_at <= fire_at:
                    continue
                deliver_at = fire_at
                if quiet_hours is not None and not rung.ignores_quiet_hours:
                    deliver_at = quiet_hours.next_working(fire_at)
                if deliver_at > now:
                    continue
                key = (
                    f"sla:{ticket.ticket_id}:{policy.name}:{clock.rule.target.value}:"
                    f"{clock.cycle}:{rung.name}"
                )
                found.append(
                    SlaWarning(
                        idempotency_key=key,
                        ticket_id=ticket.ticket_id,
                        policy=policy.name,
                        target=clock.rule.target,
                        rung=rung.name,
                        recipient=rung.recipient,
                        fire_at=fire_at,
                        deliver_at=deliver_at,
                        due_at=due,
                        cycle=clock.cycle,
                    )
                )
    return found


def due_warnings(
    histories: Iterable[Sequence[Event]],
    now: datetime,
    *,
    policies: PolicySet,
    ladder: Sequence[WarningRung] = DEFAULT_LADDER,
    quiet_hours: BusinessCalendar | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> list[SlaWarning]:
    """Every warning due by ``now`` across many tickets, ordered by delivery time.

    Run it as often as you like: the same warning comes back with the same idempotency key, so
    deliver each key once (the plugins' notification hook does).
    """
    lookup = CalendarLookup(calendars)
    found: list[SlaWarning] = []
    for history in histories:
        found += warnings_for(
            history, policies, now, ladder=ladder, quiet_hours=quiet_hours, calendars=lookup
        )
    found.sort(key=lambda w: (w.deliver_at, w.idempotency_key))
    return found
