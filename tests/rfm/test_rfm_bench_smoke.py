"""The benchmark's functions run on small data (the full run: python benchmarks/rfm_bench.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "rfm_bench.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rfm_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_on_small_data() -> None:
    for name in ("numpy", "pandas", "polars", "pyarrow", "narwhals"):
        pytest.importorskip(name)
    bench = _load()
    table = bench.generate(50, 400)
    assert table.num_rows == 400
    assert bench.generate(50, 400).equals(table)  # deterministic
    rows = bench.run(50, 400, peers=False, repeat=1)
    engines = {row["engine"] for row in rows}
    assert {
        "propcrm, Polars, quantile",
        "pandas qcut recipe",
        "propcrm, pure Python, quantile",
    } <= engines
    text = bench.report(rows, 50, 400)
    assert "| propcrm, Polars, quantile | 400 |" in text


def test_missing_peer_is_skipped_with_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bench = _load()
    monkeypatch.setenv("RFM_PEER_VENV", str(tmp_path / "nowhere"))
    got = bench.run_peer("rfm", tmp_path / "x.parquet", timeout=5)
    assert "no environment" in got["skipped"]
