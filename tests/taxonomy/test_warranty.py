"""Statutory warranty: a hand case for every row of both tables, boundary days, seasons."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from propcrm.errors import NotFoundError, ValidationError
from propcrm.taxonomy import (
    Basis,
    ContractualExtension,
    Season,
    SeasonKind,
    WarrantyState,
    add_period,
    exclusions,
    seasons,
    warranty_rules,
    warranty_status,
)

ACCEPTED = date(2020, 6, 30)
HANDOVER = date(2020, 9, 1)


def _terms(code: str, **kwargs: object) -> dict[str, date]:
    decision = warranty_status(
        code,
        handover=HANDOVER,
        accepted=ACCEPTED,
        asked_on=HANDOVER,
        **kwargs,  # type: ignore[arg-type]
    )
    return {t.rule.code if t.rule else "extension": t.expiry for t in decision.terms}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # contractor rules count from completion acceptance 2020-06-30, buyer rules from
        # handover 2020-09-01 (b-struct from acceptance: the service life is the building's)
        ("Q.ST.01", {"WS": date(2070, 6, 30), "b-struct": date(2070, 6, 30)}),
        ("Q.WP.01", {"WL5": date(2025, 6, 30), "b-roof3": date(2023, 9, 1)}),
        ("Q.WP.04", {"WL5": date(2025, 6, 30), "b-leak1": date(2021, 9, 1)}),
        ("Q.PL.01", {"WM2": date(2022, 6, 30), "b-leak1": date(2021, 9, 1)}),
        ("Q.WF.03", {"WD2": date(2022, 6, 30), "b-plaster1": date(2021, 9, 1)}),
        ("Q.WF.04", {"WD2": date(2022, 6, 30), "b-floor1": date(2021, 9, 1)}),
        ("Q.DW.01", {"WD2": date(2022, 6, 30), "b-door1": date(2021, 9, 1)}),
        ("Q.PL.02", {"WM2": date(2022, 6, 30), "b-block2m": date(2020, 11, 1)}),
        ("Q.PL.06", {"WM2": date(2022, 6, 30), "b-sanitary1": date(2021, 9, 1)}),
        ("Q.EL.01", {"WM2": date(2022, 6, 30), "b-light6m": date(2021, 3, 1)}),
        ("Q.EX.02", {"WI5": date(2025, 6, 30)}),  # b-agreed: no statutory buyer minimum
        ("Q.LS.01", {}),  # WX and b-agreed: nothing without an agreement
    ],
)
def test_each_statutory_row(code: str, expected: dict[str, date]) -> None:
    assert _terms(code) == expected


def test_heating_and_cooling_rows() -> None:
    # north: 15 Nov - 15 Mar. Acceptance 2020-06-30: seasons 2020/21 and 2021/22 count.
    assert _terms("Q.HV.01", region="north") == {
        "WH2": date(2022, 3, 15),
        "b-hvac1s": date(2021, 3, 15),
    }
    assert _terms("Q.HV.01", region="northeast")["WH2"] == date(2022, 4, 20)
    # south has a cooling season only; one in progress at the start does not count
    assert _terms("Q.HV.03", region="south") == {
        "WH2": date(2022, 9, 30),
        "b-hvac1s": date(2021, 9, 30),
    }


def test_season_starting_on_the_day_counts_and_one_in_progress_does_not() -> None:
    north = seasons("north")[0]
    assert north.end_of_nth(date(2020, 11, 15), 2) == date(2022, 3, 15)
    assert north.end_of_nth(date(2020, 11, 16), 2) == date(2023, 3, 15)
    assert north.end_of_nth(date(2021, 3, 1), 1) == date(2022, 3, 15)
    assert north.occurrence(2020) == (date(2020, 11, 15), date(2021, 3, 15))


def test_region_with_both_seasons_takes_the_later_unless_told() -> None:
    both = [
        Season(region="x", kind="heating", start=(12, 1), end=(2, 28)),
        Season(region="x", kind="cooling", start=(6, 15), end=(9, 15)),
    ]
    assert _terms("Q.HV.03", region=both)["WH2"] == date(2022, 9, 15)
    heating = _terms("Q.HV.03", region=both, season_kind="heating")
    assert heating["WH2"] == date(2022, 2, 28)
    assert _terms("Q.HV.03", region=both, season_kind=SeasonKind.COOLING)["WH2"] == date(
        2022, 9, 15
    )


def test_season_without_region_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        warranty_status("Q.HV.01", handover=HANDOVER, accepted=ACCEPTED, asked_on=HANDOVER)
    assert caught.value.paths == ("$.region",)
    with pytest.raises(NotFoundError, match="season region"):
        seasons("mars")
    with pytest.raises(ValidationError, match="29 February"):
        Season(region="x", kind="heating", start=(2, 29), end=(3, 15))


def test_design_life_is_configurable_and_named() -> None:
    assert _terms("Q.ST.02", design_life_years=70)["WS"] == date(2090, 6, 30)
    decision = warranty_status(
        "Q.ST.02", handover=HANDOVER, accepted=ACCEPTED, asked_on=date(2060, 1, 1)
    )
    assert decision.covered
    assert decision.deciding is not None
    assert "design service life of 50 years" in decision.deciding.period


def test_boundary_day_is_covered_and_the_next_is_not() -> None:
    # buyer minimum decides: the contractor's WM2 ended 2022-01-01, long before handover
    base = {"handover": date(2023, 1, 10), "accepted": date(2020, 1, 1)}
    last = warranty_status("Q.EL.01", asked_on=date(2023, 7, 10), **base)
    after = warranty_status("Q.EL.01", asked_on=date(2023, 7, 11), **base)
    assert last.state is WarrantyState.COVERED
    assert last.expiry == date(2023, 7, 10)
    assert last.deciding is not None
    assert last.deciding.basis is Basis.BUYER_MINIMUM
    assert last.responsible == "DEV-ENG"  # the contractor's period is over
    assert after.state is WarrantyState.EXPIRED
    assert after.responsible == "OWN"
    assert not after.covered


def test_feb_29() -> None:
    assert add_period(date(2024, 2, 29), years=1) == date(2025, 2, 28)
    assert add_period(date(2024, 2, 29), years=4) == date(2028, 2, 29)
    assert add_period(date(2024, 1, 31), months=1) == date(2024, 2, 29)
    assert add_period(date(2023, 1, 31), months=1) == date(2023, 2, 28)
    base = {"handover": date(2024, 2, 29), "accepted": date(2020, 1, 1)}
    assert warranty_status("Q.WF.03", asked_on=date(2025, 2, 28), **base).covered
    assert not warranty_status("Q.WF.03", asked_on=date(2025, 3, 1), **base).covered


def test_contractor_remainder_outlasts_buyer_minimum() -> None:
    base = {"handover": date(2021, 6, 1), "accepted": date(2020, 1, 1)}
    decision = warranty_status("Q.WP.04", asked_on=date(2024, 12, 31), **base)
    assert decision.covered
    assert decision.expiry == date(2025, 1, 1)
    assert decision.deciding is not None
    assert decision.deciding.basis is Basis.CONTRACTOR_REMAINDER
    assert decision.reference is not None
    assert "Art. 40(2)" in decision.reference
    assert decision.responsible == "GC"
    assert not warranty_status("Q.WP.04", asked_on=date(2025, 1, 2), **base).covered


def test_roof_buyer_three_years_never_beats_contractor_five() -> None:
    decision = warranty_status(
        "Q.WP.01", handover=date(2021, 1, 1), accepted=date(2020, 1, 1), asked_on=date(2024, 6, 1)
    )
    assert decision.deciding is not None
    assert decision.deciding.rule is not None
    assert decision.deciding.rule.code == "WL5"


def test_equal_terms_name_the_buyer_minimum() -> None:
    decision = warranty_status(
        "Q.PL.01", handover=date(2021, 6, 30), accepted=ACCEPTED, asked_on=date(2022, 6, 30)
    )
    assert [t.expiry for t in decision.terms] == [date(2022, 6, 30)] * 2
    assert decision.deciding is not None
    assert decision.deciding.basis is Basis.BUYER_MINIMUM
    assert decision.responsible == "SUB-MEP"  # still within the contractor's own period


def test_contractual_extension() -> None:
    ext = ContractualExtension(until=date(2030, 1, 1), scope="Q.WP", reference="contract 7")
    decision = warranty_status(
        "Q.WP.08",
        handover=HANDOVER,
        accepted=ACCEPTED,
        asked_on=date(2029, 12, 31),
        extensions=[ext, ContractualExtension(until=date(2040, 1, 1), scope=("Q.PL",))],
    )
    assert decision.covered
    assert decision.expiry == date(2030, 1, 1)
    assert decision.deciding is not None
    assert decision.deciding.reference == "contract 7"
    assert decision.responsible == "DEV-ENG"
    everything = ContractualExtension(until=date(2031, 1, 1))
    assert everything.covers("Q.LS.01")
    assert not ext.covers("Q.WPX.01")
    no_period = warranty_status(
        "Q.LS.01",
        handover=HANDOVER,
        accepted=ACCEPTED,
        asked_on=date(2030, 1, 1),
        extensions=[everything],
    )
    assert no_period.covered
    assert no_period.expiry == date(2031, 1, 1)


@pytest.mark.parametrize(
    ("exclusion", "area", "party"),
    [
        ("misuse", "unit", "OWN"),
        ("third_party", "unit", "TP"),
        ("force_majeure", "common", "PM"),
        ("owner_alteration", "unit", "OWN"),
        ("force_majeure", "external", "UT"),
    ],
)
def test_exclusions(exclusion: str, area: str, party: str) -> None:
    decision = warranty_status(
        "Q.WP.04",
        handover=HANDOVER,
        accepted=ACCEPTED,
        asked_on=date(2021, 1, 1),
        exclusion=exclusion,
        area=area,
    )
    assert decision.state is WarrantyState.EXCLUDED
    assert not decision.covered
    assert decision.exclusion is exclusions()[exclusion]
    assert decision.responsible == party
    assert decision.reference == exclusions()[exclusion].reference


def test_expired_common_part_goes_to_the_property_company() -> None:
    decision = warranty_status(
        "Q.EX.05", handover=HANDOVER, accepted=ACCEPTED, asked_on=date(2030, 1, 1), area="common"
    )
    assert decision.state is WarrantyState.EXPIRED
    assert decision.responsible == "PM"


def test_not_applicable_and_deprecated() -> None:
    service = warranty_status("S.CS.01", handover=HANDOVER, accepted=ACCEPTED, asked_on=HANDOVER)
    assert service.state is WarrantyState.NOT_APPLICABLE
    assert service.responsible == "PM"
    old = warranty_status("Q.EL.07", handover=HANDOVER, accepted=ACCEPTED, asked_on=HANDOVER)
    assert old.code == "S.FM.09"
    assert old.responsible == "UT"


def test_bad_inputs_name_their_field() -> None:
    with pytest.raises(ValidationError) as caught:
        warranty_status("Q.WP.04", handover=ACCEPTED, accepted=HANDOVER, asked_on=HANDOVER)
    assert caught.value.paths == ("$.handover",)
    with pytest.raises(ValidationError) as caught:
        warranty_status("Q.WP.04", handover=HANDOVER, accepted=ACCEPTED, asked_on=date(2020, 1, 1))
    assert caught.value.paths == ("$.asked_on",)
    with pytest.raises(ValidationError) as caught:
        warranty_status(
            "Q.WP.04",
            handover=datetime(2020, 9, 1),
            accepted=ACCEPTED,
            asked_on=HANDOVER,
            design_life_years=0,
        )
    assert caught.value.paths == ("$.handover", "$.design_life_years")
    with pytest.raises(NotFoundError) as missing:
        warranty_status(
            "Q.WP.04", handover=HANDOVER, accepted=ACCEPTED, asked_on=HANDOVER, exclusion="bad luck"
        )
    assert "misuse" in str(missing.value)
    with pytest.raises(NotFoundError):
        warranty_status("Q.WP.99", handover=HANDOVER, accepted=ACCEPTED, asked_on=HANDOVER)


def test_rule_tables_cite_their_articles() -> None:
    rules = warranty_rules()
    assert {c for c, r in rules.items() if r.side.value == "contractor"} == {
        "WS",
        "WL5",
        "WH2",
        "WM2",
        "WD2",
        "WI5",
        "WX",
    }
    assert len([r for r in rules.values() if r.side.value == "buyer"]) == 11
    assert rules["WI5"].reference == "《民用建筑节能条例》 Art. 23"
    assert all(r.statute and r.article for r in rules.values())
