"""The dashboard as plain text for a terminal, in Chinese or English, about 100 columns wide."""

from __future__ import annotations

import textwrap
from datetime import timedelta

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
    table,
    width,
    word,
)
from propcrm.reports._model import Dashboard, KpiTile, Note

__all__ = ["render_text", "summary_line"]


def summary_line(dashboard: Dashboard, lang: str) -> str:
    """``2026-01-01 – 2026-12-31 · 8,000 households · 2 companies · 6 projects · 1,234 tickets``."""
    d = dashboard
    end = d.period_end - timedelta(days=1)
    parts = [f"{d.period_start.isoformat()} {word('to', lang)} {end.isoformat()}"]
    sep = "" if lang == "zh" else " "
    if d.households is not None:
        parts.append(f"{d.households:,}{sep}{word('households', lang)}")
    parts.append(f"{d.companies}{sep}{word('companies', lang)}")
    parts.append(f"{d.projects}{sep}{word('projects', lang)}")
    parts.append(f"{d.tickets:,}{sep}{word('tickets', lang)}")
    return " · ".join(parts)


def _heading(text: str) -> list[str]:
    return ["", text, "═" * width(text)]


def _skip(dashboard: Dashboard, key: str, lang: str) -> list[str]:
    note = dashboard.skipped.get(key)
    return [] if note is None else ["  " + note.text(lang)]


def _kpi_rows(tiles: tuple[KpiTile, ...], lang: str, notes: list[Note]) -> list[list[str]]:
    rows = []
    for t in tiles:
        if t.note not in notes:
            notes.append(t.note)
        rows.append(
            [
                t.label(lang),
                fmt_value(t.value, t.unit, lang),
                fmt_target(t.target, t.unit, t.direction, lang),
                status_text(t.status, lang),
                f"[{notes.index(t.note) + 1}]",
            ]
        )
    return rows


def render_text(dashboard: Dashboard, lang: str = "en") -> str:
    """The dashboard as text: every section, KPIs against targets first.

    Args:
        dashboard: What :func:`propcrm.reports.build_dashboard` built.
        lang: ``"en"`` or ``"zh"``.

    Raises:
        ValidationError: Unknown language (``$.lang``).
    """
    lang = check_lang(lang)
    d = dashboard
    title = d.title or word("title", lang)
    as_of = fmt_instant(d.as_of)
    out = [title, "━" * 100, summary_line(d, lang), f"{word('as_of', lang)}: {as_of}"]
    for note in d.notes:
        out += textwrap.wrap(note.text(lang), 100)

    out += _heading(word("kpis", lang))
    notes: list[Note] = []
    header = [word(k, lang) for k in ("kpi", "value", "target", "status", "cohort")]
    rows = _kpi_rows(d.kpis, lang, notes)
    out += table(header, rows, right=[False, True, True, False, False], max_first=44)
    out.append("")
    for i, n in enumerate(notes, 1):
        out += textwrap.wrap(
            n.text(lang), 98, initial_indent=f"  [{i}] ", subsequent_indent="      "
        )

    out += _heading(word("by_unit", lang))
    if d.by_unit:
        header = [word("unit", lang)]
        header += [short_label(t.kpi, t.label_zh, t.label_en, lang) for t in d.by_unit[0].kpis]
        rows = []
        for u in d.by_unit:
            mark = "" if u.level == "company" else "  "
            cells = [mark + u.name]
            for t in u.kpis:
                flag = {"met": " ✓", "missed": " ✗"}.get(t.status, "")
                cells.append(fmt_value(t.value, t.unit, lang, compact=True) + flag)
            rows.append(cells)
        out += table(header, rows, max_first=16)
    out += _skip(d, "by_unit", lang)

    out += _heading(word("trends", lang))
    header = [word("month", lang)]
    header += [short_label(s.kpi, s.label_zh, s.label_en, lang) for s in d.trends]
    rows = [
        [m] + [fmt_value(s.values[i], s.unit, lang, compact=True) for s in d.trends]
        for i, m in enumerate(d.months)
    ]
    out += table(header, rows)

    out += _heading(word("sla", lang))
    header = [word(k, lang) for k in ("sla_target", "attained", "goal", "met_n", "breached")]
    header.append(word("status", lang))
    rows = [
        [
            r.label(lang),
            fmt_share(r.attained),
            fmt_target(r.goal, "ratio", "higher", lang),
            f"{r.met:,}",
            f"{r.breached:,}",
            status_text(r.status, lang),
        ]
        for r in d.sla
    ]
    out += table(header, rows, right=[False, True, True, True, True, False])

    out += _heading(word("focus", lang))
    if d.focus:
        header = [word(k, lang) for k in ("category", "complaints", "share", "cumulative", "vital")]
        rows = [
            [
                (f.category + " " if f.category else "") + f.label(lang),
                f"{f.complaints:,}",
                fmt_share(f.share),
                fmt_share(f.cumulative_share),
                "★" if f.vital_few else "",
            ]
            for f in d.focus
        ]
        out += table(header, rows, max_first=40)
        out.append("  ★ " + word("vital_cut", lang).format(share=fmt_share(d.vital_share)))
    out += _skip(d, "focus", lang)

    out += _heading(word("contractors", lang))
    if d.contractors:
        header = [
            word(k, lang) for k in ("contractor", "repairs", "timeliness", "rework", "revisit_sat")
        ]
        rows = [
            [
                f"{c.contractor} {c.label(lang)}",
                f"{c.repairs:,}",
                fmt_share(c.timeliness) + _flag(c.timeliness_met),
                fmt_share(c.rework_rate) + _flag(c.rework_met),
                fmt_share(c.revisit_satisfaction) + _flag(c.revisit_satisfaction_met),
            ]
            for c in d.contractors
        ]
        out += table(header, rows, max_first=36)
    out += _skip(d, "contractors", lang)

    out += _heading(word("rfm", lang))
    if d.segments:
        header = [word(k, lang) for k in ("segment", "customers", "share", "mean_m")]
        rows = [
            [s.label(lang), f"{s.customers:,}", fmt_share(s.share), fmt_money(s.mean_monetary)]
            for s in d.segments
        ]
        out += table(header, rows)
    out += _skip(d, "rfm", lang)

    out += _heading(word("delivery", lang))
    if d.delivery is not None:
        dv = d.delivery
        sep = "" if lang == "zh" else " "
        out.append(
            f"  {dv.batches}{sep}{word('batches', lang)} · {dv.units:,}{sep}{word('units', lang)}"
        )
        fp, ot = dv.first_pass, dv.handover_on_time
        out.append(
            f"  {word('first_pass', lang)}: {fmt_share(fp.value)} "
            f"({fp.numerator:,}/{fp.denominator:,})"
        )
        counts = f"({ot.numerator:,}/{ot.denominator:,})"
        out.append(f"  {word('on_time', lang)}: {fmt_share(ot.value)} {counts}")
        if dv.defects_per_unit:
            out.append("")
            out.append("  " + word("defects_per_unit", lang))
            rows = [
                [f"{x.discipline} {x.label(lang)}", f"{x.per_unit:.2f}"]
                for x in dv.defects_per_unit
            ]
            out += table([word("discipline", lang), word("per_unit", lang)], rows, indent="    ")
        if dv.rectification:
            out.append("")
            out.append("  " + word("rectification", lang))
            header = [
                word(k, lang)
                for k in (
                    "contractor",
                    "closed",
                    "open",
                    "mean_days",
                    "median_days",
                    "longest_days",
                    "send_backs",
                )
            ]
            rows = [
                [
                    r.contractor,
                    f"{r.closed:,}",
                    f"{r.still_open:,}",
                    fmt_days(r.mean_days),
                    fmt_days(r.median_days),
                    fmt_days(r.longest_days),
                    f"{r.send_backs:,}",
                ]
                for r in dv.rectification
            ]
            out += table(header, rows, indent="    ")
    out += _skip(d, "delivery", lang)
    return "\n".join(out) + "\n"


def _flag(met: bool | None) -> str:
    return "" if met is None else (" ✓" if met else " ✗")
