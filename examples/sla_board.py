"""An SLA board: three tickets under the default policies, evaluated at one instant.

Shows due times, used and remaining business time, breaches and the warnings due.
Run: python examples/sla_board.py   (needs the `china` extra for the cn-statutory calendar)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from propcrm import Actor, Channel, Lifecycle, OrgScope, PauseReason, Priority, Role, TicketKind
from propcrm.metrics.sla import SlaStatus, default_policies, due_warnings, evaluate
from propcrm.workflow import Event
from propcrm.workflow import commands as c

SH = ZoneInfo("Asia/Shanghai")
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
T0 = datetime(2026, 9, 29, 16, 0, tzinfo=SH)  # the afternoon before the National Day holiday


def story(
    ticket_id: str,
    kind: TicketKind,
    priority: Priority,
    code: str | None,
    steps: list[tuple[float, c.Command]],
) -> list[Event]:
    lifecycle = Lifecycle()
    ticket, history = lifecycle.execute(
        None,
        c.ReceiveTicket(
            ticket_id=ticket_id,
            kind=kind,
            channel=Channel.HOTLINE,
            priority=priority,
            category_code=code,
            scope=OrgScope(company_id="c1", project_id="p1"),
            description=ticket_id,
        ),
        now=T0,
        actor=BOSS,
    )
    for hours, command in steps:
        ticket, events = lifecycle.execute(
            ticket, command, now=T0 + timedelta(hours=hours), actor=BOSS
        )
        history += events
    return history


histories = [
    story(
        "lift-stuck",
        TicketKind.REPAIR,
        Priority.P1,
        "Q.LF.02",
        [
            (0.05, c.RespondToCustomer(ticket_id="lift-stuck", message="救援已出发")),
            (0.1, c.DispatchTicket(ticket_id="lift-stuck", party="SUB-ELV")),
            (0.12, c.AcceptTicket(ticket_id="lift-stuck")),
            (0.3, c.ArriveOnSite(ticket_id="lift-stuck")),
            (1.0, c.CompleteWork(ticket_id="lift-stuck", result="放人，电梯复位")),
        ],
    ),
    story(
        "window-leak",
        TicketKind.REPAIR,
        Priority.P4,
        "Q.DW.05",
        [
            (20, c.DispatchTicket(ticket_id="window-leak", party="SUB-DW")),
            (40, c.AcceptTicket(ticket_id="window-leak")),
            (41, c.PauseWork(ticket_id="window-leak", reason=PauseReason.WAITING_FOR_PARTS)),
        ],
    ),
    story("rude-guard", TicketKind.COMPLAINT, Priority.P3, "S.SE.02", []),
]

now = T0 + timedelta(days=4)
policies = default_policies()
print(f"SLA board at {now:%Y-%m-%d %H:%M} (National Day holiday: working-day clocks stand still)")
for history in histories:
    report = evaluate(history, policies, now)
    policy = report.policies[0].policy.name
    for state in report.targets:
        due = state.due_at.strftime("%m-%d %H:%M") if state.due_at else "-"
        flag = "!!" if state.status is SlaStatus.BREACHED else "  "
        print(
            f"{flag} {report.ticket_id:<12} {policy:<22} {state.target.value:<15} "
            f"{state.status.value:<14} due {due:<11} used {state.elapsed}"
        )
warnings = due_warnings(histories, now, policies=policies)
print(f"\n{len(warnings)} warnings due:")
for warning in warnings:
    print(f"  {warning.deliver_at:%m-%d %H:%M} {warning.recipient:<10} {warning.idempotency_key}")
