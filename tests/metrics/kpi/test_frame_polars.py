"""The Polars integer-key path (``polars_cohort``) against the generic narwhals path.

Also the histogram quantile kernel against the sort-once kernel, and the key encoding's
fallbacks (too many keys or days, float values) to the generic path.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import FactOptions, compute_facts, compute_frame, facts_to_arrow
from propcrm.metrics.kpi import _frame_polars as keys_module
from propcrm.metrics.kpi import _frame_ranked as ranked_module
from propcrm.metrics.kpi._facts import ticket_facts
from propcrm.metrics.kpi._frame_polars import DimensionCodes, encode_dimensions
from propcrm.metrics.kpi._frame_ranked import selected_group_quantiles, sorted_group_quantiles
from propcrm.testing.strategies import st_histories

from ._fast_paths import spy, without

pl = pytest.importorskip("polars")
np = pytest.importorskip("numpy")

AS_OF = datetime(2031, 1, 1, tzinfo=timezone.utc)
GROUPINGS = [
    ((), None),
    (("project",), "month"),
    (("kind", "project"), "day"),
    (("channel", "contractor"), "week"),
    (("assignee", "building"), "quarter"),
    (("category",), "year"),
]
WINDOWS = [None, (date(2026, 1, 1), date(2026, 7, 1)), (date(2020, 1, 1), date(2040, 1, 1))]


def generic(frame: Any, **options: Any) -> Any:
    with without("polars_cohort", "polars_quantiles"):
        return compute_frame(frame, **options)


@settings(max_examples=25, deadline=None)
@given(
    histories=st.lists(st_histories(max_commands=12), max_size=8),
    grouping=st.sampled_from(GROUPINGS),
    window=st.sampled_from(WINDOWS),
    lazy=st.booleans(),
)
def test_integer_keys_equal_generic_path_and_stream(
    histories: list,  # type: ignore[type-arg]
    grouping: tuple[tuple[str, ...], str | None],
    window: tuple[date, date] | None,
    lazy: bool,
) -> None:
    group_by, period = grouping
    rows = [ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories]
    frame = pl.from_arrow(facts_to_arrow(rows))
    options: dict[str, Any] = {
        "group_by": group_by,
        "period": period,
        "window": window,
        "as_records": True,
    }
    fast = compute_frame(frame.lazy() if lazy else frame, **options)
    assert fast == generic(frame, **options)
    assert fast == compute_facts(rows, group_by=group_by, period=period, window=window)


def facts_frame(**overrides: Any) -> Any:
    """Six tickets over two projects and two months; a null project and a null duration."""
    columns: dict[str, Any] = {
        "received_at": [1_767_225_600 + i * 20 * 86_400 for i in range(6)],  # 2026-01-01 on
        "project": ["p1", "p1", "p2", "p2", "p1", None],
        "kind": ["repair"] * 6,
        "merged": [False] * 6,
        "voided": [False, False, False, True, False, False],
        "first_response_s": [5, 1, 3, None, 7, 2],
    }
    columns.update(overrides)
    return pl.DataFrame(columns)


DEFINITIONS = ["first_response_median", "first_response_p90", "first_response_rate"]


def run(frame: Any, **options: Any) -> Any:
    return compute_frame(
        frame,
        definitions=[d for d in DEFINITIONS if d != "first_response_rate"],
        group_by=("project",),
        period="month",
        as_records=True,
        **options,
    )


def test_path_is_taken_and_gives_hand_computed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = spy(monkeypatch, "polars_cohort")
    values = run(facts_frame())
    assert taken == [True]
    by = {(v.kpi, v.group[0][1], v.period): v.value for v in values}
    # January: p1 has 5 and 1; February: p2 has 3; March: p1 has 7 (p2's ticket is voided);
    # April: the ticket without a project has 2.
    assert by[("first_response_median", "p1", "2026-01")] == 3.0
    assert by[("first_response_p90", "p1", "2026-01")] == pytest.approx(4.6)
    assert by[("first_response_median", "p2", "2026-02")] == 3.0
    assert by[("first_response_median", "p1", "2026-03")] == 7.0
    assert by[("first_response_median", None, "2026-04")] == 2.0
    assert by[("first_response_median", "p2", "2026-03")] is None  # a group, no value


def test_categorical_and_integer_dimensions_give_the_same_values() -> None:
    plain = run(facts_frame())
    categorical = run(facts_frame().with_columns(pl.col("project").cast(pl.Categorical)))
    assert categorical == plain
    numbered = facts_frame(project=[1, 1, 2, 2, 1, None])
    as_ints = run(numbered)
    assert as_ints == generic(
        numbered,
        definitions=["first_response_median", "first_response_p90"],
        group_by=("project",),
        period="month",
        as_records=True,
    )
    assert {v.group[0][1] for v in as_ints} == {"1", "2", None}


def test_float_values_take_the_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = facts_frame(first_response_s=[5.0, 1.5, 3.0, None, 7.0, 2.0])
    taken = spy(monkeypatch, "polars_cohort")
    values = run(frame)
    assert taken == [False]
    by = {(v.kpi, v.group[0][1], v.period): v.value for v in values}
    assert by[("first_response_median", "p1", "2026-01")] == 3.25


@pytest.mark.parametrize("limit", ["MAX_KEYS", "MAX_DAYS"])
def test_too_many_keys_or_days_fall_back_to_the_generic_path(
    monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    expected = run(facts_frame())
    monkeypatch.setattr(keys_module, limit, 2)
    taken = spy(monkeypatch, "polars_cohort")
    assert run(facts_frame()) == expected
    assert taken == ([] if limit == "MAX_KEYS" else [False])  # MAX_KEYS: dims refused at once


@pytest.mark.parametrize(
    ("frame", "options"),
    [
        # Float epoch seconds (pandas turns a nullable integer column into floats).
        (facts_frame().with_columns(pl.col("received_at").cast(pl.Float64)), {"period": "month"}),
        # A Datetime cohort column, without a period.
        (facts_frame().with_columns(pl.from_epoch("received_at")), {}),
        # India's offset: whole seconds, not whole hours.
        (facts_frame(), {"period": "day", "utc_offset_hours": 5.5}),
        (facts_frame(), {"period": "week", "utc_offset_hours": -3.5}),
    ],
)
def test_other_dates_and_offsets_give_the_generic_values(
    frame: Any, options: dict[str, Any]
) -> None:
    # Found in review: these reached integer day arithmetic and raised.
    common = {"definitions": DEFINITIONS[:2], "group_by": ("project",), "as_records": True}
    assert compute_frame(frame, **common, **options) == generic(frame, **common, **options)


def test_a_cohort_with_no_rows_gives_no_groups() -> None:
    frame = facts_frame(received_at=[None] * 6).with_columns(pl.col("received_at").cast(pl.Int64))
    assert run(frame) == ()


def test_dimension_codes_decode_what_they_encode() -> None:
    frame = pl.DataFrame({"a": ["x", None, "y", "x"], "b": [None, "k", "k", "j"]})
    codes = encode_dimensions(frame, ["a", "b"])
    assert isinstance(codes, DimensionCodes)
    assert codes.size == 3 * 3
    decoded = [codes.decode(int(c)) for c in codes.code]
    assert decoded == list(zip(frame["a"].to_list(), frame["b"].to_list(), strict=True))


QS = (0.5, 0.9, 0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 30),
            st.one_of(st.integers(0, 3), st.integers(0, 5000), st.integers(0, 2**40 - 1)),
        ),
        min_size=1,
        max_size=200,
    ),
    low=st.integers(-(2**40), 2**40),
    coarse=st.booleans(),
)
def test_histogram_select_equals_sort_once(
    data: list[tuple[int, int]], low: int, coarse: bool
) -> None:
    # Coarse: so few bins that the buckets get coarser (fewer mantissa bits, down to none).
    max_bins = 31 * 41 if coarse else 1 << 23
    gid = np.array([g for g, _ in data], dtype=np.int64)
    offset = np.array([v for _, v in data], dtype=np.int64)
    selected = selected_group_quantiles(np, gid, offset.copy(), QS, 31, low, max_bins=max_bins)
    assert selected is not None
    packed = (gid << 40) + offset
    packed.sort()
    present, expected = sorted_group_quantiles(np, packed, 1 << 40, QS, low)
    assert selected[0].tolist() == present.tolist()
    for got, want in zip(selected[1], expected, strict=True):
        assert got.tolist() == want.tolist()


def test_histogram_select_refuses_too_many_groups() -> None:
    gid = np.arange(20, dtype=np.int64)
    assert selected_group_quantiles(np, gid, gid.copy(), (0.5,), 20, max_bins=10) is None


def test_too_many_groups_for_a_histogram_sort_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = run(facts_frame())
    monkeypatch.setattr(ranked_module, "_MAX_BINS", 1)
    assert run(facts_frame()) == expected


@pytest.mark.parametrize("engine", ["polars", "polars-generic", "duckdb", "duckdb-generic"])
def test_nan_and_null_dimension_values_are_one_group(engine: str) -> None:
    # Both read back as None: grouped apart, one group's values overwrote the other's.
    frame = facts_frame(project=[1.0, 1.0, float("nan"), 2.0, 1.0, None])
    native: Any = frame
    if engine.startswith("duckdb"):
        duckdb = pytest.importorskip("duckdb")
        native = duckdb.from_arrow(frame.to_arrow())
    options: dict[str, Any] = {
        "definitions": ["first_response_median"],
        "group_by": ("project",),
        "as_records": True,
    }
    if engine.endswith("generic"):
        with without("polars_cohort", "polars_quantiles", "duckdb_cohorts"):
            values = compute_frame(native, **options)
    else:
        values = compute_frame(native, **options)
    by = {v.group[0][1]: v.value for v in values}
    # 1.0: 5, 1 and 7; 2.0: only a voided ticket; NaN and null: 3 and 2.
    assert by == {"1.0": 5.0, "2.0": None, None: 2.5}
