"""Keyword search: Chinese and English reports find the right item first, deterministically."""

from __future__ import annotations

import pytest

from propcrm.model.enums import TicketKind
from propcrm.taxonomy import Taxonomy
from propcrm.taxonomy._search import units


@pytest.mark.parametrize(
    ("report", "code"),
    [
        ("卫生间天花板滴水", "Q.WP.08"),
        ("Water drips from the bathroom ceiling", "Q.WP.08"),
        ("电梯困人", "Q.LF.01"),
        ("Passenger trapped in the lift", "Q.LF.01"),
        ("马桶堵了", "Q.PL.02"),
        ("窗户漏水", "Q.WP.03"),
        ("屋顶漏水", "Q.WP.01"),
        ("暖气不热", "Q.HV.01"),
        ("厨房有煤气味，怀疑燃气泄漏", "S.FM.06"),
        ("物业费太贵", "S.FE.01"),
        ("延期交房", "C.DL.01"),
        ("The kitchen tap is broken", "Q.PL.07"),
        ("墙皮脱落", "Q.WF.03"),
        ("外墙保温层脱落", "Q.EX.02"),
        ("楼上卫生间漏水到我家天花板", "Q.WP.08"),
        ("卫生间地面漏水", "Q.WP.04"),
        ("墙面开裂", "Q.WF.02"),
        ("消防栓漏水", "Q.FP.01"),
        ("地下车库漏水", "Q.WP.07"),
        ("马桶漏水", "Q.PL.06"),
        ("The front door lock is broken", "Q.DW.02"),
        ("Lift stopped between floors", "Q.LF.01"),
        ("Smell of gas in the kitchen", "S.FM.06"),
    ],
)
def test_reports_find_their_item_first(std: Taxonomy, report: str, code: str) -> None:
    assert std.search(report)[0].code == code


def test_scoring_is_transparent(std: Taxonomy) -> None:
    hit = std.search("卫生间天花板滴水")[0]
    assert hit.matched == ("卫生", "生间", "天花", "花板", "滴水")
    assert hit.score == 15  # five keyword bigrams of weight 3 (楼上卫生间, 天花板, 滴水)


def test_ties_are_broken_by_code(std: Taxonomy) -> None:
    hits = std.search("电梯", limit=None)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    top = [h.code for h in hits if h.score == hits[0].score]
    assert top == sorted(top)


def test_search_is_deterministic_and_filters(std: Taxonomy) -> None:
    assert std.search("漏水") == std.search("漏水")
    assert std.search("") == ()
    assert std.search("zzzz qqqq") == ()
    assert len(std.search("漏水", limit=2)) == 2
    assert all(h.code.count(".") == 1 for h in std.search("漏水", level="discipline"))
    praise = std.search("表扬 保安 态度", kind=TicketKind.PRAISE)
    assert {h.code for h in praise} <= {"S.CS.01", "S.CS.05"}
    assert all(std.get(h.code).applies_to(room=None) for h in std.search("漏水", room="bathroom"))
    assert "Q.WP.01" not in {h.code for h in std.search("漏水", room="bathroom", limit=None)}
    assert "Q.EL.07" not in {h.code for h in std.search("电表", limit=None)}


def test_units() -> None:
    assert units("漏") == ("漏",)
    assert units("Leaking pipes, LEAKED") == ("leak", "pipe")
    assert units("glass") == ("glass",)
