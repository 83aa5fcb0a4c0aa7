"""Measurement: business calendars, SLA deadlines, KPIs and RFM segmentation.

Each part lives in its own subpackage: :mod:`propcrm.metrics.calendar`,
:mod:`propcrm.metrics.sla`, :mod:`propcrm.metrics.kpi` and :mod:`propcrm.metrics.rfm`. None of
them imports a dataframe library or holiday data until it is used.
"""

from __future__ import annotations

from propcrm.metrics import calendar, kpi, rfm, sla

__all__ = ["calendar", "kpi", "rfm", "sla"]
