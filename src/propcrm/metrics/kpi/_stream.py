"""The streaming engine: one pass over histories, memory bounded by the groups.

Each ticket's events fold into the values of its fact row (``fold_history``, compiled from the
``_facts._FOLD_*`` statements; the history adder inlines the same statements); the columns
the KPIs read update the ticket's groups' slots and are dropped, without building the row (see
``_stream_compile``: the update is generated code, tested against the plain per-slot update).
Counts and sums take constant memory per group; medians and P90s are exact, so they keep the
values of their group: memory for those grows with the tickets of a group that have the value
(8 bytes and a list slot each), not with events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from propcrm.metrics.kpi._definitions import KpiDefinition
from propcrm.metrics.kpi._engine import (
    Households,
    KpiValue,
    Plan,
    check_group_by,
    check_source_dimensions,
    finalise,
    linear_quantile,
    make_plan,
    resolve_definitions,
    window_bounds,
)
from propcrm.metrics.kpi._facts import (
    DIMENSIONS,
    FactOptions,
    Row,
    iter_facts,
    survey_facts,
)
from propcrm.metrics.kpi._stream_compile import (
    CohortSlots,
    GroupMap,
    compile_adder,
    compile_history_adder,
)
from propcrm.model import SurveyDefinition, SurveyResponse
from propcrm.workflow import Event

__all__ = ["Accumulator", "compute", "compute_facts"]


def _ignore(row: Row) -> None:
    """The adder of a source no KPI reads."""


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
        self.groups: dict[tuple[str, str], GroupMap] = {key: {} for key in plan.slots}
        by_source: dict[str, list[CohortSlots]] = {}
        for (source, column), slots in plan.slots.items():
            by_source.setdefault(source, []).append(
                CohortSlots(column, slots, self.groups[(source, column)])
            )
        self._tickets = by_source.get("tickets", [])
        self._dims = [DIMENSIONS[g] for g in group_by]
        self._period = period
        self._offset = utc_offset_hours * 3600
        self._bounds = window_bounds(window, utc_offset_hours)
        self._adders: dict[str, Callable[[Row], None]] = {}
        for source, cohorts in by_source.items():
            self._adders[source], _ = compile_adder(
                cohorts,
                dims=self._dims,
                period=period,
                offset_seconds=self._offset,
                bounds=self._bounds,
            )

    def adder(self, source: str = "tickets") -> Callable[[Row], None]:
        """The function that counts one fact row of ``source`` (the fastest way to feed rows)."""
        return self._adders.get(source, _ignore)

    def add(self, row: Row, source: str = "tickets") -> None:
        """Count one fact row in its groups."""
        self._adders.get(source, _ignore)(row)

    def add_histories(
        self, histories: Iterable[Sequence[Event]], options: FactOptions | None = None
    ) -> None:
        """Fold ticket histories and count them, as ``add`` of their fact rows would.

        The fast path of :func:`compute`: no fact row is built, only the columns the plan
        reads are evaluated (see :func:`compile_history_adder`). Tickets received after
        ``options.as_of`` are skipped, as :func:`iter_facts` does.

        Raises:
            ValidationError: A history does not start with ``ticket_received``.
        """
        opts = options or FactOptions()
        compiled = compile_history_adder(
            self._tickets,
            dims=self._dims,
            period=self._period,
            offset_seconds=self._offset,
            bounds=self._bounds,
            options=opts,
        )
        if compiled is None:
            add = self.adder("tickets")
            for row in iter_facts(histories, opts):
                add(row)
        else:
            compiled[0](histories)

    def slots(self) -> dict[tuple[str, str], dict[tuple[Any, ...], list[float | None]]]:
        """The slot values per group: medians and P90s computed from the kept values."""
        out: dict[tuple[str, str], dict[tuple[Any, ...], list[float | None]]] = {}
        for key, groups in self.groups.items():
            quantiles = [
                (i, 0.5 if s.stat == "median" else 0.9)
                for i, s in enumerate(self._plan.slots[key])
                if s.stat in ("median", "p90")
            ]
            done: dict[tuple[Any, ...], list[float | None]] = {}
            for gkey, acc in groups.items():
                values: list[float | None] = list(acc)
                # The median and the P90 of the same rows share one list: sorted once.
                ordered: dict[int, list[float]] = {}
                for i, q in quantiles:
                    kept = acc[i]
                    vals = ordered.get(id(kept))
                    if vals is None:
                        vals = ordered[id(kept)] = sorted(kept)
                    values[i] = linear_quantile(vals, q)
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
    add = acc.adder("tickets")
    for row in rows:
        add(row)
    return _finish(
        plan,
        acc,
        {"surveys": survey_rows, **(source_rows or {})},
        group_by=group_by,
        period=period,
        households=households,
        targets=targets,
        window=window,
    )


def _finish(
    plan: Plan,
    acc: Accumulator,
    sources: Mapping[str, Iterable[Row]],
    *,
    group_by: Sequence[str],
    period: str | None,
    households: Households | None,
    targets: Mapping[str, float] | None,
    window: tuple[date, date] | None,
) -> tuple[KpiValue, ...]:
    """Count the other sources' rows, then turn the slots into KPI values."""
    for source, more in sources.items():
        it = iter(more)
        first = next(it, None)
        if first is None:
            continue
        check_source_dimensions(plan, source, group_by)
        add = acc.adder(source)
        add(first)
        for row in it:
            add(row)
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
    plan = make_plan(resolve_definitions(definitions, extra))
    acc = Accumulator(
        plan, group_by=group_by, period=period, utc_offset_hours=utc_offset_hours, window=window
    )
    acc.add_histories(histories, options)
    return _finish(
        plan,
        acc,
        {"surveys": survey_facts(surveys, survey_definitions, utc_offset_hours=utc_offset_hours)},
        group_by=group_by,
        period=period,
        households=households,
        targets=targets,
        window=window,
    )
