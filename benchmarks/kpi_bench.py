"""Benchmark of the KPI engines: the full KPI suite by month × project.

    python benchmarks/kpi_bench.py            # 10,000,000 ticket facts; 100,000 histories
    python benchmarks/kpi_bench.py --quick    # 100,000 ticket facts; 2,000 histories

Ticket facts are generated deterministically (numpy, seed 7) as a PyArrow table with the
fact columns the suite reads. Timed on the same table in the same run:

* propcrm on Polars and on DuckDB (``compute_frame``: narwhals, one group-by per cohort, with
  the Polars and DuckDB fast paths; ``--compare-generic`` also times the narwhals-only path);
* the peer: a hand-written pandas version of the same KPIs (conditions as numpy masks, one
  ``groupby`` per cohort with sum / median / quantile), on a frame converted beforehand;
* the streaming engine (``compute``) over event histories built in memory (events/s).

The full run writes benchmarks/results/kpi.md and prints it.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 7
START = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp())
AS_OF = START + 400 * 86400
OFFSET = 8 * 3600
LOAD = (0.0, 0.0, 0.0)


def generate(n: int, seed: int = SEED) -> Any:
    """A PyArrow table of ``n`` ticket facts over one year and 200 projects."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)

    def strings(names: list[str], p: list[float] | None = None, null: float = 0.0) -> Any:
        idx = rng.choice(len(names), size=n, p=p)
        arr = pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(names))
        out = arr.cast(pa.string())
        if null:
            mask = rng.random(n) < null
            out = pa.array(out.to_numpy(zero_copy_only=False), mask=mask, type=pa.string())
        return out

    def ints(values: Any, mask: Any) -> Any:
        return pa.array(values.astype(np.int64), mask=mask, type=pa.int64())

    received = START + rng.integers(0, 365 * 86400, n)
    first_response = rng.exponential(1800, n).astype(np.int64)
    handoff = rng.exponential(3600, n).astype(np.int64)
    resolution = handoff + rng.exponential(86400, n).astype(np.int64)
    completed = rng.random(n) < 0.85
    voided = rng.random(n) < 0.01
    merged = (rng.random(n) < 0.01) & ~voided
    closed = completed & (rng.random(n) < 0.9) & ~voided & ~merged
    closed_at = received + resolution + rng.integers(3600, 5 * 86400, n)
    revisits = np.where(completed, rng.integers(0, 3, n), 0)
    reopened = completed & (rng.random(n) < 0.03)
    is_open = ~closed & ~voided & ~merged
    age = AS_OF - received
    since = rng.integers(0, 3 * 86400, n)
    return pa.table(
        {
            "kind": strings(
                ["complaint", "repair", "inquiry", "suggestion", "praise"],
                [0.2, 0.5, 0.2, 0.05, 0.05],
            ),
            "project": strings([f"p{i:03d}" for i in range(200)]),
            "received_at": ints(received, None),
            "first_completed_at": ints(received + resolution, ~completed),
            "closed_at": ints(closed_at, ~closed),
            "is_open": pa.array(is_open),
            "voided": pa.array(voided),
            "merged": pa.array(merged),
            "invalid": pa.array(rng.random(n) < 0.03),
            "first_response_s": ints(first_response, rng.random(n) < 0.1),
            "handoff_s": ints(handoff, rng.random(n) < 0.05),
            "resolution_s": ints(resolution, ~completed),
            "first_response_bs": ints(first_response // 3, rng.random(n) < 0.1),
            "handoff_bs": ints(handoff // 3, rng.random(n) < 0.05),
            "resolution_bs": ints(resolution // 3, ~completed),
            "revisit_delay_s": ints(rng.integers(0, 6 * 86400, n), revisits == 0),
            "rework_gap_s": ints(rng.integers(0, 60 * 86400, n), ~reopened),
            "reopen_count": ints(reopened.astype(np.int64), None),
            "abnormal_close": pa.array(closed & (rng.random(n) < 0.01)),
            "escalation_rank": ints(rng.choice(4, n, p=[0.9, 0.06, 0.03, 0.01]), None),
            "revisit_count": ints(revisits, None),
            "revisit_satisfied": pa.array(rng.random(n) < 0.9, mask=revisits == 0),
            "age_s": ints(age, ~is_open),
            "since_follow_up_s": ints(since, ~is_open),
            **{
                f"sla_{t}": strings(["met", "breached", "pending"], [0.8, 0.15, 0.05], null=0.1)
                for t in (
                    "first_response",
                    "dispatch",
                    "arrival",
                    "resolution",
                    "revisit",
                    "closure",
                )
            },
        }
    )


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# --- the peer: hand-written pandas --------------------------------------------------------


def pandas_suite(df: Any) -> dict[str, Any]:
    """The same KPIs in plain pandas: a mask per slot, one groupby per cohort."""
    import numpy as np
    import pandas as pd

    from propcrm.metrics.kpi import kpi_definitions
    from propcrm.metrics.kpi._conditions import All, AnyOf, Cmp, Cond, IsIn, IsNull, Not, NotNull
    from propcrm.metrics.kpi._engine import make_plan

    def mask(c: Cond, frame: Any) -> Any:
        if isinstance(c, Cmp):
            s = frame[c.column]
            ops = {
                "==": s.__eq__,
                "!=": s.__ne__,
                "<": s.__lt__,
                "<=": s.__le__,
                ">": s.__gt__,
                ">=": s.__ge__,
            }
            return ops[c.op](c.value).fillna(False).to_numpy(dtype=bool) & s.notna().to_numpy()
        if isinstance(c, IsIn):
            return frame[c.column].isin(c.values).to_numpy()
        if isinstance(c, NotNull):
            return frame[c.column].notna().to_numpy()
        if isinstance(c, IsNull):
            return frame[c.column].isna().to_numpy()
        if isinstance(c, Not):
            return ~mask(c.cond, frame)
        parts = [mask(x, frame) for x in c.conds]
        if not parts:
            return np.full(len(frame), isinstance(c, All))
        return np.logical_and.reduce(parts) if isinstance(c, All) else np.logical_or.reduce(parts)

    _ = AnyOf
    plan = make_plan([d for d in kpi_definitions() if d.source.value == "tickets"])
    out = {}
    for (_, column), slots in plan.slots.items():
        sub = df[df[column].notna()]
        stamp = pd.to_datetime(sub[column].to_numpy() + OFFSET, unit="s")
        month = stamp.year.to_numpy() * 100 + stamp.month.to_numpy()  # integer keys: fast
        cols: dict[str, Any] = {"project": sub["project"].to_numpy(), "month": month}
        aggs: dict[str, str | Callable[[Any], Any]] = {}
        for i, s in enumerate(slots):
            m = mask(s.cond, sub)
            name = f"_s{i}"
            if s.stat in ("count", "nonnull"):
                cols[name] = m.astype(np.int64)
                aggs[name] = "sum"
            else:
                cols[name] = sub[s.column].where(m).to_numpy(dtype=float, na_value=np.nan)
                aggs[name] = {"sum": "sum", "median": "median"}.get(s.stat, "p90")
        frame = pd.DataFrame(cols)
        g = frame.groupby(["project", "month"], sort=False)
        parts = []
        for name, how in aggs.items():
            parts.append(g[name].quantile(0.9) if how == "p90" else g[name].agg(how))
        out[column] = pd.concat(parts, axis=1)
    return out


# --- streaming ------------------------------------------------------------------------


def histories(n: int) -> list[list[Any]]:
    """``n`` closed repair and complaint histories of 8 events each, built directly."""
    import numpy as np

    from propcrm.model import Actor, Channel, OrgScope, Priority, Role, Satisfaction, TicketKind
    from propcrm.workflow import Event
    from propcrm.workflow import events as e

    rng = np.random.default_rng(SEED)
    actor = Actor(id="bench", role=Role.SUPERVISOR)
    tz = timezone(timedelta(hours=8))
    scopes = [OrgScope(company_id="co", project_id=f"p{i:03d}") for i in range(200)]
    out = []
    for i in range(n):
        tid = f"t{i}"
        t0 = datetime(2025, 1, 1, tzinfo=tz) + timedelta(seconds=int(rng.integers(0, 365 * 86400)))
        kind = TicketKind.COMPLAINT if i % 3 == 0 else TicketKind.REPAIR
        payloads: list[tuple[int, Any]] = [
            (
                0,
                e.TicketReceived(
                    kind=kind,
                    channel=Channel.HOTLINE,
                    scope=scopes[i % 200],
                    description="x",
                    priority=Priority.P3,
                ),
            ),
            (600, e.CustomerResponded(message="ok")),
            (1200, e.TicketDispatched(party="PM", assignee=f"a{i % 50}")),
            (1800, e.TicketAccepted()),
            (3600, e.WorkStarted()),
            (7200, e.TicketCompleted(result="done")),
            (9000, e.RevisitRecorded(satisfaction=Satisfaction.SATISFIED, resolved=True)),
            (9600, e.TicketClosed()),
        ]
        out.append(
            [
                Event(
                    event_id=f"{tid}/{k + 1}",
                    ticket_id=tid,
                    sequence=k + 1,
                    occurred_at=t0 + timedelta(seconds=dt),
                    actor=actor,
                    payload=p,
                )
                for k, (dt, p) in enumerate(payloads)
            ]
        )
    return out


class StreamRates:
    """The streaming engine on ``n_hist`` histories: fold and finalise apart, then end to end.

    Each end-to-end ``compute`` runs ``repeat`` times (the previous result dropped and garbage
    collected before each), reported as min / median / max of wall and CPU time.
    """

    def __init__(self, n_hist: int, repeat: int = 5) -> None:
        from propcrm.metrics.kpi import Accumulator, compute
        from propcrm.metrics.kpi._engine import finalise, make_plan, resolve_definitions

        self.n_hist = n_hist
        hs = histories(n_hist)
        self.events = sum(len(h) for h in hs)
        plan = make_plan(resolve_definitions(None))
        # The input's own objects are promoted once before timing (as timeit's hygiene does):
        # collections triggered by building them are not the engine's cost.
        gc.collect()
        acc = Accumulator(plan, group_by=("project",), period="month")
        self.load, c, t = load(), cpu_seconds(), time.perf_counter()
        acc.add_histories(hs)  # what compute() does: no fact row is built
        self.t_fold, self.c_fold = time.perf_counter() - t, cpu_seconds() - c
        c, t = cpu_seconds(), time.perf_counter()
        values = finalise(plan, acc.slots(), group_by=("project",), period="month", households=None)
        self.t_final, self.c_final = time.perf_counter() - t, cpu_seconds() - c
        self.n_values = len(values)
        del values, acc
        gc.collect()
        runs = []
        for _ in range(repeat):
            wall, cpu, before, _ = measured(
                lambda: compute(hs, group_by=("project",), period="month")
            )
            runs.append((wall, cpu, before))
            gc.collect()
        self.walls = sorted(r[0] for r in runs)
        self.cpus = sorted(r[1] for r in runs)
        self.loads = (min(r[2] for r in runs), max(r[2] for r in runs))
        print(self.text(), flush=True)

    @property
    def fold_rate(self) -> float:
        """Events per second of the fold and accumulation alone."""
        return self.events / self.t_fold

    def rates(self) -> tuple[float, float, float]:
        """End-to-end events per second: slowest, median and fastest run."""
        mid = self.walls[len(self.walls) // 2]
        return self.events / self.walls[-1], self.events / mid, self.events / self.walls[0]

    def text(self) -> str:
        """One paragraph for the results file."""
        slow, mid, fast = self.rates()
        w, c = self.walls, self.cpus
        return (
            f"{self.n_hist:,} histories of 8 events ({self.events:,} events, load before "
            f"{self.load:.1f}): folding each history into its groups (`add_histories`) "
            f"{self.fold_rate:,.0f} events/s ({self.t_fold:.2f} s, CPU {self.c_fold:.2f} s); "
            f"finalising {self.n_values:,} KPI values {self.t_final:.2f} s (CPU "
            f"{self.c_final:.2f} s); end to end (`compute`, {len(w)} runs, load "
            f"{self.loads[0]:.1f}-{self.loads[1]:.1f}) wall {w[0]:.2f} / {w[len(w) // 2]:.2f} / "
            f"{w[-1]:.2f} s (min / median / max), CPU {c[0]:.2f} / {c[len(c) // 2]:.2f} / "
            f"{c[-1]:.2f} s = **{mid:,.0f} events/s** median ({slow:,.0f}-{fast:,.0f})."
        )


def cpu_seconds() -> float:
    """User + system CPU seconds of this process, every thread (a load-robust measure)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load() -> float:
    """The 1-minute load average now."""
    return os.getloadavg()[0]


def measured(fn: Callable[[], Any]) -> tuple[float, float, float, Any]:
    """``(wall s, CPU s, load before, result)`` of one call."""
    before = load()
    c, t = cpu_seconds(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t, cpu_seconds() - c, before, out


class Runs:
    """Repeated runs of one engine: the first (cold) run, and the median by wall time."""

    def __init__(self, fn: Callable[[], Any], repeat: int, *, check: bool = True) -> None:
        self.runs: list[tuple[float, float, float, Any]] = []
        for _ in range(repeat):
            gc.collect()  # the previous run's garbage is not this run's cost
            self.runs.append(measured(fn))
        self.result = self.runs[0][3]
        if check:
            assert all(r[3] == self.result for r in self.runs), "runs disagree"
        ordered = sorted(self.runs, key=lambda r: r[0])
        self.wall, self.cpu, self.load = ordered[len(ordered) // 2][:3]

    @property
    def first(self) -> tuple[float, float]:
        """Wall and CPU seconds of the first run."""
        return self.runs[0][0], self.runs[0][1]

    def walls(self) -> str:
        """Every run's wall time, in order."""
        return " / ".join(f"{r[0]:.2f}" for r in self.runs)


class GenericPath:
    """Within the block, ``compute_frame`` skips its Polars and DuckDB fast paths."""

    def __enter__(self) -> None:
        from propcrm.metrics.kpi import _frames

        self.saved = (_frames.polars_cohort, _frames.polars_quantiles, _frames.duckdb_cohorts)
        _frames.polars_cohort = lambda *a, **k: None  # type: ignore[assignment]
        _frames.polars_quantiles = lambda *a, **k: None  # type: ignore[assignment]
        _frames.duckdb_cohorts = lambda *a, **k: None  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        from propcrm.metrics.kpi import _frames

        _frames.polars_cohort, _frames.polars_quantiles, _frames.duckdb_cohorts = self.saved


def split(native: Callable[[], Any]) -> list[tuple[str, float, float, float]]:
    """Wall s, CPU s and load of the counting KPIs alone and of the median/P90 KPIs alone."""
    from propcrm.metrics.kpi import compute_frame, kpi_definitions

    tickets = [d for d in kpi_definitions() if d.source.value == "tickets"]
    parts = {
        "counts, sums and ratios": [d for d in tickets if not d.is_value_kpi],
        "medians and P90s": [d for d in tickets if d.is_value_kpi],
    }
    out = []
    for name, defs in parts.items():
        wall, cpu, before, _ = measured(
            lambda defs=defs: compute_frame(
                native(), definitions=defs, group_by=("project",), period="month", as_records=True
            )
        )
        out.append((f"{name} ({len(defs)} KPIs)", wall, cpu, before))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--histories", type=int, default=None)
    parser.add_argument("--stream-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (median reported)")
    parser.add_argument("--split", action="store_true", help="also time counts and quantiles apart")
    parser.add_argument(
        "--compare-generic",
        action="store_true",
        help="also time the frame engines without their Polars/DuckDB fast paths (narwhals only)",
    )
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 10_000_000)
    n_hist = args.histories or (2_000 if args.quick else 100_000)

    import duckdb
    import polars as pl

    from propcrm.metrics.kpi import compute_frame

    global LOAD
    LOAD = os.getloadavg()
    if args.stream_only:
        StreamRates(n_hist)
        return
    t_gen, table = timed(lambda: generate(n))
    print(f"generated {n:,} facts in {t_gen:.1f} s", flush=True)
    pdf = table.to_pandas()
    plf = pl.from_arrow(table)
    options: dict[str, Any] = {"group_by": ("project",), "period": "month", "as_records": True}
    runs = {}
    for name, fn in [
        ("Polars", lambda: compute_frame(plf, **options)),
        ("DuckDB", lambda: compute_frame(duckdb.from_arrow(table), **options)),
        ("pandas", lambda: pandas_suite(pdf)),
    ]:
        runs[name] = r = Runs(fn, args.repeat, check=name != "pandas")
        print(f"{name}: median {r.wall:.2f} s (CPU {r.cpu:.2f} s); runs {r.walls()}", flush=True)
    t_pl, c_pl, l_pl, res_pl = (
        runs["Polars"].wall,
        runs["Polars"].cpu,
        runs["Polars"].load,
        runs["Polars"].result,
    )
    t_dd, c_dd, l_dd = runs["DuckDB"].wall, runs["DuckDB"].cpu, runs["DuckDB"].load
    t_pd, c_pd, l_pd = runs["pandas"].wall, runs["pandas"].cpu, runs["pandas"].load
    assert res_pl == runs["DuckDB"].result, "Polars and DuckDB disagree"
    parts: list[tuple[str, str, float, float, float]] = []
    engines: list[tuple[str, Callable[[], Any]]] = [
        ("Polars", lambda: plf),
        ("DuckDB", lambda: duckdb.from_arrow(table)),
    ]
    if args.split:
        for engine, native in engines:
            for name, wall, cpu, before in split(native):
                parts.append((engine, name, wall, cpu, before))
                print(f"{engine} {name}: {wall:.2f} s (CPU {cpu:.2f} s, load {before:.1f})")
    generic: list[tuple[str, float, float, float]] = []
    if args.compare_generic:
        with GenericPath():
            for engine, native in engines:
                wall, cpu, before, res = measured(
                    lambda native=native: compute_frame(native(), **options)
                )
                assert res == res_pl, f"{engine}: the generic path disagrees with the fast path"
                generic.append((engine, wall, cpu, before))
                print(f"{engine} generic path: {wall:.2f} s (CPU {cpu:.2f} s, load {before:.1f})")

    streams = [StreamRates(n_hist)]
    if not args.quick and not args.histories:
        # A larger input too: finalising is a fixed cost per group, the fold grows per event.
        streams.append(StreamRates(3 * n_hist))

    lines = [
        "# KPI engines benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average before the run "
        f"{LOAD[0]:.1f} (the machine is shared); "
        f"run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Full KPI suite ({len(res_pl) and len({v.kpi for v in res_pl})} ticket KPIs) by "
        f"month × project (200 projects), {n:,} ticket facts generated with numpy (seed {SEED}).",
        "",
        f"Each engine ran {args.repeat} times in turn on the same data; the table gives the "
        "median run by wall time (its CPU time and the load before it), the first run apart "
        "(cold: first use of the engine's code paths and of fresh memory in this process), and "
        "every run's wall time.",
        "",
        "| engine | wall time (s), median | CPU time (s) | load before | first run: wall (CPU) "
        "| every run (s) | vs hand-written pandas |",
        "|---|---:|---:|---:|---:|---|---:|",
        f"| propcrm on Polars | {t_pl:.2f} | {c_pl:.2f} | {l_pl:.1f} | "
        f"{runs['Polars'].first[0]:.2f} ({runs['Polars'].first[1]:.2f}) | {runs['Polars'].walls()} "
        f"| {t_pd / t_pl:.1f}× faster |",
        f"| propcrm on DuckDB | {t_dd:.2f} | {c_dd:.2f} | {l_dd:.1f} | "
        f"{runs['DuckDB'].first[0]:.2f} ({runs['DuckDB'].first[1]:.2f}) | {runs['DuckDB'].walls()} "
        f"| {t_pd / t_dd:.1f}× faster |",
        f"| hand-written pandas groupby (peer) | {t_pd:.2f} | {c_pd:.2f} | {l_pd:.1f} | "
        f"{runs['pandas'].first[0]:.2f} ({runs['pandas'].first[1]:.2f}) | {runs['pandas'].walls()} "
        "| 1.0× |",
        "",
    ]
    if parts:
        lines += [
            "Where the time goes (the same engine on part of the suite):",
            "",
            "| engine | KPIs | wall (s) | CPU (s) | load before |",
            "|---|---|---:|---:|---:|",
            *(f"| {e} | {name} | {w:.2f} | {c:.2f} | {b:.1f} |" for e, name, w, c, b in parts),
            "",
        ]
    if generic:
        lines += [
            "The generic narwhals path (fast paths off), full suite, same facts, same results:",
            "",
            "| engine | wall (s) | CPU (s) | load before |",
            "|---|---:|---:|---:|",
            *(f"| {e} (generic) | {w:.2f} | {c:.2f} | {b:.1f} |" for e, w, c, b in generic),
            "",
        ]
    lines += [
        "Streaming engine, no SLA policies or calendar, grouped by project × month:",
        "",
        *(f"- {st.text()}" for st in streams),
        "",
        "Targets: ≤ 5 s and ≥ 2× pandas for the frame engines; ≥ 500,000 events/s streaming.",
        "Polars and DuckDB results were checked equal in the run.",
        "",
        "Command: `python benchmarks/kpi_bench.py"
        + (" --split" if args.split else "")
        + (" --compare-generic" if args.compare_generic else "")
        + (f" --histories {n_hist}" if args.histories else "")
        + (f" --repeat {args.repeat}" if args.repeat != 3 else "")
        + "`",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick and args.n is None:
        (RESULTS / "kpi.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
