"""The examples and the command line run as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from propcrm.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example should print what it shows"


def test_demo_prints_histories_and_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "ticket_received" in out
    assert "ticket_reopened" in out  # the unsatisfied revisit reopened the lock repair
    assert "role 'handler' may not issue 'close'" in out
    assert "needs a revisit" in out
    assert "5 tickets, 5 closed" in out
    assert "13812345678" not in out  # personal data never printed


def test_demo_speaks_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--lang", "zh"]) == 0
    assert "已关闭" in capsys.readouterr().out


def test_python_dash_m_runs_the_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "propcrm", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Cuihu" in result.stdout


def test_a_user_mistake_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "propcrm", "demo", "--lang", "fr"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid choice" in result.stderr


def test_lifecycle_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lifecycle_bench.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "events/s" in result.stdout
