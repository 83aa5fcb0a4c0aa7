"""The case library: lessons linked to codes and projects, ranked for design review."""

from __future__ import annotations

from datetime import date

import pytest

from propcrm.errors import NotFoundError, ValidationError
from propcrm.model.enums import Severity
from propcrm.taxonomy import Case, CaseLibrary, ReviewArea, Taxonomy


def _case(case_id: str, codes: tuple[str, ...], tickets: int, **kwargs: object) -> Case:
    values: dict[str, object] = {
        "title": "t",
        "project_id": "P1",
        "area": ReviewArea.QUALITY,
        "problem": "p",
        "lesson": "l",
        "owner": "DEV-ENG",
        "recorded_on": date(2020, 1, 1),
        **kwargs,
    }
    return Case(case_id=case_id, codes=codes, tickets=tickets, **values)  # type: ignore[arg-type]


def _library() -> CaseLibrary:
    return CaseLibrary(
        cases=[
            _case("c1", ("Q.WP.04",), 40),
            _case("c2", ("Q.WP.01", "Q.EX.02"), 40, severity=Severity.MAJOR),
            _case("c3", ("Q.WP.08",), 40, recorded_on=date(2021, 1, 1)),
            _case("c4", ("Q.WP",), 5, project_id="P2", area="building"),
            _case("c5", ("Q.EL.07",), 9, area="livability"),
        ]
    )


def test_top_lessons_rank_by_tickets_severity_recency_id() -> None:
    top = _library().top_lessons("Q.WP", n=10)
    assert [c.case_id for c in top] == ["c2", "c3", "c1", "c4"]
    assert [c.case_id for c in _library().top_lessons("Q.WP.08", n=2)] == ["c2", "c3"]


def test_filters() -> None:
    library = _library()
    assert [c.case_id for c in library.top_lessons("Q.WP", exclude_project="P1")] == ["c4"]
    assert [c.case_id for c in library.top_lessons("Q.WP", area="building")] == ["c4"]
    assert [c.case_id for c in library.top_lessons("Q.EX")] == ["c2"]


def test_deprecated_codes_follow_their_replacement() -> None:
    assert [c.case_id for c in _library().top_lessons("S.FM")] == ["c5"]
    assert _library().top_lessons("Q.EL") == ()


def test_by_discipline() -> None:
    grouped = _library().top_lessons_by_discipline(n=1)
    assert list(grouped) == ["Q.EX", "Q.WP", "S.FM"]
    assert grouped["Q.WP"][0].case_id == "c2"


def test_class_code_is_refused() -> None:
    with pytest.raises(ValidationError):
        _library().top_lessons("Q")


def test_check_against_taxonomy(std: Taxonomy) -> None:
    _library().check(std)
    bad = _library().add(_case("c6", ("Q.WP.77",), 1))
    with pytest.raises(ValidationError) as caught:
        bad.check(std)
    assert caught.value.paths == ("$.cases[5].codes[0]",)
    with pytest.raises(NotFoundError):
        bad.top_lessons("Q.WP")


def test_csv_round_trip_and_errors() -> None:
    library = _library()
    assert CaseLibrary.from_csv(library.to_csv()) == library
    text = library.to_csv().splitlines()
    text[2] = text[2].replace("2020-01-01", "2020-13-01")
    text[3] = text[3].replace("Q.WP.08", "q")
    with pytest.raises(ValidationError) as caught:
        CaseLibrary.from_csv("\n".join(text))
    assert caught.value.paths == ("row 3: recorded_on", "row 4: codes[0]")


def test_case_validation() -> None:
    with pytest.raises(ValidationError):
        _case("x", (), 1)
    with pytest.raises(ValidationError):
        _case("x", ("Q.WP.01",), -1)
    with pytest.raises(ValidationError, match="duplicate"):
        CaseLibrary(cases=[_case("x", ("Q.WP.01",), 1), _case("x", ("Q.WP.01",), 1)])
    assert len(_library()) == 5
