"""The fused history path of the streaming engine against fact rows fed one by one."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propcrm.errors import ValidationError
from propcrm.metrics.calendar import get_calendar
from propcrm.metrics.kpi import (
    DELIVERY_DEFINITIONS,
    FACT_COLUMNS,
    Accumulator,
    AnyOf,
    Cmp,
    FactOptions,
    IsNull,
    Not,
    compute,
    compute_facts,
    get_kpi,
    iter_facts,
    kpi_definitions,
    ticket_facts,
)
from propcrm.metrics.kpi._engine import make_plan
from propcrm.metrics.kpi._facts import FACT_EXPRESSIONS, null_columns
from propcrm.metrics.sla import default_policies
from propcrm.testing.strategies import st_histories

from .test_kpi_hand import AS_OF, histories

# Holiday data ends; weekends stand in after it, so random years still evaluate.
CALENDAR = attrs.evolve(get_calendar("cn-statutory"), beyond_data="weekends_only")
OPTIONS = [
    FactOptions(),
    FactOptions(as_of=datetime(2031, 1, 1, tzinfo=timezone.utc)),
    FactOptions(as_of=datetime(2026, 1, 1, tzinfo=timezone.utc), calendar=CALENDAR),
    FactOptions(
        as_of=datetime(2029, 6, 1, tzinfo=timezone.utc),
        policies=default_policies(),
        calendars={"cn-statutory": CALENDAR},
    ),
]
GROUPINGS = [
    ((), None),
    (("kind", "project"), "month"),
    (("channel", "contractor"), "week"),
    (("category_class", "priority"), "quarter"),
    (("responsible_party",), "day"),
    (("assignee", "building"), "year"),
]
WINDOWS = [None, (date(2024, 1, 1), date(2027, 1, 1))]
# Custom KPIs whose conditions the options can decide: empty SLA states, business times and
# ages make IsNull true, Not and AnyOf partly decided.
_BASE = get_kpi("complaint_handling_rate")
CUSTOM = [
    attrs.evolve(_BASE, name="no_sla_state", numerator=IsNull("sla_closure")),
    attrs.evolve(
        _BASE,
        name="not_breached_or_quick",
        numerator=AnyOf(
            (Not(Cmp("sla_resolution", "==", "breached")), Cmp("resolution_bs", "<", 3600))
        ),
    ),
    attrs.evolve(
        _BASE,
        name="aged_or_unmeasured",
        numerator=AnyOf((Cmp("age_s", ">", 86400), IsNull("handoff_bs"))),
        denominator=Not(IsNull("first_response_s")),
    ),
]
ZONES = [None, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))]


def _in_zone(history: list[Any], zone: timezone | None) -> list[Any]:
    if zone is None:
        return history
    return [attrs.evolve(ev, occurred_at=ev.occurred_at.astimezone(zone)) for ev in history]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    stories=st.lists(st_histories(max_commands=12), max_size=6),
    options=st.sampled_from(OPTIONS),
    grouping=st.sampled_from(GROUPINGS),
    window=st.sampled_from(WINDOWS),
    zone=st.sampled_from(ZONES),
)
def test_histories_equal_their_fact_rows(
    stories: list[list[Any]],
    options: FactOptions,
    grouping: tuple[tuple[str, ...], str | None],
    window: tuple[date, date] | None,
    zone: timezone | None,
) -> None:
    group_by, period = grouping
    hs = [_in_zone(h, zone) for h in stories]
    rows = list(iter_facts(hs, options))
    kw: dict[str, Any] = {"group_by": group_by, "period": period, "window": window}
    fused = compute(hs, extra=CUSTOM, options=options, **kw)
    by_rows = compute_facts(rows, extra=CUSTOM, **kw)
    assert fused == by_rows


def test_the_hand_story_through_both_paths() -> None:
    options = FactOptions(as_of=AS_OF)
    rows = [ticket_facts(h, options) for h in histories()]
    for group_by, period in GROUPINGS:
        fused = compute(histories(), group_by=group_by, period=period, options=options)
        assert fused == compute_facts(rows, group_by=group_by, period=period), group_by


def test_every_fact_column_has_an_expression() -> None:
    assert list(FACT_EXPRESSIONS) == list(FACT_COLUMNS)


def test_columns_known_empty_are_empty_in_the_rows() -> None:
    for options in OPTIONS:
        nulls = null_columns(options)
        for row in iter_facts(histories(), options):
            assert all(row[c] is None for c in nulls), sorted(nulls)
    assert "sla_resolution" in null_columns(FactOptions())
    assert "sla_resolution" not in null_columns(OPTIONS[3])


def test_a_custom_kpi_reading_an_unknown_column_fails_as_on_rows() -> None:
    odd = attrs.evolve(kpi_definitions()[0], name="odd", numerator=Cmp("no_such", "==", 1))
    with pytest.raises(KeyError, match="no_such"):
        compute(histories(), definitions=[odd])
    with pytest.raises(KeyError, match="no_such"):
        compute_facts(iter_facts(histories()), definitions=[odd])


def test_a_bad_history_is_refused() -> None:
    story = histories()[0]
    acc = Accumulator(make_plan([*kpi_definitions(), *DELIVERY_DEFINITIONS]))
    with pytest.raises(ValidationError, match="ticket_received"):
        acc.add_histories([story[1:]])
