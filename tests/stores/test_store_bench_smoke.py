"""The store benchmark runs end to end on tiny sizes (its full run is not part of the tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_store_benchmark_runs_quickly(tmp_path: Path) -> None:
    out = tmp_path / "store.md"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "store_bench.py"),
            "--quick",
            "--tickets=10",
            "--events=1000",
            "--stores=memory,sqlite",
            f"--out={out}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "| memory |" in text
    assert "SQLite (file, WAL) vs sqlite3" in text
    assert "Streaming 1,000 events from SQLite" in text
    assert "stdlib `sqlite3` driver running the same keyset query" in text
    assert "A lower bound for any decoder" in text
