"""The report's charts: matplotlib figures written as inline SVG (private; matplotlib is lazy).

Text stays text in the SVG (``svg.fonttype = 'none'``) with a font list that names common CJK
fonts first, so the reader's browser draws Chinese labels with its own fonts and no font file
is embedded. Element ids are prefixed per chart, so several SVGs can share one page.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from propcrm._optional import require_module
from propcrm.reports._format import fmt_target, width, word
from propcrm.reports._model import Dashboard

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["CHART_FONTS", "charts"]

#: Fonts named in the SVG text, CJK first; the browser uses the first it has.
CHART_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
    "DejaVu Sans",
)

GREEN = "#2e7d32"
RED = "#c62828"
GREY = "#9e9e9e"
BLUE = "#1f5f99"
LIGHT = "#9dbcd9"
INK = "#263238"

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "propcrm",
    "font.family": "sans-serif",
    "font.sans-serif": list(CHART_FONTS),
    "font.size": 9,
    "axes.edgecolor": "#b0bec5",
    "axes.labelcolor": INK,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlecolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.unicode_minus": False,
    "text.usetex": False,
}

_STATUS_COLOUR = {"met": GREEN, "missed": RED}


def _text(value: str) -> str:
    """Label text safe from mathtext (a ``$`` would start a formula)."""
    return value.replace("$", r"\$")


@contextmanager
def _style() -> Iterator[None]:
    mpl = require_module("matplotlib", extra="report", feature="the HTML report's charts")
    with mpl.rc_context(_RC), warnings.catch_warnings():
        # The text is drawn by the browser; matplotlib only measures it (with DejaVu Sans when
        # no CJK font is installed) and says so for every Chinese glyph.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        yield


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.55,
    bottom: float = 0.45,
    right: float = 0.2,
    top: float = 0.4,
    wspace: float = 0.0,
    hspace: float = 0.0,
) -> Figure:
    """A figure with fixed margins in inches.

    matplotlib's layout engines measure the text by drawing the figure again, which costs more
    than the drawing itself; the margins here come from the labels' display width instead.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
        hspace=hspace,
    )
    return fig


def _label_inches(labels: list[str], size: float = 9) -> float:
    """About how wide the widest label is drawn, in inches (CJK characters count double)."""
    return max((width(label) for label in labels), default=0) * size * 0.55 / 72


def _svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element: no XML prolog, no metadata, ids prefixed."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    return text.strip()


def _percent(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def _trends(d: Dashboard, lang: str) -> Figure | None:
    series = [s for s in d.trends if any(v is not None for v in s.values)]
    if not series or not d.months:
        return None
    ncols = min(len(series), 4)
    nrows = math.ceil(len(series) / ncols)
    fig = _figure(11, 2.6 * nrows, left=0.5, bottom=0.5, top=0.55, wspace=0.35, hspace=0.8)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    ticks = _month_ticks(d.months, lang)
    xs = list(range(len(ticks)))
    for i, ax in enumerate(axes.flat):
        if i >= len(series):
            ax.set_visible(False)
            continue
        s = series[i]
        goal = ""
        if s.target is not None:
            goal = f"- - {word('target', lang)} {fmt_target(s.target, s.unit, s.direction, lang)}"
        ax.set_title(_text(s.label(lang)) + "\n" + _text(goal), loc="left", fontsize=9)
        ys = [math.nan if v is None else v for v in s.values]
        if s.unit == "count":
            ax.bar(xs, ys, color=LIGHT, edgecolor=BLUE, linewidth=0.6)
        else:
            ax.plot(xs, ys, color=BLUE, marker="o", markersize=3, linewidth=1.6)
        if s.target is not None:
            ax.axhline(s.target, color=RED, linestyle="--", linewidth=1)
        if s.unit == "ratio":
            _percent(ax)
            top = max([v for v in ys if not math.isnan(v)] + [s.target or 0])
            ax.set_ylim(0, max(1.0, top) * 1.05)
        else:
            ax.set_ylim(bottom=0)
        step = max(1, math.ceil(len(xs) / 6))
        ax.set_xticks(xs[::step], ticks[::step], fontsize=8)
        ax.grid(axis="y", color="#eceff1", linewidth=0.8)
        ax.set_axisbelow(True)
    return fig


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month_ticks(months: tuple[str, ...], lang: str) -> list[str]:
    """``Jan`` … ``Dec`` (``1月`` … ``12月``); the first month and each January add the year."""
    out = []
    for i, label in enumerate(months):
        year, month = label.split("-")
        name = f"{int(month)}月" if lang == "zh" else _MONTHS_EN[int(month) - 1]
        out.append(f"{name}\n{year}" if i == 0 or month == "01" else name)
    return out


def _pareto(d: Dashboard, lang: str) -> Figure | None:
    rows = d.focus[:12]
    if not rows:
        return None
    labels = [_text(r.label(lang)) for r in rows]
    fig = _figure(5.6, 3.8, left=0.7, right=0.6, bottom=_label_inches(labels, 8) * 0.6 + 0.3)
    ax = fig.add_subplot()
    xs = list(range(len(rows)))
    colours = [BLUE if r.vital_few else LIGHT for r in rows]
    ax.bar(xs, [r.complaints for r in rows], color=colours)
    ax.set_ylabel(_text(word("complaints", lang)))
    ax.set_xticks(xs, labels, rotation=35, ha="right", fontsize=8)
    twin = ax.twinx()
    twin.plot(xs, [r.cumulative_share for r in rows], color=RED, marker="o", markersize=3)
    twin.axhline(d.vital_share, color=GREY, linestyle=":", linewidth=1)
    twin.set_ylim(0, 1.05)
    _percent(twin)
    twin.spines["right"].set_visible(True)
    ax.set_title(_text(word("focus", lang)), loc="left")
    return fig


def _sla(d: Dashboard, lang: str) -> Figure | None:
    rows = list(d.sla)
    if not rows:
        return None
    labels = [_text(r.label(lang)) for r in rows]
    fig = _figure(5.6, 0.45 * len(rows) + 1.0, left=_label_inches(labels) + 0.25, bottom=0.4)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    values = [0.0 if r.attained is None else r.attained for r in rows]
    colours = [_STATUS_COLOUR.get(r.status, GREY) for r in rows]
    ax.barh(ys, values, color=colours, height=0.6)
    for y, r in zip(ys, rows, strict=True):
        if r.goal is not None:
            ax.plot([r.goal, r.goal], [y - 0.4, y + 0.4], color=INK, linewidth=1.6)
        text = "–" if r.attained is None else f"{r.attained * 100:.1f}%"
        ax.annotate(
            text,
            (0.01, y),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color="white" if r.attained and r.attained > 0.12 else INK,
        )
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 1)
    _percent(ax, "x")
    ax.set_title(_text(word("sla", lang)) + " (│ = " + _text(word("goal", lang)) + ")", loc="left")
    return fig


def _rfm(d: Dashboard, lang: str) -> Figure | None:
    rows = list(d.segments)
    if not rows:
        return None
    labels = [_text(r.label(lang)) for r in rows]
    fig = _figure(5.6, 0.38 * len(rows) + 1.0, left=_label_inches(labels) + 0.25, bottom=0.4)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    ax.barh(ys, [r.customers for r in rows], color=BLUE, height=0.6)
    for y, r in zip(ys, rows, strict=True):
        ax.annotate(
            f"{r.customers:,} ({r.share * 100:.0f}%)",
            (r.customers, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, max([r.customers for r in rows] + [1]) * 1.25)
    ax.set_title(_text(word("rfm", lang)), loc="left")
    return fig


def _delivery(d: Dashboard, lang: str) -> Figure | None:
    dv = d.delivery
    if dv is None or not (dv.defects_per_unit or dv.rectification):
        return None
    rows = list(dv.defects_per_unit)
    rect = [r for r in dv.rectification if r.mean_days is not None]
    names = [_text(r.label(lang)) for r in rows] + [_text(r.contractor) for r in rect]
    slant = _label_inches(names, 8) * 0.8  # labels turned 35 degrees
    fig = _figure(5.6, 3.8, left=max(0.55, slant + 0.1), bottom=slant * 0.75 + 0.3, wspace=0.45)
    left, right = fig.subplots(1, 2)
    if rows:
        left.bar(range(len(rows)), [r.per_unit for r in rows], color=BLUE)
        left.set_xticks(
            range(len(rows)),
            [_text(r.label(lang)) for r in rows],
            rotation=35,
            ha="right",
            fontsize=8,
        )
    left.set_title(_text(word("defects_per_unit", lang)), loc="left", fontsize=9)
    if rect:
        right.bar(range(len(rect)), [r.mean_days or 0.0 for r in rect], color=LIGHT, edgecolor=BLUE)
        right.set_xticks(
            range(len(rect)),
            [_text(r.contractor) for r in rect],
            rotation=35,
            ha="right",
            fontsize=8,
        )
    right.set_title(_text(word("rectification", lang)), loc="left", fontsize=9)
    right.set_ylabel(_text(word("mean_days", lang)))
    return fig


_CHARTS: tuple[tuple[str, Callable[[Dashboard, str], Figure | None]], ...] = (
    ("trends", _trends),
    ("pareto", _pareto),
    ("sla", _sla),
    ("rfm", _rfm),
    ("delivery", _delivery),
)


def charts(d: Dashboard, lang: str) -> dict[str, str]:
    """Every chart the dashboard has data for: name → inline ``<svg>`` markup.

    Raises:
        OptionalDependencyError: matplotlib is not installed (extra ``report``).
    """
    out: dict[str, str] = {}
    with _style():
        for name, draw in _CHARTS:
            fig = draw(d, lang)
            if fig is not None:
                out[name] = _svg(fig, f"chart-{name}")
    return out
