"""The demo end to end at a small size: SQLite file, histories from the store, dashboard, report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from propcrm.cli import main
from propcrm.demo import DemoOptions, DemoResult, footer, run_demo
from propcrm.errors import ValidationError
from propcrm.stores import open_store
from propcrm.workflow import Event, replay

SMALL = 90  # households: a few seconds


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the progress bar shows."""

    def isatty(self) -> bool:
        return True


PROGRESS = _Terminal()


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    out = io.StringIO()
    folder = tmp_path_factory.mktemp("demo")
    found = run_demo(DemoOptions(seed=7, households=SMALL, output=folder), out=out, err=PROGRESS)
    assert out.getvalue() == found.text + "\n" + footer(found) + "\n"
    return found


def test_progress_bar_on_a_terminal_only(result: DemoResult, tmp_path: Path) -> None:
    bar = PROGRESS.getvalue()
    assert f"{result.commands}/{result.commands}" in bar
    assert "cmd" in bar
    quiet = _Terminal()
    run_demo(
        DemoOptions(seed=7, households=60, output=tmp_path, progress=False),
        out=io.StringIO(),
        err=quiet,
    )
    assert quiet.getvalue() == ""


def test_no_command_is_refused(result: DemoResult) -> None:
    assert result.refusals == ()
    assert result.commands == len(result.plan.steps)
    assert "(0 refused)" in footer(result)


def test_the_store_holds_every_planned_ticket_and_histories_replay(result: DemoResult) -> None:
    assert result.db_path.exists()
    store = open_store(f"sqlite:///{result.db_path}")
    try:
        histories: dict[str, list[Event]] = {}
        for batch in store.iter_events():
            for stored in batch:
                histories.setdefault(stored.event.ticket_id, []).append(stored.event)
        assert set(histories) == result.plan.ticket_ids
        assert sum(len(h) for h in histories.values()) == result.events
        for ticket_id, history in histories.items():
            assert replay(history) == store.get(ticket_id)
        tree = store.org_tree()
        assert result.plan.group.households[0].unit_id in tree
    finally:
        store.close()


def test_output_has_every_section_and_the_footer(result: DemoResult) -> None:
    for heading in (
        "KPIs against targets",
        "SLA attainment",
        "Complaint focus",
        "Contractor scorecard",
        "RFM segments",
        "Delivery KPIs",
    ):
        assert heading in result.text, heading
    tail = footer(result)
    assert f"{result.tickets:,} tickets" in tail
    assert re.search(r"\d+ SLA warnings and \d+ revisit reminders delivered", tail)
    assert re.search(r"CPU \d+\.\d s", tail)
    assert re.search(r"run time \d+\.\d s", tail)
    assert re.search(r"peak memory \d+ MiB", tail)
    assert str(result.db_path) in tail
    assert str(result.report_path) in tail
    assert result.peak_rss_mib > 10
    # Delivered through TicketService.deliver_due_notifications and the demo's plugin.
    assert result.notifications.get("sla_warning", 0) > 0


def test_report_is_written_and_pii_never_printed(result: DemoResult) -> None:
    html = result.report_path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    for home in result.plan.group.households:
        assert home.owner.phone is not None
        assert home.owner.phone not in result.text
        assert home.owner.phone not in html


def test_cli_in_chinese_over_the_last_run(
    result: DemoResult, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = result.db_path.parent
    argv = ["demo", "--households", str(SMALL), "--seed", "7", "--lang", "zh"]
    assert main([*argv, "--output", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "SLA达成率" in out
    assert "投诉焦点" in out
    assert "被拒绝 0 条" in out
    # A fresh file each run: the same seed stores the same tickets again, not twice as many.
    assert f"工单 {result.tickets:,} 张，事件 {result.events:,} 条" in out
    assert (folder / "report.html").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--size", "huge"], "invalid choice: 'huge'"),
        (["demo", "--households", "many"], "not a number of households: 'many'"),
        (["demo", "--seed", "x1"], "not an integer seed: 'x1'"),
        (["demo", "--lang", "fr"], "invalid choice: 'fr'"),
    ],
)
def test_option_errors_are_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_households_out_of_range_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--households", "5", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "$.households" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "propcrm-demo.db").exists()


def test_an_unusable_output_folder_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["demo", "--households", "60", "--output", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "$.output" in err
    assert len(err.strip().splitlines()) == 1


def test_options_are_validated() -> None:
    with pytest.raises(ValidationError, match=r"\$\.lang"):
        DemoOptions(lang="fr")
    with pytest.raises(ValidationError, match=r"\$\.households"):
        DemoOptions(households=0)
