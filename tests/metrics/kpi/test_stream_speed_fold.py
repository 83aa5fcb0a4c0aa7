"""What the streaming engine's generated code assumes of the fact columns.

The history adder skips the null tests of the columns ``FILLED_COLUMNS`` names and tests the
``BOOL_COLUMNS`` by truth; here every row of random histories, under every fact option the
engine tests, must bear that out. It also folds inline (``inline_fold``): that fold must give
``fold_history``'s values for every field it is asked for, alone or with others.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import FACT_COLUMNS, ticket_facts
from propcrm.metrics.kpi._facts import (
    BOOL_COLUMNS,
    FILLED_COLUMNS,
    FOLD_FIELDS,
    FactOptions,
    fold_history,
    inline_fold,
)
from propcrm.model import (
    Actor,
    Channel,
    EscalationLevel,
    OrgScope,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    TicketKind,
)
from propcrm.testing.strategies import st_histories
from propcrm.workflow import Event
from propcrm.workflow import events as ev

from .test_stream_histories import OPTIONS


def test_the_assumed_columns_are_fact_columns() -> None:
    assert set(FACT_COLUMNS) >= FILLED_COLUMNS
    assert BOOL_COLUMNS <= FILLED_COLUMNS
    assert all(FACT_COLUMNS[c] == "bool" for c in BOOL_COLUMNS)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st_histories(), st.sampled_from(OPTIONS))
def test_filled_columns_are_never_empty(history: list[Any], options: Any) -> None:
    if options.as_of is not None and history[0].occurred_at > options.as_of:
        return  # not a ticket yet at the as-of instant: no row
    row = ticket_facts(history, options)
    assert all(row[c] is not None for c in FILLED_COLUMNS)
    assert all(type(row[c]) is bool for c in BOOL_COLUMNS)


#: What the inline fold covers: every fold field but the business times and SLA states (left
#: to ``fold_history``), the ages only with an as-of instant.
_INLINE_FIELDS = [
    f for f in FOLD_FIELDS if f not in ("first_response_bs", "handoff_bs", "resolution_bs", "sla")
]
_INLINE_OPTIONS = [o for o in OPTIONS if o.calendar is None and o.policies is None]


_COMPILED: dict[tuple[tuple[str, ...], int], Any] = {}


def _inline(fields: tuple[str, ...], options: FactOptions) -> Any:
    """``histories -> [(field values...) per history]`` through the inline fold."""
    key = (fields, id(options))
    if key not in _COMPILED:
        made = inline_fold(fields, options, " " * 8)
        assert made is not None
        lines, namespace = made
        source = [
            "def _fold_all(histories):",
            "    out = []",
            "    for h in histories:",
            *lines,
            f"        out.append(({', '.join(fields)},))",
            "    return out",
        ]
        exec(compile("\n".join(source), "<test-inline-fold>", "exec"), namespace)
        _COMPILED[key] = namespace["_fold_all"]
    return _COMPILED[key]


def test_no_inline_fold_with_a_calendar_or_policies() -> None:
    assert [inline_fold(["status"], o, "") is None for o in OPTIONS] == [
        o.calendar is not None or o.policies is not None for o in OPTIONS
    ]


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st_histories(), min_size=1, max_size=4), st.sampled_from(_INLINE_OPTIONS))
def test_inline_fold_equals_fold_history(histories: list[list[Any]], options: FactOptions) -> None:
    fields = tuple(
        f
        for f in _INLINE_FIELDS
        if options.as_of is not None or f not in ("age", "since_follow_up")
    )
    kept = [h for h in histories if options.as_of is None or h[0].occurred_at <= options.as_of]
    folds = [dict(zip(FOLD_FIELDS, fold_history(h, options), strict=True)) for h in kept]
    # Every field at once, and each alone: alone, the inline fold keeps only the statements
    # the field depends on, so each field's dependencies are checked too.
    for chosen in (fields, *((f,) for f in fields)):
        want = [tuple(fold[f] for f in chosen) for fold in folds]
        assert _inline(chosen, options)(kept) == want, chosen


def _any_order_histories(n: int, seed: int) -> list[list[Event]]:
    """Histories of every event type in any order (the fold does not check the lifecycle):
    pauses and resumes, reopenings after completion, abnormal closes asked and refused,
    zones switching mid-history, instants before 1970 with microseconds."""
    rng = random.Random(seed)
    actor = Actor(id="t", role=Role.SUPERVISOR)
    payloads: list[Any] = [
        ev.TicketClassified(category_code="R.P.1", kind=TicketKind.COMPLAINT),
        ev.TicketClassified(priority=Priority.P1, responsible_party="SUB-9"),
        ev.CustomerResponded(message="m"),
        ev.TicketDispatched(party="GC", assignee="a1"),
        ev.TicketDispatched(party=None, assignee=None),
        ev.TicketAccepted(),
        ev.TicketBouncedBack(reason="r"),
        ev.TicketReassigned(party="PM", assignee="a2", reason="r"),
        ev.HandlerArrived(),
        ev.WorkStarted(),
        ev.TicketPaused(reason=PauseReason.OTHER),
        ev.TicketResumed(),
        ev.TicketCompleted(result="ok"),
        ev.RevisitRecorded(satisfaction=Satisfaction.SATISFIED, resolved=True),
        ev.RevisitRecorded(satisfaction=Satisfaction.DISSATISFIED, resolved=False),
        ev.TicketClosed(),
        ev.TicketClosed(abnormal=True),
        ev.TicketReopened(reason="r"),
        ev.TicketEscalated(level=EscalationLevel.MANAGEMENT, reason="r"),
        ev.TicketEscalated(level=EscalationLevel.TEAM_LEAD, reason="r"),
        ev.TicketMerged(into_ticket_id="t0"),
        ev.TicketVoided(reason="r"),
        ev.ComplaintMarkedInvalid(reason="r"),
        ev.AbnormalCloseRequested(reason="r", approvers=frozenset({"x"})),
        ev.AbnormalCloseApproved(party="x"),
        ev.AbnormalCloseRejected(party="x", reason="r"),
        ev.WorkLogAdded(note="n"),
        ev.FollowUpRecorded(note="n"),
    ]
    zones = [timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=8))]
    out = []
    for i in range(n):
        at = datetime(rng.choice([1969, 2025, 2030]), 6, 1, tzinfo=timezone.utc)
        at += timedelta(seconds=rng.randrange(86400 * 30), microseconds=rng.randrange(10**6))
        received = ev.TicketReceived(
            kind=rng.choice(list(TicketKind)),
            channel=Channel.HOTLINE,
            scope=OrgScope(company_id="co", project_id=f"p{i % 3}"),
            description="d",
            category_code=rng.choice([None, "R", "R.P.2"]),
            responsible_party=rng.choice([None, "PM", "SUB-1"]),
        )
        history = []
        for k, payload in enumerate([received, *rng.choices(payloads, k=rng.randrange(12))]):
            history.append(
                Event(
                    event_id=f"t{i}/{k + 1}",
                    ticket_id=f"t{i}",
                    sequence=k + 1,
                    occurred_at=at.astimezone(rng.choice(zones)),
                    actor=actor,
                    payload=payload,
                )
            )
            at += timedelta(seconds=rng.randrange(3 * 86400), microseconds=rng.randrange(10**6))
        out.append(history)
    return out


@pytest.mark.parametrize(
    "options",
    [FactOptions(), FactOptions(as_of=datetime(2030, 6, 20, tzinfo=timezone.utc))],
)
def test_inline_fold_equals_fold_history_in_any_order(options: FactOptions) -> None:
    histories = [
        h
        for h in _any_order_histories(400, seed=11)
        if options.as_of is None or h[0].occurred_at <= options.as_of
    ]
    fields = tuple(
        f
        for f in _INLINE_FIELDS
        if options.as_of is not None or f not in ("age", "since_follow_up")
    )
    folds = [dict(zip(FOLD_FIELDS, fold_history(h, options), strict=True)) for h in histories]
    for chosen in (fields, *((f,) for f in fields)):
        want = [tuple(fold[f] for f in chosen) for fold in folds]
        assert _inline(chosen, options)(histories) == want, chosen
