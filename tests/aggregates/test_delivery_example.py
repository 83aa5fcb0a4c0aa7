"""examples/delivery_persisted.py runs as a user runs it and shows what it claims."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_persisted_delivery_example(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "delivery_persisted.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert result.returncode == 0, result.stderr
    assert list(scratch.iterdir()) == [], "the example leaves no temporary files behind"
    out = result.stdout
    # 1 opening + 12 inspections (3 with a rectification task) + 12 bookings + 12 owner
    # inspections + 12 handovers.
    assert "12 units, 52 events in crm.db" in out
    commands = re.search(r"two writers at once: (\d+) commands", out)
    assert commands is not None and commands[1] == "49", out
    assert "read back after a restart: equal to the batch" in out
    assert "warranty tickets at handover: 3 (W-CH-B3-2-3-0201-WP" in out
    assert "issued again: 3 answers, 3 of them the tickets already made" in out
