"""DuckDB fast path: each cohort's slots as SQL compiled from the same definitions.

narwhals writes a lazy DuckDB query as one CTE per step, each step carrying every column; on
10M facts that chain (the period key alone is twelve steps) cost more than the aggregation,
and its sums of ``BIGINT`` use 128-bit accumulators. Here the same conditions (``Cond``) and
the same period keys become one ``SELECT … GROUP BY`` per cohort: each distinct conjunct is
computed once per row, without the ``COALESCE`` a stand-alone condition needs (it is only read
inside ``count_if`` and ``CASE WHEN``, where null counts as false), and counts are
``count_if`` (a plain ``BIGINT`` counter).

Medians and P90s: a second query returns each row's group-key hash and the ranked inputs (the
value where the row counts, else null); the group ids come from the distinct hashes, and the
quantile kernel of :mod:`._frame_ranked` (which finds each column's range itself) reads them.
:func:`duckdb_cohorts` fetches those rows first and computes the quantiles on a worker thread
while DuckDB runs the counting queries. Non-integer values, a hash collision between groups or
values spanning ``2**40`` or more return ``None``, and the caller keeps the generic narwhals
path.

No table or view is created in the relation's connection (``relation.query`` scopes its name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from propcrm.metrics.calendar._sources import require_module
from propcrm.metrics.kpi._conditions import (
    All,
    AnyOf,
    Cmp,
    Cond,
    IsIn,
    IsNull,
    Not,
    NotNull,
    conjunct_names,
    conjuncts,
)
from propcrm.metrics.kpi._engine import Slot
from propcrm.metrics.kpi._frame_ranked import arrow_int64, grouped_quantiles

__all__ = ["cond_sql", "duckdb_cohort", "duckdb_cohorts", "period_sql"]

_FEATURE = "computing KPIs on a dataframe"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


def _dimension_sql(column: str, types: Mapping[str, str]) -> str:
    """A grouping column; NaN groups with null (both read back as ``None``)."""
    if types.get(column) in ("FLOAT", "DOUBLE"):
        return f"(CASE WHEN isnan({_ident(column)}) THEN NULL ELSE {_ident(column)} END)"
    return _ident(column)


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


def _slot_cond(s: Slot, names: dict[Cond, str]) -> str:
    parts = [names[p] for p in dict.fromkeys(conjuncts(s.cond))]
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
    parts = [names[p] for p in dict.fromkeys(conjuncts(cond)) if p != NotNull(column)]
    value = _ident(column)
    if not parts:
        return f"CAST({value} AS BIGINT)"
    return f"CAST(CASE WHEN {' AND '.join(parts)} THEN {value} END AS BIGINT)"


#: One cohort's rows, keys and conditions as SQL, and which slots each query fills.
_Rows = list[tuple[tuple[Any, ...], list[Any]]]


class _CohortSql:
    """The SQL of one cohort: a counting ``GROUP BY`` and, for medians and P90s, a fetch.

    Both read the same inner ``SELECT`` (``source``): the group keys, each distinct conjunct
    computed once per row, and the value columns.
    """

    def __init__(
        self,
        types: Mapping[str, str],
        slots: Sequence[Slot],
        column: str,
        dims: Sequence[str],
        period: str | None,
        offset_seconds: int,
        bounds: tuple[int, int] | None,
    ) -> None:
        self.slots = slots
        self.ranked = [i for i, s in enumerate(slots) if s.stat in ("median", "p90")]
        self.simple = [i for i in range(len(slots)) if i not in self.ranked]
        keys = [f"{_dimension_sql(d, types)} AS _g{i}" for i, d in enumerate(dims)]
        if period is not None:
            keys.append(f"{period_sql(column, period, offset_seconds)} AS _period")
        self.key_names = [f"_g{i}" for i in range(len(dims))] + (["_period"] if period else [])
        where = f"{_ident(column)} IS NOT NULL"
        if bounds is not None:
            where += f" AND {_ident(column)} >= {bounds[0]} AND {_ident(column)} < {bounds[1]}"
        # Each distinct conjunct is computed once per row (an inner column), slots combine them.
        self.names = conjunct_names(s.cond for s in slots)
        value_columns = sorted({s.column for s in slots if s.column is not None})
        inner = ", ".join(
            [
                *keys,
                *(f"{_conjunct_sql(c, types)} AS {n}" for c, n in self.names.items()),
                *(_ident(c) for c in value_columns),
            ]
        )
        self.source = f"(SELECT {inner} FROM _facts WHERE {where})"
        grouped = ", ".join(self.key_names)
        self.hashed = f"hash({grouped})" if self.key_names else "0"
        # A median and a P90 of the same values share one input column.
        self.inputs: dict[tuple[Cond, str | None], str] = {}
        for i in self.ranked:
            self.inputs.setdefault((slots[i].cond, slots[i].column), f"_v{len(self.inputs)}")
        self.wanted: dict[str, list[tuple[str, float]]] = {}
        for i in self.ranked:
            q = 0.5 if slots[i].stat == "median" else 0.9
            name = self.inputs[(slots[i].cond, slots[i].column)]
            self.wanted.setdefault(name, []).append((f"_s{i}", q))

    def counts_sql(self) -> str:
        """Counts and sums per group, then the row count and the key hash (fetchall order)."""
        aggs = [f"{_slot_sql(self.slots[i], self.names)} AS _s{i}" for i in self.simple]
        aggs.append("count(*) AS _n")
        grouped = ", ".join(self.key_names)
        return (
            f"SELECT *, {self.hashed} AS _h FROM (SELECT {', '.join([*self.key_names, *aggs])} "
            f"FROM {self.source}" + (f" GROUP BY {grouped}" if self.key_names else "") + ")"
        )

    def fetch_sql(self) -> str:
        """Each row's key hash and ranked inputs (null where the row does not count)."""
        fetched = [f"{self.hashed} AS _h"]
        fetched += [
            f"{_value_sql(c, v or '', self.names)} AS {n}" for (c, v), n in self.inputs.items()
        ]
        return f"SELECT {', '.join(fetched)} FROM {self.source}"

    def rows(self, fetched: list[tuple[Any, ...]]) -> tuple[_Rows, list[int]]:
        """``(raw key values, slot values)`` per group from the counting query, and the hashes."""
        n_keys = len(self.key_names)
        out: _Rows = []
        hashes: list[int] = []
        for r in fetched:
            if not r[-2]:
                continue  # a whole-frame aggregate of no rows
            values: list[Any] = [None] * len(self.slots)
            for k, i in enumerate(self.simple):
                x = r[n_keys + k]
                if self.slots[i].stat != "sum":
                    x = float(x or 0)  # count_if of only nulls (no row counts) is null
                values[i] = x
            out.append((tuple(r[:n_keys]), values))
            hashes.append(r[-1])
        return out, hashes


def _quantiles(table: Any, cohort: _CohortSql) -> dict[int, list[Any]] | None:
    """Each group's ranked slot values by key hash, from the fetched rows (or ``None``).

    ``None`` when a column's counted values span ``2**40`` or more (the generic path then).
    Runs on a worker thread while DuckDB counts: numpy and pyarrow release the GIL.
    """
    np = require_module("numpy", extra="frames", feature=_FEATURE)
    pc = require_module("pyarrow.compute", extra="frames", feature=_FEATURE)
    if table.num_rows == 0:
        return {}
    # Group ids: positions among the distinct key hashes (one hash-table pass).
    encoded = pc.dictionary_encode(table["_h"].combine_chunks())
    group_hashes = encoded.dictionary.to_pylist()
    group_ids = encoded.indices.to_numpy().astype(np.int64)
    columns = {name: arrow_int64(np, table[name]) for name in cohort.wanted}
    found = grouped_quantiles(np, group_ids, columns, cohort.wanted, len(group_hashes))
    if found is None:
        return None
    names = [f"_s{i}" for i in cohort.ranked]
    return {
        h: [found[name][g] for name in names]  # every ranked slot is a wanted output
        for g, h in enumerate(group_hashes)
    }


def duckdb_cohorts(
    relation: Any,
    cohorts: Mapping[str, Sequence[Slot]],
    dims: Sequence[str],
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
) -> dict[str, _Rows | None]:
    """Every slot of several cohorts (by cohort column) on one DuckDB relation.

    Per cohort: ``(raw key values, slot values)`` per group, keys in ``dims`` order and then
    the period key when ``period`` is given; or ``None`` to use the generic path (non-integer
    median/P90 values, a key-hash collision, values spanning ``2**40`` or more).

    The rows for medians and P90s are fetched first, and their quantiles computed on a worker
    thread while DuckDB runs the counting queries (DuckDB and numpy release the GIL), so the
    two cores stay busy through the single-threaded numpy steps.
    """
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    plans: dict[str, _CohortSql | None] = {}
    for column, slots in cohorts.items():
        ranked = [s for s in slots if s.stat in ("median", "p90")]
        if any(types.get(s.column or "") not in _INTEGER_TYPES for s in ranked):
            plans[column] = None  # floats: the generic path's exact engine quantiles
        else:
            plans[column] = _CohortSql(types, slots, column, dims, period, offset_seconds, bounds)
    out: dict[str, _Rows | None] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: dict[str, Future[dict[int, list[Any]] | None]] = {}
        for column, plan in plans.items():
            if plan is not None and plan.ranked:
                table = relation.query("_facts", plan.fetch_sql()).to_arrow_table()
                pending[column] = pool.submit(_quantiles, table, plan)
                del table  # the worker holds the only reference: freed when it is done
        for column, plan in plans.items():
            if plan is None:
                out[column] = None
                continue
            rows, hashes = plan.rows(relation.query("_facts", plan.counts_sql()).fetchall())
            out[column] = rows
            if len(set(hashes)) != len(hashes):
                out[column] = None  # two groups share a key hash: the generic path
                continue
            if column in pending:
                by_hash = pending[column].result()
                if by_hash is None:
                    out[column] = None
                    continue
                if any(h not in by_hash for h in hashes):
                    out[column] = None  # the relation changed between the two scans
                    continue
                for (_, values), h in zip(rows, hashes, strict=True):
                    for i, x in zip(plan.ranked, by_hash[h], strict=True):
                        values[i] = x
    return out


def duckdb_cohort(
    relation: Any,
    slots: Sequence[Slot],
    column: str,
    dims: Sequence[str],
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
) -> _Rows | None:
    """Every slot of one cohort on a DuckDB relation, or ``None`` to use the generic path.

    Returns ``(raw key values, slot values)`` per group, keys in ``dims`` order and then the
    period key when ``period`` is given. See :func:`duckdb_cohorts` for several at once.
    """
    return duckdb_cohorts(relation, {column: slots}, dims, period, offset_seconds, bounds)[column]
