"""The examples and the command line run as a user would run them."""

from __future__ import annotations

import re
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


def test_scripted_demo_prints_histories_and_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scripted"]) == 0
    out = capsys.readouterr().out
    assert "ticket_received" in out
    assert "ticket_reopened" in out  # the unsatisfied revisit reopened the lock repair
    assert "role 'handler' may not issue 'close'" in out
    assert "needs a revisit" in out
    assert "5 tickets, 5 closed" in out
    assert "13812345678" not in out  # personal data never printed


def test_scripted_demo_speaks_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scripted", "--lang", "zh"]) == 0
    assert "已关闭" in capsys.readouterr().out


def test_python_dash_m_runs_the_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "propcrm", "demo", "--scripted"],
        capture_output=True,
        text=True,
        timeout=120,
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
    assert len(result.stderr.strip().splitlines()) == 1


def test_lifecycle_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lifecycle_bench.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "events/s" in result.stdout


def test_taxonomy_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["taxonomy", "search", "卫生间天花板滴水"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("Q.WP.08")
    assert main(["taxonomy", "show", "Q.WP.08"]) == 0
    shown = capsys.readouterr().out
    assert "WL5, b-leak1" in shown
    assert "propcrm-standard@" in shown
    assert main(["taxonomy", "list", "--level", "class", "--lang", "en"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["C", "Q", "S"]
    assert main(["taxonomy", "export", "--format", "json"]) == 0
    assert "Q.WP.08" in capsys.readouterr().out


def test_calendar_subcommands_use_chinese_holidays(capsys: pytest.CaptureFixture[str]) -> None:
    # 16:00 on the eve of the National Day holiday + 4 business hours: 2 h that day, the
    # holiday (1-7 October 2026) closed, 2 h on the 8th.
    assert main(["calendar", "add", "2026-09-30T16:00+08:00", "4"]) == 0
    assert capsys.readouterr().out.strip() == "2026-10-08T11:00:00+08:00"
    assert main(["calendar", "elapsed", "2026-09-30T09:00+08:00", "2026-10-09T09:00+08:00"]) == 0
    assert capsys.readouterr().out.strip() == "15 business hours"
    assert main(["calendar", "is-working", "2026-10-01T10:00+08:00"]) == 0
    assert capsys.readouterr().out.splitlines() == ["closed", "opens 2026-10-08T09:00:00+08:00"]
    assert main(["calendar", "--name", "24x7", "is-working", "2026-10-01T03:00+08:00"]) == 0
    assert capsys.readouterr().out.strip() == "working"


def test_store_subcommands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["store", "version", url]) == 0
    assert capsys.readouterr().out.strip() == "schema version None"
    assert main(["store", "init", url]) == 0
    assert main(["store", "migrate", url]) == 0
    out = capsys.readouterr().out
    # init brings the schema to the latest version; migrate then has nothing left to apply.
    initialised = re.search(r"schema version (\d+) at ", out)
    assert initialised is not None, out
    assert f"applied nothing; schema version {initialised[1]}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["taxonomy", "show", "Q.WP.99"], "did you mean 'Q.WP.09'"),
        (["calendar", "add", "2026-09-30T16:00", "4"], "has no UTC offset @ $.start"),
        (
            ["calendar", "--name", "cn-statutry", "add", "2026-09-30T16:00+08:00", "4"],
            "cn-statutory",
        ),
        (["calendar", "add", "2026-09-30T16:00+08:00", "four"], "not a number of hours"),
    ],
)
def test_user_mistakes_get_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
