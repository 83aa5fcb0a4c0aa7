"""Ticket facts: one flat row per ticket, folded from its events in one pass.

Times are epoch seconds (UTC); durations are seconds. A row says everything the KPI
definitions read, so the dataframe engine never needs the events.
"""

from __future__ import annotations

import ast
import linecache
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import cache, lru_cache
from itertools import groupby, takewhile
from typing import Any, Final, NoReturn

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


@attrs.frozen
class _Step:
    """One statement of the fold, and the fact option it needs.

    Attributes:
        code: The statement's source. It reads the fold fields and ``t`` (the event's
            epoch second), ``p`` (its payload), ``p0`` (the ``ticket_received`` payload),
            ``first``, ``start`` and ``received``, and the option values ``_limit``,
            ``_as_of``, ``_rollup``, ``_calendar``, ``_policies`` and ``_calendars``.
        needs: ``"as_of"``, ``"calendar"`` or ``"policies"``: without that option the
            fields the statement sets are empty (``None``) instead.
    """

    code: str
    needs: str | None = None


def _set_if_none(field: str) -> _Step:
    return _Step(f"if {field} is None:\n    {field} = t")


def _take(field: str, attr: str) -> _Step:
    return _Step(f"if p.{attr} is not None:\n    {field} = p.{attr}")


# The fold, once: what it sets before the events, per event type (most frequent first: the
# chain is walked once per event), and after. :func:`fold_history` is compiled from these
# statements (all of them, options read at run time) and the streaming engine pastes the ones
# its KPIs need into its history adder (:func:`inline_fold`, options decided).
_FOLD_START: tuple[_Step, ...] = (
    _Step("ticket_id = first.ticket_id"),
    _Step("kind = p0.kind"),
    _Step("channel = p0.channel"),
    _Step("priority = p0.priority"),
    _Step("severity = p0.severity"),
    _Step("category = p0.category_code"),
    _Step("scope = p0.scope"),
    _Step("location = p0.location"),
    _Step("party = p0.responsible_party"),
    _Step("assignee = None"),
    _Step("status = 'received'"),
    # The status a resume or a refused abnormal close returns to.
    _Step("paused_from = 'received'"),
    _Step("abnormal_from = 'received'"),
    *(
        _Step(f"{f} = None")
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
    *(_Step(f"{f} = 0") for f in ("reopens", "revisits", "rank")),
    *(_Step(f"{f} = False") for f in ("abnormal", "invalid")),
)
_FOLD_EVENTS: tuple[tuple[tuple[str, ...], tuple[_Step, ...]], ...] = (
    (
        ("ticket_dispatched", "ticket_reassigned"),
        (
            _Step("status = 'dispatched'"),
            _take("party", "party"),
            _Step("assignee = p.assignee"),
            _set_if_none("dispatched"),
        ),
    ),
    (
        ("ticket_completed",),
        (_Step("status = 'completed'"), _Step("completed = t"), _set_if_none("first_completed")),
    ),
    (
        ("ticket_closed",),
        (_Step("status = 'closed'"), _Step("closed = t"), _Step("abnormal = p.abnormal")),
    ),
    (("ticket_accepted",), (_Step("status = 'accepted'"), _set_if_none("accepted"))),
    (("work_started",), (_Step("status = 'in_progress'"),)),
    (
        ("revisit_recorded",),
        (
            _Step("if status == 'completed':\n    status = 'revisited'"),
            _Step("revisits += 1"),
            _Step("revisited = t"),
            _set_if_none("first_revisit"),
            _Step("satisfied = p.satisfaction.is_satisfied"),
        ),
    ),
    (("customer_responded",), (_set_if_none("first_response"),)),
    (("work_log_added", "follow_up_recorded"), (_Step("follow_up = t"),)),
    (("handler_arrived",), (_Step("status = 'arrived'"), _set_if_none("arrived"))),
    (("ticket_bounced_back",), (_Step("status = 'received'"), _Step("assignee = None"))),
    (("ticket_paused",), (_Step("paused_from = status"), _Step("status = 'paused'"))),
    (("ticket_resumed",), (_Step("status = paused_from"),)),
    (
        ("ticket_reopened",),
        (
            _Step("status = 'reopened'"),
            _Step("reopens += 1"),
            _Step(
                "if first_completed is not None and rework_gap is None:\n"
                "    rework_gap = t - first_completed"
            ),
            _Step("completed = None"),
            _Step("closed = None"),
            _Step("abnormal = False"),
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
    (("ticket_escalated",), (_Step("rank = max(rank, p.level.rank)"),)),
    (("ticket_merged",), (_Step("status = 'merged'"),)),
    (("ticket_voided",), (_Step("status = 'voided'"),)),
    (("complaint_marked_invalid",), (_Step("invalid = True"),)),
    (
        ("abnormal_close_requested",),
        (_Step("abnormal_from = status"), _Step("status = 'pending_abnormal_close'")),
    ),
    (("abnormal_close_rejected",), (_Step("status = abnormal_from"),)),
)
_FOLD_END: tuple[_Step, ...] = (
    _Step(
        "if category is None:\n"
        "    category_class = category_discipline = None\n"
        "else:\n"
        "    category_class, category_discipline = _rollup(category)"
    ),
    _Step(
        "if status != 'closed' and status != 'voided' and status != 'merged':\n"
        "    age = _limit - received\n"
        "    since_follow_up = _limit - max(received, follow_up or received)\n"
        "else:\n"
        "    age = since_follow_up = None",
        "as_of",
    ),
    _Step("first_response_bs = _business(_calendar, start, received, first_response)", "calendar"),
    _Step(
        "handoff_bs = _business(\n"
        "    _calendar, start, received, accepted if dispatched is None else dispatched\n"
        ")",
        "calendar",
    ),
    _Step("resolution_bs = _business(_calendar, start, received, completed)", "calendar"),
    _Step("sla = _sla_states(history, stopped_at, _as_of, _policies, _calendars)", "policies"),
)
#: The fields the fold keeps besides :data:`FOLD_FIELDS`.
_FOLD_STATE: Final = frozenset({*FOLD_FIELDS, "paused_from", "abnormal_from"})
#: The option values a statement may read, and how the fold reading its options at run time
#: binds them (``_limit`` and ``_as_of`` are always bound first).
_OPTION_NAMES: Final = {
    "_rollup": "options.rollup or _split_rollup",
    "_calendar": "options.calendar",
    "_policies": "options.policies",
    "_calendars": "options.calendars",
}
#: The option value each kind of :attr:`_Step.needs` tests.
_NEEDS: Final = {"as_of": "_limit", "calendar": "_calendar", "policies": "_policies"}


@cache
def _effects(code: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    """The fold fields a statement sets and reads, and the option values it reads."""
    sets: set[str] = set()
    reads: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            reads.add(node.target.id)
        if isinstance(node, ast.Name):
            (sets if isinstance(node.ctx, ast.Store) else reads).add(node.id)
    options = tuple(n for n in _OPTION_NAMES if n in reads)
    return frozenset(sets & _FOLD_STATE), frozenset(reads & _FOLD_STATE), options


def _business(
    calendar: BusinessCalendar, start: datetime, received: int, end: int | None
) -> int | None:
    """Business seconds from ``start`` (epoch second ``received``) to epoch second ``end``."""
    if end is None:
        return None
    return int(calendar.elapsed(start, start + timedelta(seconds=end - received)).total_seconds())


def _sla_states(
    history: Sequence[Event],
    stopped_at: Event | None,
    as_of: datetime | None,
    policies: PolicySet,
    calendars: Mapping[str, BusinessCalendar] | None,
) -> dict[str, str | None]:
    """The ``sla_*`` columns: each target's first state, at ``as_of`` or the last event used."""
    # The SLA engine reads the events the fold used: the history up to the as-of instant.
    used = list(takewhile(lambda event: event is not stopped_at, history))
    at = as_of if as_of is not None else used[-1].occurred_at
    report = evaluate(used, policies, at, calendars=calendars)
    sla: dict[str, str | None] = dict.fromkeys(_SLA_COLUMNS)
    for state in report.targets:
        key = f"sla_{state.target.value}"
        if sla[key] is None:
            sla[key] = state.status.value
    return sla


def _not_a_history() -> NoReturn:
    raise ValidationError.single(
        "$[0]", "a history starts with ticket_received", subject="ticket history"
    )


def _received_late(first: Event) -> NoReturn:
    raise ValidationError.single(
        "$[0].occurred_at",
        f"ticket {first.ticket_id!r} was received after the as-of instant",
        subject="ticket history",
        hint="use iter_facts(), which skips tickets that did not exist yet",
    )


def _fold_lines(fields: Iterable[str], options: FactOptions | None, indent: str) -> list[str]:
    """The fold of ``history`` into the fold ``fields`` (and what they depend on), as lines.

    With ``options`` the options are decided here: the statements an absent option needs
    become ``field = None``, and the option values (``_limit``, ``_as_of``, ``_rollup``,
    ``_calendar``, ``_policies``, ``_calendars``) are globals of the code. With ``None`` the
    code reads them from the local ``options`` and tests each at run time.
    """
    decided = options is not None
    present = {
        "as_of": options is None or options.as_of is not None,
        "calendar": options is None or options.calendar is not None,
        "policies": options is None or options.policies is not None,
    }
    sections = [_FOLD_START, *(body for _, body in _FOLD_EVENTS), _FOLD_END]
    needed = set(fields)
    # Close the fields over what the statements setting them read.
    grown = True
    while grown:
        grown = False
        for step in (s for body in sections for s in body):
            sets, reads, _ = _effects(step.code)
            if step.needs is not None and not present[step.needs]:
                continue
            if needed & sets and not needed >= reads:
                needed |= reads
                grown = True
    bound = {"_limit", "_as_of"}

    def kept(body: Iterable[_Step], pad: str) -> list[str]:
        out: list[str] = []
        for needs, group in groupby(
            (s for s in body if needed & _effects(s.code)[0]), key=lambda s: s.needs
        ):
            steps = list(group)
            if needs is not None and not present[needs]:
                out += [f"{pad}{f} = None" for s in steps for f in sorted(_effects(s.code)[0])]
                continue
            # Names bound at the top level stay bound; inside an event's branch they do not.
            inner, known = pad, (bound if pad == indent else set(bound))
            if needs is not None and not decided:
                name = _NEEDS[needs]
                if name not in bound:
                    out.append(f"{pad}{name} = {_OPTION_NAMES[name]}")
                    bound.add(name)
                out.append(f"{pad}if {name} is not None:")
                inner, known = pad + "    ", set(bound)  # names bound inside stay inside
            for step in steps:
                for name in _effects(step.code)[2]:
                    if not decided and name not in known:
                        out.append(f"{inner}{name} = {_OPTION_NAMES[name]}")
                        known.add(name)
                out += [inner + line for line in step.code.split("\n")]
            if inner != pad:
                out.append(f"{pad}else:")
                nulls = sorted(f for s in steps for f in _effects(s.code)[0])
                out.append(f"{inner}{' = '.join(nulls)} = None")
        return out

    as_of = present["as_of"]
    # The SLA engine reads the events the fold used: it needs the event the fold stopped at.
    track_stop = "sla" in needed and present["policies"]
    i1, i2 = indent + "    ", indent + "        "
    lines = []
    if not decided:
        lines += [
            f"{indent}_as_of = options.as_of",
            f"{indent}_limit = None if _as_of is None else _ts(_as_of)",
            f"{indent}stop = _NEVER if _limit is None else _limit",
        ]
    lines += [
        f"{indent}it = iter(history)",
        f"{indent}first = next(it, None)",
        f"{indent}if first is None or not isinstance(p0 := first.payload, _TicketReceived):",
        f"{i1}_not_a_history()",
        f"{indent}start = first.occurred_at",
        f"{indent}# Datetimes with the same tzinfo object subtract without calling utcoffset():",
        f"{indent}# with a fixed offset the epoch is expressed in the events' zone (_zone_epoch).",
        f"{indent}zone = start.tzinfo",
        f"{indent}epoch = _ZONE_EPOCHS.get(zone) if type(zone) is _timezone else None",
        f"{indent}if epoch is None or epoch.tzinfo is not zone:",
        f"{i1}epoch = _zone_epoch(zone)",
        f"{indent}d = start - epoch",
        f"{indent}# Whole seconds towards zero, as int(start.timestamp()).",
        f"{indent}received = d.days * 86400 + d.seconds",
        f"{indent}if received < 0 and d.microseconds:",
        f"{i1}received += 1",
    ]
    if not decided:
        lines += [f"{indent}if _limit is not None and received > _limit:"]
    elif as_of:
        lines += [f"{indent}if received > _limit:"]
    if as_of:
        lines += [f"{i1}_received_late(first)"]
    lines += kept(_FOLD_START, indent)
    if track_stop:
        lines.append(f"{indent}stopped_at = None")
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
        lines.append(f"{i1}if t > {'_limit' if decided else 'stop'}:")
        if track_stop:
            lines.append(f"{i2}stopped_at = event")
        lines.append(f"{i2}break")
    lines += [
        f"{i1}p = event.payload",
        f"{i1}k = p.event_type",
        f"{i1}# Most frequent first: the chain is walked once per event.",
    ]
    branch = "if"
    for kinds, body in _FOLD_EVENTS:
        code = kept(body, i2)
        if code:
            test = " or ".join(f"k == {k!r}" for k in kinds)
            lines += [f"{i1}{branch} {test}:", *code]
            branch = "elif"
    lines += kept(_FOLD_END, indent)
    return lines


#: What the fold's code reads besides the history and the options.
_FOLD_GLOBALS: Final[dict[str, Any]] = {
    "_TicketReceived": e.TicketReceived,
    "_ZONE_EPOCHS": _ZONE_EPOCHS,
    "_timezone": timezone,
    "_zone_epoch": _zone_epoch,
    "_ts": _ts,
    "_NEVER": _NEVER,
    "_split_rollup": _split_rollup,
    "_business": _business,
    "_sla_states": _sla_states,
    "_not_a_history": _not_a_history,
    "_received_late": _received_late,
}
_FOLD_FILENAME: Final = "<propcrm fold>"
_FOLD_DOC = '''    """Fold one ticket's events into the values named by FOLD_FIELDS.

    Generated at import by propcrm.metrics.kpi._facts._compile_fold from the statements
    in _FOLD_START, _FOLD_EVENTS and _FOLD_END (the streaming engine inlines the same
    statements: inline_fold); propcrm.metrics.kpi._facts.FOLD_SOURCE is this source.

    Raises:
        ValidationError: The history is empty or does not start with ticket_received,
            or it was received after options.as_of.
    """'''


def _compile_fold() -> tuple[Callable[[Sequence[Event], FactOptions], tuple[Any, ...]], str]:
    """:func:`fold_history` and its source: every fold field, the options read per call."""
    lines = [
        f"# Generated by {__name__}._compile_fold from the _FOLD_* statements there.",
        "def fold_history(history, options):",
        *_FOLD_DOC.split("\n"),
        *_fold_lines(FOLD_FIELDS, None, "    "),
        "    return (",
        *textwrap.wrap(
            ", ".join(FOLD_FIELDS) + ",", 88, initial_indent=" " * 8, subsequent_indent=" " * 8
        ),
        "    )",
    ]
    source = "\n".join(lines) + "\n"
    # Tracebacks through the fold show its lines.
    linecache.cache[_FOLD_FILENAME] = (len(source), None, source.splitlines(True), _FOLD_FILENAME)
    namespace = dict(_FOLD_GLOBALS)
    exec(compile(source, _FOLD_FILENAME, "exec"), namespace)
    fold = namespace["fold_history"]
    fold.__module__ = __name__
    fold.__qualname__ = "fold_history"
    return fold, source


#: Fold one ticket's events into the values named by :data:`FOLD_FIELDS` (``history``,
#: ``options``); raises :class:`~propcrm.errors.ValidationError` when the history is empty,
#: does not start with ``ticket_received`` or starts after ``options.as_of``. Compiled at
#: import from the fold's statements (:data:`FOLD_SOURCE` is its source).
fold_history: Callable[[Sequence[Event], FactOptions], tuple[Any, ...]]
#: The source of :func:`fold_history`.
FOLD_SOURCE: str
fold_history, FOLD_SOURCE = _compile_fold()


def inline_fold(
    fields: Iterable[str], options: FactOptions, indent: str
) -> tuple[list[str], dict[str, Any]]:
    """Source lines folding ``history`` into the fold ``fields`` named, and their globals.

    What :func:`fold_history` computes for those fields (and the fields they depend on), from
    the same statements, as straight-line code to paste into a loop over histories: no call,
    no tuple of every field, no statement for a field nobody reads, the options decided
    (their values are globals). A history the fold refuses raises its error.
    """
    namespace: dict[str, Any] = {
        **_FOLD_GLOBALS,
        "_limit": None if options.as_of is None else _ts(options.as_of),
        "_as_of": options.as_of,
        "_rollup": options.rollup or _split_rollup,
        "_calendar": options.calendar,
        "_policies": options.policies,
        "_calendars": options.calendars,
    }
    return _fold_lines(fields, options, indent), namespace


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
