"""What the streaming engine's generated code assumes of the fact columns.

The history adder skips the null tests of the columns ``FILLED_COLUMNS`` names and tests the
``BOOL_COLUMNS`` by truth; here every row of random histories, under every fact option the
engine tests, must bear that out.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import FACT_COLUMNS, ticket_facts
from propcrm.metrics.kpi._facts import BOOL_COLUMNS, FILLED_COLUMNS
from propcrm.testing.strategies import st_histories

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
