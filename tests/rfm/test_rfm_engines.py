"""Pure Python and narwhals over pandas, Polars and DuckDB give identical scores."""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest
from _rfm_helpers import frame, rows_of, rows_of_result
from hypothesis import given
from hypothesis import strategies as st

from propcrm.errors import OptionalDependencyError
from propcrm.metrics.rfm import (
    MODES,
    PROPERTY_WEIGHTS,
    PURCHASE_WEIGHTS,
    Columns,
    Thresholds,
    Transaction,
    TransactionType,
    score,
    score_frame,
)

pytest.importorskip("narwhals")
pytest.importorskip("pyarrow")

AS_OF = date(2024, 6, 30)
SMALL = Thresholds(
    recency_days=(30, 90, 365, 700), frequency=(2, 3, 4, 6), monetary=(50, 200, 800, 2000)
)
ENGINES = ["pandas", "polars", "duckdb"]


@st.composite
def transactions(draw: st.DrawFn) -> list[Transaction]:
    customers = draw(
        st.lists(
            st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "业主1", "Z"]),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    rows = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(list(TransactionType)))
        cents = draw(st.integers(0, 300_000))
        order = draw(st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3"])))
        rows.append(
            Transaction.from_cents(
                draw(st.sampled_from(customers)),
                AS_OF - timedelta(days=draw(st.integers(-30, 900))),
                cents,
                type=kind,
                order_id=order,
            )
        )
    return rows


def _columns() -> Columns:
    return Columns(type="type", order_id="order_id")


@pytest.mark.parametrize("engine", ENGINES)
@given(
    ids=st.lists(st.integers(0, 50), min_size=1, max_size=30),
    days=st.data(),
    mode=st.sampled_from(MODES),
)
def test_integer_ids_purchases_only(
    engine: str, ids: list[int], days: st.DataObject, mode: str
) -> None:
    """Integer ids, purchases only, no type or order column: the engines' fastest path."""
    pytest.importorskip(engine)
    rows = [
        Transaction.from_cents(
            i,
            AS_OF - timedelta(days=days.draw(st.integers(-5, 400))),
            days.draw(st.integers(1, 10_000)),
        )
        for i in ids
    ]
    expected = score(rows, as_of=AS_OF, mode=mode, thresholds=SMALL)  # type: ignore[arg-type]
    native = frame(engine, rows, purchases_only=True)
    got = score_frame(native, as_of=AS_OF, mode=mode, thresholds=SMALL)  # type: ignore[arg-type]
    assert rows_of(got.frame) == rows_of_result(expected)
    assert got.thresholds == expected.thresholds


@pytest.mark.parametrize("engine", ENGINES)
@given(
    rows=transactions(),
    mode=st.sampled_from(MODES),
    bins=st.sampled_from([3, 5]),
    relationship=st.booleans(),
    total=st.booleans(),
)
def test_frames_equal_pure_python(
    engine: str, rows: list[Transaction], mode: str, bins: int, relationship: bool, total: bool
) -> None:
    pytest.importorskip(engine)
    thresholds = (
        SMALL
        if bins == 5
        else Thresholds(recency_days=(30, 365), frequency=(2, 4), monetary=(100, 1000))
    )
    settings = {
        "as_of": AS_OF,
        "mode": mode,
        "bins": bins,
        "monetary": "total" if total else "average",
        "thresholds": thresholds,
        "weights": PROPERTY_WEIGHTS if relationship else PURCHASE_WEIGHTS,
    }
    expected = score(rows, **settings)  # type: ignore[arg-type]
    got = score_frame(frame(engine, rows), columns=_columns(), **settings)  # type: ignore[arg-type]
    assert rows_of(got.frame) == rows_of_result(expected)
    assert got.thresholds == expected.thresholds


@given(rows=transactions(), mode=st.sampled_from(MODES), seed=st.integers(0, 2**32))
def test_row_order_does_not_matter(rows: list[Transaction], mode: str, seed: int) -> None:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    first = score(rows, as_of=AS_OF, mode=mode, thresholds=SMALL)  # type: ignore[arg-type]
    second = score(shuffled, as_of=AS_OF, mode=mode, thresholds=SMALL)  # type: ignore[arg-type]
    assert first == second


@pytest.mark.parametrize("engine", ENGINES)
def test_frame_in_frame_type_out(engine: str) -> None:
    pytest.importorskip(engine)
    rows = [Transaction(customer_id="a", date=date(2024, 1, 1), amount=Decimal("10.05"))]
    native = frame(engine, rows)
    out = score(native, as_of=AS_OF, columns=_columns())
    assert type(out).__module__.split(".")[0] == type(native).__module__.split(".")[0]
    assert rows_of(out)[0][3] == 1005


def test_frames_without_narwhals_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    native = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [100]}
    )
    monkeypatch.setitem(sys.modules, "narwhals.stable.v2", None)
    with pytest.raises(OptionalDependencyError, match=r'pip install "propcrm\[frames\]"'):
        score(native, as_of=AS_OF)


def test_importing_rfm_loads_no_dataframe_library() -> None:
    import subprocess

    code = (
        "import sys, propcrm.metrics.rfm; "
        "names = ('narwhals', 'numpy', 'pyarrow', 'pandas', 'polars'); "
        "print(sorted(m for m in names if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
