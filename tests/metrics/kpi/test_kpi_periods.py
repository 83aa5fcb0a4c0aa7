"""Period keys in frames equal the Python ones, on both floor-division spellings."""

from __future__ import annotations

import pytest

from propcrm.metrics.kpi._periods import PERIODS, period_key, with_period

OFFSET = 8 * 3600
# Midnight boundaries (local and UTC), leap days, year ends, and instants before 1970.
INSTANTS = [
    -86400 * 365 - 1,
    -OFFSET - 1,
    -OFFSET,
    -1,
    0,
    951_782_399 - OFFSET,  # 2000-02-28 23:59:59 local
    951_868_800 - OFFSET,  # 2000-03-01 00:00 local
    1_767_196_799 - OFFSET,  # 2025-12-31 23:59:59 local
    1_767_196_800 - OFFSET,  # 2026-01-01 00:00 local
    4_102_444_799,
]


@pytest.mark.parametrize("backend", ["duckdb", "polars", "pandas"])
@pytest.mark.parametrize("period", PERIODS)
def test_frame_period_keys_equal_python(backend: str, period: str) -> None:
    nw = pytest.importorskip("narwhals")
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"t": pa.array(INSTANTS, type=pa.int64())})
    native = {
        "duckdb": lambda: pytest.importorskip("duckdb").from_arrow(table),
        "polars": lambda: pytest.importorskip("polars").from_arrow(table),
        "pandas": lambda: table.to_pandas(),
    }[backend]()
    expected = [period_key(t, period, OFFSET) for t in INSTANTS]
    for native_floordiv in (True, False):
        frame = with_period(
            nw, nw.from_native(native), "t", period, OFFSET, native_floordiv=native_floordiv
        ).select("t", "_period")
        if isinstance(frame, nw.LazyFrame):
            frame = frame.collect()
        got = dict(zip(*frame.to_dict(as_series=False).values(), strict=True))
        assert [int(got[t]) for t in INSTANTS] == expected, native_floordiv
