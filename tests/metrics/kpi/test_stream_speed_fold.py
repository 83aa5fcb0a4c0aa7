"""What the streaming engine's generated code assumes of the fact columns.

The history adder skips the null tests of the columns ``FILLED_COLUMNS`` names and tests the
``BOOL_COLUMNS`` by truth; here every row of random histories, under every fact option the
engine tests, must bear that out. The fold itself is generated from one set of statements
(``_facts._FOLD_*``) twice: whole as ``fold_history`` and pruned to the fields asked for as the
history adder's inline fold (``inline_fold``). Both must give the values of a plainly written
reference fold, every field, alone or with others.
"""

from __future__ import annotations

import linecache
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propcrm.errors import ValidationError
from propcrm.metrics.kpi import FACT_COLUMNS, ticket_facts
from propcrm.metrics.kpi._facts import (
    BOOL_COLUMNS,
    FILLED_COLUMNS,
    FOLD_FIELDS,
    FOLD_SOURCE,
    FactOptions,
    fold_history,
    inline_fold,
)
from propcrm.metrics.sla import SlaTarget, evaluate
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


_COMPILED: dict[tuple[tuple[str, ...], int], Any] = {}


def _inline(fields: tuple[str, ...], options: FactOptions) -> Any:
    """``histories -> [(field values...) per history]`` through the inline fold."""
    key = (fields, id(options))
    if key not in _COMPILED:
        lines, namespace = inline_fold(fields, options, " " * 8)
        source = [
            "def _fold_all(histories):",
            "    out = []",
            "    for history in histories:",
            *lines,
            f"        out.append(({', '.join(fields)},))",
            "    return out",
        ]
        exec(compile("\n".join(source), "<test-inline-fold>", "exec"), namespace)
        _COMPILED[key] = namespace["_fold_all"]
    return _COMPILED[key]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _seconds(at: datetime) -> int:
    """Whole epoch seconds, towards zero (as ``int(at.timestamp())``), exactly."""
    us = (at - _EPOCH) // timedelta(microseconds=1)
    return us // 10**6 if us >= 0 else -(-us // 10**6)


def _reference_fold(history: list[Event], options: FactOptions) -> dict[str, Any]:
    """The fold written plainly: a dict of state, payload classes, every value recomputed.

    The fold proper (``fold_history``, ``inline_fold``) is generated from statements per
    event type; this is the independent check of what those statements say.
    """
    first, p0 = history[0], history[0].payload
    assert isinstance(p0, ev.TicketReceived)
    limit = None if options.as_of is None else _seconds(options.as_of)
    received = _seconds(first.occurred_at)
    s: dict[str, Any] = dict.fromkeys(FOLD_FIELDS)
    s.update(
        ticket_id=first.ticket_id,
        kind=p0.kind,
        channel=p0.channel,
        priority=p0.priority,
        severity=p0.severity,
        category=p0.category_code,
        scope=p0.scope,
        location=p0.location,
        party=p0.responsible_party,
        status="received",
        invalid=False,
        received=received,
        reopens=0,
        abnormal=False,
        rank=0,
        revisits=0,
    )
    back = {"paused": "received", "abnormal": "received"}  # where a resume / refusal returns
    used = [first]
    for event in history[1:]:
        t, p = _seconds(event.occurred_at), event.payload
        if limit is not None and t > limit:
            break
        used.append(event)
        if isinstance(p, ev.TicketDispatched | ev.TicketReassigned):
            s["status"], s["assignee"] = "dispatched", p.assignee
            s["party"] = s["party"] if p.party is None else p.party
            s["dispatched"] = s["dispatched"] or t
        elif isinstance(p, ev.TicketAccepted):
            s["status"], s["accepted"] = "accepted", s["accepted"] or t
        elif isinstance(p, ev.HandlerArrived):
            s["status"], s["arrived"] = "arrived", s["arrived"] or t
        elif isinstance(p, ev.WorkStarted):
            s["status"] = "in_progress"
        elif isinstance(p, ev.TicketCompleted):
            s["status"], s["completed"] = "completed", t
            s["first_completed"] = s["first_completed"] or t
        elif isinstance(p, ev.TicketClosed):
            s["status"], s["closed"], s["abnormal"] = "closed", t, p.abnormal
        elif isinstance(p, ev.RevisitRecorded):
            s["status"] = "revisited" if s["status"] == "completed" else s["status"]
            s["revisits"] += 1
            s["revisited"], s["first_revisit"] = t, s["first_revisit"] or t
            s["satisfied"] = p.satisfaction.is_satisfied
        elif isinstance(p, ev.CustomerResponded):
            s["first_response"] = s["first_response"] or t
        elif isinstance(p, ev.WorkLogAdded | ev.FollowUpRecorded):
            s["follow_up"] = t
        elif isinstance(p, ev.TicketBouncedBack):
            s["status"], s["assignee"] = "received", None
        elif isinstance(p, ev.TicketPaused):
            back["paused"], s["status"] = s["status"], "paused"
        elif isinstance(p, ev.TicketResumed):
            s["status"] = back["paused"]
        elif isinstance(p, ev.AbnormalCloseRequested):
            back["abnormal"], s["status"] = s["status"], "pending_abnormal_close"
        elif isinstance(p, ev.AbnormalCloseRejected):
            s["status"] = back["abnormal"]
        elif isinstance(p, ev.TicketReopened):
            s["status"] = "reopened"
            s["reopens"] += 1
            if s["first_completed"] is not None and s["rework_gap"] is None:
                s["rework_gap"] = t - s["first_completed"]
            s["completed"] = s["closed"] = None
            s["abnormal"] = False
        elif isinstance(p, ev.TicketClassified):
            for field, value in (
                ("category", p.category_code),
                ("kind", p.kind),
                ("priority", p.priority),
                ("severity", p.severity),
                ("party", p.responsible_party),
            ):
                if value is not None:
                    s[field] = value
        elif isinstance(p, ev.TicketEscalated):
            s["rank"] = max(s["rank"], p.level.rank)
        elif isinstance(p, ev.TicketMerged):
            s["status"] = "merged"
        elif isinstance(p, ev.TicketVoided):
            s["status"] = "voided"
        elif isinstance(p, ev.ComplaintMarkedInvalid):
            s["invalid"] = True
    if s["category"] is not None:
        rollup = options.rollup or (lambda c: (c.split(".")[0], ".".join(c.split(".")[:2])))
        s["category_class"], s["category_discipline"] = rollup(s["category"])
        if options.rollup is None and "." not in s["category"]:
            s["category_discipline"] = None
    if limit is not None and s["status"] not in ("closed", "voided", "merged"):
        s["age"] = limit - received
        s["since_follow_up"] = limit - max(received, s["follow_up"] or received)
    if options.calendar is not None:
        handoff = s["accepted"] if s["dispatched"] is None else s["dispatched"]
        for field, end in (
            ("first_response_bs", s["first_response"]),
            ("handoff_bs", handoff),
            ("resolution_bs", s["completed"]),
        ):
            if end is not None:
                until = first.occurred_at + timedelta(seconds=end - received)
                s[field] = int(options.calendar.elapsed(first.occurred_at, until).total_seconds())
    if options.policies is not None:
        at = options.as_of or used[-1].occurred_at
        report = evaluate(used, options.policies, at, calendars=options.calendars)
        sla: dict[str, Any] = {f"sla_{target.value}": None for target in SlaTarget}
        for state in report.targets:
            sla[f"sla_{state.target.value}"] = sla[f"sla_{state.target.value}"] or (
                state.status.value
            )
        s["sla"] = sla
    return s


def _check_folds(histories: list[list[Event]], options: FactOptions) -> None:
    """``fold_history`` gives the reference's values, and the inline fold the same values
    for every field asked, all at once and each alone (alone, the inline fold keeps only the
    statements the field depends on, so each field's dependencies are checked too)."""
    want = [_reference_fold(h, options) for h in histories]
    folds = [dict(zip(FOLD_FIELDS, fold_history(h, options), strict=True)) for h in histories]
    for got, ref in zip(folds, want, strict=True):
        assert got == ref, [(f, got[f], ref[f]) for f in FOLD_FIELDS if got[f] != ref[f]]
    for chosen in (FOLD_FIELDS, *((f,) for f in FOLD_FIELDS)):
        assert _inline(chosen, options)(histories) == [
            tuple(fold[f] for f in chosen) for fold in folds
        ], chosen


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st_histories(), min_size=1, max_size=4), st.sampled_from(OPTIONS))
def test_folds_equal_the_reference(histories: list[list[Any]], options: FactOptions) -> None:
    _check_folds(
        [h for h in histories if options.as_of is None or h[0].occurred_at <= options.as_of],
        options,
    )


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


_OTHER_ROLLUP = FactOptions(rollup=lambda code: (code[:1], code[::-1]))


@pytest.mark.parametrize(
    "options",
    [
        *OPTIONS,
        FactOptions(as_of=datetime(2030, 6, 20, tzinfo=timezone.utc)),
        attrs.evolve(OPTIONS[2], as_of=None),
        attrs.evolve(OPTIONS[3], as_of=None),
        _OTHER_ROLLUP,
    ],
)
def test_folds_equal_the_reference_in_any_order(options: FactOptions) -> None:
    histories = [
        h
        for h in _any_order_histories(400, seed=11)
        if options.as_of is None or h[0].occurred_at <= options.as_of
    ]
    _check_folds(histories, options)


def test_fold_refusals() -> None:
    history = _any_order_histories(1, seed=1)[0]
    early = FactOptions(as_of=history[0].occurred_at - timedelta(seconds=1))
    lines, namespace = inline_fold(["status"], early, "")
    source = "\n".join(["def inline(history):", *("    " + x for x in lines)])
    exec(compile(source, "<test-inline-fold>", "exec"), namespace)
    for fold, bad, options, message in (
        (fold_history, [], FactOptions(), "starts with ticket_received"),
        (fold_history, history[1:], FactOptions(), "starts with ticket_received"),
        (fold_history, history, early, "after the as-of instant"),
        (lambda h, _: namespace["inline"](h), history, early, "after the as-of instant"),
    ):
        with pytest.raises(ValidationError, match=message):
            fold(bad, options)


def test_the_generated_fold_shows_its_source() -> None:
    code = fold_history.__code__  # type: ignore[attr-defined]
    assert code.co_filename == "<propcrm fold>"
    assert FOLD_SOURCE.splitlines()[code.co_firstlineno - 1].startswith("def fold_history(")
    assert (
        linecache.getline(code.co_filename, code.co_firstlineno)
        == (FOLD_SOURCE.splitlines(True)[code.co_firstlineno - 1])
    )
    assert fold_history.__doc__ and "_FOLD_START" in fold_history.__doc__
    # An escalation without its level fails inside the fold, on the line reading it.
    first = _any_order_histories(1, seed=1)[0][0]
    broken = ev.TicketEscalated.__new__(ev.TicketEscalated)
    bad = [first, attrs.evolve(first, sequence=2, payload=broken)]
    with pytest.raises(AttributeError) as info:
        fold_history(bad, FactOptions())
    frame = info.traceback[-1]
    assert str(frame.path) == "<propcrm fold>"
    assert "p.level.rank" in str(frame.statement)
