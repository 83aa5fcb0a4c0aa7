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

from collections.abc import Mapping, Sequence
from typing import Any

from propcrm.metrics.calendar._sources import require_module
from propcrm.metrics.kpi._conditions import All, AnyOf, Cmp, Cond, IsIn, IsNull, Not, NotNull
from propcrm.metrics.kpi._engine import Slot
from propcrm.metrics.kpi._frame_ranked import grouped_quantiles

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


def _conjunct_sql(cond: Cond, types: Mapping[str, str]) -> str:
    """SQL for a conjunct that is only ever read inside ``count_if`` or ``CASE WHEN``.

    There a null counts as false, so a comparison needs no ``COALESCE`` (one vector pass less
    per condition and row), and a boolean column compared with a literal is read as it is.
    """
    if isinstance(cond, Cmp):
        column = _ident(cond.column)
        if (
            types.get(cond.column) == "BOOLEAN"
            and isinstance(cond.value, bool)
            and cond.op in ("==", "!=")
        ):
            return column if (cond.op == "==") == cond.value else f"(NOT {column})"
        op = "=" if cond.op == "==" else "<>" if cond.op == "!=" else cond.op
        return f"({column} {op} {_literal(cond.value)})"
    if isinstance(cond, IsIn) and cond.values:
        return f"({_ident(cond.column)} IN ({', '.join(_literal(v) for v in cond.values)}))"
    return cond_sql(cond)


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
        return f"count_if({cond})"
    assert s.column is not None
    value = _ident(s.column)
    if s.stat == "nonnull":
        return f"count_if({cond} AND {value} IS NOT NULL)"
    return f"sum(CASE WHEN {cond} THEN {value} END)"  # "sum"


def _value_sql(cond: Cond, column: str, names: dict[Cond, str]) -> str:
    """A ranked input: the value where the row counts, else null, as ``BIGINT``.

    A conjunct ``column IS NOT NULL`` is left out: the value is null there anyway.
    """
    parts = [names[p] for p in dict.fromkeys(_parts(cond)) if p != NotNull(column)]
    value = _ident(column)
    if not parts:
        return f"CAST({value} AS BIGINT)"
    return f"CAST(CASE WHEN {' AND '.join(parts)} THEN {value} END AS BIGINT)"


def _int64_arrays(np: Any, chunked: Any) -> tuple[Any, Any]:
    """Which rows are valid (booleans) and the int64 values buffer of an Arrow column.

    Read from the Arrow buffers: values at null positions are whatever the buffer holds, so
    callers read them only where valid (``to_numpy`` would turn a nullable column to floats).
    """
    array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    values = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset :][: len(array)]
    return valid, values


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
    value_columns = sorted({s.column for s in slots if s.column is not None})
    inner = ", ".join(
        [
            *keys,
            *(f"{_conjunct_sql(c, types)} AS {n}" for c, n in names.items()),
            *(_ident(c) for c in value_columns),
        ]
    )
    source = f"(SELECT {inner} FROM _facts WHERE {where})"
    grouped = ", ".join(key_names)
    hashed = f"hash({grouped})" if key_names else "0"
    # Counts as count_if (a BIGINT counter, no cast per row); the quantiles' value range
    # comes from the fetched values, not from min/max aggregates here.
    aggs = [f"{_slot_sql(slots[i], names)} AS _s{i}" for i in simple]
    aggs.append("count(*) AS _n")
    sql = (
        f"SELECT *, {hashed} AS _h FROM (SELECT {', '.join([*key_names, *aggs])} "
        f"FROM {source}" + (f" GROUP BY {grouped}" if key_names else "") + ")"
    )
    rows = relation.query("_facts", sql).fetchall()
    # fetchall keeps the SELECT order: keys, simple slots, n, hash.
    n_keys = len(key_names)
    rows = [r for r in rows if r[-2]]  # a whole-frame aggregate of no rows
    out: list[tuple[tuple[Any, ...], list[Any]]] = []
    for r in rows:
        values: list[Any] = [None] * len(slots)
        for k, i in enumerate(simple):
            x = r[n_keys + k]
            values[i] = float(x) if slots[i].stat != "sum" and x is not None else x
        out.append((tuple(r[:n_keys]), values))
    if not ranked or not rows:
        return out
    hashes = [r[-1] for r in rows]
    if len(set(hashes)) != len(hashes):
        return None
    # A median and a P90 of the same values share one input column.
    inputs: dict[tuple[Cond, str | None], str] = {}
    for i in ranked:
        inputs.setdefault((slots[i].cond, slots[i].column), f"_v{len(inputs)}")
    fetched = [f"{hashed} AS _h"]
    fetched += [f"{_value_sql(c, v or '', names)} AS {n}" for (c, v), n in inputs.items()]
    np = require_module("numpy", extra="frames", feature=_FEATURE)
    pa = require_module("pyarrow", extra="frames", feature=_FEATURE)
    pc = require_module("pyarrow.compute", extra="frames", feature=_FEATURE)
    table = relation.query("_facts", f"SELECT {', '.join(fetched)} FROM {source}").to_arrow_table()
    # Each row's group: the position of its key hash among the groups' (a hash lookup).
    positions = pc.index_in(table["_h"], value_set=pa.array(hashes, type=pa.uint64()))
    group_ids = positions.to_numpy().astype(np.int64)
    columns = {name: _int64_arrays(np, table[name]) for name in inputs.values()}
    wanted: dict[str, list[tuple[str, float]]] = {}
    for i in ranked:
        q = 0.5 if slots[i].stat == "median" else 0.9
        wanted.setdefault(inputs[(slots[i].cond, slots[i].column)], []).append((f"_s{i}", q))
    found = grouped_quantiles(np, group_ids, columns, wanted, len(out))
    if found is None:
        return None  # values spanning 2**40 or more: the generic path
    for name, column_values in found.items():
        i = int(name[2:])
        for g, x in enumerate(column_values):
            out[g][1][i] = x
    return out
