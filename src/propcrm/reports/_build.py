"""Build the dashboard from ticket histories, surveys, delivery events and transactions.

Every figure comes from an engine: the KPI streaming engine (:mod:`propcrm.metrics.kpi`), its
reports (``complaint_focus``, ``contractor_scorecard``), the SLA policies behind the ``sla_*``
fact columns, RFM scoring (:mod:`propcrm.metrics.rfm`) and the delivery KPIs
(:mod:`propcrm.workflow.delivery_kpis`). This module only chooses what to ask, validates the
input, and arranges the answers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from importlib.util import find_spec
from typing import Any, Literal

from propcrm.errors import FieldError, NotFoundError, PropcrmError, ValidationError
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.metrics.kpi import (
    Aggregation,
    Direction,
    Exclusion,
    FactOptions,
    Households,
    KpiDefinition,
    KpiValue,
    Unit,
    complaint_focus,
    compute_facts,
    contractor_scorecard,
    facts_to_arrow,
    get_kpi,
    iter_facts,
    survey_facts,
)
from propcrm.metrics.kpi import Cohort as KpiCohort
from propcrm.metrics.rfm import (
    PROPERTY_MAP,
    PURCHASE_WEIGHTS,
    SegmentMap,
    Transaction,
    Weights,
    assign_segments,
    score,
)
from propcrm.metrics.sla import PolicySet, SlaTarget, default_policies
from propcrm.model import OrgLevel, OrgTree, SurveyDefinition, SurveyResponse
from propcrm.model.customer import mask_id_number, mask_phone
from propcrm.reports._model import (
    ContractorRow,
    Dashboard,
    DeliverySection,
    DisciplineDefects,
    FocusRow,
    KpiTile,
    Note,
    RatioFigure,
    RectificationRow,
    SegmentRow,
    SlaRow,
    TrendSeries,
    UnitKpis,
)
from propcrm.taxonomy import Taxonomy, standard
from propcrm.workflow import Event
from propcrm.workflow import delivery as dl
from propcrm.workflow import delivery_kpis as dk

__all__ = [
    "HEADLINE_KPIS",
    "TICKETS_RECEIVED",
    "TREND_KPIS",
    "UNIT_KPIS",
    "build_dashboard",
    "scrub_pii",
]

#: The headline KPIs of the dashboard, in tile order.
HEADLINE_KPIS: tuple[str, ...] = (
    "tickets_received",
    "valid_complaint_rate_per_100",
    "valid_complaint_rate_annualised",
    "complaint_handling_rate",
    "complaint_revisit_rate",
    "repair_timeliness",
    "repair_pass_rate",
    "repair_rework_rate",
    "satisfaction_rate",
    "revisit_satisfaction_rate",
    "completion_rate",
    "follow_up_rate",
    "first_response_median",
    "resolution_median",
    "backlog",
    "backlog_over_7d",
)

#: The KPIs shown per company and per project.
UNIT_KPIS: tuple[str, ...] = (
    "tickets_received",
    "valid_complaint_rate_per_100",
    "complaint_handling_rate",
    "repair_timeliness",
    "repair_pass_rate",
    "satisfaction_rate",
    "backlog",
)

#: The KPIs followed month by month.
TREND_KPIS: tuple[str, ...] = (
    "tickets_received",
    "valid_complaint_rate_per_100",
    "repair_timeliness",
    "satisfaction_rate",
)

#: 受理工单数: a count definition run through the same engine as every other KPI.
TICKETS_RECEIVED = KpiDefinition(
    name="tickets_received",
    label_zh="受理工单数",
    label_en="Tickets received",
    formula="tickets received in the period (voided and merged duplicates left out)",
    exclusions=frozenset({Exclusion.VOIDED, Exclusion.MERGED}),
    aggregation=Aggregation.COUNT,
    unit=Unit.COUNT,
    direction=Direction.LOWER,
)

#: With a business calendar, the wall-clock duration KPIs give way to their business-time twins.
_BUSINESS_TWINS = {
    "first_response_median": "first_response_business_median",
    "first_response_p90": "first_response_business_p90",
    "handoff_median": "handoff_business_median",
    "handoff_p90": "handoff_business_p90",
    "resolution_median": "resolution_business_median",
    "resolution_p90": "resolution_business_p90",
}

_CN = timezone(timedelta(hours=8))
_UNCATEGORISED = ("未分类", "Uncategorised")

# Phone numbers (mainland mobiles, optionally +86) and resident ID numbers inside free text.
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9])")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def scrub_pii(text: str) -> str:
    """Mask phone and resident ID numbers found inside free text (titles, unit names).

    >>> scrub_pii("王先生 13812345678 / 110101199003071234")
    '王先生 138****5678 / 11**************34'
    """
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)) or "", text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)) or "", text)


# --------------------------------------------------------------------------- validation


def _check_inputs(
    *,
    histories: object,
    households: object,
    period: object,
    as_of: object,
    org: object,
    taxonomy: object,
    policies: object,
    calendar: object,
    vital_share: object,
) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(histories, str | bytes | Mapping) or not isinstance(histories, Iterable):
        errors.append(FieldError(path="$.histories", message="expected an iterable of histories"))
    if not isinstance(period, tuple | list) or len(period) != 2:
        errors.append(FieldError(path="$.period", message="expected a (start, end) pair of dates"))
    else:
        bad = False
        for i, day in enumerate(period):
            if not isinstance(day, date) or isinstance(day, datetime):
                errors.append(
                    FieldError(path=f"$.period[{i}]", message=f"expected a date, got {day!r}")
                )
                bad = True
        if not bad and period[1] <= period[0]:
            errors.append(
                FieldError(
                    path="$.period[1]",
                    message=f"the period ends ({period[1]}) on or before it starts ({period[0]})",
                )
            )
    if not isinstance(as_of, datetime):
        errors.append(FieldError(path="$.as_of", message=f"expected a datetime, got {as_of!r}"))
    elif as_of.tzinfo is None or as_of.utcoffset() is None:
        errors.append(FieldError(path="$.as_of", message="a naive datetime; give it a time zone"))
    if not isinstance(households, Mapping):
        errors.append(
            FieldError(path="$.households", message="expected a mapping of org unit id to int")
        )
    else:
        for key, value in households.items():
            if not isinstance(key, str) or not key:
                errors.append(FieldError(path="$.households", message=f"bad unit id {key!r}"))
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors.append(
                    FieldError(
                        path=f"$.households['{key}']",
                        message=f"expected a non-negative integer, got {value!r}",
                    )
                )
    if org is not None and not isinstance(org, OrgTree):
        errors.append(FieldError(path="$.org", message=f"expected an OrgTree, got {org!r}"))
    if taxonomy is not None and not isinstance(taxonomy, Taxonomy):
        errors.append(FieldError(path="$.taxonomy", message="expected a Taxonomy"))
    if policies is not None and not isinstance(policies, PolicySet):
        errors.append(FieldError(path="$.policies", message="expected a PolicySet"))
    if calendar is not None and not isinstance(calendar, BusinessCalendar):
        errors.append(FieldError(path="$.calendar", message="expected a BusinessCalendar"))
    if (
        not isinstance(vital_share, int | float)
        or isinstance(vital_share, bool)
        or not 0 < vital_share <= 1
    ):
        errors.append(
            FieldError(
                path="$.vital_share", message=f"expected 0 < share <= 1, got {vital_share!r}"
            )
        )
    return errors


def _repath(err: ValidationError, prefix: str) -> ValidationError:
    """The same error with every path moved under ``prefix`` (``$[0]`` → ``prefix[0]``)."""
    return ValidationError(
        [FieldError(path=prefix + e.path[1:], message=e.message) for e in err.errors],
        subject=err.subject,
        hint=err.hint,
    )


# --------------------------------------------------------------------------- helpers


def _rollup(taxonomy: Taxonomy) -> Callable[[str], tuple[str | None, str | None]]:
    """Category code → (class, discipline) through the taxonomy, cached per code."""
    cache: dict[str, tuple[str | None, str | None]] = {}

    def rollup(code: str) -> tuple[str | None, str | None]:
        hit = cache.get(code)
        if hit is not None:
            return hit
        out: tuple[str | None, str | None]
        try:
            cls: str | None = taxonomy.rollup(code, "class")
        except PropcrmError:
            parts = code.split(".")
            out = (parts[0], ".".join(parts[:2]) if len(parts) >= 2 else None)
        else:
            try:
                disc: str | None = taxonomy.rollup(code, "discipline")
            except PropcrmError:
                disc = None
            out = (cls, disc)
        cache[code] = out
        return out

    return rollup


def _category_label(taxonomy: Taxonomy, code: str | None) -> tuple[str, str]:
    if code is None:
        return _UNCATEGORISED
    try:
        node = taxonomy.get(code)
    except NotFoundError:
        return code, code
    return node.name_zh, node.name_en


def _party_label(taxonomy: Taxonomy, code: str) -> tuple[str, str]:
    try:
        party = taxonomy.party(code)
    except NotFoundError:
        return code, code
    return party.name_zh, party.name_en


def _note(value: KpiValue) -> Note:
    cohort = KpiCohort(value.cohort)
    excluded = [Exclusion(x) for x in value.exclusions]
    zh = cohort.label_zh + (
        "；不含" + "、".join(x.label_zh for x in excluded) if excluded else "；无排除"
    )
    en = cohort.label_en + (
        "; excluding " + ", ".join(x.label_en.lower() for x in excluded)
        if excluded
        else "; nothing excluded"
    )
    return Note(zh=zh, en=en)


def _status(value: float | None, target: float | None, met: bool | None) -> str:
    if value is None:
        return "no_value"
    if target is None or met is None:
        return "no_target"
    return "met" if met else "missed"


def _tile(value: KpiValue) -> KpiTile:
    return KpiTile(
        kpi=value.kpi,
        label_zh=value.label_zh,
        label_en=value.label_en,
        value=value.value,
        unit=value.unit,
        direction=value.direction,
        target=value.target,
        status=_status(value.value, value.target, value.met),
        numerator=value.numerator,
        denominator=value.denominator,
        cohort=value.cohort,
        exclusions=value.exclusions,
        note=_note(value),
    )


def _empty_tile(definition: KpiDefinition, targets: Mapping[str, float] | None) -> KpiTile:
    """The tile of a KPI whose cohort had no row at all (the engine returns no group)."""
    target = (targets or {}).get(definition.name, definition.target)
    exclusions = tuple(sorted(x.value for x in definition.exclusions))
    value = KpiValue(
        kpi=definition.name,
        label_zh=definition.label_zh,
        label_en=definition.label_en,
        group=(),
        period=None,
        numerator=None,
        denominator=None,
        value=None,
        unit=definition.unit.value,
        direction=definition.direction.value,
        target=target,
        met=None,
        cohort=definition.cohort.value,
        exclusions=exclusions,
    )
    return _tile(value)


def _definition(name: str) -> KpiDefinition:
    return TICKETS_RECEIVED if name == TICKETS_RECEIVED.name else get_kpi(name)


def _months(start: date, end: date) -> tuple[str, ...]:
    """Labels of the months that ``[start, end)`` touches."""
    last = end - timedelta(days=1)
    out = []
    y, m = start.year, start.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def _resolve_households(
    households: Mapping[str, int], org: OrgTree | None
) -> tuple[Households, int]:
    """Households per unit (the caller's figures first, the tree's below them) and the total."""
    by_unit = dict(households)
    if org is None:
        return Households(by_unit=by_unit, total=sum(by_unit.values())), sum(by_unit.values())
    memo: dict[str, int] = {}

    def of(unit_id: str) -> int:
        if unit_id in memo:
            return memo[unit_id]
        if unit_id in households:
            n = households[unit_id]
        else:
            children = org.children(unit_id)
            n = sum(of(c.id) for c in children) if children else org.households(unit_id)
        memo[unit_id] = n
        return n

    for unit in org:
        by_unit[unit.id] = of(unit.id)
    total = sum(of(u.id) for u in org if u.parent_id is None)
    return Households(by_unit=by_unit, total=total), total


def _days(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds() / 86400


def _frames_available() -> bool:
    """Whether the KPI reports can run on a facts table (pyarrow, narwhals, Polars or DuckDB)."""
    return all(find_spec(m) is not None for m in ("pyarrow", "narwhals", "numpy")) and any(
        find_spec(m) is not None for m in ("polars", "duckdb")
    )


def _report_rows(
    report: Callable[..., Any],
    histories: Sequence[Sequence[Event]],
    facts: Sequence[dict[str, Any]],
    *,
    frames: bool,
    options: FactOptions,
    **kw: Any,
) -> list[dict[str, Any]]:
    """A KPI report's rows, from the fact rows already folded (frames) or the histories.

    Both engines fill the same slots from the same definitions and agree to the last digit
    (``propcrm.metrics.kpi``'s agreement tests); on a table the tickets are not folded again.
    """
    if not histories:
        return []
    if frames:
        table = report(facts_to_arrow(facts), **kw)
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows
    return list(report(histories, options=options, **kw))


# --------------------------------------------------------------------------- sections


def _segments(
    transactions: Sequence[Transaction],
    *,
    as_of: date,
    segment_map: SegmentMap,
    weights: Weights,
) -> tuple[SegmentRow, ...]:
    result = score(transactions, as_of=as_of, weights=weights)
    assigned = assign_segments(result, segment_map)
    counts: Counter[str] = Counter()
    money: dict[str, list[Decimal]] = {}
    for customer in result:
        segment = assigned.get(customer.customer_id)
        key = "unassigned" if segment is None else segment.key
        counts[key] += 1
        if customer.monetary is not None:
            money.setdefault(key, []).append(customer.monetary)
    total = len(result)
    ordered = [*segment_map.segments]
    if segment_map.unscored is not None:
        ordered.append(segment_map.unscored)
    rows = []
    for seg in ordered:
        rows.append(
            SegmentRow(
                key=seg.key,
                label_zh=seg.zh,
                label_en=seg.en,
                customers=counts.get(seg.key, 0),
                share=counts.get(seg.key, 0) / total if total else 0.0,
                mean_monetary=_mean_money(money.get(seg.key)),
            )
        )
    if counts.get("unassigned"):
        rows.append(
            SegmentRow(
                key="unassigned",
                label_zh="未归类",
                label_en="Unassigned",
                customers=counts["unassigned"],
                share=counts["unassigned"] / total,
                mean_monetary=_mean_money(money.get("unassigned")),
            )
        )
    return tuple(rows)


def _mean_money(values: list[Decimal] | None) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def _delivery(
    events: Iterable[dl.DeliveryEvent],
    *,
    as_of: date,
    taxonomy: Taxonomy,
    tenants: frozenset[str] | None,
) -> tuple[DeliverySection | None, int]:
    """The delivery section of the batches inside ``tenants``, and how many were left out."""
    by_batch: dict[str, list[dl.DeliveryEvent]] = {}
    for i, event in enumerate(events):
        if not isinstance(event, dl.DeliveryEvent):
            raise ValidationError.single(
                f"$.delivery_events[{i}]", f"expected a DeliveryEvent, got {type(event).__name__}"
            )
        by_batch.setdefault(event.batch_id, []).append(event)
    batches = []
    outside = 0
    for batch_id, history in by_batch.items():
        history.sort(key=lambda e: e.sequence)
        try:
            batch = dl.replay(history)
        except ValidationError as err:
            raise _repath(err, f"$.delivery_events['{batch_id}']") from None
        if tenants is not None and batch.scope.company_id not in tenants:
            outside += 1
        else:
            batches.append(batch)
    if not batches:
        return None, outside
    first = dk.first_pass_inspection_rate(batches)
    on_time = dk.handover_on_time_rate(batches, as_of=as_of)
    per_unit = dk.defects_per_unit_by_discipline(batches, taxonomy)
    times = dk.rectification_time_by_contractor(batches)
    section = DeliverySection(
        batches=len(batches),
        units=sum(len(b.units) for b in batches),
        first_pass=RatioFigure(
            numerator=first.numerator, denominator=first.denominator, value=first.value
        ),
        handover_on_time=RatioFigure(
            numerator=on_time.numerator, denominator=on_time.denominator, value=on_time.value
        ),
        defects_per_unit=tuple(
            DisciplineDefects(
                discipline=code,
                label_zh=_category_label(taxonomy, code)[0],
                label_en=_category_label(taxonomy, code)[1],
                per_unit=value,
            )
            for code, value in per_unit.items()
        ),
        rectification=tuple(
            RectificationRow(
                contractor=name,
                closed=t.closed,
                still_open=t.still_open,
                mean_days=_days(t.mean),
                median_days=_days(t.median),
                longest_days=_days(t.longest),
                send_backs=t.send_backs,
            )
            for name, t in times.items()
        ),
    )
    return section, outside


def _unit_name(org: OrgTree | None, unit_id: str) -> str:
    if org is not None and unit_id in org:
        return scrub_pii(org.get(unit_id).name)
    return unit_id


# --------------------------------------------------------------------------- the builder


def build_dashboard(
    histories: Iterable[Sequence[Event]],
    *,
    households: Mapping[str, int],
    period: tuple[date, date],
    as_of: datetime,
    org: OrgTree | None = None,
    surveys: Iterable[SurveyResponse] = (),
    delivery_events: Iterable[dl.DeliveryEvent] = (),
    transactions: Iterable[Transaction] = (),
    calendar: BusinessCalendar | None = None,
    policies: PolicySet | None = None,
    taxonomy: Taxonomy | None = None,
    title: str | None = None,
    survey_definitions: Iterable[SurveyDefinition] = (),
    targets: Mapping[str, float] | None = None,
    kpis: Sequence[str] = HEADLINE_KPIS,
    unit_kpis: Sequence[str] = UNIT_KPIS,
    trend_kpis: Sequence[str] = TREND_KPIS,
    segment_map: SegmentMap = PROPERTY_MAP,
    rfm_weights: Weights = PURCHASE_WEIGHTS,
    vital_share: float = 0.8,
    focus_level: str = "category_discipline",
    engine: Literal["auto", "python", "frames"] = "auto",
) -> Dashboard:
    """Build the service director's dashboard for ``period`` as of ``as_of``.

    Args:
        histories: One event list per ticket (any iterable; read once).
        households: Households per org unit id (at least per project). Without ``org`` the
            ids are taken as disjoint units and the group's total is their sum.
        period: ``(start, end)`` local dates, ``[start, end)`` reported.
        as_of: The aware instant backlog, ageing and SLA states are measured at; tickets
            received after it are left out.
        org: The org tree: unit names, company and project roll-ups, households below units.
        surveys: Survey responses, for the satisfaction rate.
        delivery_events: Delivery events of one or more batches (any order within a batch).
        transactions: Transactions for the RFM segments.
        calendar: A business calendar: durations in business time (the ``*_business_*`` KPIs),
            and the calendar SLA policies naming it (``calendar.name``) run on, in place of
            the registry's.
        policies: SLA policies; :func:`propcrm.metrics.sla.default_policies` when ``None``.
        taxonomy: Category and party labels and roll-ups; the standard taxonomy when ``None``.
        title: The report's title (phone and ID numbers in it are masked).
        survey_definitions: The surveys answered, for the satisfaction index.
        targets: Targets by KPI name, replacing the definitions' defaults.
        kpis: The headline KPIs (registered names, or ``tickets_received``).
        unit_kpis: The KPIs per company and project.
        trend_kpis: The KPIs followed month by month.
        segment_map: The RFM segment map (:data:`propcrm.metrics.rfm.PROPERTY_MAP`).
        rfm_weights: RFM weights (:data:`propcrm.metrics.rfm.PURCHASE_WEIGHTS`).
        vital_share: The cumulative share that marks the vital few complaint categories.
        focus_level: ``category``, ``category_discipline`` or ``category_class``.
        engine: How the complaint focus and the contractor scorecard run: ``python`` folds
            those tickets' histories again; ``frames`` runs the reports on a table of the fact
            rows already folded (extra ``frames``, much faster for a year of tickets);
            ``auto`` (default) takes ``frames`` when its packages are installed. The figures
            are the same.

    Returns:
        The dashboard.

    Raises:
        ValidationError: Bad input, each bad field named by its path (``$.as_of``,
            ``$.period[1]``, ``$.histories[3][0]`` …).
        NotFoundError: A KPI name is not registered.
    """
    errors = _check_inputs(
        histories=histories,
        households=households,
        period=period,
        as_of=as_of,
        org=org,
        taxonomy=taxonomy,
        policies=policies,
        calendar=calendar,
        vital_share=vital_share,
    )
    if focus_level not in ("category", "category_discipline", "category_class"):
        errors.append(
            FieldError(
                path="$.focus_level",
                message=f"expected category, category_discipline or category_class, "
                f"not {focus_level!r}",
            )
        )
    if engine not in ("auto", "python", "frames"):
        errors.append(
            FieldError(path="$.engine", message=f"expected auto, python or frames, not {engine!r}")
        )
    if errors:
        raise ValidationError(errors, subject="dashboard input")
    frames = engine == "frames" or (engine == "auto" and _frames_available())
    start, end = period
    window = (start, end)
    tx = taxonomy if taxonomy is not None else standard()
    sla_policies = policies if policies is not None else default_policies()
    rollup = _rollup(tx)
    options = FactOptions(
        as_of=as_of,
        calendar=calendar,
        policies=sla_policies,
        calendars=None if calendar is None else {calendar.name: calendar},
        rollup=rollup,
    )
    hh, total_households = _resolve_households(households, org)

    def names(chosen: Sequence[str]) -> list[str]:
        if calendar is None:
            return list(chosen)
        return [_BUSINESS_TWINS.get(n, n) for n in chosen]

    headline = [_definition(n) for n in names(kpis)]
    per_unit = [_definition(n) for n in names(unit_kpis)]
    trend = [_definition(n) for n in names(trend_kpis)]
    sla_targets = [
        t
        for t in SlaTarget
        if any(rule.target is t for p in sla_policies.policies for rule in p.targets)
    ]
    sla_defs = []
    for t in sla_targets:
        try:
            sla_defs.append(get_kpi(f"sla_{t.value}_attainment"))
        except NotFoundError:
            continue

    # One fold per ticket: fact rows are kept (flat dicts), the histories only where a report
    # that reads histories needs them (complaints for the Pareto, contractors' repairs).
    facts: list[dict[str, Any]] = []
    complaints: list[Sequence[Event]] = []
    contracted: list[Sequence[Event]] = []
    complaint_facts: list[dict[str, Any]] = []
    contracted_facts: list[dict[str, Any]] = []
    # With an org tree, only its companies' data counts (the company is the tenant boundary).
    companies_in_tree = frozenset(u.id for u in org if u.level is OrgLevel.COMPANY) if org else None
    tenants = companies_in_tree or None
    outside = Counter[str]()
    for i, history in enumerate(histories):
        try:
            rows = list(iter_facts([history], options))
        except ValidationError as err:
            raise _repath(err, f"$.histories[{i}]") from None
        for row in rows:
            if tenants is not None and row["company"] not in tenants:
                outside["tickets"] += 1
                continue
            facts.append(row)
            if row["kind"] == "complaint":
                complaints.append(history)
                complaint_facts.append(row)
            if row["contractor"] is not None:
                contracted.append(history)
                contracted_facts.append(row)
    survey_list = list(surveys)
    for i, response in enumerate(survey_list):
        if not isinstance(response, SurveyResponse):
            raise ValidationError.single(
                f"$.surveys[{i}]", f"expected a SurveyResponse, got {type(response).__name__}"
            )
    if tenants is not None:
        kept = [r for r in survey_list if r.scope.company_id in tenants]
        outside["surveys"] = len(survey_list) - len(kept)
        survey_list = kept
    survey_rows = list(survey_facts(survey_list, survey_definitions))

    # Whole period: headline KPIs and SLA attainment in one pass.
    whole = compute_facts(
        facts,
        definitions=[*headline, *sla_defs],
        survey_rows=survey_rows,
        households=hh,
        targets=targets,
        window=window,
    )
    by_name = {v.kpi: v for v in whole}
    tiles = tuple(
        _tile(by_name[d.name]) if d.name in by_name else _empty_tile(d, targets) for d in headline
    )
    sla_rows = []
    for t, d in zip(sla_targets, sla_defs, strict=True):
        v = by_name.get(d.name)
        met = int(v.numerator or 0) if v else 0
        decided = int(v.denominator or 0) if v else 0
        goal = (targets or {}).get(d.name, d.target)
        attained = v.value if v else None
        sla_rows.append(
            SlaRow(
                target=t.value,
                label_zh=t.label_zh,
                label_en=t.label_en,
                kpi=d.name,
                attained=attained,
                met=met,
                breached=decided - met,
                goal=goal,
                status=_status(attained, goal, None if v is None else v.met),
            )
        )

    # Month by month.
    months = _months(start, end)
    monthly = compute_facts(
        facts,
        definitions=trend,
        survey_rows=survey_rows,
        period="month",
        households=hh,
        targets=targets,
        window=window,
    )
    by_month = {(v.kpi, v.period): v for v in monthly}
    trends = []
    for d in trend:
        series: list[float | None] = []
        for m in months:
            point = by_month.get((d.name, m))
            series.append(None if point is None else point.value)
        trends.append(
            TrendSeries(
                kpi=d.name,
                label_zh=d.label_zh,
                label_en=d.label_en,
                unit=d.unit.value,
                direction=d.direction.value,
                target=(targets or {}).get(d.name, d.target),
                values=tuple(series),
            )
        )

    # Per company and project.
    by_unit: list[UnitKpis] = []
    skipped: dict[str, Note] = {}
    if org is not None:
        for level in (OrgLevel.COMPANY, OrgLevel.PROJECT):
            unit_values = compute_facts(
                facts,
                definitions=per_unit,
                survey_rows=survey_rows,
                group_by=(level.value,),
                households=hh,
                targets=targets,
                window=window,
            )
            grouped: dict[str, dict[str, KpiValue]] = {}
            for v in unit_values:
                unit_id = dict(v.group)[level.value]
                if unit_id is not None:
                    grouped.setdefault(unit_id, {})[v.kpi] = v
            ids = [u.id for u in org if u.level is level]
            ids += sorted(k for k in grouped if k not in ids)
            for unit_id in ids:
                mine = grouped.get(unit_id, {})
                by_unit.append(
                    UnitKpis(
                        unit_id=unit_id,
                        name=_unit_name(org, unit_id),
                        level=level.value,
                        households=hh.by_unit.get(unit_id),
                        kpis=tuple(
                            _tile(mine[d.name]) if d.name in mine else _empty_tile(d, targets)
                            for d in per_unit
                        ),
                    )
                )
    else:
        skipped["by_unit"] = Note(
            zh="未提供组织架构(org),不按公司和项目分列。",
            en="No org tree given: no breakdown by company and project.",
        )

    # Complaint focus and the contractor scorecard: the KPI reports themselves.
    focus_options = FactOptions(as_of=as_of, rollup=rollup)
    focus_rows = _report_rows(
        complaint_focus,
        complaints,
        complaint_facts,
        frames=frames,
        options=focus_options,
        level=focus_level,
        window=window,
        vital_share=vital_share,
    )
    focus = tuple(
        FocusRow(
            category=r["category"],
            label_zh=_category_label(tx, r["category"])[0],
            label_en=_category_label(tx, r["category"])[1],
            complaints=r["complaints"],
            share=r["share"],
            cumulative_share=r["cumulative_share"],
            vital_few=r["vital_few"],
        )
        for r in focus_rows
    )
    if not focus:
        skipped["focus"] = Note(
            zh="本期没有有效投诉。", en="No valid complaint was received in the period."
        )
    card = _report_rows(
        contractor_scorecard,
        contracted,
        contracted_facts,
        frames=frames,
        options=options,
        window=window,
        targets=targets,
    )
    contractors = tuple(
        ContractorRow(
            contractor=r["contractor"],
            label_zh=_party_label(tx, r["contractor"])[0],
            label_en=_party_label(tx, r["contractor"])[1],
            repairs=int(r["repairs_reported"] or 0),
            timeliness=r["repair_timeliness"],
            timeliness_met=r.get("repair_timeliness_met"),
            rework_rate=r["repair_rework_rate"],
            rework_met=r.get("repair_rework_rate_met"),
            revisit_satisfaction=r["revisit_satisfaction_rate"],
            revisit_satisfaction_met=r.get("revisit_satisfaction_rate_met"),
        )
        for r in card
    )
    if not contractors:
        skipped["contractors"] = Note(
            zh="本期没有由总包或分包单位负责的工单。",
            en="No ticket in the period was the responsibility of a contractor (GC, SUB-*).",
        )

    as_of_day = as_of.astimezone(_CN).date()
    tx_list = list(transactions)
    for i, item in enumerate(tx_list):
        if not isinstance(item, Transaction):
            raise ValidationError.single(
                f"$.transactions[{i}]", f"expected a Transaction, got {type(item).__name__}"
            )
    segments: tuple[SegmentRow, ...] = ()
    if tx_list:
        segments = _segments(tx_list, as_of=as_of_day, segment_map=segment_map, weights=rfm_weights)
    else:
        skipped["rfm"] = Note(
            zh="未提供交易数据,跳过RFM客户分群。",
            en="No transactions given: RFM segments skipped.",
        )
    delivery, outside["batches"] = _delivery(
        delivery_events, as_of=as_of_day, taxonomy=tx, tenants=tenants
    )
    if delivery is None:
        skipped["delivery"] = Note(
            zh="未提供交付事件,跳过交付指标。",
            en="No delivery events given: delivery KPIs skipped.",
        )

    if org is not None:
        companies = sum(1 for u in org if u.level is OrgLevel.COMPANY)
        projects = sum(1 for u in org if u.level is OrgLevel.PROJECT)
    else:
        companies = len({r["company"] for r in facts if r["company"]})
        projects = len({r["project"] for r in facts if r["project"]} | set(households))
    received = by_name.get(TICKETS_RECEIVED.name)
    if received is None:
        counted = compute_facts(facts, definitions=[TICKETS_RECEIVED], window=window)
        received = counted[0] if counted else None
    tickets = 0 if received is None else int(received.numerator or 0)
    notes: list[Note] = []
    if sum(outside.values()):
        zh_items = [("tickets", "张工单"), ("surveys", "份问卷"), ("batches", "个交付批次")]
        en_items = [("tickets", "tickets"), ("surveys", "survey responses"), ("batches", "batches")]
        notes.append(
            Note(
                zh="已排除组织架构以外公司的数据:"
                + "、".join(f"{outside[k]}{w}" for k, w in zh_items if outside[k])
                + "。",
                en="Left out as outside the org tree's companies: "
                + ", ".join(f"{outside[k]:,} {w}" for k, w in en_items if outside[k])
                + ".",
            )
        )
    return Dashboard(
        title=None if title is None else scrub_pii(title),
        period_start=start,
        period_end=end,
        as_of=as_of,
        households=total_households,
        companies=companies,
        projects=projects,
        tickets=tickets,
        kpis=tiles,
        by_unit=tuple(by_unit),
        months=months,
        trends=tuple(trends),
        sla=tuple(sla_rows),
        focus=focus,
        vital_share=float(vital_share),
        contractors=contractors,
        segments=segments,
        segment_map=segment_map.key if segments else None,
        delivery=delivery,
        skipped=skipped,
        notes=tuple(notes),
    )
