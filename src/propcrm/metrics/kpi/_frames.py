"""The dataframe engine: the same slots, written once in narwhals for every backend.

narwhals and pyarrow are imported lazily, when a frame is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from types import ModuleType
from typing import Any

from propcrm.metrics.calendar._sources import OptionalDependencyError, require_module
from propcrm.metrics.kpi._conditions import Cond, col_names, conjunct_names, conjuncts, to_expr
from propcrm.metrics.kpi._definitions import KpiDefinition
from propcrm.metrics.kpi._engine import (
    Households,
    KpiValue,
    Plan,
    Slot,
    check_group_by,
    check_source_dimensions,
    finalise,
    make_plan,
    resolve_definitions,
    window_bounds,
)
from propcrm.metrics.kpi._facts import DIMENSIONS
from propcrm.metrics.kpi._frame_polars import (
    CohortKeys,
    DimensionCodes,
    cohort_keys,
    encode_dimensions,
)
from propcrm.metrics.kpi._frame_ranked import arrow_int64, grouped_quantiles, polars_quantiles
from propcrm.metrics.kpi._frame_sql import duckdb_cohorts
from propcrm.metrics.kpi._periods import with_period

__all__ = ["compute_frame", "frame_slots", "rows_to_frame", "values_to_frame"]

_FEATURE = "computing KPIs on a dataframe"


def _nw() -> ModuleType:
    return require_module("narwhals", extra="frames", feature=_FEATURE)


def _count_dtype(nw: Any, impl: Any) -> Any:
    """The type a 0/1 count input is summed as, the cheapest exact one per backend.

    Polars sums booleans directly (no 8-byte column per slot); DuckDB sums ``BIGINT`` into
    128-bit accumulators, ``DOUBLE`` into plain ones, exact for counts below 2**53; other
    backends get ``Int64``.
    """
    if impl.is_polars():
        return None
    if impl.is_duckdb():
        return nw.Float64
    return nw.Int64


def _slot_input(nw: Any, s: Slot, names: Mapping[Cond, str], count_dtype: Any = None) -> Any:
    """The per-row input of a slot: 0/1 for counts, the value or null for statistics.

    Conjuncts were computed once as boolean columns (``names``); slots combine them.
    """
    parts = [nw.col(names[p]) for p in dict.fromkeys(conjuncts(s.cond))]
    cond = parts[0] if parts else nw.lit(True)
    for p in parts[1:]:
        cond = cond & p
    if s.stat == "nonnull":
        cond = cond & ~nw.col(s.column).is_null()
    if s.stat in ("count", "nonnull"):
        return cond if count_dtype is None else cond.cast(count_dtype)
    return nw.when(cond).then(nw.col(s.column))


def _slot_agg(nw: Any, s: Slot, source: str, alias: str | None = None) -> Any:
    """The elementary aggregation of a slot's input column (fast on every backend)."""
    c = nw.col(source)
    if s.stat in ("count", "nonnull", "sum"):
        out = c.sum()
    elif s.stat == "median":
        out = c.median()
    else:
        out = c.quantile(0.9, interpolation="linear")
    return out.alias(alias or source)


def _grouped(nw: Any, picked: Any, keys: Sequence[str], aggs: Sequence[Any]) -> Any:
    """One group-by (or one whole-frame aggregation without keys), collected."""
    if keys:
        grouped = picked.group_by(*keys, drop_null_keys=False).agg(*aggs)
    else:
        grouped = picked.select(*aggs, nw.len().alias("_n"))
    if isinstance(grouped, nw.LazyFrame):
        grouped = grouped.collect()
    return grouped


def _merge(
    found: dict[tuple[Any, ...], list[float | None]],
    data: Mapping[str, Sequence[Any]],
    keys: Sequence[str],
    chosen: Sequence[int],
    n_slots: int,
    period: str | None,
    *,
    skip_empty: bool = True,
) -> None:
    """Copy the slot columns of a group-by result into ``found``, group by group."""
    for r in range(len(data[f"_s{chosen[0]}"])):
        if not keys and skip_empty and data["_n"][r] == 0:
            continue
        key = tuple(_key(data[k][r], k == "_period") for k in keys)
        if period is None:
            key += (None,)
        values = found.get(key)
        if values is None:
            values = found[key] = [None] * n_slots
        for i in chosen:
            values[i] = data[f"_s{i}"][r]


def _key(value: Any, is_period: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN from pandas
            return None
        return int(value) if is_period else str(value)
    return int(value) if is_period else str(value)


def frame_slots(
    frame: Any,
    plan: Plan,
    source: str,
    *,
    group_by: Sequence[str],
    period: str | None,
    utc_offset_hours: int = 8,
    window: tuple[date, date] | None = None,
) -> dict[tuple[str, str], dict[tuple[Any, ...], list[float | None]]]:
    """Fill the slots of ``source``'s cohorts from a native frame, one group-by per cohort."""
    nw = _nw()
    df = nw.from_native(frame)
    dims = [DIMENSIONS[g] for g in group_by]
    bounds = window_bounds(window, utc_offset_hours)
    out: dict[tuple[str, str], dict[tuple[Any, ...], list[float | None]]] = {}
    cohorts = {key: slots for key, slots in plan.slots.items() if key[0] == source}
    polars = bool(cohorts) and df.implementation.is_polars()
    keyed = _polars_keyed(df, dims, cohorts) if polars else None  # encoded once, for every cohort
    if isinstance(df, nw.DataFrame) and df.implementation.is_polars():
        df = df.lazy()  # one optimised query per cohort instead of eager steps
    by_sql_all: Mapping[str, Any] = {}
    if df.implementation.is_duckdb():
        # Every cohort at once: the median/P90 rows are fetched first and their quantiles
        # computed on a worker thread while DuckDB runs the counting queries.
        by_sql_all = (
            duckdb_cohorts(
                df.to_native(),
                {column: slots for (_, column), slots in cohorts.items()},
                dims,
                period,
                utc_offset_hours * 3600,
                bounds,
            )
            or {}  # a switched-off fast path (tests, the benchmark's generic run)
        )
    for (src, column), slots in cohorts.items():
        fast = by_sql_all.get(column)
        if keyed is not None:
            fast = polars_cohort(nw, *keyed, slots, column, period, utc_offset_hours * 3600, bounds)
        if fast is not None:  # raw keys: the dimension values, then the period key
            out[(src, column)] = {
                tuple(_key(v, k == len(dims)) for k, v in enumerate(key))
                + ((None,) if period is None else ()): values
                for key, values in fast
            }
            continue
        rows = df.filter(~nw.col(column).is_null())
        if bounds is not None:
            rows = rows.filter((nw.col(column) >= bounds[0]) & (nw.col(column) < bounds[1]))
        keys = [f"_g{i}" for i in range(len(dims))]
        if dims:
            schema = df.collect_schema()
            rows = rows.with_columns(
                *(
                    # NaN groups with null: both read back as None.
                    (nw.col(d).fill_nan(None) if schema[d].is_float() else nw.col(d)).alias(k)
                    for d, k in zip(dims, keys, strict=True)
                )
            )
        if period is not None:
            impl = df.implementation
            rows = with_period(
                nw,
                rows,
                column,
                period,
                utc_offset_hours * 3600,
                native_floordiv=impl.is_polars() or impl.is_pandas_like(),
            )
            keys.append("_period")
        names = conjunct_names(s.cond for s in slots)
        rows = rows.with_columns(*(to_expr(c, nw).alias(n) for c, n in names.items()))
        # Sums and counts in one group-by, medians and P90s in another: mixed with exact
        # quantiles, engines fall back to their slow per-group path for every aggregation.
        simple = [i for i, s in enumerate(slots) if s.stat not in ("median", "p90")]
        ranked = [i for i, s in enumerate(slots) if s.stat in ("median", "p90")]
        found: dict[tuple[Any, ...], list[float | None]] = {}
        groups = None  # the distinct keys, native Polars, from the counting group-by
        if simple:
            count_dtype = _count_dtype(nw, df.implementation)
            picked = rows.select(
                *keys,
                *(_slot_input(nw, slots[i], names, count_dtype).alias(f"_s{i}") for i in simple),
            )
            data = _grouped(nw, picked, keys, [_slot_agg(nw, slots[i], f"_s{i}") for i in simple])
            if keys and df.implementation.is_polars():
                groups = data.select(*keys).to_native()
            _merge(found, data.to_dict(as_series=False), keys, simple, len(slots), period)
        if ranked:
            # A median and a P90 of the same values share one input column.
            inputs: dict[tuple[Cond, str | None], str] = {}
            for i in ranked:
                inputs.setdefault((slots[i].cond, slots[i].column), f"_s{i}")
            source_of = {i: inputs[(slots[i].cond, slots[i].column)] for i in ranked}
            picked = rows.select(
                *keys,
                *(_slot_input(nw, slots[int(n[2:])], names).alias(n) for n in inputs.values()),
            )
            fast = None
            if df.implementation.is_polars():
                wanted: dict[str, list[tuple[str, float]]] = {}
                for i in ranked:
                    q = 0.5 if slots[i].stat == "median" else 0.9
                    wanted.setdefault(source_of[i], []).append((f"_s{i}", q))
                fast = polars_quantiles(picked.to_native(), keys, wanted, groups)
            if fast is not None:
                _merge(found, fast, keys, ranked, len(slots), period, skip_empty=False)
            else:
                aggs = [_slot_agg(nw, slots[i], source_of[i], f"_s{i}") for i in ranked]
                data = _grouped(nw, picked, keys, aggs)
                _merge(found, data.to_dict(as_series=False), keys, ranked, len(slots), period)
        out[(src, column)] = found
    return out


def _polars_keyed(
    df: Any, dims: Sequence[str], cohorts: Mapping[tuple[str, str], Sequence[Slot]]
) -> tuple[Any, DimensionCodes] | None:
    """An eager Polars frame of the columns the cohorts read, and its dimension codes.

    A lazy frame is collected once here, with only those columns (instead of once per
    cohort and query). ``None`` where the integer keys do not apply (too many combinations).
    """
    columns = set(dims)
    for (_, column), slots in cohorts.items():
        columns.add(column)
        for s in slots:
            columns |= col_names(s.cond)
            if s.column is not None:
                columns.add(s.column)
    native = df.to_native()
    present = [c for c in native.collect_schema().names() if c in columns]
    if len(present) < len(columns):
        return None  # a missing column: the generic path raises the engine's own error
    eager = native if not hasattr(native, "collect") else native.select(present).collect()
    codes = encode_dimensions(eager, dims)
    return None if codes is None else (eager, codes)


def polars_cohort(
    nw: Any,
    frame: Any,
    codes: DimensionCodes,
    slots: Sequence[Slot],
    column: str,
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
) -> list[tuple[tuple[Any, ...], list[Any]]] | None:
    """Every slot of one cohort on an eager Polars frame with integer group keys, or ``None``.

    Counts and sums are one group-by on the key column; medians and P90s go to the histogram
    quantile kernel with the keys as group ids. Returns ``(raw key values, slot values)`` per
    group: the dimension values, then the period key when ``period`` is given.
    """
    pl = require_module("polars", extra="frames", feature=_FEATURE)
    np = require_module("numpy", extra="frames", feature=_FEATURE)
    ranked = [i for i, s in enumerate(slots) if s.stat in ("median", "p90")]
    schema = frame.schema
    for i in ranked:
        dtype = schema[slots[i].column]
        if not dtype.is_integer() or dtype == pl.UInt64:
            return None  # floats: the generic path's exact engine quantiles
    keys: CohortKeys | None = cohort_keys(frame, codes, column, period, offset_seconds, bounds)
    if keys is None:
        return None
    counts = np.bincount(keys.key, minlength=keys.size + 1)[: keys.size]
    present = np.flatnonzero(counts)
    if len(present) == 0:
        return []
    position = np.full(keys.size + 1, -1, dtype=np.int64)
    position[present] = np.arange(len(present))
    names = conjunct_names(s.cond for s in slots)
    rows = nw.from_native(frame.with_columns(pl.Series("_k", keys.key))).lazy()
    rows = rows.with_columns(*(to_expr(c, nw).alias(n) for c, n in names.items()))
    by_slot: list[list[Any] | None] = [None] * len(slots)
    simple = [i for i in range(len(slots)) if i not in ranked]
    if simple:
        picked = rows.select(
            "_k", *(_slot_input(nw, slots[i], names).alias(f"_s{i}") for i in simple)
        )
        data = picked.group_by("_k").agg(*(_slot_agg(nw, slots[i], f"_s{i}") for i in simple))
        native = data.collect().to_native()
        found_keys = native.get_column("_k").to_numpy()
        inside = found_keys < keys.size
        order = position[found_keys[inside]]
        for i in simple:
            column_values: list[Any] = [None] * len(present)
            for at, v in zip(
                order.tolist(), native.get_column(f"_s{i}").to_numpy()[inside].tolist(), strict=True
            ):
                column_values[at] = v
            by_slot[i] = column_values
    if ranked:
        inputs: dict[tuple[Cond, str | None], str] = {}
        for i in ranked:
            inputs.setdefault((slots[i].cond, slots[i].column), f"_v{len(inputs)}")
        picked = rows.select(
            *(
                _slot_input(nw, Slot("median", cond, value), names).cast(nw.Int64).alias(name)
                for (cond, value), name in inputs.items()
            )
        )
        values = picked.collect().to_native()
        in_cohort = keys.key < keys.size
        columns: dict[str, tuple[Any, Any]] = {}
        for name in inputs.values():
            valid, raw = arrow_int64(np, values.get_column(name).rechunk().to_arrow())
            columns[name] = (valid & in_cohort, raw)
        wanted: dict[str, list[tuple[str, float]]] = {}
        for i in ranked:
            q = 0.5 if slots[i].stat == "median" else 0.9
            wanted.setdefault(inputs[(slots[i].cond, slots[i].column)], []).append((f"_s{i}", q))
        found = grouped_quantiles(np, position[keys.key], columns, wanted, len(present))
        if found is None:
            return None  # values spanning 2**40 or more: the generic path
        for i in ranked:
            by_slot[i] = found.get(f"_s{i}", [None] * len(present))
    return [
        (keys.decode(k), [column_values[g] for column_values in by_slot])  # type: ignore[index]
        for g, k in enumerate(present.tolist())
    ]


_RESULT_STR = ("kpi", "period", "unit", "direction", "cohort", "exclusions", "label_zh", "label_en")


def values_to_frame(values: Sequence[KpiValue], group_by: Sequence[str], like: Any) -> Any:
    """KPI values as a native frame of ``like``'s backend (pyarrow for plain Python input)."""
    pa = require_module("pyarrow", extra="frames", feature=_FEATURE)
    fields = [("kpi", pa.string())]
    fields += [(g, pa.string()) for g in group_by]
    fields += [
        ("period", pa.string()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("direction", pa.string()),
        ("target", pa.float64()),
        ("met", pa.bool_()),
        ("cohort", pa.string()),
        ("exclusions", pa.string()),
        ("label_zh", pa.string()),
        ("label_en", pa.string()),
    ]
    records = [v.as_dict() for v in values]
    table = pa.table(
        {name: [r.get(name) for r in records] for name, _ in fields}, schema=pa.schema(fields)
    )
    return _like(table, like)


def rows_to_frame(rows: Sequence[Mapping[str, Any]], like: Any) -> Any:
    """Report rows as a native frame of ``like``'s backend (pyarrow when ``like`` is None)."""
    pa = require_module("pyarrow", extra="frames", feature=_FEATURE)
    return _like(pa.Table.from_pylist([dict(r) for r in rows]), like)


def _like(table: Any, like: Any) -> Any:
    nw = _nw()
    if like is None:
        return table
    impl = nw.from_native(like).implementation
    if impl.is_pandas():
        return table.to_pandas()
    if impl.is_polars():
        pl = require_module("polars", extra="frames", feature=_FEATURE)
        frame = pl.from_arrow(table)
        return frame.lazy() if isinstance(like, pl.LazyFrame) else frame
    if impl.is_duckdb():
        duckdb = require_module("duckdb", extra="frames", feature=_FEATURE)
        return duckdb.from_arrow(table)
    if impl.is_pyarrow():
        return table
    return nw.from_native(table, eager_only=True).lazy(backend=impl).to_native()


def _computable(frame: Any) -> Any:
    """PyArrow tables have no exact grouped quantiles: run them on Polars or DuckDB."""
    if type(frame).__module__.split(".")[0] != "pyarrow":
        return frame
    for module in ("polars", "duckdb"):
        try:
            engine = __import__(module)
        except ImportError:
            continue
        return engine.from_arrow(frame)
    raise OptionalDependencyError("polars", extra="frames", feature="KPIs on a PyArrow table")


def compute_frame(
    facts: Any,
    *,
    surveys: Any = None,
    definitions: Iterable[KpiDefinition | str] | None = None,
    extra: Iterable[KpiDefinition] = (),
    group_by: Sequence[str] = (),
    period: str | None = None,
    households: Households | None = None,
    targets: Mapping[str, float] | None = None,
    window: tuple[date, date] | None = None,
    utc_offset_hours: int = 8,
    as_records: bool = False,
    sources: Mapping[str, Any] | None = None,
) -> Any:
    """KPIs from a ticket-facts frame (pandas, Polars, DuckDB, PyArrow … via narwhals).

    Args:
        facts: A native frame with the ticket-fact columns (see ``FACT_COLUMNS``).
        surveys: A native frame with the survey-fact columns, or ``None``.
        definitions: KPIs or registered names (default: every registered KPI).
        extra: More definitions, e.g. a plugin's custom KPIs.
        group_by: Dimensions, in order.
        period: ``day``, ``week``, ``month``, ``quarter`` or ``year``.
        households: Households per org unit, for per-household KPIs.
        targets: Targets by KPI name, replacing the defaults.
        window: Only rows whose cohort date falls in ``[start, end)`` count.
        utc_offset_hours: Local time for periods and windows.
        as_records: Return :class:`KpiValue` records instead of a frame.
        sources: Frames of further sources by :class:`Source` value (``units``, ``tasks``,
            ``defects``: the delivery facts), each a native frame.

    Returns:
        A frame of the caller's backend, one row per KPI and group (or the records).

    Raises:
        OptionalDependencyError: narwhals or pyarrow is not installed.
        ValidationError: Unknown dimension or period, an empty window, or a dimension the
            survey (or other source's) facts do not carry.
    """
    check_group_by(group_by, period)
    facts_in, surveys_in = _computable(facts), None if surveys is None else _computable(surveys)
    plan = make_plan(resolve_definitions(definitions, extra))
    options = {
        "group_by": group_by,
        "period": period,
        "utc_offset_hours": utc_offset_hours,
        "window": window,
    }
    slots = frame_slots(facts_in, plan, "tickets", **options)  # type: ignore[arg-type]
    more = {"surveys": surveys_in, **(sources or {})}
    for source, frame in more.items():
        if frame is None:
            continue
        check_source_dimensions(plan, source, group_by)
        slots.update(frame_slots(_computable(frame), plan, source, **options))  # type: ignore[arg-type]
    values = finalise(
        plan,
        slots,
        group_by=group_by,
        period=period,
        households=households,
        targets=targets,
        window=window,
    )
    if as_records:
        return values
    return values_to_frame(values, group_by, facts)
