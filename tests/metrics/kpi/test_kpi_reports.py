"""Reports, custom KPIs, the registry, errors, docs coverage and the benchmark smoke test."""

from __future__ import annotations

import builtins
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from propcrm.errors import NotFoundError, ValidationError
from propcrm.metrics.kpi import (
    Aggregation,
    Cmp,
    FactOptions,
    Households,
    KpiDefinition,
    OptionalDependencyError,
    Unit,
    complaint_focus,
    compute,
    compute_frame,
    contractor_scorecard,
    daily_unfinished,
    facts_to_arrow,
    get_kpi,
    kpi_definitions,
    monthly_assessment,
    register_kpi,
    ticket_facts,
    write_parquet,
)
from propcrm.model import OrgLevel, OrgTree, OrgUnit, Satisfaction, TicketKind

from ._stories import Story, local

ROOT = Path(__file__).resolve().parents[3]
C, R = TicketKind.COMPLAINT, TicketKind.REPAIR
AS_OF = local(2026, 5, 1)


def histories() -> list[list[Any]]:
    d = datetime
    stories = [
        Story("c1", C, d(2026, 4, 1), category="Q.WP.01").respond(1),
        Story("c2", C, d(2026, 4, 2), category="Q.WP.02").respond(1),
        Story("c3", C, d(2026, 4, 3), category="Q.WP.03").respond(1),
        Story("c4", C, d(2026, 4, 4), category="Q.DW.01").respond(1),
        Story("c5", C, d(2026, 4, 5), category="S.CL.01").respond(1).invalid(1),
        Story("r1", R, d(2026, 4, 6), party="SUB-WP").dispatch(1, "SUB-WP").complete(2).revisit(1),
        Story("r2", R, d(2026, 4, 7), party="SUB-WP")
        .dispatch(1, "SUB-WP")
        .complete(2)
        .revisit(1, Satisfaction.DISSATISFIED)
        .complete(3)
        .revisit(1),
        Story("r3", R, d(2026, 4, 8), party="GC").dispatch(1, "GC", "a2"),
        Story("r4", R, d(2026, 4, 28), project="p2").dispatch(1, "PM", "a2"),
    ]
    return [s.events() for s in stories]


def test_complaint_focus_is_a_pareto_of_valid_complaints() -> None:
    rows = complaint_focus(histories(), window=(date(2026, 4, 1), date(2026, 5, 1)))
    assert [(r["category"], r["complaints"]) for r in rows] == [("Q.WP", 3), ("Q.DW", 1)]
    assert rows[0]["share"] == 0.75
    # the vital few reach 80 %: Q.WP alone covers 75 %, so Q.DW is needed too
    assert [r["vital_few"] for r in rows] == [True, True]
    assert rows[-1]["cumulative_share"] == 1.0


def test_complaint_focus_on_a_frame_returns_the_frame_type() -> None:
    pl = pytest.importorskip("polars")
    table = facts_to_arrow(ticket_facts(h) for h in histories())
    out = complaint_focus(pl.from_arrow(table), level="category_class")
    assert isinstance(out, pl.DataFrame)
    assert out.to_dicts()[0] == {
        "category": "Q",
        "complaints": 4,
        "share": 1.0,
        "cumulative_share": 1.0,
        "vital_few": True,
    }


def test_contractor_scorecard() -> None:
    rows = {r["contractor"]: r for r in contractor_scorecard(histories())}
    assert set(rows) == {"SUB-WP", "GC"}
    assert rows["SUB-WP"]["repairs_reported"] == 2
    assert rows["SUB-WP"]["repair_rework_rate"] == 0.5
    assert rows["SUB-WP"]["repair_rework_rate_met"] is False
    assert rows["SUB-WP"]["revisit_satisfaction_rate"] == 1.0
    assert rows["SUB-WP"]["repair_timeliness"] is None  # no SLA policies: no value
    assert rows["GC"]["repair_rework_rate"] is None  # nothing completed: no value, not 0%


def test_daily_unfinished_per_assignee() -> None:
    rows = daily_unfinished(histories(), options=FactOptions(as_of=AS_OF))
    by = {r["assignee"]: r for r in rows}
    assert by["a2"]["backlog"] == 2
    assert by["a2"]["backlog_over_7d"] == 1
    assert by[None]["backlog"] == 5  # complaints nobody was assigned to (incl. the invalid one)


def test_monthly_assessment_table() -> None:
    tree = OrgTree.from_units(
        [
            OrgUnit(id="co", name="公司", level=OrgLevel.COMPANY),
            OrgUnit(id="p1", name="一期", level=OrgLevel.PROJECT, parent_id="co", households=400),
            OrgUnit(id="p2", name="二期", level=OrgLevel.PROJECT, parent_id="co", households=100),
        ]
    )
    rows = monthly_assessment(
        histories(),
        month=date(2026, 4, 1),
        households=Households.from_tree(tree),
        options=FactOptions(as_of=AS_OF),
    )
    p1 = rows[0]
    assert (p1["project"], p1["period"]) == ("p1", "2026-04")
    assert p1["valid_complaint_rate_per_100"] == 1.0
    assert p1["complaint_handling_rate"] == 0.0
    assert p1["complaint_handling_rate_met"] is False
    assert rows[1]["project"] == "p2"


CUSTOM = KpiDefinition(
    name="major_p1_share",
    label_zh="P1工单占比",
    label_en="Share of P1 tickets",
    formula="P1 tickets / tickets received",
    numerator=Cmp("priority", "==", "P1"),
    target=0.1,
    direction="lower",  # type: ignore[arg-type]
)


def test_custom_kpi_in_both_engines() -> None:
    stream = compute(histories(), definitions=[], extra=[CUSTOM])
    assert [(v.kpi, v.value, v.met) for v in stream] == [("major_p1_share", 0.0, True)]
    table = facts_to_arrow(ticket_facts(h) for h in histories())
    frames = compute_frame(table, definitions=[], extra=[CUSTOM], as_records=True)
    assert frames == stream


def test_registry() -> None:
    assert register_kpi(CUSTOM) is CUSTOM
    assert register_kpi(CUSTOM) is CUSTOM  # the same definition again is a no-op
    assert get_kpi("major_p1_share") == CUSTOM
    with pytest.raises(ValidationError, match="already registered"):
        register_kpi(KpiDefinition(name="major_p1_share", label_zh="x", label_en="x", formula="x"))
    with pytest.raises(NotFoundError, match="complaint_handling_rate"):
        get_kpi("complaint_handling_rat")


def test_definition_validation() -> None:
    with pytest.raises(ValidationError, match="value column"):
        KpiDefinition(
            name="x", label_zh="x", label_en="x", formula="x", aggregation=Aggregation.MEDIAN
        )
    with pytest.raises(ValidationError, match="name"):
        KpiDefinition(name="bad name", label_zh="x", label_en="x", formula="x", unit=Unit.COUNT)


def test_bad_dimension_and_period() -> None:
    with pytest.raises(ValidationError, match="unknown dimension 'floor'"):
        compute([], group_by=("floor",))
    with pytest.raises(ValidationError, match="unknown period"):
        compute([], period="fortnight")


def test_empty_input_gives_no_rows() -> None:
    assert compute([]) == ()


def test_missing_narwhals_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "narwhals":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    monkeypatch.delitem(sys.modules, "narwhals", raising=False)
    with pytest.raises(OptionalDependencyError, match=r'pip install "propcrm\[frames\]"'):
        compute_frame(object())


def test_parquet_export(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "facts.parquet"
    assert write_parquet((ticket_facts(h) for h in histories()), str(path)) == 9
    table = pq.read_table(path)
    assert table.schema.field("received_at").type == "int64"


def test_every_registered_kpi_is_documented() -> None:
    text = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    missing = [d.name for d in kpi_definitions() if f"`{d.name}`" not in text]
    assert missing in ([], ["major_p1_share"])


def test_benchmark_smoke() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "kpi_bench.py"),
            "--n",
            "2000",
            "--histories",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "events/s" in out.stdout


def test_tickets_received_after_as_of_are_skipped() -> None:
    from propcrm.metrics.kpi import iter_facts

    early = FactOptions(as_of=local(2026, 4, 3))
    assert [r["ticket_id"] for r in iter_facts(histories(), early)] == ["c1", "c2", "c3"]
    with pytest.raises(ValidationError, match="after the as-of instant"):
        ticket_facts(histories()[5], early)
    # events after the as-of instant are ignored: c1 had been received, not yet answered
    row = ticket_facts(histories()[0], FactOptions(as_of=local(2026, 4, 1, 0, 30)))
    assert row["first_response_at"] is None
    assert row["age_s"] == 1800


def test_kpis_registered_by_a_plugin_join_the_definitions() -> None:
    import attrs

    from propcrm.metrics.kpi import get_kpi, kpi_definitions
    from propcrm.plugins import _registries

    base = get_kpi("reopen_rate")
    custom = attrs.evolve(base, name="acme_reopen_rate")
    _registries.register_kpi("acme_reopen_rate", custom)
    try:
        assert custom in kpi_definitions()
        _registries.register_kpi("acme_misnamed", custom)
        with pytest.raises(ValidationError):
            kpi_definitions()
    finally:
        _registries.KPIS._entries.pop("acme_reopen_rate", None)  # type: ignore[attr-defined]
        _registries.KPIS._entries.pop("acme_misnamed", None)  # type: ignore[attr-defined]
