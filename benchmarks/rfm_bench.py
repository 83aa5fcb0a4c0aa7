"""Benchmark of RFM scoring: propcrm against named peers, measured in the same run.

    python benchmarks/rfm_bench.py            # 1,000,000 customers, 10,000,000 transactions
    python benchmarks/rfm_bench.py --quick    # 10,000 customers, 100,000 transactions

Data are generated deterministically (numpy, seed 7). Peers that need their own environment
(the PyPI package ``rfm`` needs pandas < 2; ``pymc-marketing`` pulls in PyMC) run as
subprocesses in the virtual environments named by ``RFM_PEER_VENV`` (default
/tmp/rfm-peer-venv) and ``PYMC_PEER_VENV`` (default /tmp/pymc-peer-venv), on the same data
written to Parquet; each times itself inside its process. A missing environment is skipped
with a message. The full run writes benchmarks/results/rfm.md and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

AS_OF = date(2024, 12, 31)
SEED = 7
RESULTS = Path(__file__).resolve().parent / "results"


def generate(n_customers: int, n_transactions: int, seed: int = SEED) -> Any:
    """A pyarrow table of purchases: customer_id (int64), date (date32), amount (int64 cents)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    # every customer buys at least once; the rest of the rows go to customers at random
    customers = np.concatenate(
        [np.arange(n_customers), rng.integers(0, n_customers, n_transactions - n_customers)]
    )
    days_back = rng.integers(0, 3 * 365, n_transactions)
    dates = (np.datetime64(AS_OF, "D") - days_back).astype("datetime64[D]")
    cents = np.round(rng.lognormal(mean=10.0, sigma=1.2, size=n_transactions)).astype(np.int64)
    return pa.table(
        {
            "customer_id": pa.array(customers, type=pa.int64()),
            "date": pa.array(dates, type=pa.date32()),
            "amount": pa.array(cents, type=pa.int64()),
        }
    )


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def propcrm_frame(native: Any, mode: str = "quantile") -> Any:
    from propcrm.metrics.rfm import score

    return score(native, as_of=AS_OF, mode=mode)  # type: ignore[arg-type]


def pandas_qcut_recipe(df: Any) -> Any:
    """The recipe found in most tutorials: group, then ``pd.qcut`` each column into quintiles."""
    import pandas as pd

    rfm = df.groupby("customer_id").agg(
        last=("date", "max"), frequency=("date", "size"), monetary=("amount", "sum")
    )
    rfm["recency"] = (pd.Timestamp(AS_OF) - rfm["last"]).dt.days
    rfm["r"] = pd.qcut(rfm["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
    rfm["f"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm["m"] = pd.qcut(rfm["monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    return rfm


def pure_python(table: Any) -> Any:
    """propcrm's pure-Python engine over Transaction objects (built outside the timing)."""
    from propcrm.metrics.rfm import Transaction, score

    ids = table.column("customer_id").to_pylist()
    dates = table.column("date").to_pylist()
    cents = table.column("amount").to_pylist()
    rows = [
        Transaction(customer_id=c, date=d, amount=Decimal(a).scaleb(-2))
        for c, d, a in zip(ids, dates, cents, strict=False)
    ]
    return lambda: score(rows, as_of=AS_OF, mode="quantile")


PEERS = {
    "rfm": (
        "RFM_PEER_VENV",
        "/tmp/rfm-peer-venv",
        """
import json, sys, time, pandas as pd
from rfm import RFM
df = pd.read_parquet(sys.argv[1])
df["date"] = df["date"].astype(str)
start = time.perf_counter()
result = RFM(df, customer_id="customer_id", transaction_date="date", amount="amount")
elapsed = time.perf_counter() - start
from importlib.metadata import version
out = {"seconds": elapsed, "customers": len(result.rfm_table), "version": version("rfm")}
print(json.dumps(out))
""",
    ),
    "pymc-marketing": (
        "PYMC_PEER_VENV",
        "/tmp/pymc-peer-venv",
        """
import json, sys, time, warnings, pandas as pd
warnings.filterwarnings("ignore")
from pymc_marketing.clv.utils import rfm_segments
df = pd.read_parquet(sys.argv[1])
df["date"] = pd.to_datetime(df["date"])
start = time.perf_counter()
result = rfm_segments(df, "customer_id", "date", "amount", observation_period_end="2024-12-31")
elapsed = time.perf_counter() - start
from importlib.metadata import version
out = {"seconds": elapsed, "customers": len(result), "version": version("pymc-marketing")}
print(json.dumps(out))
""",
    ),
}


def run_peer(name: str, parquet: Path, timeout: float) -> dict[str, Any]:
    """Run one peer in its own environment; ``{"skipped": why}`` when it cannot run."""
    variable, default, code = PEERS[name]
    python = Path(os.environ.get(variable, default)) / "bin" / "python"
    if not python.exists():
        return {"skipped": f"no environment at {python.parent.parent} (set {variable})"}
    try:
        done = subprocess.run(
            [str(python), "-c", code, str(parquet)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed: {last}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(
    n_customers: int,
    n_transactions: int,
    *,
    peers: bool = True,
    python_transactions: int | None = None,
    peer_timeout: float = 900.0,
    repeat: int = 3,
) -> list[dict[str, Any]]:
    """Time every engine on the same data; return one row per engine."""
    import pandas as pd
    import polars as pl

    table = generate(n_customers, n_transactions)
    rows: list[dict[str, Any]] = []

    def add(engine: str, seconds: float | None, n: int = n_transactions, note: str = "") -> None:
        rows.append({"engine": engine, "seconds": seconds, "transactions": n, "note": note})
        shown = "skipped" if seconds is None else f"{seconds:.3f} s"
        print(f"  {engine:<38} {shown:>10}  {note}", file=sys.stderr)

    polars_frame = pl.from_arrow(table)
    propcrm_frame(polars_frame)  # warm-up: imports, first compilation
    add("propcrm, Polars, quantile", best_of(repeat, lambda: propcrm_frame(polars_frame)))
    add("propcrm, Polars, fixed", best_of(repeat, lambda: propcrm_frame(polars_frame, "fixed")))
    string_ids = polars_frame.with_columns(pl.col("customer_id").cast(pl.String))
    add(
        "propcrm, Polars, quantile, string ids",
        best_of(repeat, lambda: propcrm_frame(string_ids)),
        note="hash group-by in Polars; integer ids take a numpy fast path",
    )
    pandas_frame = table.to_pandas()
    pandas_frame["date"] = pd.to_datetime(pandas_frame["date"])
    add("pandas qcut recipe", best_of(repeat, lambda: pandas_qcut_recipe(pandas_frame)))
    add("propcrm, pandas, quantile", best_of(1, lambda: propcrm_frame(pandas_frame)))
    try:
        import duckdb

        relation = duckdb.from_arrow(table)
        add("propcrm, DuckDB, quantile", best_of(1, lambda: propcrm_frame(relation)))
    except ImportError:
        add("propcrm, DuckDB, quantile", None, note="duckdb not installed")
    n_python = min(python_transactions or n_transactions, n_transactions)
    scorer = pure_python(table.slice(0, n_python))
    add(
        "propcrm, pure Python, quantile",
        best_of(1, scorer),
        n_python,
        "" if n_python == n_transactions else f"first {n_python:,} rows only",
    )
    if peers:
        with tempfile.TemporaryDirectory() as folder:
            parquet = Path(folder) / "transactions.parquet"
            import pyarrow.parquet as pq

            pq.write_table(table, parquet)
            for name in PEERS:
                got = run_peer(name, parquet, peer_timeout)
                if "skipped" in got:
                    add(f"{name} (PyPI)", None, note=str(got["skipped"]))
                else:
                    add(
                        f"{name} {got['version']} (PyPI)",
                        float(got["seconds"]),
                        note=f"{got['customers']:,} customers",
                    )
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def commit() -> str:
    """The checked-out commit (short hash), or ``unknown`` outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head


def report(rows: list[dict[str, Any]], n_customers: int, n_transactions: int) -> str:
    import narwhals
    import pandas
    import polars

    base = next(r["seconds"] for r in rows if r["engine"] == "propcrm, Polars, quantile")
    lines = [
        "# RFM benchmark",
        "",
        f"{n_customers:,} customers, {n_transactions:,} transactions (generated, seed {SEED}), "
        f"analysis date {AS_OF}. Best of 3 for the fast engines, one run for the others.",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Code: commit {commit()}",
        f"- Libraries: polars {polars.__version__}, pandas {pandas.__version__}, "
        f"narwhals {narwhals.__version__}",
        "",
        "| engine | transactions | seconds | time / propcrm (Polars, quantile) | note |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        if row["seconds"] is None:
            lines.append(f"| {row['engine']} | {row['transactions']:,} | - | - | {row['note']} |")
            continue
        per_row = row["seconds"] * n_transactions / row["transactions"]
        ratio = per_row / base
        lines.append(
            f"| {row['engine']} | {row['transactions']:,} | {row['seconds']:.3f} | "
            f"{ratio:.1f}× | {row['note']} |"
        )
    lines += [
        "",
        "The ratio divides each engine's time (scaled to the full row count where it ran on fewer "
        "rows) by propcrm's on Polars; above 1× means slower than propcrm. The peers do less: "
        "neither nets refunds nor breaks ties deterministically, and the `rfm` package measures "
        "recency from the latest date in the data rather than an explicit analysis date.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers, 100,000 rows")
    parser.add_argument("--no-peers", action="store_true", help="skip the PyPI peers")
    parser.add_argument("--output", type=Path, help="where to write the table (default: results/)")
    args = parser.parse_args(argv)
    if args.quick:
        n_customers, n_transactions, python_rows = 10_000, 100_000, None
    else:
        n_customers, n_transactions, python_rows = 1_000_000, 10_000_000, 1_000_000
    print(
        f"RFM benchmark: {n_customers:,} customers, {n_transactions:,} transactions",
        file=sys.stderr,
    )
    rows = run(
        n_customers, n_transactions, peers=not args.no_peers, python_transactions=python_rows
    )
    text = report(rows, n_customers, n_transactions)
    target = args.output or RESULTS / ("rfm.md.tmp" if args.quick else "rfm.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
