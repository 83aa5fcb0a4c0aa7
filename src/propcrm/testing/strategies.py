"""Hypothesis strategies for propcrm values, commands, events and whole ticket histories.

Every strategy takes keyword-only options and draws valid values unless told otherwise, so a
downstream test can say ``st_tickets(kind=TicketKind.REPAIR)`` and get realistic data.

Example:
    >>> from hypothesis import given
    >>> from propcrm.testing.strategies import st_histories
    >>> @given(st_histories())
    ... def test_replay_is_stable(history):
    ...     ...
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

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
from propcrm.workflow import Event, Lifecycle, LifecycleRules, replay
from propcrm.workflow import commands as c

__all__ = [
    "st_actors",
    "st_aware_datetimes",
    "st_command_for",
    "st_customer_refs",
    "st_histories",
    "st_locations",
    "st_org_scopes",
    "st_receive_commands",
    "st_tickets",
]

_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(str.strip)
_ZONES = [timezone.utc, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")]
_PARTIES = st.sampled_from(["PM", "GC", "SUB-WP", "SUB-MEP", "DEV-ENG", "UT"])


def st_aware_datetimes(
    *, min_value: datetime | None = None, max_value: datetime | None = None
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes (UTC, Shanghai or New York), at whole seconds."""
    low = (min_value or datetime(2020, 1, 1)).replace(tzinfo=None)
    high = (max_value or datetime(2030, 12, 31)).replace(tzinfo=None)
    # No wall times inside a DST gap: Python compares them unequal across zones.
    return st.datetimes(
        min_value=low, max_value=high, timezones=st.sampled_from(_ZONES), allow_imaginary=False
    ).map(lambda d: d.replace(microsecond=0))


def st_org_scopes(*, company_ids: Sequence[str] = ()) -> st.SearchStrategy[OrgScope]:
    """Org scopes, drawn from ``company_ids`` when given."""
    companies = st.sampled_from(list(company_ids)) if company_ids else _IDS
    return st.builds(
        OrgScope,
        company_id=companies,
        project_id=_IDS,
        group_id=st.none() | _IDS,
        service_centre_id=st.none() | _IDS,
    )


def st_locations(*, project_id: str | None = None) -> st.SearchStrategy[Location]:
    """Locations in a unit or a common area."""
    projects = st.just(project_id) if project_id else _IDS
    in_unit = st.builds(
        Location,
        project_id=projects,
        area=st.just(AreaType.UNIT),
        building_id=st.none() | _IDS,
        unit_id=_IDS,
        room_id=st.none() | _IDS,
        room_type=st.none() | st.sampled_from(["bathroom", "kitchen", "bedroom", "balcony"]),
    )
    common = st.builds(
        Location,
        project_id=projects,
        area=st.sampled_from([AreaType.COMMON, AreaType.EXTERNAL]),
        building_id=st.none() | _IDS,
        room_type=st.none() | st.sampled_from(["lift_lobby", "garage", "garden"]),
    )
    return in_unit | common


def st_customer_refs() -> st.SearchStrategy[CustomerRef]:
    """Customer references with valid (fake) phone and ID numbers."""
    return st.builds(
        CustomerRef,
        customer_id=_IDS,
        name=st.none() | st.sampled_from(["张伟", "王芳", "李娜", "刘洋", "Chen Jie"]),
        phone=st.none() | st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        id_number=st.none() | st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True),
    )


def st_actors(*, roles: Sequence[Role] = tuple(Role)) -> st.SearchStrategy[Actor]:
    """Actors in one of ``roles``."""
    return st.builds(Actor, id=_IDS, role=st.sampled_from(list(roles)), party=st.none() | _PARTIES)


def st_receive_commands(
    *, ticket_id: str | None = None, kind: TicketKind | None = None
) -> st.SearchStrategy[c.ReceiveTicket]:
    """Intake commands with every optional field sometimes set."""
    return st.builds(
        c.ReceiveTicket,
        ticket_id=st.just(ticket_id) if ticket_id else _IDS,
        kind=st.just(kind) if kind else st.sampled_from(list(TicketKind)),
        channel=st.sampled_from(list(Channel)),
        scope=st_org_scopes(),
        description=_TEXT,
        priority=st.sampled_from(list(Priority)),
        severity=st.sampled_from(list(Severity)),
        category_code=st.none() | st.from_regex(r"[QSC]\.[A-Z]{2}\.[0-9]{2}", fullmatch=True),
        location=st.none() | st_locations(),
        reporter=st.none() | st_customer_refs(),
        responsible_party=st.none() | _PARTIES,
        idempotency_key=st.none() | _IDS,
    )


_COMMAND_ORDER = tuple(
    cls.name
    for cls in (
        c.ClassifyTicket,
        c.RespondToCustomer,
        c.DispatchTicket,
        c.AcceptTicket,
        c.BounceBack,
        c.ReassignTicket,
        c.ArriveOnSite,
        c.StartWork,
        c.PauseWork,
        c.ResumeWork,
        c.CompleteWork,
        c.RecordRevisit,
        c.CloseTicket,
        c.ReopenTicket,
        c.EscalateTicket,
        c.MergeAsDuplicate,
        c.VoidTicket,
        c.MarkComplaintInvalid,
        c.RequestAbnormalClose,
        c.ApproveAbnormalClose,
        c.RejectAbnormalClose,
        c.AddWorkLog,
        c.RecordFollowUp,
    )
)


def st_command_for(
    ticket_id: str, *, names: Sequence[str] | None = None
) -> st.SearchStrategy[c.Command]:
    """Commands aimed at ``ticket_id`` with valid fields: any but intake, or those ``names``."""
    by_name = _command_strategies(ticket_id)
    chosen = sorted(by_name) if names is None else sorted(n for n in names if n in by_name)
    return st.one_of([by_name[name] for name in chosen])


def _command_strategies(ticket_id: str) -> dict[str, st.SearchStrategy[c.Command]]:
    t = st.just(ticket_id)
    money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
    builds: list[st.SearchStrategy[c.Command]] = [
        st.builds(
            c.ClassifyTicket,
            ticket_id=t,
            category_code=st.none() | st.sampled_from(["Q.WP.08", "S.CL.01"]),
            priority=st.none() | st.sampled_from(list(Priority)),
        ),
        st.builds(c.RespondToCustomer, ticket_id=t, message=_TEXT),
        st.builds(c.DispatchTicket, ticket_id=t, party=_PARTIES, assignee=st.none() | _IDS),
        st.builds(c.AcceptTicket, ticket_id=t),
        st.builds(c.BounceBack, ticket_id=t, reason=_TEXT),
        st.builds(c.ReassignTicket, ticket_id=t, reason=_TEXT, assignee=_IDS),
        st.builds(c.ArriveOnSite, ticket_id=t),
        st.builds(c.StartWork, ticket_id=t),
        st.builds(c.PauseWork, ticket_id=t, reason=st.sampled_from(list(PauseReason))),
        st.builds(c.ResumeWork, ticket_id=t),
        st.builds(c.CompleteWork, ticket_id=t, result=_TEXT, cost=st.none() | money),
        st.builds(
            c.RecordRevisit,
            ticket_id=t,
            satisfaction=st.sampled_from(list(Satisfaction)),
            resolved=st.booleans(),
        ),
        st.builds(c.CloseTicket, ticket_id=t),
        st.builds(c.ReopenTicket, ticket_id=t, reason=_TEXT),
        st.builds(
            c.EscalateTicket,
            ticket_id=t,
            level=st.sampled_from([lv for lv in EscalationLevel if lv is not EscalationLevel.NONE]),
            reason=_TEXT,
        ),
        st.builds(c.MergeAsDuplicate, ticket_id=t, into_ticket_id=_IDS.map(lambda s: "dup-" + s)),
        st.builds(c.VoidTicket, ticket_id=t, reason=_TEXT),
        st.builds(c.MarkComplaintInvalid, ticket_id=t, reason=_TEXT),
        st.builds(c.RequestAbnormalClose, ticket_id=t, reason=_TEXT),
        st.builds(
            c.ApproveAbnormalClose,
            ticket_id=t,
            party=st.sampled_from(["property", "developer_engineering", "contractor", "other"]),
        ),
        st.builds(
            c.RejectAbnormalClose,
            ticket_id=t,
            party=st.sampled_from(["property", "developer_engineering", "contractor"]),
            reason=_TEXT,
        ),
        st.builds(c.AddWorkLog, ticket_id=t, note=_TEXT),
        st.builds(c.RecordFollowUp, ticket_id=t, note=_TEXT),
    ]
    return dict(zip(_COMMAND_ORDER, builds, strict=True))


_ENDINGS = frozenset({"void", "merge"})


@st.composite
def st_histories(
    draw: st.DrawFn,
    *,
    kind: TicketKind | None = None,
    max_commands: int = 25,
    rules: LifecycleRules | None = None,
    ticket_id: str | None = None,
) -> list[Event]:
    """A valid event history: an intake followed by accepted random commands.

    Commands the rules refuse are skipped, so every history replays cleanly.
    """
    rules_in_force = rules or LifecycleRules.default()
    lifecycle = Lifecycle(rules=rules_in_force)
    supervisor = Actor(id="supervisor", role=Role.SUPERVISOR)
    receive = draw(st_receive_commands(ticket_id=ticket_id, kind=kind))
    now = draw(st_aware_datetimes(max_value=datetime(2029, 1, 1)))
    ticket, history = lifecycle.execute(None, receive, now=now, actor=supervisor)
    for _ in range(draw(st.integers(min_value=0, max_value=max_commands))):
        now += timedelta(minutes=draw(st.integers(min_value=0, max_value=3 * 24 * 60)))
        # Mostly commands the status allows, so histories get somewhere; sometimes any command,
        # so refusals are exercised too.
        allowed = rules_in_force.commands_for(ticket.kind, ticket.status)
        if draw(st.integers(min_value=0, max_value=9)) > 0:
            # Ending a ticket early (void, merge) is rare in life and in these histories.
            allowed = allowed - _ENDINGS
        names = sorted(allowed) if allowed and draw(st.integers(0, 9)) > 0 else None
        command = draw(st_command_for(receive.ticket_id, names=names))
        try:
            ticket, events = lifecycle.execute(ticket, command, now=now, actor=supervisor)
        except PropcrmError:
            continue
        history += events
    return history


def st_tickets(
    *, kind: TicketKind | None = None, max_commands: int = 25
) -> st.SearchStrategy[Ticket]:
    """Tickets in any reachable state, built by replaying :func:`st_histories`."""
    return st_histories(kind=kind, max_commands=max_commands).map(replay)
