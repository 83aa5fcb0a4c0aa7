"""DuckDB fast path: each cohort's slots as one SQL query compiled from the same definitions.

narwhals writes a lazy DuckDB query as one CTE per step, each step carrying every column; on
10M facts that chain (the period key alone is twelve steps) cost more than the aggregation,
and its sums of ``BIGINT`` use 128-bit accumulators. Here the same conditions (``Cond``) and
the same period keys become one ``SELECT … GROUP BY`` per cohort, with counts summed as
``DOUBLE`` (exact below 2**53).

Medians and P90s use the sort-once method of :mod:`._frame_ranked`: DuckDB returns each
counted row's group hash and value, numpy sorts ``group * 2**40 + (value - min)`` once per
column, and both quantiles are read off the sorted keys. Non-integer values or a hash
collision between groups return ``None``, and the caller keeps the generic narwhals path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from propcrm.metrics.calendar._sources import require_module
from propcrm.metrics.kpi._conditions import All, AnyOf, Cmp, Cond, IsIn, IsNull, Not, NotNull
from propcrm.metrics.kpi._engine import Slot
from propcrm.metrics.kpi._frame_ranked import VALUE_BITS, packed_quantiles

__all__ = ["cond_sql", "duckdb_cohort", "period_sql"]

_FEATURE = "computing KPIs on a dataframe"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def cond_sql(cond: Cond) -> str:
    """SQL for a condition, never null: a comparison with a null column is false."""
    if isinstance(cond, Cmp):
        op = "=" if cond.op == "==" else "<>" if cond.op == "!=" else cond.op
        return f"COALESCE({_ident(cond.column)} {op} {_literal(cond.value)}, FALSE)"
    if isinstance(cond, IsIn):
        if not cond.values:
            return "FALSE"
        values = ", ".join(_literal(v) for v in cond.values)
        return f"COALESCE({_ident(cond.column)} IN ({values}), FALSE)"
    if isinstance(cond, NotNull):
        return f"({_ident(cond.column)} IS NOT NULL)"
    if isinstance(cond, IsNull):
        return f"({_ident(cond.column)} IS NULL)"
    if isinstance(cond, Not):
        return f"(NOT {cond_sql(cond.cond)})"
    if not cond.conds:
        return "TRUE" if isinstance(cond, All) else "FALSE"
    joiner = " AND " if isinstance(cond, All) else " OR "
    assert isinstance(cond, All | AnyOf)
    return "(" + joiner.join(cond_sql(c) for c in cond.conds) + ")"


def period_sql(column: str, period: str, offset_seconds: int) -> str:
    """SQL for the period key of an epoch-seconds column (see ``_periods``), local days."""
    days = f"CAST(floor(({_ident(column)} + {offset_seconds}) / 86400) AS INTEGER)"
    d = f"(DATE '1970-01-01' + {days})"
    if period == "week":
        d = f"({d} - CAST(isodow({d}) - 1 AS INTEGER))"
    if period in ("day", "week"):
        return f"(year({d}) * 10000 + month({d}) * 100 + day({d}))"
    if period == "month":
        return f"(year({d}) * 100 + month({d}))"
    if period == "quarter":
        return f"(year({d}) * 10 + quarter({d}))"
    return f"year({d})"


def _parts(cond: Cond) -> list[Cond]:
    if isinstance(cond, All):
        return [p for c in cond.conds for p in _parts(c)]
    return [cond]


def _slot_cond(s: Slot, names: dict[Cond, str]) -> str:
    parts = [names[p] for p in dict.fromkeys(_parts(s.cond))]
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def _slot_sql(s: Slot, names: dict[Cond, str]) -> str:
    cond = _slot_cond(s, names)
    if s.stat == "count":
        return f"sum(CAST({cond} AS DOUBLE))"
    assert s.column is not None
    value = _ident(s.column)
    if s.stat == "nonnull":
        return f"sum(CAST(({cond} AND {value} IS NOT NULL) AS DOUBLE))"
    return f"sum(CASE WHEN {cond} THEN {value} END)"  # "sum"


def duckdb_cohort(
    relation: Any,
    slots: Sequence[Slot],
    column: str,
    dims: Sequence[str],
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
) -> list[tuple[tuple[Any, ...], list[Any]]] | None:
    """Every slot of one cohort on a DuckDB relation, or ``None`` to use the generic path.

    Returns ``(raw key values, slot values)`` per group, keys in ``dims`` order and then the
    period key when ``period`` is given.
    """
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    ranked = [i for i, s in enumerate(slots) if s.stat in ("median", "p90")]
    if any(types.get(slots[i].column or "") not in _INTEGER_TYPES for i in ranked):
        return None
    keys = [f"{_ident(d)} AS _g{i}" for i, d in enumerate(dims)]
    if period is not None:
        keys.append(f"{period_sql(column, period, offset_seconds)} AS _period")
    key_names = [f"_g{i}" for i in range(len(dims))] + (["_period"] if period else [])
    where = f"{_ident(column)} IS NOT NULL"
    if bounds is not None:
        where += f" AND {_ident(column)} >= {bounds[0]} AND {_ident(column)} < {bounds[1]}"
    simple = [i for i in range(len(slots)) if i not in ranked]
    # Each distinct conjunct is computed once per row (an inner column), slots combine them.
    names: dict[Cond, str] = {}
    for s in slots:
        for part in _parts(s.cond):
            names.setdefault(part, f"_c{len(names)}")
    # A median and a P90 of the same values share one input column.
    inputs: dict[tuple[Cond, str | None], int] = {}
    for i in ranked:
        inputs.setdefault((slots[i].cond, slots[i].column), len(inputs))
    value_sql = [
        f"CASE WHEN {_slot_cond(Slot('median', cond, value), names)} THEN {_ident(value or '')} END"
        for cond, value in inputs
    ]
    value_columns = sorted({s.column for s in slots if s.column is not None})
    inner = ", ".join(
        [
            *keys,
            *(f"{cond_sql(c)} AS {n}" for c, n in names.items()),
            *(_ident(c) for c in value_columns),
        ]
    )
    source = f"(SELECT {inner} FROM _facts WHERE {where})"
    aggs = [f"{_slot_sql(slots[i], names)} AS _s{i}" for i in simple]
    aggs += [f"min({v}) AS _min{j}, max({v}) AS _max{j}" for j, v in enumerate(value_sql)]
    aggs.append("count(*) AS _n")
    grouped = ", ".join(key_names)
    hashed = f"hash({grouped})" if key_names else "0"
    sql = (
        f"SELECT *, {hashed} AS _h FROM (SELECT {', '.join([*key_names, *aggs])} "
        f"FROM {source}" + (f" GROUP BY {grouped}" if key_names else "") + ")"
    )
    rows = relation.query("_facts", sql).fetchall()
    # fetchall keeps the SELECT order: keys, simple slots, (min, max) per input, n, hash.
    order = [*key_names, *(f"_s{i}" for i in simple)]
    order += [x for j in range(len(inputs)) for x in (f"_min{j}", f"_max{j}")] + ["_n", "_h"]
    at = {name: k for k, name in enumerate(order)}
    rows = [r for r in rows if r[at["_n"]]]  # a whole-frame aggregate of no rows
    out: list[tuple[tuple[Any, ...], list[Any]]] = []
    for r in rows:
        values: list[Any] = [None] * len(slots)
        for i in simple:
            values[i] = r[at[f"_s{i}"]]
        out.append((tuple(r[at[k]] for k in key_names), values))
    if not ranked or not rows:
        return out
    hashes = [r[at["_h"]] for r in rows]
    if len(set(hashes)) != len(hashes):
        return None
    span = 1 << VALUE_BITS
    lows: list[int | None] = []
    for j in range(len(inputs)):
        present = [(r[at[f"_min{j}"]], r[at[f"_max{j}"]]) for r in rows]
        present = [p for p in present if p[0] is not None]
        low = min((p[0] for p in present), default=None)
        high = max((p[1] for p in present), default=None)
        if low is not None and high is not None and high - low >= span:
            return None
        lows.append(low)
    np = require_module("numpy", extra="frames", feature=_FEATURE)
    pa = require_module("pyarrow", extra="frames", feature=_FEATURE)
    pc = require_module("pyarrow.compute", extra="frames", feature=_FEATURE)
    counted = [j for j, low in enumerate(lows) if low is not None]
    # Values as offsets from the column's minimum, -1 where a row does not count: no nulls,
    # so each column reaches numpy without a copy.
    offsets = [f"COALESCE({value_sql[j]} - {lows[j]}, -1) AS _v{j}" for j in counted]
    sql = f"SELECT {', '.join([f'{hashed} AS _h', *offsets])} FROM {source}"
    table = relation.query("_facts", sql).to_arrow_table()
    # Each row's group: the position of its key hash among the groups' (a hash lookup).
    positions = pc.index_in(table["_h"], value_set=pa.array(hashes, type=pa.uint64()))
    base = positions.to_numpy().astype(np.int64) * span
    wanted: dict[str, list[tuple[str, float]]] = {f"_v{j}": [] for j in counted}
    for i in ranked:
        j = inputs[(slots[i].cond, slots[i].column)]
        if f"_v{j}" in wanted:
            wanted[f"_v{j}"].append((f"_s{i}", 0.5 if slots[i].stat == "median" else 0.9))
    found = packed_quantiles(
        np,
        base,
        {name: (offset >= 0, offset) for name in wanted for offset in [table[name].to_numpy()]},
        wanted,
        {f"_v{j}": lows[j] or 0 for j in counted},
        len(out),
    )
    for column, values in found.items():
        i = int(column[2:])
        for g, x in enumerate(values):
            out[g][1][i] = x
    return out
