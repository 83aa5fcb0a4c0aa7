"""The dashboard's values: frozen attrs classes holding plain data (numbers, strings, dates).

Nothing here computes a KPI: :func:`propcrm.reports.build_dashboard` fills these values from the
KPI, SLA, RFM and delivery engines, and the renderers only read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

__all__ = [
    "ContractorRow",
    "Dashboard",
    "DeliverySection",
    "DisciplineDefects",
    "FocusRow",
    "KpiTile",
    "Note",
    "RatioFigure",
    "RectificationRow",
    "SegmentRow",
    "SlaRow",
    "TrendSeries",
    "UnitKpis",
]


@attrs.frozen(kw_only=True)
class Note:
    """A remark in both languages, e.g. why a section was skipped.

    Attributes:
        zh: Chinese text.
        en: English text.
    """

    zh: str
    en: str

    def text(self, lang: str) -> str:
        """The text in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


@attrs.frozen(kw_only=True)
class KpiTile:
    """One KPI against its target, for the whole period or one org unit.

    Attributes:
        kpi: The KPI's registry name, e.g. ``"repair_timeliness"``.
        label_zh: Chinese label.
        label_en: English label.
        value: The KPI's value; ``None`` when its cohort was empty.
        unit: ``ratio``, ``per_100_households``, ``seconds``, ``count`` or ``score``.
        direction: ``higher`` or ``lower`` is better.
        target: The target compared with, or ``None``.
        status: ``met``, ``missed``, ``no_target`` (a value, no target) or ``no_value``.
        numerator: What the engine counted on top (``None`` for statistics of values).
        denominator: What it counted below (rows, households or values).
        cohort: The cohort rule (``received``, ``completed``, ``closed``, ``open``, ``answered``).
        exclusions: What was left out (``invalid``, ``merged``, ``voided``).
        note: The cohort and exclusions in words.
    """

    kpi: str
    label_zh: str
    label_en: str
    value: float | None
    unit: str
    direction: str
    target: float | None
    status: str
    numerator: float | None
    denominator: float | None
    cohort: str
    exclusions: tuple[str, ...]
    note: Note

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class UnitKpis:
    """The KPIs of one company or project.

    Attributes:
        unit_id: The org unit's id.
        name: Its display name (the id when the org tree does not know it).
        level: ``company`` or ``project``.
        households: Its households, when known.
        kpis: Its KPI tiles, in the dashboard's order.
    """

    unit_id: str
    name: str
    level: str
    households: int | None
    kpis: tuple[KpiTile, ...]


@attrs.frozen(kw_only=True)
class TrendSeries:
    """One KPI month by month.

    Attributes:
        kpi: The KPI's name.
        label_zh: Chinese label.
        label_en: English label.
        unit: What the values measure.
        direction: ``higher`` or ``lower`` is better.
        target: The target, or ``None``.
        values: One value per month of :attr:`Dashboard.months` (``None``: empty cohort).
    """

    kpi: str
    label_zh: str
    label_en: str
    unit: str
    direction: str
    target: float | None
    values: tuple[float | None, ...]

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class SlaRow:
    """Attainment of one SLA target over the tickets received in the period.

    Attributes:
        target: The SLA target's wire value, e.g. ``"resolution"``.
        label_zh: Chinese label.
        label_en: English label.
        kpi: The attainment KPI it comes from (``sla_<target>_attainment``).
        attained: Met / (met + breached); ``None`` when no ticket was decided.
        met: Tickets whose target was met.
        breached: Tickets whose target was breached.
        goal: The attainment target (e.g. 0.95), or ``None``.
        status: ``met``, ``missed``, ``no_target`` or ``no_value``.
    """

    target: str
    label_zh: str
    label_en: str
    kpi: str
    attained: float | None
    met: int
    breached: int
    goal: float | None
    status: str

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class FocusRow:
    """One category of the complaint Pareto (投诉焦点).

    Attributes:
        category: The taxonomy code (``None``: uncategorised).
        label_zh: Chinese name.
        label_en: English name.
        complaints: Valid complaints received in the period.
        share: Its share of all of them.
        cumulative_share: The running share, largest first.
        vital_few: Part of the vital few (the categories up to the cut).
    """

    category: str | None
    label_zh: str
    label_en: str
    complaints: int
    share: float
    cumulative_share: float
    vital_few: bool

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class ContractorRow:
    """One contractor of the scorecard (承建商后评估).

    Attributes:
        contractor: The responsible party code (``GC``, ``SUB-WP`` …).
        label_zh: Chinese name of the party.
        label_en: English name.
        repairs: Repairs (defects) reported in the period.
        timeliness: Repair timeliness (SLA resolution met), or ``None``.
        timeliness_met: Whether it met its target.
        rework_rate: Rework within 30 days, or ``None``.
        rework_met: Whether it met its target.
        revisit_satisfaction: Revisit satisfaction rate, or ``None``.
        revisit_satisfaction_met: Whether it met its target.
    """

    contractor: str
    label_zh: str
    label_en: str
    repairs: int
    timeliness: float | None
    timeliness_met: bool | None
    rework_rate: float | None
    rework_met: bool | None
    revisit_satisfaction: float | None
    revisit_satisfaction_met: bool | None

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class SegmentRow:
    """One RFM segment.

    Attributes:
        key: The segment's key, e.g. ``"butterfly"``.
        label_zh: Chinese label.
        label_en: English label.
        customers: Customers in it.
        share: Their share of all scored customers.
        mean_monetary: Mean M (yuan) of its customers that have one; ``None`` for prospects.
    """

    key: str
    label_zh: str
    label_en: str
    customers: int
    share: float
    mean_monetary: Decimal | None

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class RatioFigure:
    """A ratio with what it counted.

    Attributes:
        numerator: Counted on top.
        denominator: The cohort.
        value: The ratio, ``None`` for an empty cohort.
    """

    numerator: int
    denominator: int
    value: float | None


@attrs.frozen(kw_only=True)
class DisciplineDefects:
    """Defects found per inspected unit in one discipline.

    Attributes:
        discipline: The taxonomy discipline code (``Q.WP`` …).
        label_zh: Chinese name.
        label_en: English name.
        per_unit: Defects per inspected unit.
    """

    discipline: str
    label_zh: str
    label_en: str
    per_unit: float

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_zh if lang == "zh" else self.label_en


@attrs.frozen(kw_only=True)
class RectificationRow:
    """One contractor's rectification tasks, issue to closing re-inspection.

    Attributes:
        contractor: The assignee (contractor code, else party).
        closed: Tasks closed.
        still_open: Tasks still open.
        mean_days: Mean time to close, in days (``None``: none closed).
        median_days: Median, in days.
        longest_days: Longest, in days.
        send_backs: Re-inspections that sent work back.
    """

    contractor: str
    closed: int
    still_open: int
    mean_days: float | None
    median_days: float | None
    longest_days: float | None
    send_backs: int


@attrs.frozen(kw_only=True)
class DeliverySection:
    """The delivery KPIs of the batches given.

    Attributes:
        batches: Batches replayed.
        units: Units in them.
        first_pass: First-pass internal inspection rate (一次验收合格率).
        handover_on_time: Units handed over by the planned date / units due by the as-of day.
        defects_per_unit: Defects per inspected unit, by discipline.
        rectification: Rectification time per contractor.
    """

    batches: int
    units: int
    first_pass: RatioFigure
    handover_on_time: RatioFigure
    defects_per_unit: tuple[DisciplineDefects, ...]
    rectification: tuple[RectificationRow, ...]


@attrs.frozen(kw_only=True)
class Dashboard:
    """The service director's dashboard: every section as plain data.

    A section that could not be built holds nothing and says why in ``skipped`` (RFM without
    transactions, delivery without delivery events).

    Attributes:
        title: The report's title (``None``: the renderers' default).
        period_start: First day reported (local date).
        period_end: The day after the last one reported (``[start, end)``).
        as_of: The instant backlog, ageing and SLA states are measured at.
        households: Households of the whole group.
        companies: Companies covered.
        projects: Projects covered.
        tickets: Tickets received in the period (voided and merged left out).
        kpis: The headline KPIs for the whole period.
        by_unit: The same KPIs per company and per project (empty without an org tree).
        months: Month labels of the trends (``2026-03`` …).
        trends: Headline KPIs month by month.
        sla: Attainment per SLA target.
        focus: The complaint Pareto.
        vital_share: The cumulative share that marks the vital few.
        contractors: The contractor scorecard.
        segments: RFM segments (empty when skipped).
        segment_map: The segment map's key, when segments were built.
        delivery: Delivery KPIs, or ``None`` when skipped.
        skipped: Section name → why it was skipped (``rfm``, ``delivery``, ``focus`` …).
        notes: Remarks on the whole dashboard, e.g. data left out as outside the org tree.
    """

    title: str | None
    period_start: date
    period_end: date
    as_of: datetime
    households: int | None
    companies: int
    projects: int
    tickets: int
    kpis: tuple[KpiTile, ...]
    by_unit: tuple[UnitKpis, ...]
    months: tuple[str, ...]
    trends: tuple[TrendSeries, ...]
    sla: tuple[SlaRow, ...]
    focus: tuple[FocusRow, ...]
    vital_share: float
    contractors: tuple[ContractorRow, ...]
    segments: tuple[SegmentRow, ...]
    segment_map: str | None
    delivery: DeliverySection | None
    skipped: Mapping[str, Note] = attrs.field(factory=dict)
    notes: tuple[Note, ...] = ()

    def kpi(self, name: str) -> KpiTile:
        """The headline tile of KPI ``name``.

        Raises:
            KeyError: The dashboard has no such KPI.
        """
        for tile in self.kpis:
            if tile.kpi == name:
                return tile
        raise KeyError(name)
