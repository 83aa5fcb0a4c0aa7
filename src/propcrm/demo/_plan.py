"""A year of customer service as a plan: every command of every ticket, with its time and actor.

The plan is a pure function of the group and the seed. Each ticket gets a script (receive,
respond, dispatch, accept, arrive, work, pause, complete, revisit, close, and the detours:
escalations, reopenings, abnormal closes, duplicates, voids) whose times follow the domain
reference's practice: the hotline answers in minutes, office work happens in office hours on the
``cn-statutory`` calendar (holidays and make-up days included), warranty repairs wait for the
contractor. The shell then runs all commands, sorted by time, through ``TicketService``.

Rates are per 100 households a year (:data:`RATES`); they are practice figures for a Chinese
residential estate, not law: repairs dominate (新盘 more), valid complaints sit around the
tenders' 2 % target, inquiries follow fee billing.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

import attrs

from propcrm.demo._group import DemoGroup, Household, Project
from propcrm.metrics.calendar import BusinessCalendar, get_calendar
from propcrm.metrics.rfm import Transaction, TransactionType
from propcrm.model import (
    Actor,
    AreaType,
    Channel,
    EscalationLevel,
    Location,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    Severity,
    SurveyDefinition,
    SurveyQuestion,
    SurveyResponse,
    TicketKind,
)
from propcrm.taxonomy import Node, Taxonomy, WarrantyState, standard, warranty_status
from propcrm.workflow import commands as c
from propcrm.workflow import delivery as d

__all__ = [
    "CHANNEL_MIX",
    "RATES",
    "DemoPlan",
    "Step",
    "plan_year",
]

TZ = ZoneInfo("Asia/Shanghai")

#: Tickets per 100 households a year, by kind (practice figures; see the module docstring).
RATES: Mapping[TicketKind, float] = MappingProxyType(
    {
        TicketKind.REPAIR: 40.0,
        TicketKind.COMPLAINT: 2.6,
        TicketKind.INQUIRY: 15.0,
        TicketKind.SUGGESTION: 1.2,
        TicketKind.PRAISE: 0.8,
    }
)

#: Where requests come in (seed 004 unified them on the hotline; WeChat grew since).
CHANNEL_MIX: Mapping[Channel, float] = MappingProxyType(
    {
        Channel.HOTLINE: 0.44,
        Channel.WECHAT: 0.24,
        Channel.APP: 0.07,
        Channel.FRONT_DESK: 0.12,
        Channel.ONSITE_STAFF: 0.07,
        Channel.INTERCOM: 0.04,
        Channel.AREA_ASSISTANT: 0.02,
    }
)

# Month weights of all intake: the Spring Festival and National Day dips, a busy summer.
_MONTHS = (0.9, 0.7, 1.0, 1.05, 1.1, 1.15, 1.2, 1.2, 1.0, 0.85, 0.95, 0.9)
# Leaks follow the rain (Guangxi: wet season April to September, the first heavy rain brings a
# burst of reports); air-conditioning faults follow the heat.
_LEAK_MONTHS = (0.5, 0.5, 0.9, 1.6, 2.3, 2.6, 2.4, 2.2, 1.4, 0.7, 0.5, 0.5)
_HEAT_MONTHS = (0.6, 0.5, 0.6, 0.8, 1.3, 1.8, 2.5, 2.4, 1.5, 0.8, 0.6, 0.8)
_HOURS = (
    0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 0.8, 2.0, 4.5, 6.0, 6.0, 5.0,
    3.5, 4.0, 5.0, 5.0, 4.8, 4.5, 4.5, 5.0, 4.5, 3.0, 1.6, 0.7,
)  # fmt: skip

# Repair disciplines (weight) and the other kinds' categories by prefix (weight).
_REPAIR_MIX = {
    "Q.PL": 20, "Q.WP": 17, "Q.EL": 14, "Q.DW": 12, "Q.FO": 8, "Q.WF": 8, "Q.IN": 6,
    "Q.LF": 4, "Q.HV": 5, "Q.FP": 2, "Q.LS": 2, "Q.EX": 1.5, "Q.ST": 0.5,
}  # fmt: skip
_COMPLAINT_MIX = {
    "S.SO": 22, "S.FM": 16, "S.EN": 14, "S.FE": 12, "S.CS": 12,
    "Q.WP": 8, "Q.PL": 3, "Q.DW": 2, "Q.LF": 3, "C.DL": 4, "C.SA": 2,
}  # fmt: skip
_INQUIRY_MIX = {
    "S.FE": 30, "S.CS": 25, "S.FM": 14, "S.SO": 8, "C.DL": 8, "C.SA": 5, "Q.PL": 5, "Q.EL": 5,
}  # fmt: skip
_SUGGESTION_MIX = {"S.EN": 3, "S.SO": 3, "S.FM": 2, "S.CS": 2}

_LADDER = (
    EscalationLevel.TEAM_LEAD,
    EscalationLevel.DEPARTMENT_HEAD,
    EscalationLevel.MANAGEMENT,
)
_SOURCES = {"i": "内部验房", "o": "业主验房"}
_STAFF_PARTIES = frozenset({"PM", "DEV-ENG", "DEV-SAL", "DEV-CS", "UT"})


@attrs.frozen(kw_only=True, order=True)
class Step:
    """One command of the plan: when, which ticket, who, what.

    Steps sort by time, then ticket, then position in the ticket's script.

    Attributes:
        at: When it is issued (Asia/Shanghai).
        ticket_id: The ticket.
        index: Its position in the ticket's script.
        actor: Who issues it.
        command: What is asked.
    """

    at: datetime
    ticket_id: str
    index: int
    actor: Actor = attrs.field(order=False)
    command: c.Command = attrs.field(order=False)


@attrs.frozen(kw_only=True)
class DemoPlan:
    """A year of customer service, ready to run.

    Attributes:
        group: The group it was planned for.
        seed: The seed.
        period: ``[start, end)`` local dates of the simulated year.
        as_of: The end of the year; no command is planned at or after it.
        steps: Every ticket command, sorted by time.
        delivery_events: The delivery batch's history (inspection to handover).
        survey: The annual satisfaction survey's definition.
        surveys: Its responses.
        transactions: Purchases, property fees and paid services, for RFM.
        first_rain: The day of the first heavy rain (leak reports surge after it).
    """

    group: DemoGroup
    seed: int
    period: tuple[date, date]
    as_of: datetime
    steps: tuple[Step, ...]
    delivery_events: tuple[d.DeliveryEvent, ...]
    survey: SurveyDefinition
    surveys: tuple[SurveyResponse, ...]
    transactions: tuple[Transaction, ...]
    first_rain: date

    @property
    def ticket_ids(self) -> frozenset[str]:
        """The ids of every planned ticket."""
        return frozenset(s.ticket_id for s in self.steps)

    def scripts(self) -> dict[str, list[Step]]:
        """Each ticket's steps, in order."""
        by_ticket: dict[str, list[Step]] = {}
        for step in self.steps:
            by_ticket.setdefault(step.ticket_id, []).append(step)
        return by_ticket


# ---------------------------------------------------------------------------------------------
# sampling helpers


class _Sampler:
    """Weighted draws over the days of the year, by seasonal profile."""

    def __init__(self, year: int, first_rain: date) -> None:
        start = date(year, 1, 1)
        self.days = [start + timedelta(days=n) for n in range((date(year + 1, 1, 1) - start).days)]
        self._cum: dict[str, list[float]] = {}
        for profile in ("all", "leak", "heat"):
            total = 0.0
            cum = []
            for day in self.days:
                weight = _MONTHS[day.month - 1]
                if profile == "leak":
                    weight *= _LEAK_MONTHS[day.month - 1]
                    if 0 <= (day - first_rain).days < 10:
                        weight *= 4.0
                elif profile == "heat":
                    weight *= _HEAT_MONTHS[day.month - 1]
                total += weight
                cum.append(total)
            self._cum[profile] = cum
        hours = 0.0
        self._hours = []
        for weight in _HOURS:
            hours += weight
            self._hours.append(hours)

    def instant(self, rng: random.Random, profile: str, not_before: date | None = None) -> datetime:
        cum = self._cum[profile]
        low = 0.0
        if not_before is not None:
            index = max(0, (not_before - self.days[0]).days)
            if index >= len(cum):
                index = len(cum) - 1
            low = cum[index - 1] if index else 0.0
        x = rng.uniform(low, cum[-1])
        day = self.days[min(bisect.bisect_left(cum, x), len(cum) - 1)]
        hour = bisect.bisect_left(self._hours, rng.uniform(0, self._hours[-1]))
        return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), TZ)


def _weighted(rng: random.Random, items: Mapping[str, float]) -> str:
    keys = list(items)
    return rng.choices(keys, weights=[items[k] for k in keys])[0]


def _items(
    taxonomy: Taxonomy, prefix: str, kind: TicketKind, area: AreaType | None
) -> tuple[Node, ...]:
    found = tuple(
        node
        for node in taxonomy.children(prefix)
        if kind in node.kinds and (area is None or not node.areas or area in node.areas)
    )
    return found or tuple(n for n in taxonomy.children(prefix) if kind in n.kinds)


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    """A duration between ``low`` and ``high`` minutes, skewed towards the short end."""
    return timedelta(minutes=low + (high - low) * rng.random() ** 2)


# ---------------------------------------------------------------------------------------------
# ticket scripts


class _Script:
    """Builds one ticket's steps with a moving clock."""

    def __init__(self, ticket_id: str, start: datetime, calendar: BusinessCalendar) -> None:
        self.ticket_id = ticket_id
        self.now = start
        self.calendar = calendar
        self.steps: list[Step] = []
        self.escalations = 0  # rungs of the ladder climbed so far

    def do(
        self,
        actor: Actor,
        command: c.Command,
        after: timedelta = timedelta(0),
        *,
        office: bool = False,
    ) -> datetime:
        at = self.now + after
        if office:
            at = self.calendar.next_working(at)
        # Histories move forward in time; one second apart keeps the order unambiguous.
        if self.steps and at <= self.steps[-1].at:
            at = self.steps[-1].at + timedelta(seconds=1)
        self.now = at
        self.steps.append(
            Step(
                at=at, ticket_id=self.ticket_id, index=len(self.steps), actor=actor, command=command
            )
        )
        return at


@attrs.frozen(kw_only=True)
class _Intake:
    at: datetime
    kind: TicketKind
    node: Node
    project: Project
    household: Household | None
    area: AreaType
    channel: Channel


class _Planner:
    def __init__(self, group: DemoGroup, seed: int, taxonomy: Taxonomy) -> None:
        self.group = group
        self.taxonomy = taxonomy
        self.rng = random.Random(f"propcrm-demo/plan/{seed}")
        self.calendar = get_calendar(group.calendar)
        self.year = group.year
        rain_rng = random.Random(f"propcrm-demo/rain/{seed}")
        self.first_rain = date(group.year, 3, 25) + timedelta(days=rain_rng.randrange(25))
        self.sampler = _Sampler(group.year, self.first_rain)
        self.as_of = datetime(group.year + 1, 1, 1, tzinfo=TZ)
        self.by_project: dict[str, list[Household]] = {}
        for home in group.households:
            self.by_project.setdefault(home.project_id, []).append(home)
        self._staff_cache: dict[tuple[Role, str, str | None], tuple[Actor, ...]] = {}
        self.paid_services: list[Transaction] = []
        self._items: dict[tuple[str, TicketKind, AreaType | None], tuple[Node, ...]] = {}
        self._warranty_cache: dict[tuple[object, ...], tuple[bool, str, str | None] | None] = {}

    # -- who ------------------------------------------------------------------------------------

    def staff(self, role: Role, unit_id: str, party: str | None = None) -> Actor:
        key = (role, unit_id, party)
        found = self._staff_cache.get(key)
        if found is None:
            found = self.group.staff_of(role, unit_id, party=party)
            self._staff_cache[key] = found
        return self.rng.choice(found)

    def agent(self, project: Project) -> Actor:
        return self.staff(Role.HOTLINE_AGENT, project.scope.company_id)

    def dispatcher(self, project: Project) -> Actor:
        assert project.scope.service_centre_id is not None
        return self.staff(Role.DISPATCHER, project.scope.service_centre_id)

    def supervisor(self, project: Project) -> Actor:
        return self.staff(Role.SUPERVISOR, project.scope.company_id)

    def handler(self, project: Project, party: str, contractor: str | None) -> Actor:
        if contractor is not None:
            return self._contractor(contractor)
        if party in _STAFF_PARTIES:
            return self.staff(Role.HANDLER, project.project_id, party)
        # A party without staff of its own (design institute, vendor, façade) is chased by the
        # project's general contractor.
        gc = self.group.register.route("Q.ST.03", project.project_id, taxonomy=self.taxonomy)
        assert gc.contractor is not None
        return self._contractor(gc.contractor.code)

    def _contractor(self, code: str) -> Actor:
        for actor in self.group.staff:
            if actor.id == f"ctr-{code.lower()}":
                return actor
        raise AssertionError(f"no site office for contractor {code}")  # pragma: no cover

    # -- intake ---------------------------------------------------------------------------------

    def intakes(self) -> list[_Intake]:
        rng = self.rng
        found: list[_Intake] = []
        for project in self.group.projects:
            homes = self.by_project[project.project_id]
            age = self.year - project.handover_on.year
            since = project.handover_on if project.new else None
            share = 1.0
            if project.new:
                # Only the months after handover, with the new-home surge of defects.
                share = (date(self.year + 1, 1, 1) - project.handover_on).days / 365
            for kind, rate in RATES.items():
                factor = share
                if kind is TicketKind.REPAIR:
                    factor *= 1.8 if project.new else (1.3 if age <= 2 else 0.9)
                if kind is TicketKind.COMPLAINT and project.new:
                    factor *= 1.6
                expected = len(homes) * rate / 100 * factor
                count = max(0, round(expected * rng.uniform(0.92, 1.08)))
                for _ in range(count):
                    found.append(self._intake(kind, project, homes, since))
        found.sort(key=lambda i: i.at)
        return found

    def _intake(
        self, kind: TicketKind, project: Project, homes: Sequence[Household], since: date | None
    ) -> _Intake:
        rng = self.rng
        mix: Mapping[str, float]
        area = AreaType.UNIT
        if kind is TicketKind.REPAIR:
            mix = _REPAIR_MIX
            area = AreaType.COMMON if rng.random() < 0.2 else AreaType.UNIT
        elif kind is TicketKind.COMPLAINT:
            mix = _COMPLAINT_MIX
        elif kind is TicketKind.INQUIRY:
            mix = _INQUIRY_MIX
        elif kind is TicketKind.SUGGESTION:
            mix = _SUGGESTION_MIX
        else:
            mix = {"S.CS": 1}
        prefix = _weighted(rng, mix)
        key = (prefix, kind, area if kind is TicketKind.REPAIR else None)
        items = self._items.get(key)
        if items is None:
            items = self._items[key] = _items(self.taxonomy, *key)
        node = rng.choice(items)
        if node.areas and area not in node.areas:
            area = node.areas[0]
        profile = "leak" if prefix == "Q.WP" else ("heat" if prefix == "Q.HV" else "all")
        at = self.sampler.instant(rng, profile, since)
        channel = Channel(_weighted(rng, {ch.value: w for ch, w in CHANNEL_MIX.items()}))
        if area is not AreaType.UNIT and kind is TicketKind.REPAIR and rng.random() < 0.5:
            channel = Channel.ONSITE_STAFF
        home = rng.choice(homes)
        return _Intake(
            at=at,
            kind=kind,
            node=node,
            project=project,
            household=None
            if channel is Channel.ONSITE_STAFF and area is not AreaType.UNIT
            else home,
            area=area,
            channel=channel,
        )

    def receive(
        self,
        intake: _Intake,
        ticket_id: str,
        routed: tuple[str, str | None, Priority, bool] | None = None,
    ) -> c.ReceiveTicket:
        project = intake.project
        home = intake.household
        room = intake.node.rooms[0].value if intake.node.rooms else None
        if intake.area is AreaType.UNIT:
            assert home is not None
            location = Location(
                project_id=project.project_id,
                building_id=home.building_id,
                unit_id=home.unit_id,
                room_type=room,
            )
        else:
            building = home.building_id if home is not None else project.buildings[0]
            location = Location(
                project_id=project.project_id,
                area=intake.area,
                building_id=building,
                room_type=room,
            )
        priority = Priority.P3 if routed is None else routed[2]
        return c.ReceiveTicket(
            ticket_id=ticket_id,
            kind=intake.kind,
            channel=intake.channel,
            scope=project.scope,
            description=intake.node.name_zh,
            priority=priority,
            severity=intake.node.severity or Severity.MINOR,
            category_code=intake.node.code,
            location=location,
            reporter=home.owner if home is not None else None,
            responsible_party=None if routed is None else routed[0],
        )

    # -- scripts --------------------------------------------------------------------------------

    def script(self, intake: _Intake, ticket_id: str) -> list[Step]:
        routed = None
        if intake.kind is TicketKind.REPAIR:
            # The hotline system checks the warranty at intake (问题标准库 + 承建商台账): the
            # ticket is received with its priority and responsible party.
            routed = self._route(intake, intake.node.priority or Priority.P3)
        receive = self.receive(intake, ticket_id, routed)
        script = _Script(ticket_id, intake.at, self.calendar)
        agent = self.agent(intake.project)
        script.do(agent, receive)
        if routed is not None:
            self._repair(script, intake, routed)
        elif intake.kind is TicketKind.COMPLAINT:
            self._complaint(script, intake)
        elif intake.kind in (TicketKind.INQUIRY, TicketKind.SUGGESTION):
            self._answer(script, intake)
        else:
            script.do(
                agent,
                c.CloseTicket(ticket_id=ticket_id, note="感谢业主表扬，已转达"),
                _minutes(self.rng, 2, 90),
            )
        return script.steps

    def _route(self, intake: _Intake, priority: Priority) -> tuple[str, str | None, Priority, bool]:
        """(party, contractor code, priority, under warranty) of a repair."""
        node = intake.node
        project = intake.project
        decision = _warranty(
            self._warranty_cache,
            node.code,
            project.handover_on,
            project.accepted_on,
            intake.at.date(),
            intake.area,
            project.project_id,
            self.group,
            self.taxonomy,
        )
        covered = decision is not None and decision[0]
        if priority in (Priority.P1, Priority.P2):
            # The property company's emergency team goes first, whoever is liable.
            return "PM", None, priority, covered
        if covered and decision is not None:
            return decision[1], decision[2], Priority.P4, True
        return ("PM" if "UT" not in node.parties[:1] else "UT"), None, Priority.P3, False

    def _repair(
        self, script: _Script, intake: _Intake, routed: tuple[str, str | None, Priority, bool]
    ) -> None:
        rng = self.rng
        tid = script.ticket_id
        project = intake.project
        agent = self.agent(project)
        party, contractor, priority, _ = routed
        if rng.random() < 0.005:
            script.do(
                agent,
                c.VoidTicket(ticket_id=tid, reason="录入错误，业主已撤回"),
                _minutes(rng, 2, 30),
            )
            return
        urgent = priority in (Priority.P1, Priority.P2)
        # Urgent calls are always answered at once (the P1 first-response clock); ordinary
        # repairs from the digital channels get an acknowledgement half the time.
        if urgent or (
            intake.channel in (Channel.HOTLINE, Channel.WECHAT, Channel.APP) and rng.random() < 0.5
        ):
            script.do(
                agent,
                c.RespondToCustomer(ticket_id=tid, message="已受理，正在安排维修"),
                _minutes(rng, 0.5, 8),
            )
        urgent = priority in (Priority.P1, Priority.P2)
        dispatch_after = {
            Priority.P1: (0.5, 3),
            Priority.P2: (1, 8),
            Priority.P3: (5, 120),
            Priority.P4: (30, 600),
        }[priority]
        handler = self.handler(project, party, contractor)
        dispatcher = self.dispatcher(project)
        script.do(
            dispatcher,
            c.DispatchTicket(ticket_id=tid, party=party, assignee=handler.id),
            _minutes(rng, *dispatch_after),
            office=not urgent,
        )
        if contractor is not None and rng.random() < 0.03:
            # The site office disputes responsibility (seed 000's main cause of delay).
            script.do(
                handler,
                c.BounceBack(ticket_id=tid, reason="非本单位施工范围"),
                _minutes(rng, 60, 600),
                office=True,
            )
            handler = self.handler(project, "GC", self._gc(project))
            party = "GC"
            script.do(
                dispatcher,
                c.DispatchTicket(
                    ticket_id=tid, party=party, assignee=handler.id, note="经核实由总包负责"
                ),
                _minutes(rng, 30, 480),
                office=True,
            )
        if rng.random() < 0.01:
            self._abnormal_close(script, project, handler)
            return
        escalated = self._handle(script, intake, handler, priority, first=True)
        self._finish(script, intake, handler, party, priority, escalated)

    def _gc(self, project: Project) -> str:
        route = self.group.register.route("Q.ST.03", project.project_id, taxonomy=self.taxonomy)
        assert route.contractor is not None
        return route.contractor.code

    def _handle(
        self, script: _Script, intake: _Intake, handler: Actor, priority: Priority, *, first: bool
    ) -> bool:
        """Accept, arrive, work (maybe paused), complete. Returns whether it was escalated."""
        rng = self.rng
        tid = script.ticket_id
        urgent = priority in (Priority.P1, Priority.P2)
        script.do(
            handler,
            c.AcceptTicket(ticket_id=tid),
            _minutes(rng, 0.5, 5 if urgent else 90),
            office=not urgent,
        )
        arrive = {
            Priority.P1: (3, 14),
            Priority.P2: (5, 32),
            Priority.P3: (60, 2400),
            Priority.P4: (120, 2400),
        }[priority]
        script.do(handler, c.ArriveOnSite(ticket_id=tid), _minutes(rng, *arrive), office=not urgent)
        roll = rng.random()
        span = {Priority.P1: (15, 90), Priority.P2: (20, 300)}.get(priority, (30, 360))
        work = _minutes(rng, *span)
        if roll < 0.17 or work > timedelta(minutes=90):
            # Longer jobs log the start of work; a quick fix goes from arrival to completion.
            script.do(handler, c.StartWork(ticket_id=tid), _minutes(rng, 2, 15))
        escalated = False
        if roll < 0.12 and priority is not Priority.P1:
            script.do(
                handler,
                c.PauseWork(ticket_id=tid, reason=PauseReason.WAITING_FOR_PARTS, note="待料"),
                _minutes(rng, 20, 90),
            )
            paused_at = script.now
            wait = _minutes(rng, 600, 6000)
            if wait > timedelta(days=1):
                # The hotline calls the owner while the parts are on their way (跟进).
                script.do(
                    self.agent(intake.project),
                    c.RecordFollowUp(ticket_id=tid, note="已告知业主配件到货时间"),
                    timedelta(days=1),
                    office=True,
                )
            if wait > timedelta(days=2) and rng.random() < 0.5:
                # Up the ladder from wherever the ticket stands (a rework may wait again).
                level = _LADDER[min(script.escalations, len(_LADDER) - 1)]
                if script.escalations < len(_LADDER):
                    script.escalations += 1
                    script.do(
                        self.supervisor(intake.project),
                        c.EscalateTicket(ticket_id=tid, level=level, reason="待料超过两天"),
                        paused_at + timedelta(days=2) - script.now,
                        office=True,
                    )
                escalated = True
            script.do(
                handler,
                c.ResumeWork(ticket_id=tid),
                max(timedelta(0), paused_at + wait - script.now),
                office=True,
            )
        elif roll < 0.17 and intake.area is AreaType.UNIT and not urgent:
            script.do(
                handler,
                c.PauseWork(
                    ticket_id=tid, reason=PauseReason.CUSTOMER_UNAVAILABLE, note="业主不在家，改约"
                ),
                _minutes(rng, 5, 30),
            )
            script.do(handler, c.ResumeWork(ticket_id=tid), _minutes(rng, 900, 4000), office=True)
        cost = None
        if (
            priority is Priority.P3
            and intake.area is AreaType.UNIT
            and intake.household is not None
        ):
            cost = Decimal(rng.choice((30, 50, 80, 120, 180, 260, 400)))
        script.do(
            handler,
            c.CompleteWork(ticket_id=tid, result="已修复" if first else "返修完成", cost=cost),
            work,
        )
        if cost is not None and intake.household is not None:
            self.paid_services.append(
                Transaction(
                    customer_id=intake.household.owner.customer_id,
                    date=script.now.date(),
                    type=TransactionType.SERVICE,
                    amount=cost,
                    order_id=tid,
                )
            )
        return escalated

    def _finish(
        self,
        script: _Script,
        intake: _Intake,
        handler: Actor,
        party: str,
        priority: Priority,
        escalated: bool,
    ) -> None:
        """Revisit (sampled) and close; unsatisfied revisits reopen and the work is redone."""
        rng = self.rng
        tid = script.ticket_id
        project = intake.project
        revisit_share = 0.3 if party == "PM" else 0.6
        for round_ in range(3):
            if escalated or round_ > 0 or rng.random() < revisit_share:
                unsatisfied = round_ < 2 and rng.random() < (0.03 if party == "PM" else 0.05)
                script.do(
                    self.agent(project),
                    _revisit(tid, rng, unsatisfied),
                    _minutes(rng, 600, 4000),
                    office=True,
                )
                if unsatisfied:
                    # The lifecycle reopened it; dispatch the same party again (返修).
                    script.do(
                        self.dispatcher(project),
                        c.DispatchTicket(
                            ticket_id=tid, party=party, assignee=handler.id, note="回访不满意，返修"
                        ),
                        _minutes(rng, 10, 240),
                        office=True,
                    )
                    self._handle(script, intake, handler, priority, first=False)
                    continue
                script.do(self.agent(project), c.CloseTicket(ticket_id=tid), _minutes(rng, 1, 20))
            else:
                script.do(
                    self.agent(project),
                    c.CloseTicket(ticket_id=tid),
                    _minutes(rng, 240, 2400),
                    office=True,
                )
            break
        if rng.random() < 0.006:
            # The same defect comes back within the reopen window: rework (返修率).
            script.do(
                self.agent(project),
                c.ReopenTicket(ticket_id=tid, reason="同一问题再次出现"),
                timedelta(days=rng.uniform(3, 25)),
            )
            script.do(
                self.dispatcher(project),
                c.DispatchTicket(ticket_id=tid, party=party, assignee=handler.id, note="返修"),
                _minutes(rng, 10, 240),
                office=True,
            )
            self._handle(script, intake, handler, priority, first=False)
            script.do(
                self.agent(project),
                _revisit(tid, rng, False),
                _minutes(rng, 600, 3000),
                office=True,
            )
            script.do(self.agent(project), c.CloseTicket(ticket_id=tid), _minutes(rng, 1, 20))

    def _abnormal_close(self, script: _Script, project: Project, handler: Actor) -> None:
        rng = self.rng
        tid = script.ticket_id
        script.do(handler, c.AcceptTicket(ticket_id=tid), _minutes(rng, 10, 120), office=True)
        script.do(
            handler,
            c.RequestAbnormalClose(ticket_id=tid, reason="业主自行装修改动所致，拒绝付费维修"),
            _minutes(rng, 120, 2000),
            office=True,
        )
        supervisor = self.supervisor(project)
        for party in ("property", "developer_engineering", "contractor"):
            script.do(
                supervisor,
                c.ApproveAbnormalClose(ticket_id=tid, party=party),
                _minutes(rng, 60, 1500),
                office=True,
            )

    def _complaint(self, script: _Script, intake: _Intake) -> None:
        rng = self.rng
        tid = script.ticket_id
        project = intake.project
        agent = self.agent(project)
        script.do(
            agent,
            c.RespondToCustomer(ticket_id=tid, message="非常抱歉，我们马上核实处理"),
            _minutes(rng, 3, 400),
            office=rng.random() < 0.3,
        )
        if rng.random() < 0.15:
            script.do(
                self.supervisor(project),
                c.MarkComplaintInvalid(ticket_id=tid, reason="经核实不属于物业服务范围"),
                _minutes(rng, 30, 600),
                office=True,
            )
        party = intake.node.parties[0] if intake.node.parties else "PM"
        contractor = None
        if party not in _STAFF_PARTIES:
            party, contractor = "GC", self._gc(project)
        handler = self.handler(project, party, contractor)
        script.do(
            self.dispatcher(project),
            c.DispatchTicket(ticket_id=tid, party=party, assignee=handler.id),
            _minutes(rng, 10, 300),
            office=True,
        )
        escalated = (
            intake.node.severity is Severity.MAJOR and rng.random() < 0.6
        ) or rng.random() < 0.1
        if escalated:
            script.escalations = 1
            script.do(
                self.supervisor(project),
                c.EscalateTicket(ticket_id=tid, level=EscalationLevel.TEAM_LEAD, reason="重大投诉"),
                _minutes(rng, 10, 240),
            )
            if rng.random() < 0.25:
                script.escalations = 2
                script.do(
                    self.supervisor(project),
                    c.EscalateTicket(
                        ticket_id=tid, level=EscalationLevel.DEPARTMENT_HEAD, reason="投诉专题"
                    ),
                    _minutes(rng, 600, 3000),
                    office=True,
                )
        for round_ in range(3):
            script.do(handler, c.AcceptTicket(ticket_id=tid), _minutes(rng, 10, 240), office=True)
            if rng.random() < 0.5:
                script.do(
                    handler, c.ArriveOnSite(ticket_id=tid), _minutes(rng, 30, 1500), office=True
                )
            script.do(
                handler,
                c.CompleteWork(ticket_id=tid, result="已与业主沟通并处理"),
                _minutes(rng, 60, 5000),
                office=True,
            )
            unsatisfied = round_ < 2 and rng.random() < 0.12
            script.do(agent, _revisit(tid, rng, unsatisfied), _minutes(rng, 300, 4400), office=True)
            if not unsatisfied:
                break
            script.do(
                self.dispatcher(project),
                c.DispatchTicket(
                    ticket_id=tid, party=party, assignee=handler.id, note="回访不满意，重新处理"
                ),
                _minutes(rng, 30, 480),
                office=True,
            )
        script.do(agent, c.CloseTicket(ticket_id=tid), _minutes(rng, 1, 30))

    def _answer(self, script: _Script, intake: _Intake) -> None:
        rng = self.rng
        tid = script.ticket_id
        project = intake.project
        agent = self.agent(project)
        suggestion = intake.kind is TicketKind.SUGGESTION
        office = suggestion or intake.channel not in (Channel.HOTLINE, Channel.INTERCOM)
        script.do(
            agent,
            c.RespondToCustomer(
                ticket_id=tid, message="感谢建议，已转相关部门" if suggestion else "已解答"
            ),
            _minutes(rng, 0.5, 900 if suggestion else 45),
            office=office,
        )
        if not suggestion and rng.random() < 0.12:
            # Sent to the expert who knows (fees, title certificates) and answered by them.
            party = intake.node.parties[0] if intake.node.parties[0] in _STAFF_PARTIES else "PM"
            handler = self.handler(project, party, None)
            script.do(
                self.dispatcher(project),
                c.DispatchTicket(ticket_id=tid, party=party, assignee=handler.id),
                _minutes(rng, 5, 120),
                office=True,
            )
            script.do(handler, c.AcceptTicket(ticket_id=tid), _minutes(rng, 10, 240), office=True)
            script.do(
                handler,
                c.CompleteWork(ticket_id=tid, result="已电话答复业主"),
                _minutes(rng, 30, 1500),
                office=True,
            )
        script.do(agent, c.CloseTicket(ticket_id=tid), _minutes(rng, 1, 60), office=suggestion)

    def duplicate(self, intake: _Intake, original: str, ticket_id: str) -> list[Step]:
        """A second report of the same issue, merged into the first by the dispatcher."""
        rng = self.rng
        at = intake.at + _minutes(rng, 10, 300)
        twin = attrs.evolve(intake, at=at, channel=Channel.WECHAT)
        script = _Script(ticket_id, at, self.calendar)
        script.do(self.agent(intake.project), self.receive(twin, ticket_id))
        script.do(
            self.dispatcher(intake.project),
            c.MergeAsDuplicate(
                ticket_id=ticket_id, into_ticket_id=original, reason="同一问题重复报修"
            ),
            _minutes(rng, 5, 90),
        )
        return script.steps

    def warranty_script(
        self, command: c.ReceiveTicket, project: Project, at: datetime
    ) -> list[Step]:
        """A warranty ticket from a defect open at handover, handled by its contractor."""
        rng = self.rng
        tid = command.ticket_id
        script = _Script(tid, at, self.calendar)
        script.do(Actor.system("delivery"), command)
        party = command.responsible_party or "GC"
        code = command.category_code
        assert code is not None
        assert command.location is not None
        route = self.group.register.route(code, project.project_id, taxonomy=self.taxonomy)
        contractor = route.contractor.code if route.contractor is not None else None
        handler = self.handler(project, party, contractor)
        script.do(
            self.dispatcher(project),
            c.DispatchTicket(ticket_id=tid, party=party, assignee=handler.id, note="交付遗留问题"),
            _minutes(rng, 30, 600),
            office=True,
        )
        node = self.taxonomy.get(code)
        intake = _Intake(
            at=at,
            kind=TicketKind.REPAIR,
            node=node,
            project=project,
            household=None,
            area=command.location.area,
            channel=Channel.INSPECTION,
        )
        escalated = self._handle(script, intake, handler, Priority.P4, first=True)
        self._finish(script, intake, handler, party, Priority.P4, escalated)
        return script.steps


def _revisit(ticket_id: str, rng: random.Random, unsatisfied: bool) -> c.RecordRevisit:
    if unsatisfied:
        return c.RecordRevisit(
            ticket_id=ticket_id,
            satisfaction=rng.choice((Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED)),
            resolved=False,
            comment="问题仍未解决",
        )
    satisfaction = rng.choices(
        (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED),
        weights=(0.35, 0.5, 0.15),
    )[0]
    return c.RecordRevisit(ticket_id=ticket_id, satisfaction=satisfaction, resolved=True)


def _warranty(
    cache: dict[tuple[object, ...], tuple[bool, str, str | None] | None],
    code: str,
    handover: date,
    accepted: date,
    asked_on: date,
    area: AreaType,
    project_id: str,
    group: DemoGroup,
    taxonomy: Taxonomy,
) -> tuple[bool, str, str | None] | None:
    """(covered, responsible party, contractor code) under the statutory warranty."""
    key = (code, asked_on.replace(day=1), area, project_id)
    if key in cache:
        return cache[key]
    decision = warranty_status(
        code,
        handover=handover,
        accepted=accepted,
        asked_on=asked_on.replace(day=1),
        area=area,
        region="south",  # Guangxi: cooling seasons
        register=group.register,
        project_id=project_id,
        taxonomy=taxonomy,
    )
    if decision.state is not WarrantyState.COVERED or decision.responsible is None:
        found: tuple[bool, str, str | None] | None = None
    else:
        route = decision.route
        contractor = route.contractor.code if route is not None and route.contractor else None
        found = (True, decision.responsible, contractor)
    cache[key] = found
    return found


# ---------------------------------------------------------------------------------------------
# the delivery batch


def _delivery(planner: _Planner, project: Project) -> tuple[list[d.DeliveryEvent], d.DeliveryBatch]:
    """The new project's batch, inspection to keys, run in time order through ``Delivery``."""
    rng = random.Random(f"propcrm-demo/delivery/{planner.group.seed}")
    taxonomy = planner.taxonomy
    delivery = d.Delivery(taxonomy=taxonomy, register=planner.group.register)
    homes = planner.by_project[project.project_id]
    inspector = Actor(
        id=f"{project.project_id}-inspection",
        role=Role.SUPERVISOR,
        name="验房组",
        scope={project.project_id},
    )
    site = Actor(
        id=f"{project.project_id}-site-office",
        role=Role.HANDLER,
        name="工地办",
        scope={project.project_id},
    )
    batch_id = f"{project.project_id}-{planner.year}-1"
    planned = project.handover_on
    start = datetime.combine(planned - timedelta(days=45), time(9), TZ)
    checklist = d.checklist(taxonomy)
    internal_codes = (
        "Q.WP.04",
        "Q.WP.05",
        "Q.WF.01",
        "Q.WF.02",
        "Q.DW.01",
        "Q.DW.05",
        "Q.PL.03",
        "Q.EL.01",
        "Q.FO.01",
        "Q.FO.03",
    )
    queue: list[tuple[datetime, int, str, d.DeliveryCommand, Actor]] = []
    counter = 0

    def push(at: datetime, kind: str, command: d.DeliveryCommand, actor: Actor) -> None:
        nonlocal counter
        counter += 1
        heapq.heappush(queue, (at, counter, kind, command, actor))

    def defects(home: Household, source: str, share: float) -> list[d.DefectReport]:
        found = []
        for code in internal_codes:
            if rng.random() < share:
                node = taxonomy.get(code)
                found.append(
                    d.DefectReport(
                        defect_id=f"{home.unit_id}-{source}-{code}",
                        code=code,
                        location=Location(
                            project_id=project.project_id,
                            building_id=home.building_id,
                            unit_id=home.unit_id,
                            room_type=node.rooms[0].value if node.rooms else "living_room",
                        ),
                        description=f"{node.name_zh}（{_SOURCES[source]}）",
                        severity=Severity.MAJOR if rng.random() < 0.08 else Severity.MINOR,
                        photos=[f"{home.unit_id}-{code}.jpg"],
                    )
                )
        return found

    per_day = 80
    for index, home in enumerate(homes):
        day = planner.calendar.next_working(start + timedelta(days=index // per_day * 1.4))
        at = day + timedelta(minutes=(index % per_day) * 6)
        push(
            at,
            "inspect",
            d.RecordInspection(
                batch_id=batch_id,
                unit_id=home.unit_id,
                inspector=inspector.id,
                checklist=checklist,
                defects=defects(home, "i", 0.07),
            ),
            inspector,
        )
        late = rng.random() < 0.08
        appointment = datetime.combine(
            planned - timedelta(days=index % 12), time(9 + index % 8), TZ
        )
        if late:
            appointment += timedelta(days=rng.randint(10, 45))
        push(
            max(appointment - timedelta(days=14), at + timedelta(hours=2)),
            "book",
            d.BookHandover(
                batch_id=batch_id,
                unit_id=home.unit_id,
                customer_id=home.owner.customer_id,
                appointment_at=appointment,
            ),
            inspector,
        )
        push(
            appointment,
            "owner",
            d.RecordOwnerInspection(
                batch_id=batch_id, unit_id=home.unit_id, defects=defects(home, "o", 0.015)
            ),
            inspector,
        )
        push(
            appointment + timedelta(minutes=50),
            "hand",
            d.HandOverUnit(
                batch_id=batch_id,
                unit_id=home.unit_id,
                keys=[f"{home.unit_id}-K1", f"{home.unit_id}-K2"],
                meter_readings=[
                    d.MeterReading(
                        meter=d.MeterKind.WATER, reading=Decimal(rng.randint(0, 30)) / 10
                    ),
                    d.MeterReading(
                        meter=d.MeterKind.ELECTRICITY, reading=Decimal(rng.randint(0, 60))
                    ),
                ],
                move_in_fee_ref=f"BILL-{home.unit_id}",
            ),
            inspector,
        )
    batch, history = delivery.execute(
        None,
        d.OpenDeliveryBatch(
            batch_id=batch_id,
            scope=project.scope,
            title=f"{project.name_zh} 首批交付",
            planned_handover_on=planned,
            unit_ids=[h.unit_id for h in homes],
        ),
        now=start - timedelta(days=1),
        actor=inspector,
    )
    handed: set[str] = set()
    while queue:
        at, _, kind, command, actor = heapq.heappop(queue)
        if kind == "report":
            assert isinstance(command, d.ReportRectified)
            task = batch.tasks[command.task_id]
            if task.unit_id in handed or task.status is not d.TaskStatus.OPEN:
                continue  # handed over open: it becomes a warranty ticket instead
        if kind == "reinspect":
            assert isinstance(command, d.RecordReinspection)
            task = batch.tasks[command.task_id]
            if task.unit_id in handed or task.status is not d.TaskStatus.REPORTED:
                continue
            failed = task.defect_ids[:1] if rng.random() < 0.2 else ()
            command = attrs.evolve(command, failed=failed)
        known = set(batch.tasks)
        batch, events = delivery.execute(batch, command, now=at, actor=actor)
        history += events
        if kind == "hand":
            handed.add(command.unit_id)  # type: ignore[union-attr]
        if kind in ("inspect", "reinspect"):
            for task_id, task in batch.tasks.items():
                reissued = (
                    kind == "reinspect"
                    and task_id == getattr(command, "task_id", None)
                    and task.status is d.TaskStatus.OPEN
                )
                if (task_id not in known and kind == "inspect") or reissued:
                    done = planner.calendar.next_working(at + timedelta(days=rng.uniform(1.5, 9)))
                    push(
                        done, "report", d.ReportRectified(batch_id=batch_id, task_id=task_id), site
                    )
                    check = planner.calendar.next_working(
                        done + timedelta(hours=rng.uniform(4, 40))
                    )
                    push(
                        check,
                        "reinspect",
                        d.RecordReinspection(
                            batch_id=batch_id, task_id=task_id, inspector=inspector.id
                        ),
                        inspector,
                    )
    return history, batch


# ---------------------------------------------------------------------------------------------
# surveys and transactions


#: The demo's annual satisfaction survey definition.
SURVEY = SurveyDefinition(
    survey_id="annual-satisfaction",
    name_zh="年度业主满意度调查",
    name_en="Annual owner satisfaction survey",
    questions=(
        SurveyQuestion(id="hotline", text_zh="客服热线", text_en="Hotline", weight=1.0),
        SurveyQuestion(id="repair", text_zh="维修服务", text_en="Repairs", weight=1.5),
        SurveyQuestion(id="cleaning", text_zh="环境卫生", text_en="Cleaning", weight=1.0),
        SurveyQuestion(id="security", text_zh="秩序维护", text_en="Security", weight=1.0),
        SurveyQuestion(id="landscape", text_zh="园林绿化", text_en="Landscape", weight=0.5),
    ),
)


def _surveys(planner: _Planner, delivered: set[str]) -> list[SurveyResponse]:
    rng = random.Random(f"propcrm-demo/survey/{planner.group.seed}")
    responses = []
    mood = {p.project_id: rng.uniform(-0.5, 0.4) for p in planner.group.projects}
    for project in planner.group.projects:
        for home in planner.by_project[project.project_id]:
            if project.new and home.unit_id not in delivered:
                continue
            if rng.random() >= 0.1:
                continue
            # Each respondent's attitude drives the overall answer; the questions scatter
            # around it.
            mean = rng.gauss(3.9 + mood[project.project_id], 0.75)
            scores = {q.id: max(1, min(5, round(rng.gauss(mean, 0.6)))) for q in SURVEY.questions}
            overall = (
                Satisfaction.VERY_SATISFIED
                if mean >= 4.5
                else Satisfaction.SATISFIED
                if mean >= 3.7
                else Satisfaction.BASICALLY_SATISFIED
                if mean >= 3.0
                else Satisfaction.DISSATISFIED
                if mean >= 2.2
                else Satisfaction.VERY_DISSATISFIED
            )
            responses.append(
                SurveyResponse(
                    response_id=f"S{planner.year}-{home.unit_id}",
                    survey_id=SURVEY.survey_id,
                    respondent_id=home.owner.customer_id,
                    scope=project.scope,
                    answered_on=date(planner.year, 11, rng.randint(5, 28)),
                    scores=scores,
                    overall=overall,
                    channel=rng.choice((Channel.WECHAT, Channel.HOTLINE, Channel.REVISIT)),
                )
            )
    return responses


def _transactions(planner: _Planner) -> list[Transaction]:
    rng = random.Random(f"propcrm-demo/rfm/{planner.group.seed}")
    year = planner.year
    found: list[Transaction] = []
    for project in planner.group.projects:
        price = rng.choice((8200, 9600, 11800, 13500))
        sale_start = project.handover_on - timedelta(days=720)
        for home in planner.by_project[project.project_id]:
            owner = home.owner.customer_id
            bought = sale_start + timedelta(days=rng.randrange(540))
            found.append(
                Transaction(
                    customer_id=owner,
                    date=bought,
                    amount=Decimal(home.area_m2 * price),
                    order_id=f"SALE-{home.unit_id}",
                )
            )
            if home.investor:
                # A second unit, bought later (parking space or a second flat).
                second = bought + timedelta(days=rng.randrange(30, 900))
                if second < date(year + 1, 1, 1):
                    found.append(
                        Transaction(
                            customer_id=owner,
                            date=second,
                            amount=Decimal(rng.choice((120000, 180000, 650000, 980000))),
                            order_id=f"SALE2-{home.unit_id}",
                        )
                    )
            if not project.new and rng.random() < 0.06:
                # A parking space (车位) bought this year: a small, recent purchase.
                found.append(
                    Transaction(
                        customer_id=owner,
                        date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
                        amount=Decimal(rng.choice((98000, 128000, 160000, 210000))),
                        order_id=f"PARK-{home.unit_id}",
                    )
                )
            if rng.random() < 0.03:
                found.append(
                    Transaction(
                        customer_id=owner,
                        date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
                        type=TransactionType.REFERRAL,
                        amount=Decimal(0),
                    )
                )
            if rng.random() < 0.1:
                found.append(
                    Transaction(
                        customer_id=owner,
                        date=date(year, rng.randint(3, 11), rng.randint(1, 28)),
                        type=TransactionType.CLUB_ACTIVITY,
                        amount=Decimal(0),
                    )
                )
            monthly = Decimal(home.area_m2) * Decimal("2.50")
            if project.new:
                if home.investor or rng.random() < 0.9:
                    found.append(
                        Transaction(
                            customer_id=owner,
                            date=project.handover_on + timedelta(days=rng.randrange(30)),
                            type=TransactionType.PROPERTY_FEE,
                            amount=monthly * 6,
                        )
                    )
                continue
            habit = rng.random()
            if habit < 0.68:
                found.append(
                    Transaction(
                        customer_id=owner,
                        date=date(year, rng.randint(1, 3), rng.randint(1, 28)),
                        type=TransactionType.PROPERTY_FEE,
                        amount=monthly * 12,
                    )
                )
            elif habit < 0.92:
                for quarter in range(4):
                    found.append(
                        Transaction(
                            customer_id=owner,
                            date=date(year, 3 * quarter + 1, rng.randint(1, 28)),
                            type=TransactionType.PROPERTY_FEE,
                            amount=monthly * 3,
                        )
                    )
            elif habit < 0.96:
                found.append(
                    Transaction(
                        customer_id=owner,
                        date=date(year, 1, rng.randint(1, 28)),
                        type=TransactionType.PROPERTY_FEE,
                        amount=monthly * 3,
                    )
                )
            # The rest are in arrears (欠费) all year.
    # Prospects (意向客户) from the new project's sales events: club visits, nothing bought.
    new = [p for p in planner.group.projects if p.new]
    for n in range(len(planner.group.households) // 25 if new else 0):
        found.append(
            Transaction(
                customer_id=f"prospect-{n:05d}",
                date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
                type=TransactionType.CLUB_ACTIVITY,
                amount=Decimal(0),
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# the plan


def _order(step: Step) -> tuple[datetime, str, int]:
    return step.at, step.ticket_id, step.index


def plan_year(
    group: DemoGroup,
    *,
    seed: int | None = None,
    taxonomy: Taxonomy | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoPlan:
    """Plan a year of customer service for ``group``: tickets, the delivery batch, surveys, RFM.

    Args:
        group: The group (:func:`propcrm.demo.generate_group`).
        seed: The seed of the draws; the group's seed when ``None``.
        taxonomy: The taxonomy to draw categories from; the standard one by default.
        progress: Called with a short label as each part is planned.

    Returns:
        The plan; the same inputs always give an equal plan.
    """
    tax = standard() if taxonomy is None else taxonomy
    chosen = group.seed if seed is None else seed
    planner = _Planner(group, chosen, tax)
    tell = progress or (lambda _label: None)
    tell("tickets")
    steps: list[Step] = []
    prefixes = {
        TicketKind.REPAIR: "R",
        TicketKind.COMPLAINT: "C",
        TicketKind.INQUIRY: "I",
        TicketKind.SUGGESTION: "S",
        TicketKind.PRAISE: "P",
    }
    yy = group.year % 100
    for number, intake in enumerate(planner.intakes(), start=1):
        ticket_id = f"{prefixes[intake.kind]}{yy}-{number:05d}"
        steps += planner.script(intake, ticket_id)
        if (
            intake.kind is TicketKind.REPAIR
            and intake.household is not None
            and planner.rng.random() < 0.02
        ):
            steps += planner.duplicate(intake, ticket_id, f"{ticket_id}-D")
    tell("delivery")
    delivery_events: list[d.DeliveryEvent] = []
    delivered: set[str] = set()
    for project in group.projects:
        if not project.new:
            continue
        history, batch = _delivery(planner, project)
        delivery_events += history
        for unit_id, unit in batch.units.items():
            if unit.handed_over_at is None:
                continue
            delivered.add(unit_id)
            for command in d.warranty_tickets(batch, unit_id):
                steps += planner.warranty_script(command, project, unit.handed_over_at)
    tell("surveys and transactions")
    surveys = _surveys(planner, delivered)
    transactions = _transactions(planner) + planner.paid_services
    kept = sorted((s for s in steps if s.at < planner.as_of), key=_order)
    return DemoPlan(
        group=group,
        seed=chosen,
        period=(date(group.year, 1, 1), date(group.year + 1, 1, 1)),
        as_of=planner.as_of,
        steps=tuple(kept),
        delivery_events=tuple(delivery_events),
        survey=SURVEY,
        surveys=tuple(surveys),
        transactions=tuple(transactions),
        first_rain=planner.first_rain,
    )
