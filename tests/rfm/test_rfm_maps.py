"""Segment maps: the checker, the legacy table's gaps, the shipped maps' soundness."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from propcrm.metrics.rfm import (
    HIGH_LOW_8,
    LEGACY_11,
    PROPERTY_MAP,
    REPAIRED_11,
    RF_GRID,
    SHIPPED_MAPS,
    Box,
    Columns,
    Segment,
    SegmentMap,
    Transaction,
    assign_segments,
    high_low_map,
    score,
)


def test_checker_flags_the_legacy_table() -> None:
    report = LEGACY_11.check()
    assert len(report.unassigned) == 36
    assert "515" in report.codes  # the butterfly has no segment
    assert set(report.unreachable) == {"new_customers", "promising", "cant_lose_them", "lost"}
    assert report.overlaps  # and many cells are claimed twice
    assert not report.ok


@pytest.mark.parametrize("segment_map", [REPAIRED_11, RF_GRID, HIGH_LOW_8, PROPERTY_MAP])
def test_shipped_maps_assign_every_cell_exactly_once(segment_map: SegmentMap) -> None:
    report = segment_map.check()
    assert report.cells == 125
    assert report.ok, report
    for cell in segment_map.cells():
        assert len(segment_map.claimants(cell)) == 1


def test_every_shipped_map_has_both_labels() -> None:
    for segment_map in SHIPPED_MAPS.values():
        assert segment_map.zh
        assert segment_map.en
        for segment in segment_map.segments:
            assert segment.zh
            assert segment.en
            assert segment.key


def test_checker_finds_gaps_overlaps_and_dead_segments() -> None:
    broken = SegmentMap(
        key="broken",
        zh="坏",
        en="Broken",
        bins=2,
        segments=(
            Segment(key="low_r", zh="低", en="Low R", boxes=[Box(1)]),
            Segment(key="shadowed", zh="影", en="Shadowed", boxes=[Box(1, 1, 1)]),
            Segment(key="one", zh="一", en="One", boxes=[Box(2, 2, 2), Box(2, 1, 1)]),
        ),
    )
    report = broken.check()
    assert report.unassigned == ((2, 1, 2), (2, 2, 1))
    assert report.overlaps == (((1, 1, 1), ("low_r", "shadowed")),)
    assert report.unreachable == ("shadowed",)


def test_the_property_map_reads_seed_002() -> None:
    assert PROPERTY_MAP.segment_of((5, 5, 5)).zh == "高帅富"  # type: ignore[union-attr]
    assert PROPERTY_MAP.segment_of((5, 1, 5)).zh == "蝴蝶客"  # type: ignore[union-attr]
    assert PROPERTY_MAP.segment_of((1, 1, 1)).zh == "草根客"  # type: ignore[union-attr]
    assert PROPERTY_MAP.segment_of(None).zh == "潜客"  # type: ignore[union-attr]
    assert REPAIRED_11.segment_of((5, 1, 5)) is not None
    assert LEGACY_11.segment_of((5, 1, 5)) is None


def test_high_low_classes() -> None:
    assert HIGH_LOW_8.segment_of((5, 5, 5)).zh == "重要价值客户"  # type: ignore[union-attr]
    assert HIGH_LOW_8.segment_of((5, 1, 5)).zh == "重要发展客户"  # type: ignore[union-attr]
    assert HIGH_LOW_8.segment_of((1, 5, 5)).zh == "重要保持客户"  # type: ignore[union-attr]
    assert HIGH_LOW_8.segment_of((1, 1, 5)).zh == "重要挽留客户"  # type: ignore[union-attr]
    assert HIGH_LOW_8.segment_of((3, 3, 3)).zh == "一般挽留客户"  # type: ignore[union-attr]
    three = high_low_map(bins=3, high_from=2)
    assert three.check().ok
    assert three.check().cells == 27


def test_segments_in_frames_match_python() -> None:
    pl = pytest.importorskip("polars")
    rows = [
        Transaction(customer_id=c, date=date(2024, m, 1), amount=Decimal(a))
        for c, m, a in [
            ("a", 1, "100"),
            ("b", 6, "2000000"),
            ("b", 7, "1000"),
            ("c", 12, "6000000"),
        ]
    ]
    python = assign_segments(score(rows, as_of=date(2024, 12, 31)), PROPERTY_MAP)
    frame = pl.DataFrame(
        {
            "customer_id": [t.customer_id for t in rows],
            "date": [t.date for t in rows],
            "amount": [t.amount for t in rows],
        }
    )
    out = score(frame, as_of=date(2024, 12, 31), segments=PROPERTY_MAP, columns=Columns())
    assert out["segment"].to_list() == [python[c].key for c in "abc"]  # type: ignore[union-attr]


def test_unknown_segment_key_is_a_lookup_error() -> None:
    from propcrm.errors import NotFoundError

    assert PROPERTY_MAP.get("butterfly").zh == "蝴蝶客"
    assert PROPERTY_MAP.get("prospect").zh == "潜客"
    with pytest.raises(NotFoundError, match="butterfly"):
        PROPERTY_MAP.get("butter")
