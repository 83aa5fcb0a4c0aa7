from __future__ import annotations

import logging

import pytest

from propcrm.errors import NotFoundError, ValidationError
from propcrm.model import (
    Actor,
    AreaType,
    CustomerRef,
    Location,
    OrgLevel,
    OrgScope,
    OrgTree,
    OrgUnit,
    Role,
    Satisfaction,
    TicketKind,
    mask_id_number,
    mask_phone,
)


def tree() -> OrgTree:
    return OrgTree.from_units(
        [
            OrgUnit(id="g", name="集团", level=OrgLevel.GROUP),
            OrgUnit(id="c1", name="南宁公司", level=OrgLevel.COMPANY, parent_id="g"),
            OrgUnit(id="sc1", name="一号服务中心", level=OrgLevel.SERVICE_CENTRE, parent_id="c1"),
            OrgUnit(id="p1", name="翠湖", level=OrgLevel.PROJECT, parent_id="sc1"),
            OrgUnit(id="b1", name="1栋", level=OrgLevel.BUILDING, parent_id="p1", households=120),
            OrgUnit(id="b2", name="2栋", level=OrgLevel.BUILDING, parent_id="p1", households=80),
            OrgUnit(id="p2", name="江景", level=OrgLevel.PROJECT, parent_id="c1", households=300),
        ]
    )


def test_org_tree_navigation_and_households() -> None:
    t = tree()
    assert [u.id for u in t.ancestors("b1")] == ["g", "c1", "sc1", "p1", "b1"]
    assert t.households("p1") == 200  # summed from the buildings
    assert t.households("c1") == 500
    assert t.scope_of("b2") == OrgScope(
        group_id="g", company_id="c1", service_centre_id="sc1", project_id="p1"
    )
    assert t.scope_of("p2").service_centre_id is None
    assert [u.id for u in t.descendants("c1")] == ["p2", "sc1", "p1", "b1", "b2"]


def test_org_tree_refuses_bad_structure_with_paths() -> None:
    with pytest.raises(ValidationError) as info:
        OrgTree.from_units(
            [
                OrgUnit(id="c1", name="c", level=OrgLevel.COMPANY),
                OrgUnit(id="p1", name="p", level=OrgLevel.PROJECT, parent_id="nope"),
                OrgUnit(id="x", name="x", level=OrgLevel.COMPANY, parent_id="c1"),
                OrgUnit(id="c1", name="dup", level=OrgLevel.COMPANY),
            ]
        )
    assert set(info.value.paths) == {"$[1].parent_id", "$[2].level", "$[3].id"}


def test_unknown_org_unit_suggests_close_ids() -> None:
    with pytest.raises(NotFoundError) as info:
        tree().get("p3")
    assert "p1" in str(info.value) or "p2" in str(info.value)


def test_org_scope_path_and_containment() -> None:
    scope = OrgScope(company_id="c1", project_id="p1", group_id="g")
    assert scope.path() == ("g", "c1", "p1")
    assert scope.within("c1") and not scope.within("c2")


def test_unit_location_needs_a_unit() -> None:
    with pytest.raises(ValidationError) as info:
        Location(project_id="p1", area=AreaType.UNIT)
    assert info.value.paths == ("$.unit_id",)
    assert Location(project_id="p1", area=AreaType.COMMON).most_specific_id == "p1"


def test_enums_are_checked_on_construction() -> None:
    with pytest.raises(ValidationError) as info:
        Actor(id="a", role="boss")  # type: ignore[arg-type]
    assert info.value.paths == ("$.role",)
    assert Role("handler") is Role.HANDLER
    assert TicketKind.REPAIR.label_zh == "报修" and TicketKind.REPAIR.label_en == "Repair"
    assert Satisfaction.BASICALLY_SATISFIED.is_satisfied
    assert not Satisfaction.DISSATISFIED.is_satisfied


def test_customer_reprs_and_logs_mask_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    customer = CustomerRef(
        customer_id="k1", name="张三丰", phone="138-1234-5678", id_number="11010519491231002X"
    )
    logging.getLogger("propcrm.test").warning("customer %r / %s", customer, customer)
    for text in (repr(customer), str(customer), caplog.text):
        assert "1234" not in text and "19491231" not in text and "三丰" not in text
    assert customer.phone == "138-1234-5678"  # the value itself is intact


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("+86 138 1234 5678", "861******5678"), ("12345", "*****")],
)
def test_phone_masking(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
    assert mask_phone(masked) == masked  # masking twice changes nothing


def test_id_masking_keeps_only_the_ends() -> None:
    assert mask_id_number("11010519491231002X") == "11" + "*" * 14 + "2X"


def test_bad_phone_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as info:
        CustomerRef(customer_id="k", phone="call me 13812345678")
    assert info.value.paths == ("$.phone",)
    assert "13812345678" not in str(info.value)


def test_survey_index_and_rate_are_kept_apart() -> None:
    from datetime import date

    from propcrm.model import SurveyDefinition, SurveyQuestion, SurveyResponse

    survey = SurveyDefinition(
        survey_id="s",
        name_zh="年度满意度",
        name_en="Annual",
        questions=[
            SurveyQuestion(id="clean", text_zh="保洁", text_en="Cleaning", low=1, high=5),
            SurveyQuestion(id="safe", text_zh="安全", text_en="Safety", low=0, high=10, weight=3),
        ],
    )
    answer = SurveyResponse(
        response_id="r1",
        survey_id="s",
        respondent_id="k1",
        scope=OrgScope(company_id="c", project_id="p"),
        answered_on=date(2026, 6, 1),
        scores={"clean": 5, "safe": 5},
        overall=Satisfaction.BASICALLY_SATISFIED,
    )
    assert survey.index(answer) == pytest.approx(100 * (1 * 1.0 + 3 * 0.5) / 4)
    assert answer.is_satisfied is True
    bad = SurveyResponse(
        response_id="r2",
        survey_id="s",
        respondent_id="k1",
        scope=OrgScope(company_id="c", project_id="p"),
        answered_on=date(2026, 6, 1),
        scores={"clean": 9, "noise": 3},
    )
    with pytest.raises(ValidationError) as info:
        survey.check(bad)
    assert set(info.value.paths) == {"$.scores.clean", "$.scores.noise"}
    with pytest.raises(ValidationError):
        SurveyQuestion(id="q", text_zh="", text_en="", low=5, high=5)
