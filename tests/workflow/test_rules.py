"""One test per lifecycle rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from conftest import AGENT, CUSTOMER, DISPATCHER, HANDLER, SUPERVISOR, T0, Flow
from propcrm import taxonomy
from propcrm.errors import (
    InvalidTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from propcrm.model import (
    Actor,
    Channel,
    ClosureType,
    ComplaintValidity,
    EscalationLevel,
    OrgScope,
    PauseReason,
    Role,
    Satisfaction,
    TicketKind,
    TicketStatus,
)
from propcrm.workflow import Lifecycle, LifecycleRules
from propcrm.workflow import commands as c

S = TicketStatus


def revisit(ok: bool = True) -> c.RecordRevisit:
    return c.RecordRevisit(
        ticket_id="T-1",
        satisfaction=Satisfaction.SATISFIED if ok else Satisfaction.DISSATISFIED,
        resolved=ok,
    )


# --- kinds -----------------------------------------------------------------------------------


def test_inquiry_is_answered_and_closed_without_dispatch() -> None:
    f = Flow(TicketKind.INQUIRY)
    f.do(c.RespondToCustomer(ticket_id="T-1", message="物业费每月5日前缴纳"), AGENT)
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert f.t.status is S.CLOSED
    assert f.t.dispatched_at is None
    assert f.t.first_response_at == f.t.received_at + timedelta(minutes=1)


def test_inquiry_needs_a_response_before_it_closes() -> None:
    f = Flow(TicketKind.INQUIRY)
    error = f.refused(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert isinstance(error, InvalidTransitionError)
    assert "response" in error.reason


def test_repair_cannot_close_straight_from_received() -> None:
    f = Flow(TicketKind.REPAIR)
    error = f.refused(c.CloseTicket(ticket_id="T-1"))
    assert isinstance(error, InvalidTransitionError)
    assert error.status == "received" and error.command == "close"
    assert "dispatch" in str(error)  # the hint lists what is allowed now


def test_repair_must_be_completed_before_its_revisit() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    assert isinstance(f.refused(revisit()), InvalidTransitionError)
    f.do(c.ArriveOnSite(ticket_id="T-1"), HANDLER)
    f.do(c.CompleteWork(ticket_id="T-1", result="fixed"), HANDLER)
    f.do(revisit(), AGENT)
    assert f.t.status is S.REVISITED


def test_repair_must_be_on_site_before_it_completes() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    error = f.refused(c.CompleteWork(ticket_id="T-1", result="x"), HANDLER)
    assert isinstance(error, InvalidTransitionError)


def test_repair_may_close_without_a_revisit_and_be_revisited_after() -> None:
    f = Flow(TicketKind.REPAIR)
    f.to_completed()
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    f.do(revisit(), AGENT)
    assert f.t.status is S.CLOSED
    assert f.t.revisit_satisfaction is Satisfaction.SATISFIED


def test_complaint_needs_a_revisit_before_it_closes() -> None:
    f = Flow(TicketKind.COMPLAINT)
    f.do(c.RespondToCustomer(ticket_id="T-1", message="已收到"), AGENT)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.CompleteWork(ticket_id="T-1", result="道歉并整改"), HANDLER)
    error = f.refused(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert isinstance(error, InvalidTransitionError)
    assert "revisit" in error.reason
    f.do(revisit(), AGENT)
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert f.t.status is S.CLOSED and f.t.closure_type is ClosureType.NORMAL


def test_complaint_revisit_rule_can_be_switched_off() -> None:
    rules = attrs.evolve(LifecycleRules.default(), revisit_before_close_kinds=frozenset())
    f = Flow(TicketKind.COMPLAINT, rules)
    f.do(c.RespondToCustomer(ticket_id="T-1", message="已收到"), AGENT)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.CompleteWork(ticket_id="T-1", result="done"), HANDLER)
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert f.t.status is S.CLOSED


def test_praise_is_closed_from_received() -> None:
    f = Flow(TicketKind.PRAISE)
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert f.t.status is S.CLOSED
    f2 = Flow(TicketKind.PRAISE)
    assert isinstance(f2.refused(f2_dispatch()), InvalidTransitionError)


def f2_dispatch() -> c.DispatchTicket:
    return c.DispatchTicket(ticket_id="T-1", party="PM")


# --- reopen ----------------------------------------------------------------------------------


def test_reopen_inside_the_window_and_refused_after_it() -> None:
    f = Flow(TicketKind.REPAIR)
    f.to_completed()
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    late = f.refused(
        c.ReopenTicket(ticket_id="T-1", reason="又漏了"), CUSTOMER, after=timedelta(days=31)
    )
    assert isinstance(late, InvalidTransitionError) and "window" in late.reason
    f.do(c.ReopenTicket(ticket_id="T-1", reason="又漏了"), CUSTOMER, after=timedelta(days=30))
    assert f.t.status is S.REOPENED and f.t.reopen_count == 1
    assert f.t.closed_at is None and f.t.completed_at is None


def test_reopen_window_is_configurable() -> None:
    rules = attrs.evolve(LifecycleRules.default(), reopen_window=timedelta(days=3))
    f = Flow(TicketKind.REPAIR, rules)
    f.to_completed()
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    assert isinstance(
        f.refused(c.ReopenTicket(ticket_id="T-1", reason="x"), after=timedelta(days=4)),
        InvalidTransitionError,
    )


@pytest.mark.parametrize("kind", [TicketKind.REPAIR, TicketKind.COMPLAINT])
def test_unsatisfied_revisit_reopens_automatically(kind: TicketKind) -> None:
    f = Flow(kind)
    f.do(c.RespondToCustomer(ticket_id="T-1", message="ok"), AGENT)
    f.to_completed()
    events = f.do(revisit(ok=False), AGENT)
    assert [e.type for e in events] == ["revisit_recorded", "ticket_reopened"]
    assert f.t.status is S.REOPENED and f.t.reopen_count == 1
    # the reopened ticket goes round again
    f.to_completed()
    assert f.t.status is S.COMPLETED


def test_basically_satisfied_but_unresolved_still_reopens() -> None:
    f = Flow(TicketKind.REPAIR)
    f.to_completed()
    f.do(
        c.RecordRevisit(
            ticket_id="T-1", satisfaction=Satisfaction.BASICALLY_SATISFIED, resolved=False
        ),
        AGENT,
    )
    assert f.t.status is S.REOPENED


def test_unsatisfied_revisit_without_the_rule_does_not_reopen() -> None:
    rules = attrs.evolve(LifecycleRules.default(), auto_reopen_kinds=frozenset())
    f = Flow(TicketKind.REPAIR, rules)
    f.to_completed()
    events = f.do(revisit(ok=False), AGENT)
    assert [e.type for e in events] == ["revisit_recorded"]
    assert f.t.status is S.REVISITED and f.t.revisit_resolved is False


def test_auto_reopen_after_close_ignores_the_window() -> None:
    f = Flow(TicketKind.REPAIR)
    f.to_completed()
    f.do(c.CloseTicket(ticket_id="T-1"), AGENT)
    f.do(revisit(ok=False), AGENT, after=timedelta(days=90))
    assert f.t.status is S.REOPENED


# --- abnormal close --------------------------------------------------------------------------


def _pending(kind: TicketKind = TicketKind.REPAIR) -> Flow:
    f = Flow(kind)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.RequestAbnormalClose(ticket_id="T-1", reason="业主拒绝入户"), HANDLER)
    assert f.t.status is S.PENDING_ABNORMAL_CLOSE
    return f


def test_abnormal_close_needs_every_approver() -> None:
    f = _pending()
    assert f.t.abnormal_close_approvers == {"property", "developer_engineering", "contractor"}
    f.do(c.ApproveAbnormalClose(ticket_id="T-1", party="property"))
    f.do(c.ApproveAbnormalClose(ticket_id="T-1", party="contractor"))
    assert f.t.status is S.PENDING_ABNORMAL_CLOSE
    events = f.do(c.ApproveAbnormalClose(ticket_id="T-1", party="developer_engineering"))
    assert [e.type for e in events] == ["abnormal_close_approved", "ticket_closed"]
    assert f.t.status is S.CLOSED and f.t.closure_type is ClosureType.ABNORMAL
    assert f.t.abnormal_close_approvers == frozenset()


def test_abnormal_close_approvers_are_configurable() -> None:
    rules = attrs.evolve(LifecycleRules.default(), abnormal_close_approvers={"property"})
    f = Flow(TicketKind.REPAIR, rules)
    f.do(c.RequestAbnormalClose(ticket_id="T-1", reason="重复"), AGENT)
    f.do(c.ApproveAbnormalClose(ticket_id="T-1", party="property"))
    assert f.t.status is S.CLOSED


def test_abnormal_close_refuses_strangers_and_double_approval() -> None:
    f = _pending()
    assert isinstance(
        f.refused(c.ApproveAbnormalClose(ticket_id="T-1", party="design_institute")),
        InvalidTransitionError,
    )
    f.do(c.ApproveAbnormalClose(ticket_id="T-1", party="property"))
    error = f.refused(c.ApproveAbnormalClose(ticket_id="T-1", party="property"))
    assert isinstance(error, InvalidTransitionError) and "already" in error.reason


def test_rejected_abnormal_close_returns_to_where_it_was() -> None:
    f = _pending()
    f.do(c.ApproveAbnormalClose(ticket_id="T-1", party="property"))
    f.do(c.RejectAbnormalClose(ticket_id="T-1", party="contractor", reason="可以修"))
    assert f.t.status is S.ACCEPTED
    assert f.t.abnormal_close_approvals == frozenset()


def test_rejected_abnormal_close_from_a_pause_keeps_the_pause() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.PauseWork(ticket_id="T-1", reason=PauseReason.WAITING_FOR_PARTS), HANDLER)
    f.do(c.RequestAbnormalClose(ticket_id="T-1", reason="停产"), HANDLER)
    f.do(c.RejectAbnormalClose(ticket_id="T-1", party="property", reason="等料"))
    assert f.t.status is S.PAUSED and f.t.pause_reason is PauseReason.WAITING_FOR_PARTS
    f.do(c.ResumeWork(ticket_id="T-1"), HANDLER)
    assert f.t.status is S.ACCEPTED


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        (HANDLER, c.CloseTicket(ticket_id="T-1")),
        (CUSTOMER, c.DispatchTicket(ticket_id="T-1", party="PM")),
        (DISPATCHER, c.CompleteWork(ticket_id="T-1", result="x")),
        (AGENT, c.ApproveAbnormalClose(ticket_id="T-1", party="property")),
    ],
)
def test_roles_may_only_issue_their_commands(actor: object, command: c.Command) -> None:
    f = Flow(TicketKind.REPAIR)
    error = f.refused(command, actor)  # type: ignore[arg-type]
    assert isinstance(error, PermissionDeniedError)
    assert command.name in str(error)


def test_permissions_are_configurable() -> None:
    rules = LifecycleRules.default()
    perms = dict(rules.permissions)
    perms[Role.HANDLER] = perms[Role.HANDLER] | {"close"}
    f = Flow(TicketKind.REPAIR, attrs.evolve(rules, permissions=perms))
    f.to_completed()
    f.do(c.CloseTicket(ticket_id="T-1"), HANDLER)
    assert f.t.status is S.CLOSED


# --- other commands --------------------------------------------------------------------------


def test_pause_and_resume_return_to_the_status_before_the_pause() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.ArriveOnSite(ticket_id="T-1"), HANDLER)
    f.do(c.PauseWork(ticket_id="T-1", reason=PauseReason.CUSTOMER_UNAVAILABLE), HANDLER)
    assert f.t.status is S.PAUSED and f.t.paused_since == f.now
    assert isinstance(
        f.refused(c.CompleteWork(ticket_id="T-1", result="x"), HANDLER), InvalidTransitionError
    )
    f.do(c.ResumeWork(ticket_id="T-1"), HANDLER)
    assert f.t.status is S.ARRIVED and f.t.paused_since is None and f.t.pause_reason is None


def test_bounce_back_returns_to_dispatch_and_clears_the_assignee() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.BounceBack(ticket_id="T-1", reason="不归我们管"), HANDLER)
    assert f.t.status is S.RECEIVED and f.t.assignee is None
    first_dispatch = f.t.dispatched_at
    f.do(c.DispatchTicket(ticket_id="T-1", party="GC", assignee="gc-1"), DISPATCHER)
    assert f.t.responsible_party == "GC" and f.t.dispatched_at == first_dispatch


def test_reassign_keeps_party_when_only_assignee_changes() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.ReassignTicket(ticket_id="T-1", assignee="wang", reason="休假"), DISPATCHER)
    assert f.t.status is S.DISPATCHED and f.t.assignee == "wang" and f.t.responsible_party == "PM"


def test_escalation_only_goes_up() -> None:
    f = Flow(TicketKind.COMPLAINT)
    f.do(c.EscalateTicket(ticket_id="T-1", level=EscalationLevel.DEPARTMENT_HEAD, reason="超时"))
    assert f.t.escalation_level is EscalationLevel.DEPARTMENT_HEAD
    error = f.refused(
        c.EscalateTicket(ticket_id="T-1", level=EscalationLevel.TEAM_LEAD, reason="x")
    )
    assert isinstance(error, InvalidTransitionError)
    f.do(c.EscalateTicket(ticket_id="T-1", level=EscalationLevel.MANAGEMENT, reason="媒体"))
    assert f.t.escalation_level is EscalationLevel.MANAGEMENT


def test_merge_and_void_are_final() -> None:
    merged = Flow(TicketKind.REPAIR)
    merged.do(c.MergeAsDuplicate(ticket_id="T-1", into_ticket_id="T-0"), AGENT)
    assert merged.t.status is S.MERGED and merged.t.merged_into == "T-0"
    voided = Flow(TicketKind.REPAIR)
    voided.do(c.VoidTicket(ticket_id="T-1", reason="测试单"), AGENT)
    assert voided.t.status is S.VOIDED and not voided.t.is_open
    for f in (merged, voided):
        for command in (
            f2_dispatch(),
            c.ReopenTicket(ticket_id="T-1", reason="x"),
            c.AddWorkLog(ticket_id="T-1", note="x"),
        ):
            assert isinstance(f.refused(command), InvalidTransitionError)


def test_only_complaints_are_marked_invalid_and_only_once() -> None:
    complaint = Flow(TicketKind.COMPLAINT)
    complaint.do(c.MarkComplaintInvalid(ticket_id="T-1", reason="超出物业服务范围"), AGENT)
    assert complaint.t.validity is ComplaintValidity.INVALID
    assert isinstance(
        complaint.refused(c.MarkComplaintInvalid(ticket_id="T-1", reason="again")),
        InvalidTransitionError,
    )
    repair = Flow(TicketKind.REPAIR)
    assert isinstance(
        repair.refused(c.MarkComplaintInvalid(ticket_id="T-1", reason="x")),
        InvalidTransitionError,
    )


def test_work_log_and_follow_up_keep_the_status() -> None:
    f = Flow(TicketKind.REPAIR)
    f.do(c.AddWorkLog(ticket_id="T-1", note="电话联系业主"), AGENT)
    f.do(c.RecordFollowUp(ticket_id="T-1", note="业主下午在家", channel=Channel.WECHAT), AGENT)
    assert f.t.status is S.RECEIVED and f.t.last_follow_up_at == f.now


def test_first_timestamps_are_kept_and_latest_ones_move() -> None:
    f = Flow(TicketKind.REPAIR)
    f.do(c.RespondToCustomer(ticket_id="T-1", message="a"), AGENT)
    first = f.t.first_response_at
    f.do(c.RespondToCustomer(ticket_id="T-1", message="b"), AGENT)
    assert f.t.first_response_at == first
    f.to_completed()
    done = f.t.completed_at
    f.do(revisit(ok=False), AGENT)
    f.to_completed()
    assert f.t.completed_at is not None and done is not None and f.t.completed_at > done


def test_complete_records_cost_exactly() -> None:
    f = Flow(TicketKind.REPAIR)
    f.dispatch()
    f.do(c.AcceptTicket(ticket_id="T-1"), HANDLER)
    f.do(c.ArriveOnSite(ticket_id="T-1"), HANDLER)
    (event,) = f.do(
        c.CompleteWork(ticket_id="T-1", result="换阀门", cost=Decimal("10.05"), materials=["阀门"]),
        HANDLER,
    )
    assert event.payload.cost == Decimal("10.05")  # type: ignore[union-attr]
    assert event.payload.materials == ("阀门",)  # type: ignore[union-attr]


# --- guards common to every command ----------------------------------------------------------


def test_time_never_runs_backwards() -> None:
    f = Flow(TicketKind.REPAIR)
    error = f.refused(f2_dispatch(), after=timedelta(minutes=-5))
    assert isinstance(error, InvalidTransitionError) and "before" in error.reason


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Lifecycle().handle(
            None,
            c.ReceiveTicket(
                ticket_id="T",
                kind=TicketKind.REPAIR,
                channel=Channel.APP,
                scope=OrgScope(company_id="c", project_id="p"),
                description="x",
            ),
            now=T0.replace(tzinfo=None),
            actor=AGENT,
        )
    assert info.value.paths == ("$.now",)


def test_commands_need_the_right_ticket() -> None:
    f = Flow(TicketKind.REPAIR)
    with pytest.raises(ValidationError) as info:
        f.lifecycle.handle(
            f.ticket, c.DispatchTicket(ticket_id="T-2", party="PM"), now=f.now, actor=SUPERVISOR
        )
    assert info.value.paths == ("$.ticket_id",)
    assert isinstance(
        f.refused(
            c.ReceiveTicket(
                ticket_id="T-1",
                kind=TicketKind.REPAIR,
                channel=Channel.APP,
                scope=OrgScope(company_id="c", project_id="p"),
                description="x",
            )
        ),
        InvalidTransitionError,
    )
    with pytest.raises(InvalidTransitionError):
        f.lifecycle.handle(None, f2_dispatch(), now=f.now, actor=SUPERVISOR)


# --- taxonomy hook ---------------------------------------------------------------------------


def test_category_codes_are_checked_and_tagged_when_a_taxonomy_is_given() -> None:
    standard = taxonomy.standard()
    lifecycle = Lifecycle(catalog=standard)
    receive = c.ReceiveTicket(
        ticket_id="T",
        kind=TicketKind.REPAIR,
        channel=Channel.APP,
        scope=OrgScope(company_id="c", project_id="p"),
        description="卫生间天花板滴水",
        category_code="Q.WP.99",
    )
    with pytest.raises(ValidationError) as info:
        lifecycle.handle(None, receive, now=T0, actor=AGENT)
    assert info.value.paths == ("$.category_code",)
    assert "Q.WP.0" in str(info.value)  # the hint names the closest codes
    ticket, _ = lifecycle.execute(
        None, attrs.evolve(receive, category_code="Q.WP.08"), now=T0, actor=AGENT
    )
    assert ticket.taxonomy_version == standard.tag
    # A deprecated code is refused for new classifications, with its replacement named.
    with pytest.raises(ValidationError) as info:
        lifecycle.handle(
            ticket,
            c.ClassifyTicket(ticket_id="T", category_code="Q.EL.07"),
            now=T0,
            actor=AGENT,
        )
    assert "S.FM.09" in str(info.value)


# --- the rules value itself ------------------------------------------------------------------


def test_rules_refuse_unknown_command_names_with_a_path() -> None:
    with pytest.raises(ValidationError) as info:
        LifecycleRules(allowed={TicketKind.REPAIR: {S.RECEIVED: {"dispatch", "teleport"}}})
    assert info.value.paths == ("$.allowed.repair.received",)
    with pytest.raises(ValidationError):
        LifecycleRules(permissions={Role.HANDLER: {"fly"}})
    with pytest.raises(ValidationError):
        LifecycleRules(abnormal_close_approvers=frozenset())
    with pytest.raises(ValidationError):
        LifecycleRules(reopen_window=timedelta(days=-1))


def test_allow_and_forbid_return_new_rules() -> None:
    rules = LifecycleRules.default()
    fewer = rules.forbid(TicketKind.REPAIR, [S.RECEIVED], "void")
    assert rules.allows(TicketKind.REPAIR, S.RECEIVED, "void")
    assert not fewer.allows(TicketKind.REPAIR, S.RECEIVED, "void")
    f = Flow(TicketKind.REPAIR, fewer)
    assert isinstance(f.refused(c.VoidTicket(ticket_id="T-1", reason="x")), InvalidTransitionError)


# --- org scope (seed 003: roles are scoped to a group, company, centre or project) -------------


def test_actors_act_only_inside_their_org_scope() -> None:
    f = Flow(TicketKind.REPAIR)  # scope: company c1, project p1
    outsider = Actor(id="x", role=Role.SUPERVISOR, scope={"c2"})
    error = f.refused(c.AddWorkLog(ticket_id="T-1", note="x"), outsider)
    assert isinstance(error, PermissionDeniedError)
    assert "project 'p1'" in str(error)
    assert "does not cover" in str(error)
    for scope in ({"c1"}, {"p1"}, {"p9", "p1"}):
        insider = Actor(id="y", role=Role.SUPERVISOR, scope=scope)
        f.do(c.AddWorkLog(ticket_id="T-1", note="ok"), insider)
    receive = c.ReceiveTicket(
        ticket_id="T-2",
        kind=TicketKind.REPAIR,
        channel=Channel.APP,
        scope=OrgScope(company_id="c1", project_id="p2"),
        description="x",
    )
    with pytest.raises(PermissionDeniedError):
        Lifecycle().handle(
            None, receive, now=T0, actor=Actor(id="z", role=Role.HOTLINE_AGENT, scope={"p1"})
        )
    Lifecycle().handle(
        None, receive, now=T0, actor=Actor(id="z", role=Role.HOTLINE_AGENT, scope={"c1"})
    )
