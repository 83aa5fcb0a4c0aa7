"""Ticket facts: one flat row per ticket, folded from its events in one pass.

Times are epoch seconds (UTC); durations are seconds. A row says everything the KPI
definitions read, so the dataframe engine never needs the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import takewhile
from typing import Any, Final

import attrs

from propcrm.errors import ValidationError
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.metrics.calendar._sources import require_module
from propcrm.metrics.sla import PolicySet, SlaTarget, evaluate
from propcrm.model import (
    Channel,
    Priority,
    Severity,
    SurveyDefinition,
    SurveyResponse,
    TicketKind,
)
from propcrm.workflow import Event
from propcrm.workflow import events as e

__all__ = [
    "DIMENSIONS",
    "FACT_COLUMNS",
    "SURVEY_COLUMNS",
    "FactOptions",
    "Row",
    "facts_to_arrow",
    "histories_from_events",
    "iter_facts",
    "survey_facts",
    "ticket_facts",
    "write_parquet",
]

Row = dict[str, Any]

#: Ticket-fact columns and their Arrow types (``str``, ``int`` = int64, ``bool``).
FACT_COLUMNS: dict[str, str] = {
    "ticket_id": "str",
    "kind": "str",
    "channel": "str",
    "priority": "str",
    "severity": "str",
    "category": "str",
    "category_class": "str",
    "category_discipline": "str",
    "company": "str",
    "service_centre": "str",
    "project": "str",
    "building": "str",
    "responsible_party": "str",
    "contractor": "str",
    "assignee": "str",
    "status": "str",
    "is_open": "bool",
    "voided": "bool",
    "merged": "bool",
    "invalid": "bool",
    "received_at": "int",
    "first_response_at": "int",
    "dispatched_at": "int",
    "accepted_at": "int",
    "arrived_at": "int",
    "first_completed_at": "int",
    "completed_at": "int",
    "closed_at": "int",
    "first_revisit_at": "int",
    "revisited_at": "int",
    "last_follow_up_at": "int",
    "first_response_s": "int",
    "handoff_s": "int",
    "resolution_s": "int",
    "first_response_bs": "int",
    "handoff_bs": "int",
    "resolution_bs": "int",
    "revisit_delay_s": "int",
    "rework_gap_s": "int",
    "reopen_count": "int",
    "abnormal_close": "bool",
    "escalation_rank": "int",
    "revisit_count": "int",
    "revisit_satisfied": "bool",
    "age_s": "int",
    "since_follow_up_s": "int",
    **{f"sla_{t.value}": "str" for t in SlaTarget},
}

#: Survey-fact columns: the grouping columns of tickets (mostly null) plus the answers.
SURVEY_COLUMNS: dict[str, str] = {
    "response_id": "str",
    "survey_id": "str",
    "kind": "str",
    "channel": "str",
    "priority": "str",
    "severity": "str",
    "category": "str",
    "category_class": "str",
    "category_discipline": "str",
    "company": "str",
    "service_centre": "str",
    "project": "str",
    "building": "str",
    "responsible_party": "str",
    "contractor": "str",
    "assignee": "str",
    "answered_at": "int",
    "satisfied": "bool",
    "index_milli": "int",
}

#: Grouping dimensions and the fact column each reads.
DIMENSIONS: dict[str, str] = {
    "company": "company",
    "service_centre": "service_centre",
    "project": "project",
    "building": "building",
    "category": "category",
    "category_class": "category_class",
    "category_discipline": "category_discipline",
    "kind": "kind",
    "channel": "channel",
    "responsible_party": "responsible_party",
    "contractor": "contractor",
    "assignee": "assignee",
    "priority": "priority",
    "severity": "severity",
}


@attrs.frozen(kw_only=True)
class FactOptions:
    """How histories become facts.

    Attributes:
        as_of: The instant the facts describe: later events are ignored, and the open
            tickets' age and time since follow-up are measured to it. ``None`` keeps every
            event and leaves ``age_s`` and ``since_follow_up_s`` empty.
        calendar: Business calendar for the ``*_bs`` columns (empty without one).
        policies: SLA policies for the ``sla_*`` columns (empty without); evaluated at
            ``as_of``, or at the ticket's latest event.
        calendars: Calendars by name for the SLA engine (default: the registry).
        rollup: Maps a category code to ``(class, discipline)``; the default splits the
            code at its dots, which is what ``propcrm.taxonomy.standard().rollup`` does for
            codes it knows.
    """

    as_of: datetime | None = None
    calendar: BusinessCalendar | None = None
    policies: PolicySet | None = None
    calendars: Mapping[str, BusinessCalendar] | None = None
    rollup: Callable[[str], tuple[str | None, str | None]] | None = None


#: The payloads of a dispatch (a tuple: ``A | B`` would build a union object per event).
_HANDOFFS: Final = (e.TicketDispatched, e.TicketReassigned)


@lru_cache(maxsize=4096)
def _split_rollup(code: str) -> tuple[str | None, str | None]:
    parts = code.split(".")
    return parts[0], (".".join(parts[:2]) if len(parts) >= 2 else None)


def _ts(value: datetime) -> int:
    return int(value.timestamp())


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The Unix epoch expressed in each fixed-offset zone seen (a handful of offsets at most).
_ZONE_EPOCHS: dict[object, datetime] = {}


def _zone_epoch(zone: object) -> datetime:
    """The Unix epoch as a datetime in ``zone`` when it is a fixed offset, else in UTC.

    Two datetimes with the same tzinfo object subtract without calling ``utcoffset()``, so
    epoch seconds of events in a fixed-offset zone cost one subtraction.
    """
    if type(zone) is not timezone:
        return _EPOCH_UTC
    epoch = _ZONE_EPOCHS.get(zone)
    if epoch is None or epoch.tzinfo is not zone:
        epoch = _ZONE_EPOCHS[zone] = _EPOCH_UTC.astimezone(zone)
    return epoch


_SLA_COLUMNS = tuple(f"sla_{t.value}" for t in SlaTarget)
#: Wire values of the enums a fact row stores (``member.value`` is a slow descriptor).
_VALUES: dict[object, str] = {
    member: member.value for enum in (TicketKind, Channel, Priority, Severity) for member in enum
}
_DEFAULT_OPTIONS = FactOptions()
#: The business-time columns without a calendar.
_NO_BUSINESS: tuple[None, None, None] = (None, None, None)
#: Later than any event: the as-of limit when there is none, so the fold tests one integer.
_NEVER = 1 << 62

#: What :func:`fold_history` returns, in order: the state a ticket's events fold into.
FOLD_FIELDS: tuple[str, ...] = (
    "ticket_id",
    "kind",
    "channel",
    "priority",
    "severity",
    "category",
    "category_class",
    "category_discipline",
    "scope",
    "location",
    "party",
    "assignee",
    "status",
    "invalid",
    "received",
    "first_response",
    "dispatched",
    "accepted",
    "arrived",
    "first_completed",
    "completed",
    "closed",
    "first_revisit",
    "revisited",
    "follow_up",
    "rework_gap",
    "reopens",
    "abnormal",
    "rank",
    "revisits",
    "satisfied",
    "age",
    "since_follow_up",
    "first_response_bs",
    "handoff_bs",
    "resolution_bs",
    "sla",
)

#: Each fact column as a Python expression over :data:`FOLD_FIELDS` (and ``_VALUES``, the
#: enums' wire values). :func:`ticket_facts` evaluates them all; the streaming engine only
#: the columns its KPIs read.
FACT_EXPRESSIONS: dict[str, str] = {
    "ticket_id": "ticket_id",
    "kind": "_VALUES[kind]",
    "channel": "_VALUES[channel]",
    "priority": "_VALUES[priority]",
    "severity": "_VALUES[severity]",
    "category": "category",
    "category_class": "category_class",
    "category_discipline": "category_discipline",
    "company": "scope.company_id",
    "service_centre": "scope.service_centre_id",
    "project": "scope.project_id",
    "building": "None if location is None else location.building_id",
    "responsible_party": "party",
    # Contractors are the general contractor and the sub-contractor parties.
    "contractor": (
        "party if party is not None and (party == 'GC' or party.startswith('SUB-')) else None"
    ),
    "assignee": "assignee",
    "status": "status",
    "is_open": "status != 'closed' and status != 'voided' and status != 'merged'",
    "voided": "status == 'voided'",
    "merged": "status == 'merged'",
    "invalid": "invalid",
    "received_at": "received",
    "first_response_at": "first_response",
    "dispatched_at": "dispatched",
    "accepted_at": "accepted",
    "arrived_at": "arrived",
    "first_completed_at": "first_completed",
    "completed_at": "completed",
    "closed_at": "closed",
    "first_revisit_at": "first_revisit",
    "revisited_at": "revisited",
    "last_follow_up_at": "follow_up",
    "first_response_s": "None if first_response is None else first_response - received",
    "handoff_s": (
        "(None if accepted is None else accepted - received) if dispatched is None"
        " else dispatched - received"
    ),
    "resolution_s": "None if completed is None else completed - received",
    "first_response_bs": "first_response_bs",
    "handoff_bs": "handoff_bs",
    "resolution_bs": "resolution_bs",
    "revisit_delay_s": (
        "None if revisited is None or completed is None or revisited < completed"
        " else revisited - completed"
    ),
    "rework_gap_s": "rework_gap",
    "reopen_count": "reopens",
    "abnormal_close": "abnormal and closed is not None",
    "escalation_rank": "rank",
    "revisit_count": "revisits",
    "revisit_satisfied": "satisfied",
    "age_s": "age",
    "since_follow_up_s": "since_follow_up",
    **{c: f"None if sla is None else sla[{c!r}]" for c in _SLA_COLUMNS},
}


#: Fact columns :data:`FACT_EXPRESSIONS` never leaves empty, whatever the history and options
#: (the streaming engine skips their null tests; ``test_stream_speed_fold`` checks them).
FILLED_COLUMNS: frozenset[str] = frozenset(
    {
        "status",
        "is_open",
        "voided",
        "merged",
        "invalid",
        "received_at",
        "reopen_count",
        "escalation_rank",
        "revisit_count",
    }
)
#: The columns of :data:`FILLED_COLUMNS` that are always ``True`` or ``False`` (a ``bool``).
BOOL_COLUMNS: frozenset[str] = frozenset({"is_open", "voided", "merged", "invalid"})


def null_columns(options: FactOptions) -> frozenset[str]:
    """The fact columns that are empty in every row under ``options``."""
    out: set[str] = set()
    if options.calendar is None:
        out |= {"first_response_bs", "handoff_bs", "resolution_bs"}
    if options.policies is None:
        out |= set(_SLA_COLUMNS)
    if options.as_of is None:
        out |= {"age_s", "since_follow_up_s"}
    return frozenset(out)


def fold_history(history: Sequence[Event], options: FactOptions) -> tuple[Any, ...]:
    """Fold one ticket's events into the values named by :data:`FOLD_FIELDS`.

    Raises:
        ValidationError: The history is empty or does not start with ``ticket_received``.
    """
    opts = options
    as_of = opts.as_of
    limit = None if as_of is None else _ts(as_of)
    stop = _NEVER if limit is None else limit
    it = iter(history)
    first = next(it, None)
    if first is None or not isinstance(first.payload, e.TicketReceived):
        raise ValidationError.single(
            "$[0]", "a history starts with ticket_received", subject="ticket history"
        )
    p0 = first.payload
    start = first.occurred_at
    # Two datetimes with the same tzinfo object subtract without calling utcoffset(): with a
    # fixed offset (datetime.timezone) the epoch is expressed in the events' own zone.
    zone = start.tzinfo
    # The cached epoch of a fixed-offset zone, looked up without a call (see _zone_epoch).
    epoch = _ZONE_EPOCHS.get(zone) if type(zone) is timezone else None
    if epoch is None or epoch.tzinfo is not zone:
        epoch = _zone_epoch(zone)
    d = start - epoch
    received = d.days * 86400 + d.seconds
    if received < 0 and d.microseconds:
        received += 1
    if limit is not None and received > limit:
        raise ValidationError.single(
            "$[0].occurred_at",
            f"ticket {first.ticket_id!r} was received after the as-of instant",
            subject="ticket history",
            hint="use iter_facts(), which skips tickets that did not exist yet",
        )
    kind_ = p0.kind
    priority = p0.priority
    severity = p0.severity
    category = p0.category_code
    party = p0.responsible_party
    assignee = None
    status = "received"
    paused_from = abnormal_from = "received"
    first_response = dispatched = accepted = arrived = None
    first_completed = completed = closed = None
    first_revisit = revisited = follow_up = None
    rework_gap = None
    reopens = revisits = rank = 0
    abnormal = invalid = False
    satisfied: bool | None = None
    stopped_at: Event | None = None
    for event in it:
        at = event.occurred_at
        if at.tzinfo is not zone:
            zone = at.tzinfo
            epoch = _zone_epoch(zone)
        d = at - epoch
        t = d.days * 86400 + d.seconds
        if t < 0 and d.microseconds:
            t += 1
        if t > stop:
            stopped_at = event
            break
        p = event.payload
        kind = p.event_type
        # Most frequent first: the chain is walked once per event.
        if kind == "ticket_dispatched" or kind == "ticket_reassigned":
            assert isinstance(p, _HANDOFFS)
            status = "dispatched"
            if p.party is not None:
                party = p.party
            assignee = p.assignee
            if dispatched is None:
                dispatched = t
        elif kind == "ticket_completed":
            status = "completed"
            completed = t
            if first_completed is None:
                first_completed = t
        elif kind == "ticket_closed":
            assert isinstance(p, e.TicketClosed)
            status = "closed"
            closed = t
            abnormal = p.abnormal
        elif kind == "ticket_accepted":
            status = "accepted"
            if accepted is None:
                accepted = t
        elif kind == "work_started":
            status = "in_progress"
        elif kind == "revisit_recorded":
            assert isinstance(p, e.RevisitRecorded)
            if status == "completed":
                status = "revisited"
            revisits += 1
            revisited = t
            if first_revisit is None:
                first_revisit = t
            satisfied = p.satisfaction.is_satisfied
        elif kind == "customer_responded":
            if first_response is None:
                first_response = t
        elif kind == "work_log_added" or kind == "follow_up_recorded":
            follow_up = t
        elif kind == "handler_arrived":
            status = "arrived"
            if arrived is None:
                arrived = t
        elif kind == "ticket_bounced_back":
            status = "received"
            assignee = None
        elif kind == "ticket_paused":
            paused_from, status = status, "paused"
        elif kind == "ticket_resumed":
            status = paused_from
        elif kind == "ticket_reopened":
            status = "reopened"
            reopens += 1
            if first_completed is not None and rework_gap is None:
                rework_gap = t - first_completed
            completed = closed = None
            abnormal = False
        elif kind == "ticket_classified":
            assert isinstance(p, e.TicketClassified)
            if p.category_code is not None:
                category = p.category_code
            if p.kind is not None:
                kind_ = p.kind
            if p.priority is not None:
                priority = p.priority
            if p.severity is not None:
                severity = p.severity
            if p.responsible_party is not None:
                party = p.responsible_party
        elif kind == "ticket_escalated":
            assert isinstance(p, e.TicketEscalated)
            rank = max(rank, p.level.rank)
        elif kind == "ticket_merged":
            status = "merged"
        elif kind == "ticket_voided":
            status = "voided"
        elif kind == "complaint_marked_invalid":
            invalid = True
        elif kind == "abnormal_close_requested":
            abnormal_from, status = status, "pending_abnormal_close"
        elif kind == "abnormal_close_rejected":
            status = abnormal_from
    if category is None:
        category_class = category_discipline = None
    else:
        category_class, category_discipline = (opts.rollup or _split_rollup)(category)
    is_open = status != "closed" and status != "voided" and status != "merged"
    if limit is not None and is_open:
        age: int | None = limit - received
        since_follow_up: int | None = limit - max(received, follow_up or received)
    else:
        age = since_follow_up = None
    cal = opts.calendar
    business: Sequence[int | None] = _NO_BUSINESS
    if cal is not None:
        business = [None, None, None]
        handoff_at = dispatched if dispatched is not None else accepted
        for i, end in enumerate((first_response, handoff_at, completed)):
            if end is not None:
                end_dt = start + timedelta(seconds=end - received)
                business[i] = int(cal.elapsed(start, end_dt).total_seconds())
    sla: dict[str, str | None] | None = None
    if opts.policies is not None:
        # The SLA engine reads the events the fold used: the history up to the as-of instant.
        used = list(takewhile(lambda event: event is not stopped_at, history))
        at = as_of if as_of is not None else used[-1].occurred_at
        report = evaluate(used, opts.policies, at, calendars=opts.calendars)
        sla = dict.fromkeys(_SLA_COLUMNS)
        for state in report.targets:
            key = f"sla_{state.target.value}"
            if sla[key] is None:
                sla[key] = state.status.value
    return (
        first.ticket_id,
        kind_,
        p0.channel,
        priority,
        severity,
        category,
        category_class,
        category_discipline,
        p0.scope,
        p0.location,
        party,
        assignee,
        status,
        invalid,
        received,
        first_response,
        dispatched,
        accepted,
        arrived,
        first_completed,
        completed,
        closed,
        first_revisit,
        revisited,
        follow_up,
        rework_gap,
        reopens,
        abnormal,
        rank,
        revisits,
        satisfied,
        age,
        since_follow_up,
        business[0],
        business[1],
        business[2],
        sla,
    )


@attrs.frozen
class _Step:
    """One statement of the inline fold: its source, the fold fields it sets and reads."""

    code: str
    sets: tuple[str, ...]
    reads: tuple[str, ...] = ()


def _set_if_none(field: str) -> _Step:
    return _Step(f"if {field} is None:\n    {field} = t", (field,), (field,))


def _take(field: str, attr: str) -> _Step:
    return _Step(f"if p.{attr} is not None:\n    {field} = p.{attr}", (field,))


#: :func:`fold_history` as statements per fold field, for the streaming engine to inline the
#: fold of the fields its KPIs read (:func:`inline_fold`): what the fold sets before the
#: events, per event type, and after. Kept in step with :func:`fold_history` by hand; the
#: tests compare the two on random histories (``tests/metrics/kpi/test_stream_histories.py``).
_INLINE_START: tuple[_Step, ...] = (
    _Step("ticket_id = first.ticket_id", ("ticket_id",)),
    _Step("kind = p0.kind", ("kind",)),
    _Step("channel = p0.channel", ("channel",)),
    _Step("priority = p0.priority", ("priority",)),
    _Step("severity = p0.severity", ("severity",)),
    _Step("category = p0.category_code", ("category",)),
    _Step("scope = p0.scope", ("scope",)),
    _Step("location = p0.location", ("location",)),
    _Step("party = p0.responsible_party", ("party",)),
    _Step("assignee = None", ("assignee",)),
    _Step("status = 'received'", ("status",)),
    _Step("paused_from = 'received'", ("paused_from",)),
    _Step("abnormal_from = 'received'", ("abnormal_from",)),
    *(
        _Step(f"{f} = None", (f,))
        for f in (
            "first_response",
            "dispatched",
            "accepted",
            "arrived",
            "first_completed",
            "completed",
            "closed",
            "first_revisit",
            "revisited",
            "follow_up",
            "rework_gap",
            "satisfied",
        )
    ),
    *(_Step(f"{f} = 0", (f,)) for f in ("reopens", "revisits", "rank")),
    *(_Step(f"{f} = False", (f,)) for f in ("abnormal", "invalid")),
)
_INLINE_EVENTS: tuple[tuple[tuple[str, ...], tuple[_Step, ...]], ...] = (
    (
        ("ticket_dispatched", "ticket_reassigned"),
        (
            _Step("status = 'dispatched'", ("status",)),
            _take("party", "party"),
            _Step("assignee = p.assignee", ("assignee",)),
            _set_if_none("dispatched"),
        ),
    ),
    (
        ("ticket_completed",),
        (
            _Step("status = 'completed'", ("status",)),
            _Step("completed = t", ("completed",)),
            _set_if_none("first_completed"),
        ),
    ),
    (
        ("ticket_closed",),
        (
            _Step("status = 'closed'", ("status",)),
            _Step("closed = t", ("closed",)),
            _Step("abnormal = p.abnormal", ("abnormal",)),
        ),
    ),
    (
        ("ticket_accepted",),
        (_Step("status = 'accepted'", ("status",)), _set_if_none("accepted")),
    ),
    (("work_started",), (_Step("status = 'in_progress'", ("status",)),)),
    (
        ("revisit_recorded",),
        (
            _Step("if status == 'completed':\n    status = 'revisited'", ("status",), ("status",)),
            _Step("revisits += 1", ("revisits",), ("revisits",)),
            _Step("revisited = t", ("revisited",)),
            _set_if_none("first_revisit"),
            _Step("satisfied = p.satisfaction.is_satisfied", ("satisfied",)),
        ),
    ),
    (("customer_responded",), (_set_if_none("first_response"),)),
    (("work_log_added", "follow_up_recorded"), (_Step("follow_up = t", ("follow_up",)),)),
    (
        ("handler_arrived",),
        (_Step("status = 'arrived'", ("status",)), _set_if_none("arrived")),
    ),
    (
        ("ticket_bounced_back",),
        (_Step("status = 'received'", ("status",)), _Step("assignee = None", ("assignee",))),
    ),
    (
        ("ticket_paused",),
        (
            _Step("paused_from = status", ("paused_from",), ("status",)),
            _Step("status = 'paused'", ("status",)),
        ),
    ),
    (("ticket_resumed",), (_Step("status = paused_from", ("status",), ("paused_from",)),)),
    (
        ("ticket_reopened",),
        (
            _Step("status = 'reopened'", ("status",)),
            _Step("reopens += 1", ("reopens",), ("reopens",)),
            _Step(
                "if first_completed is not None and rework_gap is None:\n"
                "    rework_gap = t - first_completed",
                ("rework_gap",),
                ("first_completed", "rework_gap"),
            ),
            _Step("completed = None", ("completed",)),
            _Step("closed = None", ("closed",)),
            _Step("abnormal = False", ("abnormal",)),
        ),
    ),
    (
        ("ticket_classified",),
        (
            _take("category", "category_code"),
            _take("kind", "kind"),
            _take("priority", "priority"),
            _take("severity", "severity"),
            _take("party", "responsible_party"),
        ),
    ),
    (("ticket_escalated",), (_Step("rank = max(rank, p.level.rank)", ("rank",), ("rank",)),)),
    (("ticket_merged",), (_Step("status = 'merged'", ("status",)),)),
    (("ticket_voided",), (_Step("status = 'voided'", ("status",)),)),
    (("complaint_marked_invalid",), (_Step("invalid = True", ("invalid",)),)),
    (
        ("abnormal_close_requested",),
        (
            _Step("abnormal_from = status", ("abnormal_from",), ("status",)),
            _Step("status = 'pending_abnormal_close'", ("status",)),
        ),
    ),
    (
        ("abnormal_close_rejected",),
        (_Step("status = abnormal_from", ("status",), ("abnormal_from",)),),
    ),
)
_INLINE_END: tuple[_Step, ...] = (
    _Step(
        "if category is None:\n"
        "    category_class = category_discipline = None\n"
        "else:\n"
        "    category_class, category_discipline = _rollup(category)",
        ("category_class", "category_discipline"),
        ("category",),
    ),
    # Only with an as-of instant (else the columns are empty and never read).
    _Step(
        "if status != 'closed' and status != 'voided' and status != 'merged':\n"
        "    age = _limit - received\n"
        "    since_follow_up = _limit - max(received, follow_up or received)\n"
        "else:\n"
        "    age = since_follow_up = None",
        ("age", "since_follow_up"),
        ("status", "received", "follow_up"),
    ),
)


def inline_fold(
    fields: Iterable[str], options: FactOptions, indent: str
) -> tuple[list[str], dict[str, Any]] | None:
    """Source lines folding the history ``h`` into the fold ``fields`` named, and their globals.

    What :func:`fold_history` computes for those fields (and the fields they depend on), as
    straight-line code to paste into a loop over histories: no call, no tuple of every
    field, no statement for a field nobody reads. A history the fold refuses is handed to
    :func:`fold_history`, which raises its error.

    ``age`` and ``since_follow_up`` are only folded with an as-of instant (without one they
    are empty: :func:`null_columns`); the code expects the history non-empty.

    Returns:
        ``None`` with a calendar or SLA policies (business times and SLA states are left to
        :func:`fold_history`).
    """
    if options.calendar is not None or options.policies is not None:
        return None
    as_of = options.as_of is not None
    needed = set(fields)
    steps = [*_INLINE_START, *(s for _, body in _INLINE_EVENTS for s in body), *_INLINE_END]
    # Close the fields over what the statements setting them read.
    grown = True
    while grown:
        grown = False
        for step in steps:
            if needed.intersection(step.sets) and not needed.issuperset(step.reads):
                needed.update(step.reads)
                grown = True

    def kept(body: Iterable[_Step], pad: str) -> list[str]:
        return [
            pad + line
            for step in body
            if needed.intersection(step.sets)
            for line in step.code.split("\n")
        ]

    i1, i2 = indent + "    ", indent + "        "
    lines = [
        f"{indent}it = iter(h)",
        f"{indent}first = next(it)",
        f"{indent}p0 = first.payload",
        f"{indent}if not isinstance(p0, _TicketReceived):",
        f"{i1}_fold(h, _options)  # raises",
        f"{indent}start = first.occurred_at",
        f"{indent}zone = start.tzinfo",
        f"{indent}epoch = _ZONE_EPOCHS.get(zone) if type(zone) is _timezone else None",
        f"{indent}if epoch is None or epoch.tzinfo is not zone:",
        f"{i1}epoch = _zone_epoch(zone)",
        f"{indent}d = start - epoch",
        f"{indent}received = d.days * 86400 + d.seconds",
        f"{indent}if received < 0 and d.microseconds:",
        f"{i1}received += 1",
    ]
    if as_of:
        lines += [f"{indent}if received > _limit:", f"{i1}_fold(h, _options)  # raises"]
    lines += kept(_INLINE_START, indent)
    lines += [
        f"{indent}for event in it:",
        f"{i1}at = event.occurred_at",
        f"{i1}if at.tzinfo is not zone:",
        f"{i2}zone = at.tzinfo",
        f"{i2}epoch = _zone_epoch(zone)",
        f"{i1}d = at - epoch",
        f"{i1}t = d.days * 86400 + d.seconds",
        f"{i1}if t < 0 and d.microseconds:",
        f"{i2}t += 1",
    ]
    if as_of:
        lines += [f"{i1}if t > _limit:", f"{i2}break"]
    lines += [f"{i1}p = event.payload", f"{i1}k = p.event_type"]
    branch = "if"
    for kinds, body in _INLINE_EVENTS:
        code = kept(body, i2)
        if code:
            test = " or ".join(f"k == {k!r}" for k in kinds)
            lines += [f"{i1}{branch} {test}:", *code]
            branch = "elif"
    end = _INLINE_END if as_of else _INLINE_END[:1]
    lines += kept(end, indent)
    namespace: dict[str, Any] = {
        "_TicketReceived": e.TicketReceived,
        "_ZONE_EPOCHS": _ZONE_EPOCHS,
        "_timezone": timezone,
        "_zone_epoch": _zone_epoch,
        "_fold": fold_history,
        "_options": options,
        "_rollup": options.rollup or _split_rollup,
        "_limit": None if options.as_of is None else _ts(options.as_of),
    }
    return lines, namespace


def _row_builder() -> Callable[..., Row]:
    """``(*fold) -> row``: every fact column, in ``FACT_COLUMNS`` order, from the fold."""
    items = ", ".join(f"{name!r}: {FACT_EXPRESSIONS[name]}" for name in FACT_COLUMNS)
    source = f"def _row({', '.join(FOLD_FIELDS)}):\n    return {{{items}}}"
    namespace: dict[str, Any] = {"_VALUES": _VALUES}
    # Generated from the constant expressions above only.
    exec(compile(source, "<propcrm-facts>", "exec"), namespace)
    return namespace["_row"]  # type: ignore[no-any-return]


_ROW = _row_builder()


def ticket_facts(history: Sequence[Event], options: FactOptions | None = None) -> Row:
    """Fold one ticket's events into its fact row.

    Raises:
        ValidationError: The history is empty or does not start with ``ticket_received``.
    """
    return _ROW(*fold_history(history, _DEFAULT_OPTIONS if options is None else options))


def iter_facts(
    histories: Iterable[Sequence[Event]], options: FactOptions | None = None
) -> Iterator[Row]:
    """Fact rows of histories, skipping tickets received after ``options.as_of``."""
    opts = options or FactOptions()
    limit = None if opts.as_of is None else opts.as_of
    for history in histories:
        if history and (limit is None or history[0].occurred_at <= limit):
            yield ticket_facts(history, opts)


def histories_from_events(events: Iterable[Event]) -> Iterator[list[Event]]:
    """Split a stream of events, each ticket's events contiguous, into histories."""
    current: list[Event] = []
    for event in events:
        if current and event.ticket_id != current[0].ticket_id:
            yield current
            current = []
        current.append(event)
    if current:
        yield current


_CN = timezone(timedelta(hours=8))


def date_to_epoch(day: date, utc_offset_hours: int = 8) -> int:
    """Epoch seconds of local midnight of ``day`` at a fixed UTC offset."""
    tz = _CN if utc_offset_hours == 8 else timezone(timedelta(hours=utc_offset_hours))
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def survey_facts(
    responses: Iterable[SurveyResponse],
    definitions: Mapping[str, SurveyDefinition] | Iterable[SurveyDefinition] = (),
    *,
    utc_offset_hours: int = 8,
) -> Iterator[Row]:
    """One fact row per survey response.

    ``answered_at`` is local midnight of the answer day (at ``utc_offset_hours``);
    ``index_milli`` is the satisfaction index in thousandths of a point (exact integer sums),
    empty when the survey's definition is not given or nothing was scored.
    """
    if isinstance(definitions, Mapping):
        by_id = dict(definitions)
    else:
        by_id = {d.survey_id: d for d in definitions}
    for resp in responses:
        survey = by_id.get(resp.survey_id)
        index = None if survey is None else survey.index(resp)
        row: Row = dict.fromkeys(SURVEY_COLUMNS)
        row.update(
            response_id=resp.response_id,
            survey_id=resp.survey_id,
            channel=resp.channel.value,
            company=resp.scope.company_id,
            service_centre=resp.scope.service_centre_id,
            project=resp.scope.project_id,
            answered_at=date_to_epoch(resp.answered_on, utc_offset_hours),
            satisfied=resp.is_satisfied,
            index_milli=None if index is None else round(index * 1000),
        )
        yield row


def _arrow_type(pa: Any, kind: str) -> Any:
    return {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_()}[kind]


def facts_to_arrow(rows: Iterable[Row], *, columns: Mapping[str, str] = FACT_COLUMNS) -> Any:
    """Fact rows as a ``pyarrow.Table`` with a fixed schema.

    Raises:
        OptionalDependencyError: pyarrow is not installed.
    """
    pa = require_module("pyarrow", extra="frames", feature="exporting KPI facts")
    data: dict[str, list[Any]] = {name: [] for name in columns}
    appenders = [(data[name].append, name) for name in columns]
    for row in rows:
        for append, name in appenders:
            append(row.get(name))
    schema = pa.schema([(name, _arrow_type(pa, kind)) for name, kind in columns.items()])
    return pa.table(data, schema=schema)


def write_parquet(
    rows: Iterable[Row], path: str, *, columns: Mapping[str, str] = FACT_COLUMNS
) -> int:
    """Write fact rows to a Parquet file; returns the number of rows.

    Raises:
        OptionalDependencyError: pyarrow is not installed.
    """
    table = facts_to_arrow(rows, columns=columns)
    pq = require_module("pyarrow.parquet", extra="frames", feature="writing KPI facts")
    pq.write_table(table, path)
    return int(table.num_rows)
