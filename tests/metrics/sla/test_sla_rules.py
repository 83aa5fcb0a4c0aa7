"""Hand cases for every SLA convention: pauses, holds, reopens, statuses, matching, warnings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from propcrm.errors import ValidationError
from propcrm.metrics.calendar import BusinessCalendar, twenty_four_seven
from propcrm.metrics.sla import (
    ClockKind,
    HoldAccounting,
    PolicyMatch,
    PolicySet,
    ReopenMode,
    ReopenRule,
    SlaPolicy,
    SlaStatus,
    SlaTarget,
    TargetRule,
    TargetState,
    WarningRung,
    default_policies,
    due_warnings,
    evaluate,
    warnings_for,
)
from propcrm.model import (
    Actor,
    Channel,
    OrgScope,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    TicketKind,
)
from propcrm.workflow import Event, Lifecycle
from propcrm.workflow import commands as c

SH = ZoneInfo("Asia/Shanghai")
MON = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # a Monday
OFFICE = BusinessCalendar(name="office", timezone=SH, weekly={"mon-fri": "09:00-12:00,13:00-18:00"})
CALENDARS = {"office": OFFICE, "24x7": twenty_four_seven("Asia/Shanghai")}
BOSS = Actor(id="boss", role=Role.SUPERVISOR)


class Story:
    """A ticket's history written step by step at given instants."""

    def __init__(
        self,
        kind: TicketKind = TicketKind.REPAIR,
        *,
        priority: Priority = Priority.P3,
        at: datetime = MON,
        code: str | None = None,
    ) -> None:
        self.lifecycle = Lifecycle()
        self.ticket, self.history = self.lifecycle.execute(
            None,
            c.ReceiveTicket(
                ticket_id="T",
                kind=kind,
                channel=Channel.HOTLINE,
                scope=OrgScope(company_id="c", project_id="p"),
                description="x",
                priority=priority,
                category_code=code,
            ),
            now=at,
            actor=BOSS,
        )

    def at(self, when: datetime, command: c.Command) -> Story:
        self.ticket, events = self.lifecycle.execute(self.ticket, command, now=when, actor=BOSS)
        self.history = [*self.history, *events]
        return self

    def to_site(self, when: datetime) -> Story:
        self.at(when, c.DispatchTicket(ticket_id="T", party="PM"))
        self.at(when, c.AcceptTicket(ticket_id="T"))
        return self.at(when, c.ArriveOnSite(ticket_id="T"))

    def complete(self, when: datetime) -> Story:
        return self.at(when, c.CompleteWork(ticket_id="T", result="ok"))


def one(rule: TargetRule, **match: Any) -> PolicySet:
    return PolicySet(
        policies=[
            SlaPolicy(
                name="p", label_zh="p", label_en="p", match=PolicyMatch(**match), targets=[rule]
            )
        ]
    )


def resolution(hours: float, **kw: Any) -> TargetRule:
    return TargetRule(
        target=SlaTarget.RESOLUTION, duration=timedelta(hours=hours), calendar="office", **kw
    )


def state(
    history: list[Event],
    policies: PolicySet,
    now: datetime,
    target: SlaTarget = SlaTarget.RESOLUTION,
) -> TargetState:
    report = evaluate(history, policies, now, calendars=CALENDARS)
    found = report.get(target)
    assert found is not None
    return found


# --- deadlines on business time -------------------------------------------------------------


def test_due_counts_business_hours_across_lunch_and_night() -> None:
    story = Story()
    s = state(story.history, one(resolution(10)), MON + timedelta(hours=1))
    # Mon 09:00 + 10 h of 09-12/13-18 = Mon 8 h, then Tue 2 h → Tue 11:00
    assert s.due_at == datetime(2026, 3, 3, 11, 0, tzinfo=SH)
    assert s.status is SlaStatus.PENDING
    assert s.elapsed == timedelta(hours=1)
    assert s.remaining == timedelta(hours=9)


def test_earliest_instant_convention_due_at_window_end() -> None:
    story = Story()
    s = state(story.history, one(resolution(3)), MON)
    assert s.due_at == datetime(2026, 3, 2, 12, 0, tzinfo=SH)  # not 13:00, the next opening


def test_met_and_breached_with_size_in_business_time() -> None:
    met = Story().to_site(MON).complete(MON + timedelta(hours=2))
    s = state(met.history, one(resolution(3)), MON + timedelta(days=5))
    assert s.status is SlaStatus.MET
    assert s.met_at == MON + timedelta(hours=2)
    assert s.elapsed == timedelta(hours=2)
    assert s.due_at == MON + timedelta(hours=3)  # when it would have been due
    late = Story().to_site(MON).complete(datetime(2026, 3, 3, 10, 0, tzinfo=SH))
    s = state(late.history, one(resolution(3)), MON + timedelta(days=5))
    assert s.status is SlaStatus.BREACHED
    # used Mon 8 h + Tue 1 h = 9 business hours against 3: late by 6 business hours,
    # although 22 wall-clock hours passed after the due instant
    assert s.breached_by == timedelta(hours=6)


def test_running_target_breaches_and_at_risk_before() -> None:
    story = Story()
    policies = one(resolution(3))
    assert state(story.history, policies, MON + timedelta(minutes=144)).status is SlaStatus.AT_RISK
    assert state(story.history, policies, MON + timedelta(minutes=143)).status is SlaStatus.PENDING
    s = state(story.history, policies, MON + timedelta(hours=5))  # 14:00, used 4 h
    assert s.status is SlaStatus.BREACHED
    assert s.breached_by == timedelta(hours=1)
    assert s.remaining == timedelta(0)


# --- pauses ---------------------------------------------------------------------------------


def test_waiting_for_parts_pauses_resolution_not_arrival() -> None:
    rules = [
        resolution(4, paused_by={PauseReason.WAITING_FOR_PARTS}),
        TargetRule(
            target=SlaTarget.ARRIVAL,
            duration=timedelta(hours=4),
            calendar="office",
            paused_by=set(),
        ),
    ]
    policies = PolicySet(policies=[SlaPolicy(name="p", label_zh="p", label_en="p", targets=rules)])
    story = Story()
    story.at(MON, c.DispatchTicket(ticket_id="T", party="PM")).at(
        MON, c.AcceptTicket(ticket_id="T")
    )
    story.at(
        MON + timedelta(hours=1), c.PauseWork(ticket_id="T", reason=PauseReason.WAITING_FOR_PARTS)
    )
    now = MON + timedelta(hours=6)  # 15:00, paused since 10:00
    resolution_state = state(story.history, policies, now)
    assert resolution_state.status is SlaStatus.PAUSED
    assert resolution_state.elapsed == timedelta(hours=1)
    assert resolution_state.due_at is None
    assert resolution_state.remaining == timedelta(hours=3)
    arrival = state(story.history, policies, now, SlaTarget.ARRIVAL)
    assert arrival.status is SlaStatus.BREACHED  # the pause does not stop the arrival clock
    story.at(MON + timedelta(days=1), c.ResumeWork(ticket_id="T"))  # Tue 09:00
    after = state(story.history, policies, MON + timedelta(days=1, hours=1))
    assert after.elapsed == timedelta(hours=2)
    assert after.due_at == datetime(2026, 3, 3, 12, 0, tzinfo=SH)


def test_other_pause_reasons_do_not_stop_the_clock() -> None:
    story = Story()
    story.at(MON, c.DispatchTicket(ticket_id="T", party="PM")).at(
        MON, c.AcceptTicket(ticket_id="T")
    )
    story.at(MON + timedelta(hours=1), c.PauseWork(ticket_id="T", reason=PauseReason.OTHER))
    s = state(
        story.history,
        one(resolution(4, paused_by={PauseReason.WAITING_FOR_PARTS})),
        MON + timedelta(hours=3),
    )
    assert s.status is SlaStatus.PENDING
    assert s.elapsed == timedelta(hours=3)


def _paused_overnight(hold: HoldAccounting) -> TargetState:
    story = Story()
    story.at(MON, c.DispatchTicket(ticket_id="T", party="PM")).at(
        MON, c.AcceptTicket(ticket_id="T")
    )
    story.at(
        MON + timedelta(hours=8),
        c.PauseWork(ticket_id="T", reason=PauseReason.CUSTOMER_UNAVAILABLE),
    )  # 17:00
    story.at(MON + timedelta(days=1), c.ResumeWork(ticket_id="T"))  # Tue 09:00
    rule = resolution(10, paused_by={PauseReason.CUSTOMER_UNAVAILABLE}, hold=hold)
    return state(story.history, one(rule), MON + timedelta(days=1, hours=1))


def test_hold_in_business_time_credits_only_business_time() -> None:
    s = _paused_overnight(HoldAccounting.BUSINESS)
    # ran Mon 09-17 (7 h), held 17:00→Tue 09:00 (1 business hour held), ran Tue 09-10 (1 h)
    assert s.elapsed == timedelta(hours=8)
    assert s.due_at == datetime(2026, 3, 3, 12, 0, tzinfo=SH)


def test_hold_in_wall_time_moves_the_deadline_by_the_whole_pause() -> None:
    s = _paused_overnight(HoldAccounting.WALL)
    # without the hold due Tue 11:00; the 16 h pause began before it, so due Wed 03:00
    assert s.due_at == datetime(2026, 3, 4, 3, 0, tzinfo=SH)
    assert s.elapsed == timedelta(hours=8)


# --- reopen ---------------------------------------------------------------------------------


def _reopened(
    mode: ReopenMode, after: timedelta | None = None, gap: timedelta = timedelta(hours=1)
) -> tuple[Story, TargetRule, datetime]:
    story = Story().to_site(MON).complete(MON + timedelta(hours=1))
    story.at(MON + timedelta(hours=1) + gap, c.ReopenTicket(ticket_id="T", reason="又坏了"))
    rule = resolution(4, on_reopen=ReopenRule(mode=mode, after=after))
    return story, rule, MON + timedelta(hours=1) + gap


def test_reopen_continue_keeps_the_time_used() -> None:
    story, rule, reopened = _reopened(ReopenMode.CONTINUE)
    s = state(story.history, one(rule), reopened + timedelta(hours=1))
    assert s.status is SlaStatus.PENDING
    assert s.elapsed == timedelta(hours=2)  # 1 before + 1 after; the gap does not count
    assert s.met_at is None
    assert s.cycle == 0


def test_reopen_reset_starts_again() -> None:
    story, rule, reopened = _reopened(ReopenMode.RESET)
    s = state(story.history, one(rule), reopened + timedelta(hours=1))
    assert s.elapsed == timedelta(hours=1)
    assert s.started_at == reopened
    assert s.cycle == 1


def test_reopen_new_ticket_after_n_days() -> None:
    soon, rule, reopened = _reopened(ReopenMode.NEW_TICKET_AFTER, after=timedelta(days=7))
    assert state(soon.history, one(rule), reopened).cycle == 0
    late, rule, reopened = _reopened(
        ReopenMode.NEW_TICKET_AFTER, after=timedelta(days=7), gap=timedelta(days=8)
    )
    assert state(late.history, one(rule), reopened).cycle == 1
    with pytest.raises(ValidationError):
        ReopenRule(mode=ReopenMode.NEW_TICKET_AFTER)


def test_revisit_clock_starts_at_completion_and_again_after_reopen() -> None:
    rule = TargetRule(target=SlaTarget.REVISIT, duration=timedelta(days=3), clock=ClockKind.WALL)
    story = Story()
    assert (
        state(story.history, one(rule), MON, SlaTarget.REVISIT).status is SlaStatus.NOT_APPLICABLE
    )
    story.to_site(MON).complete(MON + timedelta(hours=1))
    story.at(
        MON + timedelta(days=1),
        c.RecordRevisit(ticket_id="T", satisfaction=Satisfaction.DISSATISFIED, resolved=False),
    )
    first = state(story.history, one(rule), MON + timedelta(days=1), SlaTarget.REVISIT)
    assert first.status is SlaStatus.NOT_APPLICABLE  # reopened: waiting for the next completion
    assert first.cycle == 1
    story.to_site(MON + timedelta(days=2)).complete(MON + timedelta(days=2, hours=1))
    second = state(story.history, one(rule), MON + timedelta(days=6), SlaTarget.REVISIT)
    assert second.status is SlaStatus.BREACHED
    assert second.due_at == MON + timedelta(days=5, hours=1)


def test_voided_tickets_have_no_sla() -> None:
    story = Story().at(MON + timedelta(hours=1), c.VoidTicket(ticket_id="T", reason="测试"))
    s = state(story.history, one(resolution(1)), MON + timedelta(days=3))
    assert s.status is SlaStatus.NOT_APPLICABLE
    assert "voided" in (s.reason or "")


def test_events_after_now_are_ignored() -> None:
    story = Story().to_site(MON).complete(MON + timedelta(hours=2))
    s = state(story.history, one(resolution(4)), MON + timedelta(hours=1))
    assert s.status is SlaStatus.PENDING
    assert s.met_at is None


def test_changing_the_calendar_changes_the_answer() -> None:
    story = Story()
    policies = one(resolution(10))
    office = state(story.history, policies, MON).due_at
    longer = BusinessCalendar(name="office", timezone=SH, weekly={"mon-sat": "08:00-20:00"})
    report = evaluate(story.history, policies, MON, calendars={"office": longer})
    assert report.get(SlaTarget.RESOLUTION).due_at == MON + timedelta(hours=10)  # type: ignore[union-attr]
    assert office != MON + timedelta(hours=10)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError):
        evaluate(Story().history, one(resolution(1)), MON.replace(tzinfo=None))


# --- matching -------------------------------------------------------------------------------


def test_matching_explains_itself_and_takes_precedence() -> None:
    policies = default_policies()
    ticket = Story(priority=Priority.P4, code="Q.DW.03").ticket
    (chosen,) = policies.applicable(ticket)
    assert chosen.policy.name == "P4-warranty-Q.DW"
    assert "category Q.DW.03 starts with Q.DW" in chosen.reasons
    text = policies.explain(ticket)
    assert "P4-warranty: matches" in text
    assert "P1-life-safety: no (priority P4 ∉ {P1})" in text


def test_a_ticket_can_fall_under_several_policies() -> None:
    policies = attrs.evolve(default_policies(), all_matching=True)
    ticket = Story(priority=Priority.P4, code="Q.DW.03").ticket
    names = [a.policy.name for a in policies.applicable(ticket)]
    assert names == ["P4-warranty-Q.DW", "P4-warranty"]


def test_default_p2_is_24x7_wall_clock() -> None:
    story = Story(priority=Priority.P2, at=datetime(2026, 3, 7, 22, 0, tzinfo=SH))  # Saturday night
    report = evaluate(story.history, default_policies(), datetime(2026, 3, 7, 22, 10, tzinfo=SH))
    arrival = report.get(SlaTarget.ARRIVAL)
    assert arrival is not None
    assert arrival.due_at == datetime(2026, 3, 7, 22, 30, tzinfo=SH)
    assert arrival.calendar == "24x7"


def test_policy_values_are_validated() -> None:
    with pytest.raises(ValidationError) as info:
        TargetRule(target=SlaTarget.RESOLUTION, duration=timedelta(0))
    assert info.value.paths == ("$.duration",)
    with pytest.raises(ValidationError):
        TargetRule(target=SlaTarget.RESOLUTION, duration=timedelta(hours=1), stop_on={"teleported"})
    with pytest.raises(ValidationError):
        SlaPolicy(name="x", label_zh="x", label_en="x", targets=[resolution(1), resolution(2)])


# --- warnings ladder ------------------------------------------------------------------------


def test_ladder_fires_in_order_with_stable_keys() -> None:
    story = Story()
    policies = one(resolution(4))
    now = MON + timedelta(hours=8)  # Mon 17:00: used 7 h of 4
    found = warnings_for(story.history, policies, now, calendars=CALENDARS)
    assert [(w.rung, w.recipient) for w in found] == [
        ("50%", "assignee"),
        ("80%", "supervisor"),
        ("breach", "manager"),
    ]
    assert found[0].fire_at == MON + timedelta(hours=2)
    assert found[2].fire_at == datetime(2026, 3, 2, 14, 0, tzinfo=SH)
    # breach + 4 business hours is 18:00, not yet
    later = warnings_for(story.history, policies, MON + timedelta(hours=9), calendars=CALENDARS)
    assert later[-1].rung == "breach+4h"
    assert later[-1].fire_at == datetime(2026, 3, 2, 18, 0, tzinfo=SH)
    again = warnings_for(story.history, policies, now, calendars=CALENDARS)
    assert [w.idempotency_key for w in again] == [w.idempotency_key for w in found]


def test_a_met_target_never_warns_after_it_was_met() -> None:
    story = Story().to_site(MON).complete(MON + timedelta(hours=3))  # 80% is at 3 h 12 min
    found = warnings_for(
        story.history, one(resolution(4)), MON + timedelta(days=2), calendars=CALENDARS
    )
    assert [w.rung for w in found] == ["50%"]


def test_quiet_hours_hold_a_warning_until_morning() -> None:
    rule = TargetRule(
        target=SlaTarget.RESOLUTION, duration=timedelta(hours=4), clock=ClockKind.WALL
    )
    story = Story(at=datetime(2026, 3, 2, 20, 0, tzinfo=SH))
    quiet = BusinessCalendar(name="notify", timezone=SH, weekly={"daily": "08:00-22:00"})
    ladder = [
        WarningRung(name="80%", recipient="supervisor", at_share=0.8),
        WarningRung(
            name="breach", recipient="manager", after_due=timedelta(0), ignores_quiet_hours=True
        ),
    ]
    at_night = datetime(2026, 3, 3, 1, 0, tzinfo=SH)
    found = warnings_for(
        story.history, one(rule), at_night, ladder=ladder, quiet_hours=quiet, calendars=CALENDARS
    )
    assert [w.rung for w in found] == ["breach"]  # the 80% warning waits for 08:00
    morning = warnings_for(
        story.history,
        one(rule),
        datetime(2026, 3, 3, 8, 0, tzinfo=SH),
        ladder=ladder,
        quiet_hours=quiet,
        calendars=CALENDARS,
    )
    held = next(w for w in morning if w.rung == "80%")
    assert held.fire_at == datetime(2026, 3, 2, 23, 12, tzinfo=SH)
    assert held.deliver_at == datetime(2026, 3, 3, 8, 0, tzinfo=SH)


def test_reset_by_reopen_gives_new_keys() -> None:
    story = Story().to_site(MON).complete(MON + timedelta(hours=3))
    story.at(MON + timedelta(hours=4), c.ReopenTicket(ticket_id="T", reason="x"))
    rule = resolution(4, on_reopen=ReopenRule(mode=ReopenMode.RESET))
    found = warnings_for(story.history, one(rule), MON + timedelta(hours=8), calendars=CALENDARS)
    assert {w.cycle for w in found} == {1}
    assert all(":1:" in w.idempotency_key for w in found)


def test_due_warnings_across_tickets_sorted_by_delivery() -> None:
    early, late = Story(), Story(at=MON + timedelta(hours=1))
    late.history = [
        attrs.evolve(e, ticket_id="U", event_id=f"U/{e.sequence}") for e in late.history
    ]
    found = due_warnings(
        [late.history, early.history],
        MON + timedelta(hours=3),
        policies=one(resolution(4)),
        calendars=CALENDARS,
    )
    assert [(w.ticket_id, w.rung) for w in found] == [("T", "50%"), ("U", "50%")]


def test_rung_values_are_validated() -> None:
    with pytest.raises(ValidationError):
        WarningRung(name="x", recipient="y")
    with pytest.raises(ValidationError):
        WarningRung(name="x", recipient="y", at_share=1.5)
