"""The default policy set: the commitments of the domain reference §3 (practice, not law)."""

from __future__ import annotations

from datetime import timedelta

from propcrm.metrics.sla._policy import (
    ClockKind,
    PolicyMatch,
    PolicySet,
    SlaPolicy,
    SlaTarget,
    TargetRule,
)
from propcrm.model import PauseReason, Priority, TicketKind

__all__ = ["WARRANTY_TRADE_DAYS", "default_policies"]

#: Contractor completion time for warranty repairs (P4), in days, by taxonomy discipline.
WARRANTY_TRADE_DAYS: dict[str, tuple[int, str, str]] = {
    "Q.ST": (7, "土建", "civil"),
    "Q.WP": (7, "土建(渗漏)", "civil (leakage)"),
    "Q.WF": (7, "土建(墙地顶)", "civil (walls, floors, ceilings)"),
    "Q.EX": (7, "土建(外立面)", "civil (façade)"),
    "Q.LS": (7, "土建(园林)", "civil (landscape)"),
    "Q.DW": (3, "门窗", "doors and windows"),
    "Q.PL": (3, "给排水", "plumbing"),
    "Q.EL": (2, "强电", "power"),
    "Q.IN": (2, "弱电", "low-voltage"),
    "Q.FP": (3, "消防", "fire"),
    "Q.LF": (1, "电梯", "lifts"),
    "Q.HV": (3, "暖通", "heating and cooling"),
    "Q.FO": (5, "精装修", "decoration"),
}

_WAITING = frozenset(
    {
        PauseReason.WAITING_FOR_PARTS,
        PauseReason.CUSTOMER_UNAVAILABLE,
        PauseReason.WAITING_FOR_THIRD_PARTY,
    }
)


def _wall(target: SlaTarget, duration: timedelta, **kw: object) -> TargetRule:
    return TargetRule(target=target, duration=duration, clock=ClockKind.WALL, **kw)  # type: ignore[arg-type]


def _business(target: SlaTarget, duration: timedelta, calendar: str, **kw: object) -> TargetRule:
    return TargetRule(target=target, duration=duration, calendar=calendar, **kw)  # type: ignore[arg-type]


def default_policies(
    *,
    business_calendar: str = "cn-statutory",
    working_day: timedelta = timedelta(hours=7, minutes=30),
    all_matching: bool = False,
) -> PolicySet:
    """The default policies, with working-day targets on ``business_calendar``.

    - P1 life safety (24×7): respond 5 min, on site 15 min, contained 2 h.
    - P2 urgent repair (24×7): on site 30 min, done 24 h ("急修不过夜").
    - P3 ordinary repair: done in 3 working days (waiting for parts or the owner pauses it).
    - P4 warranty repair: dispatch 1 working day, on site 3 days, done by trade
      (:data:`WARRANTY_TRADE_DAYS`).
    - Complaints: acknowledge 1 working day, resolve 3 working days, revisit 3 days after the
      handling is complete (the default lifecycle needs the revisit before the complaint closes).
    - Inquiries and suggestions: answer in 1 working day.

    Args:
        business_calendar: The calendar of working-day targets.
        working_day: The business time of one working day on that calendar; 7.5 h is the
            office day of ``cn-statutory`` (09:00–12:00, 13:30–18:00).
        all_matching: Apply every matching policy instead of the one with highest precedence.
    """
    day = working_day
    policies = [
        SlaPolicy(
            name="P1-life-safety",
            label_zh="P1 生命安全",
            label_en="P1 life safety",
            match=PolicyMatch(priorities={Priority.P1}),
            precedence=100,
            targets=(
                _wall(SlaTarget.FIRST_RESPONSE, timedelta(minutes=5)),
                _wall(SlaTarget.ARRIVAL, timedelta(minutes=15)),
                _wall(SlaTarget.RESOLUTION, timedelta(hours=2)),
            ),
        ),
        SlaPolicy(
            name="P2-urgent-repair",
            label_zh="P2 急修",
            label_en="P2 urgent repair",
            match=PolicyMatch(priorities={Priority.P2}),
            precedence=90,
            targets=(
                _wall(SlaTarget.ARRIVAL, timedelta(minutes=30)),
                _wall(SlaTarget.RESOLUTION, timedelta(hours=24)),
            ),
        ),
        SlaPolicy(
            name="P3-ordinary-repair",
            label_zh="P3 一般维修",
            label_en="P3 ordinary repair",
            match=PolicyMatch(kinds={TicketKind.REPAIR}, priorities={Priority.P3}),
            precedence=50,
            targets=(
                _business(SlaTarget.RESOLUTION, 3 * day, business_calendar, paused_by=_WAITING),
            ),
        ),
    ]
    for prefix, (days, zh, en) in sorted(WARRANTY_TRADE_DAYS.items()):
        policies.append(
            SlaPolicy(
                name=f"P4-warranty-{prefix}",
                label_zh=f"P4 房修 {zh}",
                label_en=f"P4 warranty repair, {en}",
                match=PolicyMatch(priorities={Priority.P4}, category_prefixes={prefix}),
                precedence=70,
                targets=(
                    _business(SlaTarget.DISPATCH, day, business_calendar),
                    _wall(SlaTarget.ARRIVAL, timedelta(days=3)),
                    _wall(SlaTarget.RESOLUTION, timedelta(days=days), paused_by=_WAITING),
                ),
            )
        )
    policies += [
        SlaPolicy(
            name="P4-warranty",
            label_zh="P4 房修",
            label_en="P4 warranty repair",
            match=PolicyMatch(priorities={Priority.P4}),
            precedence=60,
            targets=(
                _business(SlaTarget.DISPATCH, day, business_calendar),
                _wall(SlaTarget.ARRIVAL, timedelta(days=3)),
                _wall(SlaTarget.RESOLUTION, timedelta(days=7), paused_by=_WAITING),
            ),
        ),
        SlaPolicy(
            name="complaint",
            label_zh="投诉",
            label_en="Complaint",
            match=PolicyMatch(kinds={TicketKind.COMPLAINT}),
            precedence=80,
            targets=(
                _business(SlaTarget.FIRST_RESPONSE, day, business_calendar),
                _business(SlaTarget.RESOLUTION, 3 * day, business_calendar),
                _wall(SlaTarget.REVISIT, timedelta(days=3)),
            ),
        ),
        SlaPolicy(
            name="inquiry-suggestion",
            label_zh="咨询/建议",
            label_en="Inquiry or suggestion",
            match=PolicyMatch(kinds={TicketKind.INQUIRY, TicketKind.SUGGESTION}),
            precedence=40,
            targets=(_business(SlaTarget.FIRST_RESPONSE, day, business_calendar),),
        ),
    ]
    return PolicySet(policies=policies, all_matching=all_matching)
