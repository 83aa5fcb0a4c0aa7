"""Measurement: business calendars, SLA deadlines, KPIs and RFM segmentation.

Each part lives in its own subpackage: :mod:`propcrm.metrics.calendar`,
:mod:`propcrm.metrics.rfm` (and, as they land, ``sla`` and ``kpi``).
"""

__all__: list[str] = []
