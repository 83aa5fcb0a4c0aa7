"""The service director's dashboard: KPIs against targets, trends, SLA, complaints, contractors.

:func:`build_dashboard` reads ticket histories (and, when given, survey responses, delivery
events and transactions) through propcrm's own engines and returns a :class:`Dashboard` of plain
data; :func:`render_text` prints it for a terminal, :func:`render_html` and :func:`write_html`
make one self-contained HTML page with charts (extra ``report``: matplotlib and jinja2, imported
only when a page is rendered). Chinese and English throughout. See ``docs/reports.md``.
"""

from __future__ import annotations

from propcrm.reports._build import (
    HEADLINE_KPIS,
    TICKETS_RECEIVED,
    TREND_KPIS,
    UNIT_KPIS,
    build_dashboard,
    scrub_pii,
)
from propcrm.reports._html import render_html, write_html
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
from propcrm.reports._text import render_text

__all__ = [
    "HEADLINE_KPIS",
    "TICKETS_RECEIVED",
    "TREND_KPIS",
    "UNIT_KPIS",
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
    "build_dashboard",
    "render_html",
    "render_text",
    "scrub_pii",
    "write_html",
]
