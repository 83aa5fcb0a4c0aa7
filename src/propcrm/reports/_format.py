"""Words and number formats shared by the text and HTML renderers (private)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from propcrm.errors import ValidationError

__all__ = [
    "LANGS",
    "check_lang",
    "fmt_days",
    "fmt_instant",
    "fmt_money",
    "fmt_share",
    "fmt_target",
    "fmt_value",
    "pad",
    "short_label",
    "status_text",
    "table",
    "width",
    "word",
]

LANGS = ("en", "zh")

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("客户服务报告", "Customer service report"),
    "period": ("统计期间", "Period"),
    "as_of": ("统计时点", "As of"),
    "households": ("户", "households"),
    "companies": ("家公司", "companies"),
    "projects": ("个项目", "projects"),
    "tickets": ("张工单", "tickets"),
    "kpis": ("关键指标与目标", "KPIs against targets"),
    "kpi": ("指标", "KPI"),
    "value": ("数值", "Value"),
    "target": ("目标", "Target"),
    "status": ("状态", "Status"),
    "cohort": ("口径", "Cohort"),
    "by_unit": ("分公司与项目", "By company and project"),
    "unit": ("单位", "Unit"),
    "company": ("公司", "Company"),
    "project": ("项目", "Project"),
    "trends": ("月度趋势", "Monthly trends"),
    "month": ("月份", "Month"),
    "sla": ("SLA达成率", "SLA attainment"),
    "sla_target": ("时限目标", "Target"),
    "attained": ("达成率", "Attained"),
    "met_n": ("达成", "Met"),
    "breached": ("超时", "Breached"),
    "goal": ("目标值", "Goal"),
    "focus": ("投诉焦点", "Complaint focus"),
    "category": ("类别", "Category"),
    "complaints": ("投诉数", "Complaints"),
    "share": ("占比", "Share"),
    "cumulative": ("累计占比", "Cumulative"),
    "vital": ("关键少数", "Vital few"),
    "contractors": ("承建商后评估", "Contractor scorecard"),
    "contractor": ("承建商", "Contractor"),
    "repairs": ("维修数", "Repairs"),
    "timeliness": ("维修及时率", "Timeliness"),
    "rework": ("返修率", "Rework"),
    "revisit_sat": ("回访满意率", "Revisit satisfaction"),
    "rfm": ("RFM客户分群", "RFM segments"),
    "segment": ("客群", "Segment"),
    "customers": ("客户数", "Customers"),
    "mean_m": ("平均金额(元)", "Mean monetary (yuan)"),
    "delivery": ("交付指标", "Delivery KPIs"),
    "first_pass": ("一次验收合格率", "First-pass inspection rate"),
    "on_time": ("按期交付率", "Handed over on time"),
    "defects_per_unit": ("每户缺陷数(按专业)", "Defects per unit by discipline"),
    "discipline": ("专业", "Discipline"),
    "per_unit": ("每户", "Per unit"),
    "rectification": ("整改时长(按承建商)", "Rectification time by contractor"),
    "closed": ("已关闭", "Closed"),
    "open": ("未关闭", "Open"),
    "mean_days": ("平均(天)", "Mean (d)"),
    "median_days": ("中位(天)", "Median (d)"),
    "longest_days": ("最长(天)", "Longest (d)"),
    "send_backs": ("退回", "Sent back"),
    "batches": ("批次", "batches"),
    "units": ("户", "units"),
    "notes": ("注", "Notes"),
    "met": ("达标", "met"),
    "missed": ("未达标", "missed"),
    "no_target": ("无目标", "no target"),
    "no_value": ("无数据", "no value"),
    "counts": ("计数", "Counts"),
    "vital_cut": (
        "累计占比达到{share}之前的类别为关键少数",
        "vital few: categories before {share}",
    ),
    "generated": ("由 propcrm 生成", "Made with propcrm"),
    "charts": ("图表", "Charts"),
    "to": ("至", "to"),
}


#: Short column headings of KPIs in narrow tables; other KPIs use their cut label.
_SHORT: dict[str, tuple[str, str]] = {
    "tickets_received": ("工单数", "Tickets"),
    "valid_complaint_rate_per_100": ("有效投诉/百户", "Compl./100hh"),
    "valid_complaint_rate_annualised": ("有效投诉率(年化)", "Complaints p.a."),
    "complaint_handling_rate": ("投诉处理率", "Handled"),
    "complaint_revisit_rate": ("投诉回访率", "Revisited"),
    "repair_timeliness": ("维修及时率", "On time"),
    "repair_pass_rate": ("维修合格率", "Repair pass"),
    "repair_rework_rate": ("返修率", "Rework"),
    "satisfaction_rate": ("满意率", "Satisfaction"),
    "revisit_satisfaction_rate": ("回访满意率", "Revisit sat."),
    "completion_rate": ("完成率", "Completion"),
    "follow_up_rate": ("跟进率", "Follow-up"),
    "backlog": ("未完成", "Backlog"),
    "backlog_over_7d": ("超7天未完成", "Backlog >7d"),
}


def short_label(kpi: str, label_zh: str, label_en: str, lang: str, size: int = 16) -> str:
    """A KPI's short heading for narrow tables and charts."""
    if kpi in _SHORT:
        zh, en = _SHORT[kpi]
        return zh if lang == "zh" else en
    label = label_zh if lang == "zh" else label_en
    return label if width(label) <= size else pad(label, size).rstrip()


def check_lang(lang: object) -> str:
    """Return ``lang`` when it is ``"en"`` or ``"zh"``.

    Raises:
        ValidationError: Any other language (``$.lang``).
    """
    if lang not in LANGS:
        raise ValidationError.single(
            "$.lang", f"unknown language {lang!r}", hint="use 'en' or 'zh'"
        )
    return str(lang)


def word(key: str, lang: str) -> str:
    """The UI word ``key`` in ``lang``."""
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


def status_text(status: str, lang: str) -> str:
    """``met`` → ``✓ met`` / ``✓ 达标``, ``missed`` → ``✗ …``, others plain."""
    mark = {"met": "✓ ", "missed": "✗ "}.get(status, "")
    return mark + word(status, lang)


def fmt_instant(value: datetime) -> str:
    """``2026-01-01 00:00 UTC+08:00``: the instant in its own offset, to the minute."""
    offset = value.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{value:%Y-%m-%d %H:%M} {zone}".rstrip()


def fmt_share(value: float | None) -> str:
    """A ratio as a percentage with one decimal, ``–`` for none."""
    return "–" if value is None else f"{value * 100:.1f}%"


def fmt_days(value: float | None) -> str:
    """Days with one decimal, ``–`` for none."""
    return "–" if value is None else f"{value:.1f}"


def fmt_money(value: Decimal | None) -> str:
    """Yuan with thousands separators and no decimals, ``–`` for none."""
    return "–" if value is None else f"{value:,.0f}"


def fmt_value(value: float | None, unit: str, lang: str, *, compact: bool = False) -> str:
    """A KPI value in its unit: ``95.0%``, ``0.50 /100户``, ``40 min``, ``2.5 h``, ``1,234``.

    ``compact`` leaves out the per-100-households suffix (for columns whose heading says it).
    """
    if value is None:
        return "–"
    if unit == "ratio":
        return fmt_share(value)
    if unit == "per_100_households":
        if compact:
            return f"{value:.2f}"
        return f"{value:.2f} " + ("/百户" if lang == "zh" else "/100 hh")
    if unit == "seconds":
        if abs(value) < 3600:
            return f"{value / 60:.0f} " + ("分钟" if lang == "zh" else "min")
        if abs(value) < 2 * 86400:
            return f"{value / 3600:.1f} " + ("小时" if lang == "zh" else "h")
        return f"{value / 86400:.1f} " + ("天" if lang == "zh" else "d")
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.1f}"


def fmt_target(target: float | None, unit: str, direction: str, lang: str) -> str:
    """``≥ 95.0%`` for higher-is-better, ``≤ 1.0%`` for lower, ``–`` without a target."""
    if target is None:
        return "–"
    return ("≥ " if direction == "higher" else "≤ ") + fmt_value(target, unit, lang)


def width(text: str) -> int:
    """Display width in a terminal: East Asian wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, *, right: bool = False) -> str:
    """Pad ``text`` to ``size`` display columns, cutting it with ``…`` when too long."""
    if width(text) > size:
        out = ""
        for ch in text:
            if width(out + ch) > size - 1:
                break
            out += ch
        text = out + "…"
    fill = " " * (size - width(text))
    return fill + text if right else text + fill


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[bool] = (),
    max_first: int = 34,
    indent: str = "  ",
) -> list[str]:
    """A plain-text table: columns sized to their content, the first capped at ``max_first``."""
    n = len(header)
    sizes = [max([width(header[i])] + [width(r[i]) for r in rows]) for i in range(n)]
    sizes[0] = min(sizes[0], max_first)
    aligns = list(right) + [True] * (n - len(right))
    aligns[0] = False

    def line(cells: Sequence[str]) -> str:
        return (
            indent
            + "  ".join(pad(c, sizes[i], right=aligns[i]) for i, c in enumerate(cells)).rstrip()
        )

    out = [line(header), indent + "  ".join("─" * s for s in sizes)]
    out += [line(r) for r in rows]
    return out
