"""The contractor register and warranty routing."""

from __future__ import annotations

from datetime import date

import pytest

from propcrm.errors import NotFoundError, ValidationError
from propcrm.taxonomy import Contractor, ContractorRegister, Engagement, warranty_status

ACCEPTED = date(2020, 6, 30)


def _register() -> ContractorRegister:
    return ContractorRegister(
        contractors=[
            Contractor(code="ZJ", name_zh="中建某局", name_en="GC Co", party="GC"),
            Contractor(code="FS", name_zh="某防水公司", name_en="Waterproofing Co", party="SUB-WP"),
            Contractor(code="MC", name_zh="某门窗公司", name_en="Windows Co", party="SUB-DW"),
            Contractor(code="LS", name_zh="某园林公司", name_en="Landscape Co", party="SUB-LS"),
        ],
        engagements=[
            Engagement(contractor="ZJ", project_id="P1", scope="Q", accepted_on=ACCEPTED),
            Engagement(contractor="FS", project_id="P1", scope="Q.WP", accepted_on=ACCEPTED),
            Engagement(
                contractor="MC", project_id="P1", scope=("Q.DW", "Q.WP.03"), accepted_on=ACCEPTED
            ),
            Engagement(
                contractor="LS",
                project_id="P1",
                scope="Q.LS",
                accepted_on=ACCEPTED,
                warranty_until=date(2023, 6, 30),
            ),
            Engagement(
                contractor="FS",
                project_id="P2",
                scope="Q.WP",
                accepted_on=ACCEPTED,
                buildings=("B1",),
            ),
            Engagement(
                contractor="ZJ",
                project_id="P2",
                scope="Q.WP",
                accepted_on=ACCEPTED,
                buildings=("B2",),
            ),
        ],
    )


def test_most_specific_engagement_wins() -> None:
    register = _register()
    assert register.route("Q.WP.08", "P1").contractor.code == "FS"  # type: ignore[union-attr]
    item = register.route("Q.WP.03", "P1")
    assert item.contractor is not None
    assert item.contractor.code == "MC"
    assert item.party == "SUB-DW"
    assert "built Q.WP.03 (item) in P1" in item.reason
    structure = register.route("Q.ST.01", "P1")
    assert structure.contractor is not None
    assert structure.contractor.code == "ZJ"
    assert "(top class)" in structure.reason


def test_buildings_choose_among_engagements() -> None:
    register = _register()
    assert register.route("Q.WP.01", "P2", building_id="B1").party == "SUB-WP"
    assert register.route("Q.WP.01", "P2", building_id="B2").party == "GC"
    # Without the building both cover it equally; the item's parties decide (SUB-WP first)
    assert register.route("Q.WP.01", "P2").party == "SUB-WP"
    assert register.route("Q.WP.02", "P2").party == "GC"


def test_fallback_strict_and_unknown_project() -> None:
    register = _register()
    fallback = register.route("S.CS.01", "P1")
    assert fallback.contractor is None
    assert fallback.party == "PM"
    assert "default party PM" in fallback.reason
    with pytest.raises(NotFoundError, match="engagement"):
        register.route("S.CS.01", "P1", strict=True)
    with pytest.raises(NotFoundError) as caught:
        register.route("Q.WP.08", "P3")
    assert caught.value.suggestions  # P1, P2 are close
    with pytest.raises(NotFoundError):
        register.route("Q.WP.88", "P1")


def test_ambiguous_engagements_are_an_error() -> None:
    register = ContractorRegister(
        contractors=[
            Contractor(code="A", name_zh="甲", name_en="A", party="SUB-WP"),
            Contractor(code="B", name_zh="乙", name_en="B", party="SUB-WP"),
        ],
        engagements=[
            Engagement(contractor="A", project_id="P", scope="Q.WP", accepted_on=ACCEPTED),
            Engagement(contractor="B", project_id="P", scope="Q.WP", accepted_on=ACCEPTED),
        ],
    )
    with pytest.raises(ValidationError, match=r"both cover Q\.WP\.01"):
        register.route("Q.WP.01", "P")


def test_register_validation() -> None:
    gc = Contractor(code="A", name_zh="甲", name_en="A", party="GC")
    with pytest.raises(ValidationError) as caught:
        ContractorRegister(contractors=[gc, gc], engagements=[])
    assert caught.value.paths == ("$.contractors[1].code",)
    with pytest.raises(ValidationError) as caught:
        ContractorRegister(
            contractors=[gc],
            engagements=[
                Engagement(contractor="B", project_id="P", scope="Q", accepted_on=ACCEPTED)
            ],
        )
    assert caught.value.paths == ("$.engagements[0].contractor",)
    with pytest.raises(ValidationError) as caught:
        Engagement(contractor="A", project_id="P", scope=(), accepted_on=ACCEPTED)
    assert caught.value.paths == ("$.scope",)
    with pytest.raises(ValidationError) as caught:
        Engagement(contractor="A", project_id="P", scope=("Q", "wp"), accepted_on=ACCEPTED)
    assert caught.value.paths == ("$.scope[1]",)
    with pytest.raises(NotFoundError):
        _register().contractor("ZZ")


def test_warranty_names_the_registered_contractor() -> None:
    decision = warranty_status(
        "Q.WP.08",
        handover=date(2020, 9, 1),
        accepted=ACCEPTED,
        asked_on=date(2024, 1, 1),
        register=_register(),
        project_id="P1",
    )
    assert decision.covered
    assert decision.responsible == "SUB-WP"
    assert decision.route is not None
    assert decision.route.contractor is not None
    assert decision.route.contractor.code == "FS"
    assert "contractor FS" in decision.reason


def test_agreed_contractor_period_covers_wx_items() -> None:
    base = {"handover": date(2020, 9, 1), "accepted": ACCEPTED}
    decision = warranty_status(
        "Q.LS.01", asked_on=date(2023, 6, 30), register=_register(), project_id="P1", **base
    )
    assert decision.covered
    assert decision.expiry == date(2023, 6, 30)
    assert decision.responsible == "SUB-LS"
    later = warranty_status(
        "Q.LS.01",
        asked_on=date(2023, 7, 1),
        register=_register(),
        project_id="P1",
        area="common",
        **base,
    )
    assert later.state.value == "expired"
    assert later.responsible == "PM"
