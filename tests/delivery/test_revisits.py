"""Revisit scheduling, deterministic sampling, surveys and forum follow-ups."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from _delivery_helpers import SCOPE, SHANGHAI, STAFF, T0

from propcrm.errors import ValidationError
from propcrm.model import (
    Channel,
    CustomerRef,
    OrgScope,
    Satisfaction,
    SurveyDefinition,
    SurveyQuestion,
    SurveyResponse,
    Ticket,
    TicketKind,
)
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c
from propcrm.workflow import revisits as r

US = timedelta(microseconds=1)
PROGRAMME = r.RevisitProgramme.default(seed="test")
ALL = r.RevisitProgramme(
    rules=PROGRAMME.rules,
    sampling={TicketKind.COMPLAINT: 1.0, TicketKind.REPAIR: 1.0},
    seed="test",
)


def completed(
    ticket_id: str = "T-1",
    kind: TicketKind = TicketKind.COMPLAINT,
    code: str | None = None,
    *,
    at: datetime = T0,
    revisit: bool = False,
) -> Ticket:
    lifecycle = Lifecycle()
    steps: list[c.Command] = [
        c.ReceiveTicket(
            ticket_id=ticket_id,
            kind=kind,
            channel=Channel.HOTLINE,
            scope=SCOPE,
            description="x",
            category_code=code,
            reporter=CustomerRef(customer_id="C1"),
        ),
        c.DispatchTicket(ticket_id=ticket_id, party="PM"),
        c.AcceptTicket(ticket_id=ticket_id),
        c.ArriveOnSite(ticket_id=ticket_id),
        c.StartWork(ticket_id=ticket_id),
        c.CompleteWork(ticket_id=ticket_id, result="done"),
    ]
    if revisit:
        steps.append(
            c.RecordRevisit(ticket_id=ticket_id, satisfaction=Satisfaction.SATISFIED, resolved=True)
        )
    ticket: Ticket | None = None
    for index, command in enumerate(steps):
        # Intake to completion in the minutes before ``at``; completion at ``at``; revisit after.
        now = at + timedelta(minutes=index - 5) if index <= 5 else at + timedelta(hours=1)
        ticket, _ = lifecycle.execute(ticket, command, now=now, actor=STAFF)
    assert ticket is not None
    return ticket


def due(
    at: datetime, *tickets: Ticket, programme: r.RevisitProgramme = ALL, **kw: object
) -> list[str]:
    return [v.key for v in r.revisits_due(at=at, programme=programme, tickets=tickets, **kw)]  # type: ignore[arg-type]


def test_a_complaint_is_due_from_completion_to_three_days_after_both_included() -> None:
    ticket = completed()
    assert ticket.completed_at == T0
    assert due(T0 - US, ticket) == []
    [found] = r.revisits_due(at=T0, programme=ALL, tickets=[ticket])
    assert (found.opens_at, found.due_by, found.overdue) == (T0, T0 + timedelta(days=3), False)
    assert found.ticket_id == "T-1" and found.customer_id == "C1" and found.rule_id == "complaint"
    [last] = r.revisits_due(at=T0 + timedelta(days=3), programme=ALL, tickets=[ticket])
    assert not last.overdue
    [late] = r.revisits_due(at=T0 + timedelta(days=3) + US, programme=ALL, tickets=[ticket])
    assert late.overdue


def test_revisited_and_unmatched_tickets_are_not_due() -> None:
    assert due(T0 + timedelta(days=1), completed(revisit=True)) == []
    complaints_only = r.RevisitProgramme(rules=ALL.rules[:1], sampling=ALL.sampling)
    assert due(T0, completed(kind=TicketKind.REPAIR), programme=complaints_only) == []
    assert due(T0, completed(), done=["complaint:T-1"]) == []


def test_a_delay_opens_the_window_later() -> None:
    programme = r.RevisitProgramme(
        rules=[
            r.RevisitRule(
                rule_id="settle",
                trigger=r.RevisitTrigger.COMPLETION,
                after=timedelta(hours=24),
                within=timedelta(hours=48),
            )
        ],
        sampling={TicketKind.REPAIR: 1},
    )
    ticket = completed(kind=TicketKind.REPAIR)
    assert due(T0 + timedelta(hours=24) - US, ticket, programme=programme) == []
    assert due(T0 + timedelta(hours=24), ticket, programme=programme) == ["settle:T-1"]


def test_leaks_wait_for_the_first_rain_after_the_repair() -> None:
    leak = completed("T-L", TicketKind.REPAIR, "Q.WP.04")
    assert ALL.rule_for(leak) is not None and ALL.rule_for(leak).rule_id == "leak-after-rain"  # type: ignore[union-attr]
    later = T0 + timedelta(days=10)
    assert due(later, leak) == []  # no rain yet: never due
    rains = [
        r.Rain(project_id="p1", at=T0 - timedelta(days=1)),  # before the repair: ignored
        r.Rain(project_id="p2", at=T0 + timedelta(days=1)),  # another project
        r.Rain(project_id="p1", at=T0 + timedelta(days=5)),
        r.Rain(project_id="p1", at=T0 + timedelta(days=6)),
    ]
    assert due(T0 + timedelta(days=5) - US, leak, rains=rains) == []
    [found] = r.revisits_due(at=later, programme=ALL, tickets=[leak], rains=rains)
    assert found.opens_at == T0 + timedelta(days=5)
    assert found.due_by == T0 + timedelta(days=7) and found.overdue
    # Other repairs use the plain repair rule.
    assert ALL.rule_for(completed("T-2", TicketKind.REPAIR, "Q.EL.01")).rule_id == "repair"  # type: ignore[union-attr]


def test_residence_revisit_three_months_after_move_in() -> None:
    moved = datetime(2026, 1, 31, 10, 0, tzinfo=SHANGHAI)
    move_in = r.MoveIn(customer_id="C1", unit_id="U1", scope=SCOPE, moved_in_at=moved)
    opens = datetime(2026, 4, 30, 10, 0, tzinfo=SHANGHAI)  # no 31 April: the month's last day
    assert r.revisits_due(at=opens - US, programme=PROGRAMME, move_ins=[move_in]) == ()
    [found] = r.revisits_due(at=opens, programme=PROGRAMME, move_ins=[move_in])
    assert found.key == "residence:C1:U1" and found.unit_id == "U1"
    assert found.due_by == opens + timedelta(days=30)
    assert (
        r.revisits_due(at=opens, programme=PROGRAMME, move_ins=[move_in], done=["residence:C1:U1"])
        == ()
    )


def test_due_revisits_come_earliest_deadline_first() -> None:
    a = completed("T-A", at=T0 + timedelta(hours=2))
    b = completed("T-B")
    assert due(T0 + timedelta(days=1), a, b) == ["complaint:T-B", "complaint:T-A"]
    with pytest.raises(ValidationError, match="naive"):
        r.revisits_due(at=datetime(2026, 1, 1), programme=ALL)


def test_sampling_is_deterministic_uniform_and_monotonic() -> None:
    ids = [f"T-{n}" for n in range(4000)]
    drawn = {i for i in ids if r.is_sampled(i, 0.3, seed="s1")}
    assert drawn == {i for i in ids if r.is_sampled(i, 0.3, seed="s1")}
    assert 0.27 < len(drawn) / len(ids) < 0.33
    assert drawn <= {i for i in ids if r.is_sampled(i, 0.5, seed="s1")}
    assert drawn != {i for i in ids if r.is_sampled(i, 0.3, seed="s2")}
    assert all(r.is_sampled(i, 1.0, seed="s1") for i in ids[:100])
    assert not any(r.is_sampled(i, 0.0, seed="s1") for i in ids[:100])


def test_the_default_programme_revisits_every_complaint_and_some_repairs() -> None:
    complaints = [completed(f"C-{n}") for n in range(20)]
    assert len(due(T0, *complaints, programme=PROGRAMME)) == 20
    repairs = [completed(f"R-{n}", TicketKind.REPAIR) for n in range(40)]
    first = due(T0, *repairs, programme=PROGRAMME)
    assert first == due(T0, *repairs, programme=PROGRAMME)
    assert 0 < len(first) < 40
    expected = [
        f"repair:{t.ticket_id}" for t in repairs if r.is_sampled(t.ticket_id, 0.3, seed="test")
    ]
    assert sorted(first) == sorted(expected)


def test_programme_values_are_validated() -> None:
    with pytest.raises(ValidationError, match=r"\$\.sampling\.repair"):
        r.RevisitProgramme(rules=[], sampling={TicketKind.REPAIR: 1.5})
    with pytest.raises(ValidationError, match=r"\$\.within"):
        r.RevisitRule(rule_id="x", trigger=r.RevisitTrigger.COMPLETION, within=timedelta(0))


# ---------------------------------------------------------------------------------------------
# surveys and forums

SURVEY = SurveyDefinition(
    survey_id="residence-2026",
    name_zh="入住三个月回访",
    name_en="Three months after move-in",
    questions=[
        SurveyQuestion(id="quality", text_zh="房屋质量", text_en="Quality", weight=2),
        SurveyQuestion(id="service", text_zh="服务", text_en="Service"),
    ],
)


def answer(n: int, overall: Satisfaction | None, **scores: int) -> SurveyResponse:
    return SurveyResponse(
        response_id=f"R{n}",
        survey_id="residence-2026",
        respondent_id=f"C{n}",
        scope=SCOPE,
        answered_on=date(2026, 5, 1),
        scores=scores,
        overall=overall,
    )


def test_survey_rate_and_index_are_kept_apart() -> None:
    result = r.survey_result(
        SURVEY,
        [
            answer(1, Satisfaction.VERY_SATISFIED, quality=5, service=5),  # index 100
            answer(2, Satisfaction.BASICALLY_SATISFIED, quality=3, service=1),  # (2*50+0)/3
            answer(3, Satisfaction.DISSATISFIED, quality=1),  # index 0
            answer(4, None),  # neither rated nor scored
        ],
    )
    assert (result.responses, result.rated, result.satisfied) == (4, 3, 2)
    assert result.rate == pytest.approx(2 / 3)
    assert result.index == pytest.approx((100 + 100 / 3 + 0) / 3)
    empty = r.survey_result(SURVEY, [])
    assert empty.rate is None and empty.index is None
    with pytest.raises(ValidationError, match="off the scale"):
        r.survey_result(SURVEY, [answer(5, None, quality=9)])


def test_each_forum_issue_becomes_a_ticket() -> None:
    meeting = r.ForumMeeting(
        meeting_id="M1",
        scope=SCOPE,
        held_on=date(2026, 8, 8),
        title="三季度客户恳谈会",
        attendees=["C1", "C2"],
        issues=[
            r.ForumIssue(
                issue_id="1", description="地库照明不足", kind=TicketKind.SUGGESTION, raised_by="C1"
            ),
            r.ForumIssue(
                issue_id="2",
                description="外墙渗水",
                kind=TicketKind.COMPLAINT,
                category_code="Q.WP.06",
            ),
        ],
    )
    commands = r.follow_up_tickets(meeting)
    assert [cmd.ticket_id for cmd in commands] == ["F-M1-1", "F-M1-2"]
    assert commands[0].reporter == CustomerRef(customer_id="C1") and commands[1].reporter is None
    assert commands[1].idempotency_key == "forum:M1:2"
    assert "客户恳谈会 2026-08-08" in commands[1].description
    lifecycle = Lifecycle()
    for command in commands:
        ticket, _ = lifecycle.execute(None, command, now=T0, actor=STAFF)
        assert ticket.scope == SCOPE and ticket.kind is command.kind
    with pytest.raises(ValidationError, match="duplicate issue id"):
        r.ForumMeeting(
            meeting_id="M2",
            scope=OrgScope(company_id="c1", project_id="p1"),
            held_on=date(2026, 8, 8),
            title="t",
            issues=[meeting.issues[0], meeting.issues[0]],
        )


def test_programme_meeting_and_due_values_round_trip_through_json() -> None:
    import json

    from propcrm.serialization import make_converter

    converter = make_converter()
    meeting = r.ForumMeeting(
        meeting_id="M1",
        scope=SCOPE,
        held_on=date(2026, 8, 8),
        title="t",
        issues=[r.ForumIssue(issue_id="1", description="d", kind=TicketKind.COMPLAINT)],
    )
    [due_one] = r.revisits_due(at=T0, programme=ALL, tickets=[completed()])
    move_in = r.MoveIn(customer_id="C1", unit_id="U1", scope=SCOPE, moved_in_at=T0)
    for value in (PROGRAMME, meeting, due_one, move_in, r.Rain(project_id="p1", at=T0)):
        data = json.loads(json.dumps(converter.unstructure(value)))
        assert converter.structure(data, type(value)) == value
