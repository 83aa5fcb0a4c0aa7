"""``propcrm demo``: a synthetic year of customer service, or (``--scripted``) one morning.

The year (:mod:`propcrm.demo`) runs a seeded developer group's tickets through the service on an
SQLite file and prints the dashboard. The scripted morning is short and deterministic: each scene
is a list of (minutes after 09:00, actor, command); commands the rules refuse are shown with the
refusal, as an operator would see them, and change nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NoReturn, TextIO
from zoneinfo import ZoneInfo

from propcrm.errors import PropcrmError
from propcrm.model import (
    Actor,
    AreaType,
    Channel,
    CustomerRef,
    EscalationLevel,
    Location,
    OrgScope,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    Severity,
    Ticket,
    TicketKind,
)
from propcrm.workflow import Event, Lifecycle, apply, replay
from propcrm.workflow import commands as c

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SCOPE = OrgScope(
    group_id="g1", company_id="nanning-pm", service_centre_id="sc-1", project_id="p-cuihu"
)

AGENT = Actor(id="agent-07", role=Role.HOTLINE_AGENT, name="客服 周")
DISPATCHER = Actor(id="disp-02", role=Role.DISPATCHER, name="调度 吴")
PLUMBER = Actor(id="li.wei", role=Role.HANDLER, party="PM", name="维修 李伟")
CONTRACTOR = Actor(id="gc-zhang", role=Role.HANDLER, party="GC", name="总包 张工")
SUPERVISOR = Actor(id="sup-01", role=Role.SUPERVISOR, name="主管 陈")
OWNER = Actor(id="owner-1201", role=Role.CUSTOMER)

Scene = Sequence[tuple[int, Actor, c.Command]]


def _receive(
    ticket_id: str,
    kind: TicketKind,
    description: str,
    *,
    unit: str | None = None,
    room_type: str | None = None,
    priority: Priority = Priority.P3,
    code: str | None = None,
    channel: Channel = Channel.HOTLINE,
) -> c.ReceiveTicket:
    location = (
        Location(project_id=SCOPE.project_id, building_id="b-3", unit_id=unit, room_type=room_type)
        if unit
        else Location(project_id=SCOPE.project_id, area=AreaType.COMMON, room_type=room_type)
    )
    return c.ReceiveTicket(
        ticket_id=ticket_id,
        kind=kind,
        channel=channel,
        scope=SCOPE,
        description=description,
        priority=priority,
        severity=Severity.MINOR,
        category_code=code,
        location=location,
        reporter=CustomerRef(customer_id="cust-" + ticket_id, name="王芳", phone="13812345678"),
    )


def scenes() -> dict[str, Scene]:
    """The demo's tickets, each with its script."""
    leak = "R-001"
    lock = "R-002"
    guard = "C-003"
    fee = "I-004"
    gate = "R-005"
    return {
        leak: [
            (
                0,
                AGENT,
                _receive(
                    leak,
                    TicketKind.REPAIR,
                    "卫生间天花板滴水",
                    unit="3-1201",
                    room_type="bathroom",
                    code="Q.WP.08",
                    priority=Priority.P4,
                ),
            ),
            (2, AGENT, c.RespondToCustomer(ticket_id=leak, message="已受理，工程师今天上门")),
            (
                4,
                DISPATCHER,
                c.DispatchTicket(
                    ticket_id=leak, party="GC", assignee="gc-zhang", note="保修期内防水"
                ),
            ),
            (30, CONTRACTOR, c.AcceptTicket(ticket_id=leak)),
            (95, CONTRACTOR, c.ArriveOnSite(ticket_id=leak)),
            (100, CONTRACTOR, c.StartWork(ticket_id=leak)),
            (
                130,
                CONTRACTOR,
                c.PauseWork(
                    ticket_id=leak, reason=PauseReason.WAITING_FOR_PARTS, note="防水卷材明天到"
                ),
            ),
            (1500, CONTRACTOR, c.ResumeWork(ticket_id=leak)),
            (
                1620,
                CONTRACTOR,
                c.CompleteWork(ticket_id=leak, result="楼上卫生间重做防水", cost=Decimal("860.00")),
            ),
            (
                2880,
                AGENT,
                c.RecordRevisit(ticket_id=leak, satisfaction=Satisfaction.SATISFIED, resolved=True),
            ),
            (2881, AGENT, c.CloseTicket(ticket_id=leak)),
        ],
        lock: [
            (
                20,
                AGENT,
                _receive(
                    lock,
                    TicketKind.REPAIR,
                    "入户门锁坏了",
                    unit="3-0502",
                    room_type="entrance",
                    priority=Priority.P2,
                ),
            ),
            (21, DISPATCHER, c.DispatchTicket(ticket_id=lock, party="PM", assignee="li.wei")),
            (25, PLUMBER, c.AcceptTicket(ticket_id=lock)),
            (26, PLUMBER, c.CloseTicket(ticket_id=lock)),  # refused: handlers do not close
            (40, PLUMBER, c.ArriveOnSite(ticket_id=lock)),
            (70, PLUMBER, c.CompleteWork(ticket_id=lock, result="更换锁芯", cost=Decimal("120"))),
            (600, AGENT, c.CloseTicket(ticket_id=lock)),
            (
                4320,
                AGENT,
                c.RecordRevisit(
                    ticket_id=lock,
                    satisfaction=Satisfaction.DISSATISFIED,
                    resolved=False,
                    comment="锁又卡住了",
                ),
            ),
            (4330, DISPATCHER, c.DispatchTicket(ticket_id=lock, party="PM", assignee="li.wei")),
            (4340, PLUMBER, c.AcceptTicket(ticket_id=lock)),
            (4380, PLUMBER, c.ArriveOnSite(ticket_id=lock)),
            (4400, PLUMBER, c.CompleteWork(ticket_id=lock, result="更换整把门锁")),
            (
                5760,
                AGENT,
                c.RecordRevisit(ticket_id=lock, satisfaction=Satisfaction.SATISFIED, resolved=True),
            ),
            (5761, AGENT, c.CloseTicket(ticket_id=lock)),
        ],
        guard: [
            (
                45,
                AGENT,
                _receive(
                    guard,
                    TicketKind.COMPLAINT,
                    "门岗保安态度恶劣",
                    code="S.SE.02",
                    channel=Channel.APP,
                ),
            ),
            (50, AGENT, c.RespondToCustomer(ticket_id=guard, message="非常抱歉，我们马上核实")),
            (55, DISPATCHER, c.DispatchTicket(ticket_id=guard, party="PM", assignee="sec-lead")),
            (
                60,
                SUPERVISOR,
                c.EscalateTicket(
                    ticket_id=guard, level=EscalationLevel.TEAM_LEAD, reason="投诉服务态度"
                ),
            ),
            (120, SUPERVISOR, c.AcceptTicket(ticket_id=guard)),
            (300, SUPERVISOR, c.CompleteWork(ticket_id=guard, result="当面致歉，保安停岗培训")),
            (301, AGENT, c.CloseTicket(ticket_id=guard)),  # refused: needs a revisit first
            (
                1440,
                AGENT,
                c.RecordRevisit(
                    ticket_id=guard, satisfaction=Satisfaction.SATISFIED, resolved=True
                ),
            ),
            (1441, AGENT, c.CloseTicket(ticket_id=guard)),
        ],
        fee: [
            (
                65,
                AGENT,
                _receive(fee, TicketKind.INQUIRY, "物业费可以按季度缴纳吗", channel=Channel.WECHAT),
            ),
            (67, AGENT, c.RespondToCustomer(ticket_id=fee, message="可以，每季度首月15日前缴纳")),
            (68, AGENT, c.CloseTicket(ticket_id=fee)),
        ],
        gate: [
            (
                80,
                AGENT,
                _receive(
                    gate,
                    TicketKind.REPAIR,
                    "地库道闸无法抬杆",
                    room_type="garage",
                    priority=Priority.P2,
                ),
            ),
            (82, DISPATCHER, c.DispatchTicket(ticket_id=gate, party="VEN", assignee="ven-gate")),
            (
                90,
                SUPERVISOR,
                c.RequestAbnormalClose(ticket_id=gate, reason="道闸已由市政改造项目拆除"),
            ),
            (200, SUPERVISOR, c.ApproveAbnormalClose(ticket_id=gate, party="property")),
            (
                260,
                SUPERVISOR,
                c.ApproveAbnormalClose(ticket_id=gate, party="developer_engineering"),
            ),
            (320, SUPERVISOR, c.ApproveAbnormalClose(ticket_id=gate, party="contractor")),
        ],
    }


def _label(value: object, lang: str) -> str:
    label = getattr(value, "label_zh" if lang == "zh" else "label_en", None)
    return str(label if label is not None else value)


def run_scenes(
    lifecycle: Lifecycle,
) -> tuple[dict[str, Ticket], dict[str, list[Event]], list[tuple[str, PropcrmError]]]:
    """Run every scene in time order; returns tickets, histories and the refusals."""
    steps = sorted(
        (minute, ticket_id, index, actor, command)
        for ticket_id, scene in scenes().items()
        for index, (minute, actor, command) in enumerate(scene)
    )
    tickets: dict[str, Ticket] = {}
    histories: dict[str, list[Event]] = {}
    refusals: list[tuple[str, PropcrmError]] = []
    for minute, ticket_id, _, actor, command in steps:
        try:
            ticket, events = lifecycle.execute(
                tickets.get(ticket_id), command, now=START + timedelta(minutes=minute), actor=actor
            )
        except PropcrmError as error:
            refusals.append((ticket_id, error))
            continue
        tickets[ticket_id] = ticket
        histories.setdefault(ticket_id, []).extend(events)
    return tickets, histories, refusals


def run_scripted(*, lang: str, out: TextIO) -> int:
    """Print each ticket's history, the refusals, and check that replay rebuilds every ticket."""
    tickets, histories, refusals = run_scenes(Lifecycle())
    title = (
        "propcrm 演示：翠湖花园服务中心"
        if lang == "zh"
        else "propcrm demo: Cuihu Garden service centre"
    )
    print(title, file=out)
    print("=" * len(title), file=out)
    for ticket_id, history in histories.items():
        ticket = tickets[ticket_id]
        print(
            f"\n{ticket_id}  {_label(ticket.kind, lang)}  {ticket.description}  "
            f"[{_label(ticket.status, lang)}]",
            file=out,
        )
        state: Ticket | None = None
        for event in history:
            state = apply(state, event)
            when = event.occurred_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
            actor = event.actor.name or event.actor.id
            status = _label(state.status, lang)
            print(
                f"  {event.sequence:>2}  {when}  {event.type:<26} → {status:<14} {actor}", file=out
            )
        assert state == ticket == replay(history)  # the history rebuilds the ticket exactly
    heading = "被拒绝的指令（状态未改变）" if lang == "zh" else "Refused commands (nothing changed)"
    print(f"\n{heading}:", file=out)
    for ticket_id, error in refusals:
        print(f"  {ticket_id}: {error.message}", file=out)
    done = sum(1 for t in tickets.values() if not t.is_open)
    summary = (
        f"\n{len(tickets)} 张工单，{done} 张已关闭；每张工单由事件回放重建，结果一致。"
        if lang == "zh"
        else f"\n{len(tickets)} tickets, {done} closed; every ticket rebuilt from its events "
        "by replay, identically."
    )
    print(summary, file=out)
    return 0


def _run_year(args: argparse.Namespace, out: TextIO) -> int:
    from propcrm.demo import households_for
    from propcrm.demo._run import DemoOptions, run_demo

    households = households_for(args.size, args.households)
    options = DemoOptions(
        seed=args.seed,
        households=households,
        output=Path(args.output),
        lang=args.lang,
        progress=not args.no_progress,
    )
    result = run_demo(options, out=out)
    if result.refusals:
        first = result.refusals[0]
        print(
            f"propcrm: error: {len(result.refusals)} commands were refused, first "
            f"{first.command!r} on {first.ticket_id}: {first.message}",
            file=sys.stderr,
        )
        return 1
    return 0


def _handle(args: argparse.Namespace, out: TextIO) -> int:
    if args.scripted:
        return run_scripted(lang=args.lang, out=out)
    return _run_year(args, out)


def _one_line_error(parser: argparse.ArgumentParser) -> object:
    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    return error


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer seed: {text!r}") from None


def _households(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of households: {text!r}") from None


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``propcrm`` parser."""
    from propcrm.demo import SIZES

    demo = commands.add_parser(
        "demo",
        help="run a synthetic year of customer service through propcrm and print the dashboard",
        description="A seeded developer group (2 companies, 6 projects, ~8,000 households) "
        "runs a year of tickets, a delivery batch, revisits and surveys through TicketService "
        "on SQLite; then the dashboard is printed and an HTML report written.",
    )
    # A user's mistake is one line, never the usage block.
    setattr(demo, "error", _one_line_error(demo))  # noqa: B010 - replaces a method on purpose
    demo.add_argument("--seed", type=_seed, default=2025, help="seed of the group (default: 2025)")
    demo.add_argument(
        "--size",
        choices=list(SIZES),
        default="standard",
        help="households: " + ", ".join(f"{k} {v:,}" for k, v in SIZES.items()),
    )
    demo.add_argument(
        "--households", type=_households, default=None, help="households (overrides --size)"
    )
    demo.add_argument(
        "--output",
        default="propcrm-demo",
        help="folder for propcrm-demo.db and report.html (default: ./propcrm-demo)",
    )
    demo.add_argument(
        "--lang", choices=["zh", "en"], default="en", help="language of the output (default: en)"
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    demo.add_argument(
        "--scripted",
        action="store_true",
        help="run the short scripted morning at one service centre instead",
    )
    demo.set_defaults(handler=_handle)
