"""The streaming engine: one pass over histories, memory bounded by the groups.

Each ticket's events fold into one fact row (:func:`ticket_facts`), which updates its groups'
slots and is dropped. Counts and sums take constant memory per group; medians and P90s are exact,
so they keep the values of their group: memory for those grows with the tickets of a group that
have the value (8 bytes and a list slot each), not with events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from propcrm.metrics.kpi._conditions import All, Cond, col_names, to_source
from propcrm.metrics.kpi._definitions import KpiDefinition
from propcrm.metrics.kpi._engine import (
    Households,
    KpiValue,
    Plan,
    Slot,
    check_group_by,
    check_source_dimensions,
    finalise,
    linear_quantile,
    make_plan,
    resolve_definitions,
    window_bounds,
)
from propcrm.metrics.kpi._facts import DIMENSIONS, FactOptions, Row, iter_facts, survey_facts
from propcrm.metrics.kpi._periods import period_key
from propcrm.model import SurveyDefinition, SurveyResponse
from propcrm.workflow import Event

__all__ = ["Accumulator", "compute", "compute_facts"]

_Update = Callable[[Row, list[Any]], None]


def _parts(cond: Cond) -> list[Cond]:
    """The conjuncts of a condition, nested ``All`` flattened."""
    if isinstance(cond, All):
        return [p for c in cond.conds for p in _parts(c)]
    return [cond]


def _compile(slots: Sequence[Slot]) -> tuple[Callable[[], list[Any]], _Update]:
    """Generate the update function of one cohort's slots: straight-line code, one call a row.

    Every distinct conjunct is evaluated once into a local; each slot then tests its locals.
    """
    lines = ["def _update(r, acc):"]
    init: list[str] = []
    shared: dict[tuple[str | None, str], int] = {}
    locals_: dict[str, str] = {}
    # Each column the slots read is bound to a local once per row.
    columns = sorted(
        {c for s in slots for c in col_names(s.cond)} | {s.column for s in slots if s.column}
    )
    refs = {c: f"v{i}" for i, c in enumerate(columns)}
    lines += [f"    {refs[c]} = r[{c!r}]" for c in columns]

    def test_of(cond: Cond) -> str:
        names = []
        for part in _parts(cond):
            src = to_source(part, refs=refs)
            if src not in locals_:
                locals_[src] = f"c{len(locals_)}"
                lines.append(f"    {locals_[src]} = {src}")
            if locals_[src] not in names:
                names.append(locals_[src])
        return " and ".join(names) or "True"

    body: list[str] = []
    for i, s in enumerate(slots):
        test = test_of(s.cond)
        if s.stat == "count":
            init.append("0")
            body.append(f"    if {test}: acc[{i}] += 1")
        elif s.stat in ("sum", "nonnull"):
            init.append("0")
            add = refs[s.column] if s.stat == "sum" and s.column else "1"
            body.append(f"    if {test}: acc[{i}] += {add}")
        else:
            key = (s.column, test)
            if key in shared:
                init.append(f"acc[{shared[key]}]")
                continue
            shared[key] = i
            init.append("[]")
            body.append(f"    if {test}: acc[{i}].append({refs[s.column or '']})")
    lines += body or ["    pass"]
    # One list display; slots sharing a value list (median and P90 of the same rows) then
    # point at the first one's list.
    fresh = ["None" if v.startswith("acc[") else v for v in init]
    make = ["def _make():", f"    acc = [{', '.join(fresh)}]"]
    make += [f"    acc[{i}] = {v}" for i, v in enumerate(init) if v.startswith("acc[")]
    make.append("    return acc")
    namespace: dict[str, Any] = {}
    # The source is generated from condition trees whose leaves are column names and literal
    # values printed with repr(), so it holds no caller code.
    exec(compile("\n".join(lines + make), "<propcrm-kpi>", "exec"), namespace)
    return namespace["_make"], namespace["_update"]


class Accumulator:
    """Group accumulators of one plan, fed fact rows one at a time.

    Args:
        plan: The slots to fill.
        group_by: Dimensions to group by.
        period: Period to group by, or ``None``.
        utc_offset_hours: Local time for periods.
        window: Only rows whose cohort date falls in ``[start, end)`` count.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        group_by: Sequence[str] = (),
        period: str | None = None,
        utc_offset_hours: int = 8,
        window: tuple[date, date] | None = None,
    ) -> None:
        check_group_by(group_by, period)
        self._plan = plan
        self._columns = [DIMENSIONS[g] for g in group_by]
        self._period = period
        self._offset = utc_offset_hours * 3600
        self._bounds = window_bounds(window, utc_offset_hours)
        self._day_keys: dict[int, int] = {}
        self.groups: dict[tuple[str, str], dict[tuple[Any, ...], list[Any]]] = {
            key: {} for key in plan.slots
        }
        self._cohorts: dict[
            str,
            list[tuple[str, Callable[[], list[Any]], _Update, dict[tuple[Any, ...], list[Any]]]],
        ] = {}
        for (source, column), slots in plan.slots.items():
            make, update = _compile(slots)
            self._cohorts.setdefault(source, []).append(
                (column, make, update, self.groups[(source, column)])
            )

    def add(self, row: Row, source: str = "tickets") -> None:
        """Count one fact row in its groups."""
        get = row.get
        dims = tuple([get(c) for c in self._columns])
        period = self._period
        bounds = self._bounds
        day_keys = self._day_keys
        offset = self._offset
        for column, make, update, groups in self._cohorts.get(source, ()):
            t = row[column]
            if t is None:
                continue
            if bounds is not None and not bounds[0] <= t < bounds[1]:
                continue
            if period is None:
                key = (*dims, None)
            else:
                day = (t + offset) // 86400
                pkey = day_keys.get(day)
                if pkey is None:
                    pkey = day_keys[day] = period_key(t, period, offset)
                key = (*dims, pkey)
            acc = groups.get(key)
            if acc is None:
                acc = groups[key] = make()
            update(row, acc)

    def slots(self) -> dict[tuple[str, str], dict[tuple[Any, ...], list[float | None]]]:
        """The slot values per group: medians and P90s computed from the kept values."""
        out: dict[tuple[str, str], dict[tuple[Any, ...], list[float | None]]] = {}
        for key, groups in self.groups.items():
            slots = self._plan.slots[key]
            done: dict[tuple[Any, ...], list[float | None]] = {}
            for gkey, acc in groups.items():
                values: list[float | None] = []
                ordered: dict[int, list[float]] = {}
                for i, s in enumerate(slots):
                    if s.stat in ("median", "p90"):
                        vals = ordered.get(id(acc[i]))
                        if vals is None:
                            vals = ordered[id(acc[i])] = sorted(acc[i])
                        values.append(linear_quantile(vals, 0.5 if s.stat == "median" else 0.9))
                    else:
                        values.append(acc[i])
                done[gkey] = values
            out[key] = done
        return out


def compute_facts(
    rows: Iterable[Row],
    *,
    definitions: Iterable[KpiDefinition | str] | None = None,
    extra: Iterable[KpiDefinition] = (),
    survey_rows: Iterable[Row] = (),
    group_by: Sequence[str] = (),
    period: str | None = None,
    households: Households | None = None,
    targets: Mapping[str, float] | None = None,
    window: tuple[date, date] | None = None,
    utc_offset_hours: int = 8,
    source_rows: Mapping[str, Iterable[Row]] | None = None,
) -> tuple[KpiValue, ...]:
    """KPIs from ticket-fact rows (and survey-fact rows) on plain Python.

    See :func:`compute` for the arguments. ``source_rows`` gives the rows of further sources
    by :class:`Source` value (``units``, ``tasks``, ``defects``: the delivery facts).

    Raises:
        ValidationError: As :func:`compute`; also a dimension the survey (or other source's)
            facts do not carry, when such rows are given.
    """
    plan = make_plan(resolve_definitions(definitions, extra))
    acc = Accumulator(
        plan, group_by=group_by, period=period, utc_offset_hours=utc_offset_hours, window=window
    )
    add = acc.add
    for row in rows:
        add(row)
    sources: dict[str, Iterable[Row]] = {"surveys": survey_rows, **(source_rows or {})}
    for source, more in sources.items():
        it = iter(more)
        first = next(it, None)
        if first is None:
            continue
        check_source_dimensions(plan, source, group_by)
        add(first, source)
        for row in it:
            add(row, source)
    return finalise(
        plan,
        acc.slots(),
        group_by=group_by,
        period=period,
        households=households,
        targets=targets,
        window=window,
    )


def compute(
    histories: Iterable[Sequence[Event]],
    *,
    definitions: Iterable[KpiDefinition | str] | None = None,
    extra: Iterable[KpiDefinition] = (),
    surveys: Iterable[SurveyResponse] = (),
    survey_definitions: Mapping[str, SurveyDefinition] | Iterable[SurveyDefinition] = (),
    group_by: Sequence[str] = (),
    period: str | None = None,
    households: Households | None = None,
    targets: Mapping[str, float] | None = None,
    window: tuple[date, date] | None = None,
    options: FactOptions | None = None,
    utc_offset_hours: int = 8,
) -> tuple[KpiValue, ...]:
    """KPIs from ticket histories in one streaming pass.

    Args:
        histories: Any iterable of event lists, one list per ticket, in order.
        definitions: KPIs or registered names (default: every registered KPI).
        extra: More definitions, e.g. a plugin's custom KPIs.
        surveys: Survey responses, for the survey KPIs.
        survey_definitions: Their surveys, for the satisfaction index.
        group_by: Dimensions (see ``DIMENSIONS``), in order.
        period: ``day``, ``week``, ``month``, ``quarter`` or ``year`` (of each KPI's cohort date).
        households: Households per org unit, for per-household KPIs.
        targets: Targets by KPI name, replacing the defaults.
        window: Only rows whose cohort date falls in ``[start, end)`` count.
        options: How histories become facts (as-of instant, calendar, SLA policies).
        utc_offset_hours: Local time for periods and windows.

    Returns:
        One value per KPI and group, KPIs in definition order, groups sorted.

    Raises:
        ValidationError: Unknown dimension or period, an empty window, a bad history.
    """
    rows = iter_facts(histories, options)
    return compute_facts(
        rows,
        definitions=definitions,
        extra=extra,
        survey_rows=survey_facts(surveys, survey_definitions, utc_offset_hours=utc_offset_hours),
        group_by=group_by,
        period=period,
        households=households,
        targets=targets,
        window=window,
        utc_offset_hours=utc_offset_hours,
    )
