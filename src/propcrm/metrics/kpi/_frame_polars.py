"""Integer group keys for the Polars fast path: dimensions encoded once, periods by lookup.

The generic path groups every cohort by the dimension values and a period key computed per
row (string hashing and a dozen integer steps, once per cohort and per query). Here each
dimension is encoded once per frame as a dense code (its position among the column's distinct
values, nulls last), and a cohort's period comes from a table indexed by the local day: a row's
key is one int64, ``dims code * periods + period index``, and the rows outside the cohort (null
cohort date, outside the window) get the key one past the last. Counting group-bys then hash
one integer column, and the quantile kernel reads the keys as group ids without a lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from propcrm.metrics.calendar._sources import require_module
from propcrm.metrics.kpi._periods import period_key

__all__ = ["CohortKeys", "DimensionCodes", "cohort_keys", "encode_dimensions"]

_FEATURE = "computing KPIs on a dataframe"
#: More keys than this (dimension combinations × periods) and the generic path groups instead
#: (group ids must also fit above the 40 value bits of the quantile kernels' sort keys).
MAX_KEYS = 1 << 22
#: More local days than this (179 years) between a cohort's first and last date: generic path.
MAX_DAYS = 1 << 16


@attrs.frozen
class DimensionCodes:
    """Each row's combined dimension code, and how to read a code back.

    Attributes:
        code: int64 numpy array, one code per row (mixed radix over the dimensions).
        values: Per dimension, the distinct values in code order (``None`` last, always present).
    """

    code: Any
    values: tuple[tuple[Any, ...], ...]

    @property
    def size(self) -> int:
        """How many combined codes there can be."""
        size = 1
        for v in self.values:
            size *= len(v)
        return size

    def decode(self, code: int) -> tuple[Any, ...]:
        """The dimension values of a combined code."""
        out = []
        for v in reversed(self.values):
            code, at = divmod(code, len(v))
            out.append(v[at])
        return tuple(reversed(out))


@attrs.frozen
class CohortKeys:
    """One cohort's row keys.

    Attributes:
        key: int64 numpy array; ``size`` for rows outside the cohort.
        size: The number of possible keys (``dims.size * len(periods)``).
        periods: The period key (or ``None`` without a period) of each period index.
        dims: The frame's dimension codes.
    """

    key: Any
    size: int
    periods: tuple[int | None, ...]
    dims: DimensionCodes

    def decode(self, key: int) -> tuple[Any, ...]:
        """The raw group key: the dimension values, then the period key when grouped by one."""
        code, at = divmod(key, len(self.periods))
        period = self.periods[at]
        return self.dims.decode(code) + (() if period is None else (period,))


def encode_dimensions(frame: Any, dims: Sequence[str]) -> DimensionCodes | None:
    """Dense codes of the dimension columns of an eager Polars frame, or ``None`` (too many)."""
    pl = require_module("polars", extra="frames", feature=_FEATURE)
    np = require_module("numpy", extra="frames", feature=_FEATURE)
    code = np.zeros(frame.height, dtype=np.int64)
    values: list[tuple[Any, ...]] = []
    size = 1
    for d in dims:
        column = frame.get_column(d)
        source = pl.col(d)
        if column.dtype.is_float():  # NaN groups with null: both read back as None
            column, source = column.fill_nan(None), source.fill_nan(None)
        distinct = column.unique().drop_nulls().sort()
        size *= len(distinct) + 1
        if size > MAX_KEYS:
            return None
        n = len(distinct)
        if frame.schema[d] == pl.String:
            # An Enum's physical codes are the positions in its categories: one lookup a row.
            expr = source.cast(pl.Enum(distinct.to_list())).to_physical()
        else:
            positions = pl.int_range(n, eager=True, dtype=pl.Int64)
            expr = source.replace_strict(distinct, positions, return_dtype=pl.Int64)
        codes = frame.select(expr.cast(pl.Int64).fill_null(n)).to_series().to_numpy()
        code *= n + 1
        code += codes
        values.append((*distinct.to_list(), None))
    return DimensionCodes(code=code, values=tuple(values))


def cohort_keys(
    frame: Any,
    dims: DimensionCodes,
    column: str,
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
) -> CohortKeys | None:
    """Each row's key in one cohort (rows dated by ``column``), or ``None`` (generic path).

    The cohort column must hold integer epoch seconds and the offset be whole seconds: float,
    temporal or text dates take the generic path.
    """
    pl = require_module("polars", extra="frames", feature=_FEATURE)
    np = require_module("numpy", extra="frames", feature=_FEATURE)
    dtype = frame.schema[column]
    if not dtype.is_integer() or dtype == pl.UInt64 or offset_seconds != int(offset_seconds):
        return None
    offset_seconds = int(offset_seconds)
    stamp = pl.col(column)
    inside = stamp.is_not_null()
    if bounds is not None:
        inside = inside & (stamp >= bounds[0]) & (stamp < bounds[1])
    exprs = [inside.fill_null(False).alias("inside")]
    if period is not None:
        exprs.append(((stamp.cast(pl.Int64) + offset_seconds) // 86400).fill_null(0).alias("day"))
    got = frame.select(*exprs)
    inside_np = got.get_column("inside").to_numpy()
    if period is None:
        periods: tuple[int | None, ...] = (None,)
        key = dims.code.copy()
    else:
        days = got.get_column("day").to_numpy()
        counted = days[inside_np]
        if len(counted) == 0:
            first = last = 0
        else:
            first, last = int(counted.min()), int(counted.max())
        if last - first >= MAX_DAYS:
            return None
        # The period index of every local day in range: consecutive days share a period.
        keys_by_day = [period_key(d * 86400, period, 0) for d in range(first, last + 1)]
        starts = [0]
        starts += [i for i in range(1, len(keys_by_day)) if keys_by_day[i] != keys_by_day[i - 1]]
        index_by_day = np.zeros(len(keys_by_day), dtype=np.int64)
        index_by_day[starts[1:]] = 1
        index_by_day = np.cumsum(index_by_day)
        periods = tuple(keys_by_day[s] for s in starts)
        offset = days - first
        offset[~inside_np] = 0  # their key is replaced below
        key = dims.code * len(periods)
        key += index_by_day[offset]
    size = dims.size * len(periods)
    if size > MAX_KEYS:
        return None
    key[~inside_np] = size
    return CohortKeys(key=key, size=size, periods=periods, dims=dims)
