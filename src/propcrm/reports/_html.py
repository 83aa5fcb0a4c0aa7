"""The dashboard as one self-contained HTML page: inline CSS, inline SVG charts, no network.

matplotlib and jinja2 (extra ``report``) are imported when a page is rendered, never before.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from propcrm._optional import require_module
from propcrm.reports._format import (
    check_lang,
    fmt_days,
    fmt_instant,
    fmt_money,
    fmt_share,
    fmt_target,
    fmt_value,
    short_label,
    status_text,
    word,
)
from propcrm.reports._model import Dashboard, KpiTile
from propcrm.reports._text import summary_line

__all__ = ["render_html", "write_html"]

#: The page template, shipped as package data next to this module.
_TEMPLATE_FILE = "report.html.j2"


def _cell(text: str, met: bool | None) -> dict[str, str]:
    return {"text": text, "css": "" if met is None else ("ok" if met else "bad")}


def _tile(t: KpiTile, lang: str) -> dict[str, Any]:
    counts = ""
    if t.numerator is not None and t.denominator is not None:
        counts = f"{t.numerator:,.0f}/{t.denominator:,.0f}"
    elif t.denominator is not None:
        counts = f"{t.denominator:,.0f}"
    return {
        "label": t.label(lang),
        "value": fmt_value(t.value, t.unit, lang),
        "target": fmt_target(t.target, t.unit, t.direction, lang),
        "status": t.status,
        "status_text": status_text(t.status, lang),
        "note": t.note.text(lang),
        "counts": counts,
        "has_target": t.target is not None,
    }


def _context(d: Dashboard, lang: str, charts: dict[str, str]) -> dict[str, Any]:
    from markupsafe import Markup

    words = [
        *("as_of", "kpis", "kpi", "value", "target", "status", "cohort", "by_unit", "unit"),
        *("trends", "month", "sla", "sla_target", "attained", "goal", "met_n", "breached"),
        *("focus", "category", "complaints", "share", "cumulative", "vital", "contractors"),
        *("contractor", "repairs", "timeliness", "rework", "revisit_sat", "rfm", "segment"),
        *("customers", "mean_m", "delivery", "first_pass", "on_time", "discipline", "per_unit"),
        *("closed", "open", "mean_days", "median_days", "longest_days", "send_backs"),
        *("batches", "units", "generated", "counts"),
    ]
    delivery = None
    if d.delivery is not None:
        dv = d.delivery
        fp, ot = dv.first_pass, dv.handover_on_time
        delivery = {
            "batches": dv.batches,
            "units": f"{dv.units:,}",
            "first_pass": f"{fmt_share(fp.value)} ({fp.numerator:,}/{fp.denominator:,})",
            "on_time": f"{fmt_share(ot.value)} ({ot.numerator:,}/{ot.denominator:,})",
            "defects": [
                (f"{x.discipline} {x.label(lang)}", f"{x.per_unit:.2f}")
                for x in dv.defects_per_unit
            ],
            "rectification": [
                (
                    r.contractor,
                    f"{r.closed:,}",
                    f"{r.still_open:,}",
                    fmt_days(r.mean_days),
                    fmt_days(r.median_days),
                    fmt_days(r.longest_days),
                    f"{r.send_backs:,}",
                )
                for r in dv.rectification
            ],
        }
    first_unit = d.by_unit[0].kpis if d.by_unit else ()
    return {
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "title": d.title or word("title", lang),
        "summary": summary_line(d, lang),
        "as_of": fmt_instant(d.as_of),
        "w": {k: word(k, lang) for k in words},
        "tiles": [_tile(t, lang) for t in d.kpis],
        "charts": {k: Markup(v) for k, v in charts.items()},  # matplotlib's own SVG markup
        "unit_header": [short_label(t.kpi, t.label_zh, t.label_en, lang) for t in first_unit],
        "units": [
            {
                "name": u.name,
                "level": u.level,
                "cells": [
                    _cell(
                        fmt_value(t.value, t.unit, lang),
                        None if t.status not in ("met", "missed") else t.status == "met",
                    )
                    for t in u.kpis
                ],
            }
            for u in d.by_unit
        ],
        "trend_header": [short_label(s.kpi, s.label_zh, s.label_en, lang) for s in d.trends],
        "trend_rows": [
            [m] + [fmt_value(s.values[i], s.unit, lang, compact=True) for s in d.trends]
            for i, m in enumerate(d.months)
        ],
        "sla": [
            {
                "label": r.label(lang),
                "attained": fmt_share(r.attained),
                "goal": fmt_target(r.goal, "ratio", "higher", lang),
                "met": f"{r.met:,}",
                "breached": f"{r.breached:,}",
                "status": r.status,
                "status_text": status_text(r.status, lang),
            }
            for r in d.sla
        ],
        "focus": [
            {
                "label": (f.category + " " if f.category else "") + f.label(lang),
                "complaints": f"{f.complaints:,}",
                "share": fmt_share(f.share),
                "cumulative": fmt_share(f.cumulative_share),
                "vital": "★" if f.vital_few else "",
            }
            for f in d.focus
        ],
        "contractors": [
            {
                "label": f"{c.contractor} {c.label(lang)}",
                "repairs": f"{c.repairs:,}",
                "cells": [
                    _cell(fmt_share(c.timeliness), c.timeliness_met),
                    _cell(fmt_share(c.rework_rate), c.rework_met),
                    _cell(fmt_share(c.revisit_satisfaction), c.revisit_satisfaction_met),
                ],
            }
            for c in d.contractors
        ],
        "segments": [
            {
                "label": s.label(lang),
                "customers": f"{s.customers:,}",
                "share": fmt_share(s.share),
                "mean": fmt_money(s.mean_monetary),
            }
            for s in d.segments
        ],
        "delivery": delivery,
        "skipped": {k: n.text(lang) for k, n in d.skipped.items()},
        "notes": [n.text(lang) for n in d.notes],
    }


def render_html(dashboard: Dashboard, lang: str = "en") -> str:
    """The dashboard as one self-contained HTML page.

    The first screen shows the title, the period, the group's size and the KPI tiles (value
    against target, green or red), then the charts (monthly trends, complaint Pareto, SLA
    attainment, RFM segments, delivery), then every table. CSS and charts are inline (SVG with
    text left as text, so the browser draws Chinese with its own fonts); nothing is fetched.

    Args:
        dashboard: What :func:`propcrm.reports.build_dashboard` built.
        lang: ``"en"`` or ``"zh"``.

    Raises:
        ValidationError: Unknown language (``$.lang``).
        OptionalDependencyError: matplotlib or jinja2 is missing (``pip install
            "propcrm[report]"``).
    """
    lang = check_lang(lang)
    jinja2 = require_module("jinja2", extra="report", feature="the HTML report")
    from propcrm.reports._charts import charts

    svgs = charts(dashboard, lang)
    source = resources.files("propcrm.reports").joinpath(_TEMPLATE_FILE).read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page: str = env.from_string(source).render(**_context(dashboard, lang, svgs))
    return page


def write_html(dashboard: Dashboard, path: str | os.PathLike[str], lang: str = "en") -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8; missing folders are made).

    Returns:
        The path written.
    """
    page = render_html(dashboard, lang)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
