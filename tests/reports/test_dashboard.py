"""The dashboard: its figures are the engines' own, its text is bilingual, bad input is refused."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal

import pytest

from propcrm.errors import NotFoundError, ValidationError
from propcrm.metrics.kpi import (
    FactOptions,
    Households,
    complaint_focus,
    compute,
    contractor_scorecard,
)
from propcrm.metrics.rfm import PROPERTY_MAP, assign_segments, score
from propcrm.metrics.sla import default_policies
from propcrm.model import TicketKind
from propcrm.reports import (
    HEADLINE_KPIS,
    TICKETS_RECEIVED,
    TREND_KPIS,
    UNIT_KPIS,
    Dashboard,
    build_dashboard,
    render_text,
    scrub_pii,
)
from propcrm.reports._format import width
from propcrm.taxonomy import standard
from propcrm.workflow import delivery as d
from propcrm.workflow import delivery_kpis as dk

from ._data import (
    AS_OF,
    HOUSEHOLDS,
    ID_NUMBER,
    PERIOD,
    PHONE,
    delivery_events,
    histories,
    org,
    surveys,
    transactions,
)


def _rollup(code: str) -> tuple[str | None, str | None]:
    std = standard()
    return std.rollup(code, "class"), std.rollup(code, "discipline")


OPTIONS = FactOptions(as_of=AS_OF, policies=default_policies(), rollup=_rollup)


@pytest.fixture(scope="module")
def full() -> Dashboard:
    return build_dashboard(
        iter(histories()),  # any iterable, read once
        households=HOUSEHOLDS,
        period=PERIOD,
        as_of=AS_OF,
        org=org(),
        surveys=surveys(),
        delivery_events=delivery_events(),
        transactions=transactions(),
        title=f"2025 春季报告 {PHONE}",
    )


@pytest.fixture(scope="module")
def bare() -> Dashboard:
    return build_dashboard(histories(), households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF)


def _engine(names, **kw):  # type: ignore[no-untyped-def]
    defs = [TICKETS_RECEIVED if n == TICKETS_RECEIVED.name else n for n in names]
    return compute(
        histories(),
        definitions=defs,
        window=PERIOD,
        households=Households(by_unit=dict(HOUSEHOLDS), total=500),
        surveys=surveys(),
        options=OPTIONS,
        **kw,
    )


def test_headline_kpis_are_the_engines_values(full: Dashboard) -> None:
    expected = {v.kpi: v for v in _engine(HEADLINE_KPIS)}
    assert [t.kpi for t in full.kpis] == list(HEADLINE_KPIS)
    for tile in full.kpis:
        v = expected.get(tile.kpi)
        if v is None:
            assert tile.value is None and tile.status == "no_value"
            continue
        assert (tile.value, tile.numerator, tile.denominator, tile.target) == (
            v.value,
            v.numerator,
            v.denominator,
            v.target,
        ), tile.kpi
        assert tile.cohort == v.cohort and tile.exclusions == v.exclusions
        want = "no_target" if v.target is None else ("met" if v.met else "missed")
        assert tile.status == (want if v.value is not None else "no_value")


def test_headline_figures_by_hand(full: Dashboard) -> None:
    # In [2025-03-01, 2025-05-01): c1-c5, r1-r5 minus the voided r4, plus "late" (received on
    # 30 April 23:00 local, before the as-of instant); "old" was received in February.
    assert full.tickets == 10
    assert full.households == 500  # the caller's figures win over the tree's 999 for p1
    assert (full.companies, full.projects) == (2, 2)
    # Valid complaints: c1, c2, c4, c5 (c3 invalid): 4 per 500 households → 0.8 per 100.
    assert full.kpi("valid_complaint_rate_per_100").value == pytest.approx(0.8)
    # Surveys answered in the period: 3 of 4 satisfied (the February one is outside).
    sat = full.kpi("satisfaction_rate")
    assert (sat.numerator, sat.denominator, sat.status) == (3, 4, "missed")
    assert sat.note.en.startswith("By answer date")
    assert "不含" in full.kpi("repair_timeliness").note.zh


def test_sla_rows_are_attainment_kpis(full: Dashboard) -> None:
    targets = [r.target for r in full.sla]
    assert targets == ["first_response", "dispatch", "arrival", "resolution", "revisit"]
    values = {v.kpi: v for v in _engine([f"sla_{t}_attainment" for t in targets])}
    for row in full.sla:
        v = values.get(row.kpi)
        assert row.attained == (None if v is None else v.value)
        if v is not None:
            assert row.met == v.numerator and row.met + row.breached == v.denominator
            assert row.goal == v.target == 0.95
    first = full.sla[0]
    # c3 was answered after 30 hours (a working day is 7.5 business hours): breached.
    assert first.breached >= 1 and first.status == "missed"


def test_trends_are_monthly_engine_values(full: Dashboard) -> None:
    assert full.months == ("2025-03", "2025-04")
    monthly = {(v.kpi, v.period): v.value for v in _engine(TREND_KPIS, period="month")}
    assert [s.kpi for s in full.trends] == list(TREND_KPIS)
    for series in full.trends:
        assert series.values == tuple(monthly.get((series.kpi, m)) for m in full.months)
    tickets = full.trends[0]
    assert sum(v or 0 for v in tickets.values) == full.tickets


def test_focus_and_scorecard_are_the_reports(full: Dashboard) -> None:
    focus = complaint_focus(histories(), window=PERIOD, options=OPTIONS)
    assert [
        (f.category, f.complaints, f.share, f.cumulative_share, f.vital_few) for f in full.focus
    ] == [
        (r["category"], r["complaints"], r["share"], r["cumulative_share"], r["vital_few"])
        for r in focus
    ]
    assert full.focus[0].category == "S.EN" and full.focus[0].complaints == 3
    assert full.focus[0].label_zh == "环境"
    card = contractor_scorecard(histories(), window=PERIOD, options=OPTIONS)
    assert [(c.contractor, c.repairs, c.timeliness, c.rework_rate) for c in full.contractors] == [
        (r["contractor"], r["repairs_reported"], r["repair_timeliness"], r["repair_rework_rate"])
        for r in card
    ]
    assert {c.contractor for c in full.contractors} == {"GC", "SUB-DW", "SUB-WP"}
    assert next(c for c in full.contractors if c.contractor == "GC").label_en == (
        "General contractor"
    )


def test_units_roll_up_projects_and_companies(full: Dashboard) -> None:
    units = {(u.level, u.unit_id): u for u in full.by_unit}
    assert list(units) == [
        ("company", "co1"),
        ("company", "co2"),
        ("project", "p1"),
        ("project", "p2"),
    ]
    by_project = {
        (dict(v.group)["project"], v.kpi): v.value
        for v in _engine(UNIT_KPIS, group_by=("project",))
    }
    for pid in ("p1", "p2"):
        unit = units[("project", pid)]
        assert unit.households == HOUSEHOLDS[pid]
        for tile in unit.kpis:
            assert tile.value == by_project.get((pid, tile.kpi)), (pid, tile.kpi)
    assert units[("company", "co2")].households == 300  # from its project, not the tree
    assert PHONE not in units[("company", "co2")].name


def test_rfm_segments_follow_the_scores(full: Dashboard) -> None:
    result = score(transactions(), as_of=date(2025, 5, 1))
    assigned = assign_segments(result, PROPERTY_MAP)
    counts = Counter(s.key for s in assigned.values() if s is not None)
    assert {s.key: s.customers for s in full.segments if s.customers} == dict(counts)
    assert sum(s.share for s in full.segments) == pytest.approx(1.0)
    prospect = next(s for s in full.segments if s.key == "prospect")
    assert prospect.customers == 1 and prospect.mean_monetary is None
    butterfly = next(s for s in full.segments if s.key == "butterfly")
    assert butterfly.mean_monetary == Decimal("3200000.00")
    assert full.segment_map == "property"


def test_delivery_kpis_are_the_delivery_functions(full: Dashboard) -> None:
    batch = d.replay(delivery_events())
    dv = full.delivery
    assert dv is not None and (dv.batches, dv.units) == (1, 2)
    first = dk.first_pass_inspection_rate([batch])
    assert (dv.first_pass.numerator, dv.first_pass.denominator) == (1, 2)
    assert (first.numerator, first.denominator) == (1, 2)
    on_time = dk.handover_on_time_rate([batch], as_of=date(2025, 5, 1))
    assert (dv.handover_on_time.numerator, dv.handover_on_time.denominator) == (1, 2)
    assert (on_time.numerator, on_time.denominator) == (1, 2)
    per_unit = dk.defects_per_unit_by_discipline([batch], standard())
    assert {x.discipline: x.per_unit for x in dv.defects_per_unit} == per_unit
    times = dk.rectification_time_by_contractor([batch])
    assert [(r.contractor, r.closed) for r in dv.rectification] == [
        (k, t.closed) for k, t in times.items()
    ]


def test_delivery_events_of_batches_in_any_order() -> None:
    events = delivery_events()
    shuffled = list(reversed(events))
    dash = build_dashboard(
        [], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF, delivery_events=shuffled
    )
    assert dash.delivery is not None and dash.delivery.units == 2


def test_missing_inputs_skip_sections_with_notes(bare: Dashboard) -> None:
    assert bare.segments == () and bare.delivery is None and bare.by_unit == ()
    assert set(bare.skipped) == {"rfm", "delivery", "by_unit"}
    text = render_text(bare)
    assert "No transactions given: RFM segments skipped." in text
    assert "No delivery events given" in text
    zh = render_text(bare, lang="zh")
    assert "未提供交易数据" in zh and "未提供交付事件" in zh
    # Without an org tree the ids are disjoint units and the total is their sum.
    assert bare.households == 500 and bare.projects == 2


def test_no_tickets_at_all() -> None:
    dash = build_dashboard([], households={"p1": 10}, period=PERIOD, as_of=AS_OF)
    assert dash.tickets == 0
    assert all(t.status in ("no_value", "no_target") for t in dash.kpis)
    assert dash.kpi("tickets_received").value in (None, 0.0)
    assert {"focus", "contractors"} <= set(dash.skipped)
    assert "No valid complaint" in render_text(dash)


def test_text_in_both_languages_fits_100_columns(full: Dashboard) -> None:
    en = render_text(full, lang="en")
    zh = render_text(full, lang="zh")
    for heading in (
        "KPIs against targets",
        "SLA attainment",
        "Complaint focus",
        "Contractor scorecard",
        "RFM segments",
        "Delivery KPIs",
        "Monthly trends",
    ):
        assert heading in en
    for heading in (
        "关键指标与目标",
        "SLA达成率",
        "投诉焦点",
        "承建商后评估",
        "RFM客户分群",
        "交付指标",
        "月度趋势",
    ):
        assert heading in zh
    assert "维修及时率" in zh and "Repair timeliness" in en
    assert "2025-03-01 to 2025-04-30" in en and "2025-03-01 至 2025-04-30" in zh
    assert "✗" in en and "✓" in en
    for text in (en, zh):
        assert max(width(line) for line in text.splitlines()) <= 100


def test_pii_never_appears(full: Dashboard) -> None:
    masked = "139****5678"
    assert full.title == f"2025 春季报告 {masked}"
    for text in (render_text(full), render_text(full, lang="zh"), repr(full)):
        assert PHONE not in text and ID_NUMBER not in text and "王芳" not in text
    assert masked in render_text(full)


def test_scrub_pii() -> None:
    assert scrub_pii(f"tel {PHONE}, id {ID_NUMBER}.") == "tel 139****5678, id 11**************34."
    assert scrub_pii("2025-03-01 1234567") == "2025-03-01 1234567"


@pytest.mark.parametrize(
    ("kw", "paths"),
    [
        ({"as_of": datetime(2025, 5, 1)}, ("$.as_of",)),
        ({"period": (date(2025, 5, 1), date(2025, 3, 1))}, ("$.period[1]",)),
        ({"period": (date(2025, 5, 1), date(2025, 5, 1))}, ("$.period[1]",)),
        ({"period": (datetime(2025, 3, 1), date(2025, 5, 1))}, ("$.period[0]",)),
        ({"period": date(2025, 3, 1)}, ("$.period",)),
        ({"households": {"p1": -1, "p2": 2.5}}, ("$.households['p1']", "$.households['p2']")),
        ({"org": "tree"}, ("$.org",)),
        ({"vital_share": 1.5}, ("$.vital_share",)),
        ({"focus_level": "project"}, ("$.focus_level",)),
        (
            {"as_of": datetime(2025, 5, 1), "period": (date(2025, 5, 1), date(2025, 3, 1))},
            ("$.period[1]", "$.as_of"),
        ),
    ],
)
def test_bad_input_names_the_field(kw: dict[str, object], paths: tuple[str, ...]) -> None:
    args: dict[str, object] = {"households": HOUSEHOLDS, "period": PERIOD, "as_of": AS_OF}
    args.update(kw)
    with pytest.raises(ValidationError) as err:
        build_dashboard(histories(), **args)  # type: ignore[arg-type]
    assert err.value.paths == paths


def test_bad_history_names_its_position() -> None:
    hs = histories()
    hs[2] = hs[2][1:]  # no ticket_received
    with pytest.raises(ValidationError) as err:
        build_dashboard(hs, households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF)
    assert err.value.paths == ("$.histories[2][0]",)


def test_bad_delivery_event_and_language() -> None:
    bad: list[d.DeliveryEvent] = ["nope"]  # type: ignore[list-item]
    with pytest.raises(ValidationError) as err:
        build_dashboard([], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF, delivery_events=bad)
    assert err.value.paths == ("$.delivery_events[0]",)
    dash = build_dashboard([], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF)
    with pytest.raises(ValidationError) as err:
        render_text(dash, lang="fr")
    assert err.value.paths == ("$.lang",)


def test_unknown_kpi_name() -> None:
    with pytest.raises(NotFoundError):
        build_dashboard([], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF, kpis=["nope"])


def test_business_calendar_swaps_duration_kpis() -> None:
    from propcrm.metrics.calendar import get_calendar

    dash = build_dashboard(
        histories(),
        households=HOUSEHOLDS,
        period=PERIOD,
        as_of=AS_OF,
        calendar=get_calendar("cn-statutory"),
    )
    names = [t.kpi for t in dash.kpis]
    assert "first_response_business_median" in names and "first_response_median" not in names
    assert dash.kpi("first_response_business_median").value is not None


def test_targets_override(full: Dashboard) -> None:
    dash = build_dashboard(
        histories(),
        households=HOUSEHOLDS,
        period=PERIOD,
        as_of=AS_OF,
        surveys=surveys(),
        targets={"satisfaction_rate": 0.7},
    )
    tile = dash.kpi("satisfaction_rate")
    assert (tile.target, tile.status) == (0.7, "met")
    assert full.kpi("satisfaction_rate").status == "missed"


@pytest.mark.parametrize("engine", ["python", "frames"])
def test_engines_give_the_same_dashboard(full: Dashboard, engine: str) -> None:
    if engine == "frames":
        pytest.importorskip("pyarrow")
        pytest.importorskip("narwhals")
    dash = build_dashboard(
        histories(),
        households=HOUSEHOLDS,
        period=PERIOD,
        as_of=AS_OF,
        org=org(),
        surveys=surveys(),
        delivery_events=delivery_events(),
        transactions=transactions(),
        title=f"2025 春季报告 {PHONE}",
        engine=engine,  # type: ignore[arg-type]
    )
    assert dash == full
    assert dash.focus and dash.contractors


def test_unknown_engine() -> None:
    with pytest.raises(ValidationError) as err:
        build_dashboard([], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF, engine="spark")  # type: ignore[arg-type]
    assert err.value.paths == ("$.engine",)


@pytest.mark.parametrize(
    ("kw", "path"),
    [
        ({"surveys": [*surveys(), "x"]}, "$.surveys[5]"),
        ({"transactions": [transactions()[0], 3]}, "$.transactions[1]"),
    ],
)
def test_bad_items_are_named(kw: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as err:
        build_dashboard([], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF, **kw)  # type: ignore[arg-type]
    assert err.value.paths == (path,)


def test_histories_must_be_iterable() -> None:
    with pytest.raises(ValidationError) as err:
        build_dashboard(None, households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF)  # type: ignore[arg-type]
    assert err.value.paths == ("$.histories",)


def test_as_of_is_printed_in_its_own_offset(full: Dashboard) -> None:
    assert "As of: 2025-05-01 00:00 UTC+08:00" in render_text(full)


def test_only_the_org_trees_companies_count() -> None:
    from propcrm.model import OrgLevel, OrgTree, OrgUnit

    tree = OrgTree.from_units(
        [
            OrgUnit(id="grp", name="集团", level=OrgLevel.GROUP),
            OrgUnit(id="co1", name="南宁置业", level=OrgLevel.COMPANY, parent_id="grp"),
            OrgUnit(id="p1", name="翠湖花园", level=OrgLevel.PROJECT, parent_id="co1"),
        ]
    )
    dash = build_dashboard(
        histories(),
        households={"p1": 200},
        period=PERIOD,
        as_of=AS_OF,
        org=tree,
        surveys=surveys(),
        delivery_events=delivery_events(),
    )
    mine = [h for h in histories() if h[0].payload.scope.company_id == "co1"]
    alone = build_dashboard(mine, households={"p1": 200}, period=PERIOD, as_of=AS_OF)
    assert dash.kpis != alone.kpis  # surveys differ: the alone one has none
    assert [t for t in dash.kpis if t.cohort != "answered"] == [
        t for t in alone.kpis if t.cohort != "answered"
    ]
    assert [u.unit_id for u in dash.by_unit] == ["co1", "p1"]
    assert dash.kpi("satisfaction_rate").denominator == 2  # co2's answers are left out
    assert dash.delivery is not None  # the batch is co1's
    (note,) = dash.notes
    assert note.en == "Left out as outside the org tree's companies: 3 tickets, 3 survey responses."
    assert "已排除组织架构以外公司的数据" in render_text(dash, lang="zh")


def test_the_calendar_given_runs_the_sla_policies_naming_it() -> None:
    import attrs

    from propcrm.errors import CalendarRangeError
    from propcrm.metrics.calendar import get_calendar

    from ._data import Tale

    late = [Tale("y1", TicketKind.REPAIR, datetime(2026, 12, 30, 9, tzinfo=AS_OF.tzinfo)).events()]
    args = {
        "households": HOUSEHOLDS,
        "period": (date(2026, 12, 1), date(2027, 1, 1)),
        "as_of": datetime(2027, 1, 8, tzinfo=AS_OF.tzinfo),
    }
    with pytest.raises(CalendarRangeError):  # no published holidays for 2027 in the registry
        build_dashboard(late, **args)  # type: ignore[arg-type]
    estimate = attrs.evolve(get_calendar("cn-statutory"), beyond_data="estimate")
    dash = build_dashboard(late, calendar=estimate, **args)  # type: ignore[arg-type]
    assert next(r for r in dash.sla if r.target == "resolution").breached == 1


def test_value_formats() -> None:
    from propcrm.reports._format import fmt_target, fmt_value

    assert fmt_value(0.0, "seconds", "en") == "0 min"
    assert fmt_value(2400, "seconds", "zh") == "40 分钟"
    assert fmt_value(9000, "seconds", "en") == "2.5 h"
    assert fmt_value(3 * 86400, "seconds", "zh") == "3.0 天"
    assert fmt_value(0.5, "per_100_households", "zh") == "0.50 /百户"
    assert fmt_value(0.953, "ratio", "en") == "95.3%"
    assert fmt_value(None, "ratio", "en") == "–"
    assert fmt_target(0.01, "ratio", "lower", "en") == "≤ 1.0%"
