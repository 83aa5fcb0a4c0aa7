"""The dataframe engine: narwhals aggregates in the caller's backend, numpy scores (private).

narwhals, numpy and pyarrow are imported lazily, only when a frame is scored.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import attrs

from propcrm._optional import require_module
from propcrm.errors import PropcrmError, ValidationError
from propcrm.metrics.rfm._model import Thresholds, TransactionType, Weights
from propcrm.metrics.rfm._python import integer_weights
from propcrm.metrics.rfm._result import UsedThresholds
from propcrm.metrics.rfm._rules import (
    DIMENSIONS,
    Dimension,
    Mode,
    MonetaryKind,
    dense_cuts,
    fixed_cuts,
    natural,
    ntile_start,
    r_quantile_cuts,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["Columns", "ScoredFrame", "is_frame", "score_native"]

_FRAMES_HINT = 'install the dataframe extra: pip install "propcrm[frames]"'


def _require(name: str) -> ModuleType:
    return require_module(name, extra="frames", feature="scoring a dataframe")


def is_frame(value: object) -> bool:
    """True when ``value`` looks like a dataframe of a backend narwhals may know.

    Decided without importing narwhals: by the module the value's class comes from.
    """
    # Extension classes may live in a private module (duckdb 1.x: ``_duckdb``).
    module = type(value).__module__.split(".")[0].lstrip("_")
    return module in {
        "pandas",
        "polars",
        "duckdb",
        "pyarrow",
        "pyspark",
        "modin",
        "cudf",
        "dask",
        "narwhals",
        "ibis",
        "sqlframe",
    }


@attrs.frozen(kw_only=True)
class Columns:
    """Column names of a transactions frame, and how to read integer amounts.

    Attributes:
        customer_id: Customer id column (string or integer).
        date: Date or datetime column; datetimes are cut to their date.
        amount: Money column: Decimal, or integers. Floats are refused.
        type: Transaction type column (``"purchase"``, ``"refund"`` …), or ``None`` when every row
            is a purchase.
        order_id: Order id column, or ``None`` when every purchase row is its own order.
        integer_amounts: ``"cents"`` (default) reads integer amounts as fen; ``"units"`` as yuan.
    """

    customer_id: str = "customer_id"
    date: str = "date"
    amount: str = "amount"
    type: str | None = None
    order_id: str | None = None
    integer_amounts: Literal["cents", "units"] = "cents"


@attrs.frozen(kw_only=True)
class ScoredFrame:
    """Scores as a frame of the caller's type, with the thresholds used.

    Attributes:
        frame: A native frame (pandas, Polars, DuckDB … as given) with the columns
            ``customer_id``, ``recency_days``, ``frequency``, ``monetary_cents``, ``r_score``,
            ``f_score``, ``m_score`` (and ``segment`` when a map was given), sorted by customer id.
        thresholds: The breaks used, in natural units.
    """

    frame: Any
    thresholds: UsedThresholds


def _amount_expr(nw: Any, schema: Any, columns: Columns) -> Any:
    dtype = schema[columns.amount]
    col = nw.col(columns.amount)
    if dtype.is_integer():
        factor = 100 if columns.integer_amounts == "units" else 1
        return (col.cast(nw.Int64) * factor).alias("_cents")
    if isinstance(dtype, nw.Decimal):
        scale = getattr(dtype, "scale", None)
        if scale is not None and scale > 2:
            raise ValidationError.single(
                f"$.{columns.amount}",
                f"decimal amounts with scale {scale} may hold fractions of a fen",
                hint="cast the column to a decimal with scale 2 (yuan and fen) or integer cents",
            )
        return (col * 100).cast(nw.Int64).alias("_cents")
    raise ValidationError.single(
        f"$.{columns.amount}",
        f"amount column has dtype {dtype}; floats cannot hold 10.05 exactly",
        hint="store amounts as integer cents or as a decimal column, never as floats",
    )


def _collect(frame: Any, nw: Any) -> Any:
    return frame.collect() if isinstance(frame, nw.LazyFrame) else frame


def _check(frame: Any, nw: Any, columns: Columns, as_of: date) -> tuple[bool, bool]:
    """One pass over the rows: nulls, negative amounts, unknown types.

    Returns:
        Whether every amount is positive (then the zero-amount rule has nothing to do), and
        whether any row is dated after ``as_of`` (else the date filter is skipped).
    """
    needed = [columns.customer_id, columns.date, columns.amount]
    if columns.type is not None:
        needed.append(columns.type)
    exprs = [nw.col(c).null_count().alias(c) for c in needed]
    negative = nw.col("_cents") < 0
    if columns.type is not None:
        negative = negative & (nw.col(columns.type) != TransactionType.REFUND.value)
    exprs.append(negative.cast(nw.Int64).sum().alias("_negative"))
    exprs.append((nw.col("_cents") <= 0).cast(nw.Int64).sum().alias("_not_positive"))
    exprs.append((nw.col("_date") > as_of).cast(nw.Int64).sum().alias("_later"))
    known = sorted(t.value for t in TransactionType)
    if columns.type is not None:
        exprs.append((~nw.col(columns.type).is_in(known)).cast(nw.Int64).sum().alias("_unknown"))
    row = _collect(frame.select(*exprs), nw).rows(named=True)[0]
    for name in needed:
        if row[name]:
            raise ValidationError.single(
                f"$.{name}",
                f"{row[name]} missing values",
                subject="transactions",
                hint="drop or fill rows without a customer, date, amount or type first",
            )
    if row["_negative"]:
        raise ValidationError.single(
            f"$.{columns.amount}",
            f"{row['_negative']} negative amounts outside refunds",
            subject="transactions",
            hint="record money returned to the customer as transactions of type 'refund'",
        )
    if columns.type is not None and row["_unknown"]:
        found = _collect(frame.select(columns.type).unique(), nw)
        unknown = sorted({str(v) for v in found[columns.type].to_list()} - set(known))
        if unknown:
            raise ValidationError.single(
                f"$.{columns.type}",
                f"unknown transaction types {unknown}",
                subject="transactions",
                hint="use " + ", ".join(sorted(known)),
            )
    return not row["_not_positive"], bool(row["_later"])


def _aggregate(
    native: Any, nw: Any, columns: Columns, as_of: date, weights: Weights
) -> tuple[Any, int, dict[TransactionType, int], dict[TransactionType, int]]:
    frame = nw.from_native(native)
    schema = frame.collect_schema() if isinstance(frame, nw.LazyFrame) else frame.schema
    for name in [columns.customer_id, columns.date, columns.amount, columns.type, columns.order_id]:
        if name is not None and name not in schema:
            raise ValidationError.single(
                f"$.{name}",
                f"column {name!r} not found; the frame has {list(schema)}",
                subject="transactions",
                hint="name your columns with propcrm.metrics.rfm.Columns(...)",
            )
    date_type = schema[columns.date]
    if not (date_type == nw.Date or isinstance(date_type, nw.Datetime)):
        raise ValidationError.single(
            f"$.{columns.date}",
            f"date column has dtype {date_type}",
            hint="parse it to a date or datetime column first",
        )
    frame = frame.with_columns(
        _amount_expr(nw, schema, columns), nw.col(columns.date).cast(nw.Date).alias("_date")
    )
    all_positive, any_later = _check(frame, nw, columns, as_of)
    scale, kf, km = integer_weights(weights)
    if all_positive and columns.type is None and columns.order_id is None:
        dense = _dense_integer_ids(frame, nw, columns, as_of, any_later)
        if dense is not None:
            return dense, scale, kf, km
    if frame.implementation.name == "POLARS" and isinstance(frame, nw.DataFrame):
        frame = frame.lazy()  # let Polars fuse the filter, the columns and the group-by
    if any_later:
        frame = frame.filter(nw.col("_date") <= as_of)
    cents, when = nw.col("_cents"), nw.col("_date")
    if columns.type is None:
        is_purchase: Any = nw.lit(True)
        is_refund: Any = nw.lit(False)
        signed = cents
    else:
        kind = nw.col(columns.type)
        is_purchase = kind == TransactionType.PURCHASE.value
        is_refund = kind == TransactionType.REFUND.value
        signed = (
            nw.when(is_refund)
            .then(-cents.abs())
            .otherwise(nw.when(is_purchase).then(cents).otherwise(0))
        )
    loose = is_purchase & (cents > 0)
    if columns.order_id is not None:
        loose = loose & nw.col(columns.order_id).is_null()
    others = [
        t
        for t in TransactionType
        if t not in (TransactionType.PURCHASE, TransactionType.REFUND) and (kf[t] or km[t])
    ]
    if columns.type is None:
        others = []
    # Plain columns first, so every backend aggregates with simple sums and maxima.
    prepared = [
        signed.alias("_signed"),
        nw.when(loose).then(when).alias("_loose_date"),
        loose.cast(nw.Int64).alias("_loose"),
    ]
    aggs = [
        nw.col("_signed").sum().alias("_net"),
        nw.col("_loose_date").max().alias("_last"),
        nw.col("_loose").sum().alias("_orders"),
    ]
    for t in others:
        is_t = nw.col(columns.type) == t.value
        prepared.append(is_t.cast(nw.Int64).alias(f"_n_{t.value}"))
        prepared.append(nw.when(is_t).then(cents).otherwise(0).alias(f"_c_{t.value}"))
        aggs.append(nw.col(f"_n_{t.value}").sum().alias(f"_n_{t.value}"))
        aggs.append(nw.col(f"_c_{t.value}").sum().alias(f"_c_{t.value}"))
    if columns.order_id is not None:
        prepared.append(nw.when(is_purchase).then(when).alias("_purchase_date"))
        prepared.append(
            (~nw.col(columns.order_id).is_null() & (is_purchase | is_refund)).alias("_in_order")
        )
    if all_positive and columns.type is None and columns.order_id is None:
        # only purchases, each its own order, none of zero: every row counts
        aggs = [
            nw.col("_cents").sum().alias("_net"),
            nw.col("_date").max().alias("_last"),
            nw.len().alias("_orders"),
        ]
        prepared = []
    if prepared:
        frame = frame.with_columns(*prepared)
    per_customer = frame.group_by(columns.customer_id).agg(*aggs)
    if columns.order_id is not None:
        by_order = (
            frame.filter(nw.col("_in_order"))
            .group_by(columns.customer_id, columns.order_id)
            .agg(
                nw.col("_signed").sum().alias("_onet"),
                nw.col("_purchase_date").max().alias("_odate"),
            )
            .filter((nw.col("_onet") > 0) & ~nw.col("_odate").is_null())
            .group_by(columns.customer_id)
            .agg(nw.col("_odate").max().alias("_olast"), nw.len().alias("_ocount"))
        )
        per_customer = (
            per_customer.join(by_order, on=columns.customer_id, how="left")
            .with_columns(
                nw.max_horizontal(nw.col("_last"), nw.col("_olast")).alias("_last"),
                (nw.col("_orders") + nw.col("_ocount").fill_null(0).cast(nw.Int64)).alias(
                    "_orders"
                ),
            )
            .drop("_olast", "_ocount")
        )
    counts = ["_net", "_orders", *(f"_{p}_{t.value}" for t in others for p in "nc")]
    per_customer = per_customer.with_columns(
        *(nw.col(c).cast(nw.Int64) for c in counts),
        # prospects have no last purchase; any date does, they are masked out by _orders == 0
        nw.col("_last").fill_null(as_of),
    )
    result = _collect(per_customer.sort(columns.customer_id), nw)
    np = _require("numpy")
    arrays = {name: result[name].to_numpy() for name in result.columns if name.startswith("_")}
    arrays["ids"] = result[columns.customer_id].to_numpy()
    arrays["_last"] = _days(np, result["_last"])
    return arrays, scale, kf, km


def _days(np: Any, series: Any) -> Any:
    """Days since 1970-01-01 of a date series, vectorised through Arrow (no Python objects)."""
    dates = series.to_arrow().to_numpy(zero_copy_only=False)
    return dates.astype("datetime64[D]", copy=False).view(np.int64)


def _dense_integer_ids(
    frame: Any, nw: Any, columns: Columns, as_of: date, any_later: bool
) -> dict[str, Any] | None:
    """Aggregate with numpy when ids are small non-negative integers and rows are purchases.

    Counting, summing and taking maxima by id with ``bincount`` and ``ufunc.at`` is several
    times faster than a hash group-by and gives the same integers; ``None`` when it does not
    apply (lazy frames, string ids, sparse ids).
    """
    if not isinstance(frame, nw.DataFrame) or not frame.schema[columns.customer_id].is_integer():
        return None
    np = _require("numpy")
    ids = frame[columns.customer_id].to_numpy()
    if len(ids) == 0:
        return None
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high > 4 * len(ids) + 1_000_000:
        return None
    days = _days(np, frame["_date"])
    cents = frame["_cents"].to_numpy().astype(np.int64, copy=False)
    ids = ids.astype(np.int64, copy=False)
    if any_later:
        keep = days <= np.datetime64(as_of, "D").astype(np.int64)
        ids, days, cents = ids[keep], days[keep], cents[keep]
    orders = np.bincount(ids, minlength=high + 1)
    net = np.zeros(high + 1, dtype=np.int64)
    np.add.at(net, ids, cents)
    last = np.full(high + 1, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, ids, days)
    present = np.flatnonzero(orders)
    return {
        "ids": present.astype(np.int64),
        "_last": last[present],
        "_orders": orders[present].astype(np.int64, copy=False),
        "_net": net[present],
    }


def _div_half_even(
    np: Any, numerator: npt.NDArray[Any], denominator: npt.NDArray[Any] | int
) -> npt.NDArray[Any]:
    quotient, remainder = np.divmod(numerator, denominator)
    twice = 2 * remainder
    bump = (twice > denominator) | ((twice == denominator) & (quotient % 2 == 1))
    result: npt.NDArray[Any] = quotient + bump.astype(quotient.dtype)
    return result


def _ntile_by_selection(
    np: Any, dimension: Dimension, x: npt.NDArray[Any], low: int, bins: int, scale: int
) -> tuple[npt.NDArray[Any], tuple[Decimal | None, ...]]:
    """NTILE without a full sort: select the keys that open each bucket, then bisect.

    Each customer gets the unique key ``(x - low) * n + position`` (the position is the
    customer-id order), so the keys sort exactly as (value, id). The customer at sorted position
    ``p`` is in bucket ``1 + #{bucket starts <= p}``, which is ``1 + #{opening keys <= key}``.
    """
    n = len(x)
    keys = (x - low) * n + np.arange(n, dtype=np.int64)
    starts = [ntile_start(s, n, bins) for s in range(2, bins + 1)]
    present = [p for p in starts if p < n]
    opening = np.partition(keys, present)[present] if present else keys[:0]
    scores = 1 + np.searchsorted(opening, keys, side="right")
    values = iter(int(k) // n + low for k in opening)
    breaks = tuple(natural(dimension, next(values), scale) if p < n else None for p in starts)
    return scores, breaks


def _score_column(
    np: Any,
    dimension: Dimension,
    x: npt.NDArray[Any],
    mode: Mode,
    bins: int,
    thresholds: Thresholds,
    scale: int,
) -> tuple[npt.NDArray[Any], tuple[Decimal | None, ...]]:
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64), (None,) * (bins - 1)
    if mode == "quantile":
        low, high = int(x.min()), int(x.max())
        if (high - low + 1) * n < 2**62:
            return _ntile_by_selection(np, dimension, x, low, bins, scale)
        order = np.argsort(x, kind="stable")
        position = np.arange(n, dtype=np.int64)
        size, bigger = divmod(n, bins)
        boundary = bigger * (size + 1)
        bucket = np.where(
            position < boundary,
            position // (size + 1) + 1,
            bigger + (position - boundary) // max(size, 1) + 1,
        )
        scores = np.empty(n, dtype=np.int64)
        scores[order] = bucket
        starts = np.searchsorted(bucket, np.arange(2, bins + 1), side="left")
        ordered = x[order]
        breaks = tuple(
            natural(dimension, int(ordered[i]), scale) if i < n and bucket[i] == s else None
            for s, i in zip(range(2, bins + 1), starts, strict=False)
        )
        return scores, breaks
    reported: tuple[Decimal | None, ...]
    if mode == "fixed":
        cut_list, given = fixed_cuts(dimension, thresholds, scale)
        reported = given
    elif mode == "r_compatible":
        ordered = np.sort(-x if dimension == "r" else x)
        cut_list, reported = r_quantile_cuts(dimension, ordered, bins, scale)
    else:
        optional = dense_cuts(np.unique(x), bins)
        cut_list = [c for c in optional if c is not None]
        reported = tuple(None if c is None else natural(dimension, c, scale) for c in optional)
    cuts = np.asarray(cut_list, dtype=np.int64)
    return 1 + np.searchsorted(cuts, x, side="right"), reported


def score_native(
    native: Any,
    *,
    as_of: date,
    mode: Mode,
    bins: int,
    monetary: MonetaryKind,
    thresholds: Thresholds,
    weights: Weights,
    columns: Columns,
    segment_lookup: list[str | None] | None = None,
) -> ScoredFrame:
    """Score a native frame; return a native frame of the same kind and the thresholds."""
    nw = _require("narwhals.stable.v2")
    np = _require("numpy")
    pa = _require("pyarrow")
    implementation = nw.from_native(native).implementation
    agg, scale, kf, km = _aggregate(native, nw, columns, as_of, weights)
    ids = agg["ids"]
    last_days = agg["_last"]
    orders = agg["_orders"].astype(np.int64, copy=False)
    net = agg["_net"].astype(np.int64, copy=False)
    f_scaled = kf[TransactionType.PURCHASE] * orders
    m_scaled = km[TransactionType.PURCHASE] * net
    for t in TransactionType:
        name = f"_n_{t.value}"
        if name in agg:
            f_scaled = f_scaled + kf[t] * agg[name].astype(np.int64)
            m_scaled = m_scaled + km[t] * agg[f"_c_{t.value}"].astype(np.int64)
    scored = orders > 0
    as_of_days = np.datetime64(as_of, "D").astype(np.int64)
    recency = as_of_days - last_days
    if monetary == "total":
        money = _div_half_even(np, m_scaled, scale)
    else:
        money = _div_half_even(np, m_scaled, scale * np.maximum(orders, 1))
    values: dict[Dimension, Any] = {
        "r": -recency[scored],
        "f": f_scaled[scored],
        "m": money[scored],
    }
    n = len(ids)
    scores: dict[Dimension, Any] = {}
    breaks: dict[Dimension, tuple[Decimal | None, ...]] = {}
    for dimension in DIMENSIONS:
        got, breaks[dimension] = _score_column(
            np, dimension, values[dimension], mode, bins, thresholds, scale
        )
        full = np.zeros(n, dtype=np.int64)
        full[scored] = got
        scores[dimension] = full
    missing = ~scored
    data = {
        columns.customer_id: pa.array(ids),
        "recency_days": pa.array(recency, mask=missing, type=pa.int64()),
        "frequency": pa.array(f_scaled, type=pa.int64())
        if scale == 1
        else pa.array(f_scaled / scale, type=pa.float64()),
        "monetary_cents": pa.array(money, mask=missing, type=pa.int64()),
        "r_score": pa.array(scores["r"], mask=missing, type=pa.int64()),
        "f_score": pa.array(scores["f"], mask=missing, type=pa.int64()),
        "m_score": pa.array(scores["m"], mask=missing, type=pa.int64()),
    }
    if segment_lookup is not None:
        cell = ((scores["r"] - 1) * bins + (scores["f"] - 1)) * bins + (scores["m"] - 1)
        labels = np.asarray(segment_lookup, dtype=object)
        data["segment"] = pa.array(labels[np.where(scored, cell + 1, 0)], type=pa.string())
    table = pa.table(data)
    return ScoredFrame(
        frame=_to_native(table, implementation, nw),
        thresholds=UsedThresholds(
            recency_days=breaks["r"], frequency=breaks["f"], monetary=breaks["m"]
        ),
    )


def _to_native(table: Any, implementation: Any, nw: Any) -> Any:
    name = str(implementation.name).lower()
    if name == "pyarrow":
        return table
    if name == "pandas":
        pd = _require("pandas")
        pa = _require("pyarrow")
        mapping = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype()}
        return table.to_pandas(types_mapper=mapping.get)
    if name == "polars":
        pl = _require("polars")
        return pl.from_arrow(table)
    if name == "duckdb":
        duckdb = _require("duckdb")
        return duckdb.from_arrow(table)
    frame = nw.from_native(table)
    try:
        return frame.lazy(backend=implementation).to_native()
    except Exception as error:  # narwhals raises several types for backends it cannot build
        raise PropcrmError(
            f"cannot build a result frame for backend {name}",
            hint="pass a pandas, Polars or DuckDB frame",
        ) from error
