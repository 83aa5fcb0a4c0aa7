"""The example script runs and prints what the docs say it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "examples" / "taxonomy_lookup.py"


def test_example_classifies_and_decides() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True, timeout=30
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("taxonomy propcrm-standard@1.0.0")
    assert "'卫生间天花板滴水' -> Q.WP.08" in result.stdout
    assert "'Water drips from the bathroom ceiling' -> Q.WP.08" in result.stdout
    assert "warranty of Q.WP.08 on 2026-11-23: Covered" in result.stdout
    assert "responsible SUB-WP" in result.stdout
