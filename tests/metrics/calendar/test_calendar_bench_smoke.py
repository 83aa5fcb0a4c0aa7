"""The benchmark script still runs: every workload with tiny sizes (no timings checked)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "calendar_bench.py"


def load() -> ModuleType:
    for peer in ("pandas", "businesstimedelta", "businesstime", "pytz"):
        pytest.importorskip(peer)
    spec = importlib.util.spec_from_file_location("calendar_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["calendar_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_every_workload_runs_and_renders(tmp_path: Path) -> None:
    bench = load()
    rows = bench.run(
        n_calls=40, n_vector=2_000, sample=10, vector_sample=20, compile_years=(2025, 2025)
    )
    workloads = {row.workload for row in rows}
    assert {"add, scalar", "add, Series", "elapsed", "compile, per calendar-year"} <= workloads
    assert any("breach checks" in w for w in workloads)
    assert all(row.ours_s > 0 for row in rows)
    text = bench.render(rows, quick=True)
    assert "| add, scalar | pandas CustomBusinessHour |" in text
    assert text.count("\n|") >= len(rows) + 1
