"""Business-calendar benchmarks: propcrm against pandas, businesstimedelta and businesstime.

Run ``python benchmarks/calendar_bench.py`` (about a minute) or ``--quick`` (a few seconds, not
written to the results file). Every workload runs in the same process on the same calendar:
China's statutory holidays with make-up days (``cn-statutory``), Monday to Friday 09:00-12:00
and 13:30-18:00 in Asia/Shanghai. Each peer gets the closest calendar it can express:

- pandas ``CustomBusinessHour``: both daily windows and the weekday holidays; no make-up days
  (a weekmask cannot make one Saturday a working day) and no business-time difference at all.
- businesstimedelta: a ``WorkDayRule``, a ``LunchTimeRule`` and a ``HolidayRule``; no make-up
  days.
- businesstime: one window a day (09:00-18:00, no lunch break) and the weekday holidays; no
  make-up days; no ``add``.

The slow peers run on a documented random subsample of the same inputs and their time is
scaled per call (the table says how many calls each measured). The "agrees" column is the share
of the peer's answers equal to propcrm's on that subsample: where they differ, the peer lacks a
feature (make-up days, the lunch break) or counts differently.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from propcrm.metrics.calendar import (
    BusinessCalendar,
    add_many,
    check_breaches,
    chinese_statutory,
)

SH = ZoneInfo("Asia/Shanghai")
RESULTS = Path(__file__).parent / "results" / "calendar.md"
FIRST, LAST = dt.datetime(2024, 1, 1, tzinfo=SH), dt.datetime(2026, 1, 1, tzinfo=SH)
MAX_HOURS = 37  # five working days of 7.5 hours, in whole hours (pandas adds whole hours only)


@dataclass
class Row:
    workload: str
    peer: str
    ours_s: float  # propcrm seconds per call (per element for vectorised rows)
    peer_s: float | None  # peer seconds per call, None when the peer cannot do it
    ours_n: int
    peer_n: int
    target: float | None = None  # required ratio
    lacks: str = ""
    agrees: float | None = None
    note: str = ""
    #: an absolute target: (measured seconds, limit seconds)
    limit: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.peer_s is None else self.peer_s / self.ours_s


@dataclass
class Workload:
    starts: list[dt.datetime]
    hours: list[int]
    ends: list[dt.datetime]
    rng: random.Random = field(repr=False)

    def sample(self, k: int) -> list[int]:
        return sorted(self.rng.sample(range(len(self.starts)), min(k, len(self.starts))))


def make_workload(n: int, seed: int = 20251123) -> Workload:
    """Random starts over two years (to the minute), 1-37 business hours, ends within 7 days."""
    rng = random.Random(seed)
    span = int((LAST - FIRST).total_seconds() // 60)
    starts = [
        (FIRST.astimezone(dt.timezone.utc) + dt.timedelta(minutes=rng.randrange(span))).astimezone(
            SH
        )
        for _ in range(n)
    ]
    hours = [rng.randint(1, MAX_HOURS) for _ in range(n)]
    ends = [s + dt.timedelta(minutes=rng.randrange(7 * 1440)) for s in starts]
    return Workload(starts, hours, ends, rng)


def the_calendar() -> BusinessCalendar:
    return chinese_statutory()


def weekday_holidays(calendar: BusinessCalendar) -> list[dt.date]:
    return sorted(d for d in calendar.holidays if d.weekday() < 5 and 2023 <= d.year <= 2026)


REPEATS = 3


def timed(fn: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, Any]:
    """The best wall time of ``repeats`` runs (the same for propcrm and peers), and a result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - began)
    return best, out


# -- peers ---------------------------------------------------------------------------------------


def pandas_offset(calendar: BusinessCalendar) -> Any:
    import pandas as pd

    return pd.offsets.CustomBusinessHour(
        start=["09:00", "13:30"], end=["12:00", "18:00"], holidays=weekday_holidays(calendar)
    )


def btd_rules(calendar: BusinessCalendar) -> Any:
    import businesstimedelta as btd
    import pytz

    tz = pytz.timezone("Asia/Shanghai")
    week = [0, 1, 2, 3, 4]
    return btd.Rules(
        [
            btd.WorkDayRule(dt.time(9), dt.time(18), working_days=week, tz=tz),
            btd.LunchTimeRule(dt.time(12), dt.time(13, 30), working_days=week, tz=tz),
            btd.HolidayRule(weekday_holidays(calendar), tz=tz),
        ]
    )


def businesstime_calendar(calendar: BusinessCalendar) -> Any:
    import businesstime

    return businesstime.BusinessTime(
        business_hours=(dt.time(9), dt.time(18)), holidays=weekday_holidays(calendar)
    )


# -- workloads -----------------------------------------------------------------------------------


def bench_add(calendar: BusinessCalendar, w: Workload, sample: int) -> list[Row]:
    import businesstimedelta as btd
    import pandas as pd

    n = len(w.starts)
    durations = [dt.timedelta(hours=h) for h in w.hours]
    calendar.compile(FIRST.year, LAST.year)  # compile time is measured on its own
    spent, ours = timed(
        lambda: [calendar.add(s, d) for s, d in zip(w.starts, durations, strict=True)]
    )
    per = spent / n
    utc = [s.astimezone(dt.timezone.utc) for s in w.starts]
    general = timed(lambda: [calendar.add(s, d) for s, d in zip(utc, durations, strict=True)])[0]
    lacks_pd = "make-up days"
    rows = []

    offset = pandas_offset(calendar)
    offsets = {h: offset * h for h in range(1, MAX_HOURS + 1)}
    idx = w.sample(sample)
    stamps = [pd.Timestamp(w.starts[i]) for i in idx]
    pairs = [(t, offsets[w.hours[i]]) for t, i in zip(stamps, idx, strict=True)]
    spent_pd, got = timed(lambda: [t + o for t, o in pairs])
    rows.append(
        Row(
            "add, scalar",
            "pandas CustomBusinessHour",
            per,
            spent_pd / len(idx),
            n,
            len(idx),
            50.0,
            lacks_pd,
            _agree([g.to_pydatetime() for g in got], [ours[i] for i in idx]),
            f"propcrm {_fmt_time(general / n)} a call when the inputs are in UTC rather than "
            "the calendar's zone (the general path)",
        )
    )

    series = pd.Series(stamps)
    hours = pd.Series([w.hours[i] for i in idx])

    def series_add() -> pd.Series:
        out = pd.Series(pd.NaT, index=series.index, dtype=series.dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "not vectorized" PerformanceWarning
            for h, group in series.groupby(hours):
                out[group.index] = group + offsets[int(h)]
        return out

    spent_sr, got_sr = timed(series_add)
    rows.append(
        Row(
            "add, Series",
            "pandas Series + CustomBusinessHour",
            per,
            spent_sr / len(idx),
            n,
            len(idx),
            None,
            lacks_pd,
            _agree([g.to_pydatetime() for g in got_sr], [ours[i] for i in idx]),
            "pandas adds one offset to a whole Series, so the sample is grouped by duration "
            "(37 Series + offset operations)",
        )
    )

    rules = btd_rules(calendar)
    idx_b = idx[: max(1, len(idx) // 10)]
    spent_b, got_b = timed(
        lambda: [w.starts[i] + btd.BusinessTimeDelta(rules, hours=w.hours[i]) for i in idx_b]
    )
    rows.append(
        Row(
            "add, scalar",
            "businesstimedelta",
            per,
            spent_b / len(idx_b),
            n,
            len(idx_b),
            None,
            "make-up days",
            _agree(got_b, [ours[i] for i in idx_b]),
        )
    )
    rows.append(Row("add, scalar", "businesstime", per, None, n, 0, None, "no add operation"))
    return rows


def bench_elapsed(calendar: BusinessCalendar, w: Workload, sample: int) -> list[Row]:
    n = len(w.starts)
    calendar.compile(FIRST.year, LAST.year)
    spent, ours = timed(
        lambda: [calendar.elapsed(a, b) for a, b in zip(w.starts, w.ends, strict=True)]
    )
    per = spent / n
    utc = [
        (a.astimezone(dt.timezone.utc), b.astimezone(dt.timezone.utc))
        for a, b in zip(w.starts, w.ends, strict=True)
    ]
    general = timed(lambda: [calendar.elapsed(a, b) for a, b in utc])[0]
    rows = [
        Row(
            "elapsed",
            "pandas CustomBusinessHour",
            per,
            None,
            n,
            0,
            None,
            "no business-time difference",
        )
    ]
    bt = businesstime_calendar(calendar)
    idx = w.sample(sample)
    naive = [(w.starts[i].replace(tzinfo=None), w.ends[i].replace(tzinfo=None)) for i in idx]
    spent_bt, got_bt = timed(lambda: [bt.businesstimedelta(a, b) for a, b in naive])
    # businesstime counts whole business days as days of 9 hours: convert to real hours
    got_bt_h = [g.days * dt.timedelta(hours=9) + dt.timedelta(seconds=g.seconds) for g in got_bt]
    rows.append(
        Row(
            "elapsed",
            "businesstime",
            per,
            spent_bt / len(idx),
            n,
            len(idx),
            8.0,
            "lunch break, make-up days",
            _agree(got_bt_h, [ours[i] for i in idx]),
            f"propcrm {_fmt_time(general / n)} a call when the inputs are in UTC rather than "
            "the calendar's zone (the general path)",
        )
    )
    rules = btd_rules(calendar)
    idx_b = idx[: max(1, len(idx) // 10)]
    spent_b, got_b = timed(lambda: [rules.difference(w.starts[i], w.ends[i]) for i in idx_b])
    rows.append(
        Row(
            "elapsed",
            "businesstimedelta",
            per,
            spent_b / len(idx_b),
            n,
            len(idx_b),
            500.0,
            "make-up days",
            _agree([g.timedelta for g in got_b], [ours[i] for i in idx_b]),
        )
    )
    return rows


def bench_vector(calendar: BusinessCalendar, n: int, sample: int, seed: int = 7) -> list[Row]:
    """Breach checks: deadline = created + target, then ``now > deadline`` and time left."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    lo, hi = int(FIRST.timestamp()), int(LAST.timestamp())
    created = rng.integers(lo, hi, n)
    targets = rng.integers(1, MAX_HOURS + 1, n)
    now = dt.datetime(2025, 7, 1, 10, tzinfo=SH)
    check_breaches(calendar, add_many(calendar, created[:10], targets[:10] * 3600), now)

    def ours() -> Any:
        due = add_many(calendar, created, targets * 3600)
        return due, check_breaches(calendar, due, now)

    best, (_, result) = timed(ours)

    offset = pandas_offset(calendar)
    offsets = {h: offset * h for h in range(1, MAX_HOURS + 1)}
    idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    series = pd.Series(pd.to_datetime(created[idx], unit="s", utc=True)).dt.tz_convert(SH)
    hours = pd.Series(targets[idx])
    stamp = pd.Timestamp(now)

    def peer() -> Any:
        out = pd.Series(pd.NaT, index=series.index, dtype=series.dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for h, group in series.groupby(hours):
                out[group.index] = group + offsets[int(h)]
        return stamp > out

    spent_pd, breached_pd = timed(peer)
    agree = float(np.mean(breached_pd.to_numpy() == result.breached[idx]))
    return [
        Row(
            f"{n:,} breach checks (vectorised)",
            "pandas Series + CustomBusinessHour",
            best / n,
            spent_pd / len(idx),
            n,
            len(idx),
            1000.0,
            "make-up days; no business time remaining",
            agree,
            "add_many for the deadlines, then check_breaches (breached mask and business "
            "time remaining); the ≤ 0.3 s target is for the whole batch",
            (best, 0.3),
        )
    ]


def bench_compile(first: int = 2004, last: int = 2026) -> list[Row]:
    """Compile every published year on fresh calendars; report the mean and the slowest year."""
    times = []
    for year in range(first, last + 1):
        calendar = the_calendar()  # a fresh calendar each time: nothing compiled yet
        times.append(timed(lambda c=calendar, y=year: c.compile(y, y), repeats=1)[0])
    wholes = []
    for _ in range(REPEATS):
        calendar = the_calendar()
        wholes.append(timed(lambda c=calendar: c.compile(first, last), repeats=1)[0])
    whole = min(wholes) / (last - first + 1)
    return [
        Row(
            "compile, per calendar-year",
            "-",
            whole,
            None,
            last - first + 1,
            0,
            None,
            "",
            None,
            f"{first}-{last} in one call (per year); one year alone on a fresh calendar: mean "
            f"{1000 * sum(times) / len(times):.2f} ms, slowest {1000 * max(times):.2f} ms; the "
            "target is checked against the slowest",
            (max(whole, *times), 0.05),
        )
    ]


def _agree(got: Sequence[Any], want: Sequence[Any]) -> float:
    return sum(1 for g, x in zip(got, want, strict=True) if g == x) / max(1, len(want))


# -- report --------------------------------------------------------------------------------------


def _fmt_time(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.1f} ns"


def _load() -> str:
    """The 1-minute load average, when the platform has one (a shared machine skews timings)."""
    try:
        return f", load average {os.getloadavg()[0]:.1f} when the report was written"
    except (AttributeError, OSError):
        return ""


def render(rows: list[Row], *, quick: bool) -> str:
    import pandas as pd

    lines = [
        "# Business-calendar benchmarks",
        "",
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC in one run of "
        f"`python benchmarks/calendar_bench.py{' --quick' if quick else ''}`.",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs{_load()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}.",
        "",
        "Calendar: `cn-statutory` (statutory holidays and make-up days from chinesecalendar, "
        "Mon-Fri 09:00-12:00 and 13:30-18:00, Asia/Shanghai). Inputs: random starts over "
        "2024-2025 to the minute, durations of 1-37 business hours (up to five working days), "
        "ends up to 7 days after the start. Per-call times; ratio = peer time / propcrm time.",
        "",
        "| Workload | Peer | propcrm per call | Peer per call | Ratio | Target | Met | "
        "Calls timed (propcrm / peer) | Peer lacks | Agrees with propcrm |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = "n/a" if r.ratio is None else f"{r.ratio:,.0f}×"
        targets, oks = [], []
        if r.target is not None:
            targets.append(f"≥ {r.target:,.0f}×")
            oks.append(r.ratio is not None and r.ratio >= r.target)
        if r.limit is not None:
            targets.append(f"≤ {_fmt_time(r.limit[1])} (measured {_fmt_time(r.limit[0])})")
            oks.append(r.limit[0] <= r.limit[1])
        target = ", ".join(targets)
        met = "" if not oks else ("yes" if all(oks) else "NO")
        peer = "n/a" if r.peer_s is None else _fmt_time(r.peer_s)
        agrees = "" if r.agrees is None else f"{100 * r.agrees:.1f}%"
        lines.append(
            f"| {r.workload} | {r.peer} | {_fmt_time(r.ours_s)} | {peer} | {ratio} | {target} | "
            f"{met} | {r.ours_n:,} / {r.peer_n:,} | {r.lacks} | {agrees} |"
        )
    notes = [f"- {r.workload}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "Notes:", *notes]
    lines += [
        "",
        "Every time is the best of 3 runs. Peers run on a random subsample of the same inputs "
        "(see the calls column; businesstimedelta on a tenth of it) and are scaled per call. "
        "propcrm's inputs are aware datetimes in the calendar's zone.",
        "",
        "Disagreements come from what each peer lacks, not from noise: with the make-up days "
        "removed from propcrm's calendar, pandas agrees on every `add` once propcrm uses its "
        "`next_opening` deadline convention (pandas moves a deadline that lands on closing time "
        "to the next opening; propcrm's default is the earliest instant, the closing time), "
        "and businesstimedelta agrees on every `add` and `elapsed` "
        "(`tests/metrics/calendar/test_calendar_peers.py` checks both). businesstime also "
        "lacks the lunch break.",
    ]
    return "\n".join(lines) + "\n"


def run(
    *,
    n_calls: int,
    n_vector: int,
    sample: int,
    vector_sample: int,
    compile_years: tuple[int, int] = (2004, 2026),
) -> list[Row]:
    """Every workload in order, on one calendar, in this process."""
    calendar = the_calendar()
    rows = bench_compile(*compile_years)
    w = make_workload(n_calls)
    rows = bench_add(calendar, w, sample) + bench_elapsed(calendar, w, sample) + rows
    rows = rows[:-1] + bench_vector(calendar, n_vector, vector_sample) + rows[-1:]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; results not written")
    parser.add_argument("--output", type=Path, default=None, help=f"default: {RESULTS}")
    args = parser.parse_args(argv)
    if args.quick:
        rows = run(n_calls=5_000, n_vector=100_000, sample=500, vector_sample=500)
    else:
        rows = run(n_calls=100_000, n_vector=1_000_000, sample=5_000, vector_sample=5_000)
    text = render(rows, quick=args.quick)
    output = args.output or (None if args.quick else RESULTS)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
