"""Every ``$ propcrm …`` example in docs/cli.md prints what the page shows.

The examples run in a folder holding ``crm.db`` (the store of ``conftest.py``),
``facts.parquet`` (its facts), ``households.csv`` and ``orders.csv`` (the R package rfm's sample
orders). To refresh the page after a deliberate change of output, run::

    PROPCRM_UPDATE_CLI_DOCS=1 python -m pytest tests/cli/test_cli_docs.py
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from propcrm.cli import main
from propcrm.metrics.kpi import ticket_facts, write_parquet

from .conftest import Crm
from .test_kpi_command import OPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cli.md"
BLOCK = re.compile(r"(```console\n)(.*?)(```)", re.S)
OWNERS = re.compile(r"\(`owners.csv`\):\n\n```text\n(.*?)```", re.S)
#: Commands shown but not run here: the demo takes a while and has its own tests.
SKIPPED = ("propcrm demo",)


@pytest.fixture
def workspace(crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(crm.url.removeprefix("sqlite:///"), tmp_path / "crm.db")
    rows = [ticket_facts(h, OPTIONS) for h in crm.histories.values()]
    write_parquet(rows, str(tmp_path / "facts.parquet"))
    (tmp_path / "households.csv").write_text(
        "org_unit_id,households\np1,200\np2,50\n", encoding="utf-8"
    )
    shutil.copy(ROOT / "tests" / "data" / "rfm_orders_sample.csv", tmp_path / "orders.csv")
    owners = OWNERS.search(DOC.read_text(encoding="utf-8"))
    assert owners is not None, "docs/cli.md shows owners.csv in a text block"
    (tmp_path / "owners.csv").write_text(owners[1], encoding="utf-8")
    (tmp_path / "owners-bad.csv").write_text(
        owners[1].replace("850000", "85O000"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(line: str, capsys: pytest.CaptureFixture[str]) -> str:
    argv = shlex.split(line)
    assert argv[0] == "propcrm", line
    try:
        code = main(argv[1:])
    except SystemExit as exit_:  # argparse's own errors and --help
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    if code:
        text += f"[exit {code}]\n"
    return text


def _render(block: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The block with each command's output replaced by what it prints now."""
    out: list[str] = []
    for chunk in re.split(r"(?m)^(?=\$ )", block):
        if not chunk.strip():
            continue
        command = chunk.partition("\n")[0]
        line = command.removeprefix("$ ")
        if line.startswith(SKIPPED):
            out.append(chunk)
            continue
        out.append(f"{command}\n{_run(line, capsys)}")
    return "".join(out)


def test_cli_page_examples(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 10
    rendered = BLOCK.sub(lambda m: m[1] + _render(m[2], capsys) + m[3], text)
    if os.environ.get("PROPCRM_UPDATE_CLI_DOCS"):
        DOC.write_text(rendered, encoding="utf-8")
        blocks = BLOCK.findall(rendered)
    for (_, shown, _), (_, now, _) in zip(blocks, BLOCK.findall(rendered), strict=True):
        assert now == shown, "docs/cli.md drifted: PROPCRM_UPDATE_CLI_DOCS=1 refreshes it"
    for command in ("kpi", "rfm", "sla", "taxonomy", "calendar", "store", "demo"):
        assert f"$ propcrm {command}" in text, command
