"""The segment maps propcrm ships, each with Chinese and English labels."""

from __future__ import annotations

from propcrm.metrics.rfm._maps import Box, Segment, SegmentMap

__all__ = [
    "HIGH_LOW_8",
    "LEGACY_11",
    "PROPERTY_MAP",
    "REPAIRED_11",
    "RF_GRID",
    "SHIPPED_MAPS",
    "high_low_map",
]

_LO, _HI = (1, 2), (4, 5)

#: The classic 11-segment RFM map, as commonly published (with its known overlaps kept).
LEGACY_11 = SegmentMap(
    key="rfm_11_legacy",
    zh="流传的 11 段表（原样，有缺陷）",
    en="The widely copied 11-segment table (as published, flawed)",
    description=(
        "The table of the R package rfm's transaction-level vignette, as copied across "
        "tutorials, evaluated like its case_when: the first matching segment wins. Shipped "
        "as-is so the checker can show its gaps; use REPAIRED_11 instead."
    ),
    segments=(
        Segment(key="champions", zh="冠军客户", en="Champions", boxes=[Box(_HI, _HI, _HI)]),
        Segment(
            key="loyal_customers",
            zh="忠诚客户",
            en="Loyal Customers",
            boxes=[Box((2, 5), (3, 5), (3, 5))],
        ),
        Segment(
            key="potential_loyalist",
            zh="潜在忠诚客户",
            en="Potential Loyalist",
            boxes=[Box((3, 5), (1, 3), (1, 3))],
        ),
        Segment(key="new_customers", zh="新客户", en="New Customers", boxes=[Box(_HI, 1, 1)]),
        Segment(key="promising", zh="有潜力客户", en="Promising", boxes=[Box((3, 4), 1, 1)]),
        Segment(
            key="need_attention",
            zh="需要关注",
            en="Need Attention",
            boxes=[Box((2, 3), (2, 3), (2, 3))],
        ),
        Segment(
            key="about_to_sleep",
            zh="即将沉睡",
            en="About To Sleep",
            boxes=[Box((2, 3), _LO, _LO)],
        ),
        Segment(key="at_risk", zh="有流失风险", en="At Risk", boxes=[Box(_LO, (2, 5), (2, 5))]),
        Segment(
            key="cant_lose_them", zh="不能失去", en="Can't Lose Them", boxes=[Box(1, _HI, _HI)]
        ),
        Segment(key="hibernating", zh="休眠客户", en="Hibernating", boxes=[Box(_LO, _LO, _LO)]),
        Segment(key="lost", zh="已流失", en="Lost", boxes=[Box(_LO, _LO, _LO)]),
    ),
)

#: The 11-segment RFM map with its gaps and overlaps repaired: every score cell in one segment.
REPAIRED_11 = SegmentMap(
    key="rfm_11",
    zh="11 段客户分群（修复版）",
    en="11 RFM segments (repaired)",
    description=(
        "The same eleven segments with boxes that claim each of the 125 cells exactly once: "
        "New Customers, Promising, Can't Lose Them and Lost can be reached, and the 36 cells "
        "the legacy table left out (515 among them) have a home."
    ),
    segments=(
        Segment(
            key="champions",
            zh="冠军客户",
            en="Champions",
            boxes=[Box(_HI, _HI, _HI)],
            description="Bought recently, buy often and spend the most.",
        ),
        Segment(
            key="loyal_customers",
            zh="忠诚客户",
            en="Loyal Customers",
            boxes=[Box((2, 5), 3, (3, 5)), Box((2, 5), _HI, 3), Box((2, 3), _HI, _HI)],
            description="Buy often and spend well.",
        ),
        Segment(
            key="potential_loyalist",
            zh="潜在忠诚客户",
            en="Potential Loyalist",
            boxes=[
                Box((3, 5), 1, (2, 3)),
                Box((3, 5), 2, (1, 3)),
                Box((3, 5), 3, _LO),
                Box(_HI, _LO, _HI),
                Box(_HI, _HI, _LO),
            ],
            description="Recent customers who could buy more often or spend more.",
        ),
        Segment(
            key="new_customers",
            zh="新客户",
            en="New Customers",
            boxes=[Box(_HI, 1, 1)],
            description="Bought recently, once, a little.",
        ),
        Segment(
            key="promising",
            zh="有潜力客户",
            en="Promising",
            boxes=[Box(3, 1, 1)],
            description="Bought a while ago, once, a little.",
        ),
        Segment(
            key="need_attention",
            zh="需要关注",
            en="Need Attention",
            boxes=[Box(3, _LO, _HI), Box(3, _HI, _LO), Box(2, 2, (2, 3)), Box(2, 3, 2)],
            description="Middling recency with one strong and one weak dimension.",
        ),
        Segment(
            key="about_to_sleep",
            zh="即将沉睡",
            en="About To Sleep",
            boxes=[Box(2, 1, _LO), Box(2, 2, 1)],
            description="Below average on all three and fading.",
        ),
        Segment(
            key="at_risk",
            zh="有流失风险",
            en="At Risk",
            boxes=[
                Box(2, 2, _HI),
                Box(2, _HI, 2),
                Box(1, 3, (2, 5)),
                Box(1, _HI, (2, 3)),
                Box(1, 2, (3, 5)),
            ],
            description="Used to buy or spend well, long ago.",
        ),
        Segment(
            key="cant_lose_them",
            zh="不能失去",
            en="Can't Lose Them",
            boxes=[Box(1, _HI, _HI)],
            description="The best buyers of the past, gone quiet.",
        ),
        Segment(
            key="hibernating",
            zh="休眠客户",
            en="Hibernating",
            boxes=[Box(_LO, 1, (3, 5)), Box(_LO, (3, 5), 1)],
            description="Long ago, lopsided: one purchase of some size, or many small ones.",
        ),
        Segment(
            key="lost",
            zh="已流失",
            en="Lost",
            boxes=[Box(1, _LO, _LO)],
            description="Lowest on all three.",
        ),
    ),
)

#: Ten segments over recency and frequency only; monetary is ignored.
RF_GRID = SegmentMap(
    key="rf_grid",
    zh="R×F 网格",
    en="R×F grid",
    description="Ten segments over recency and frequency only; M is ignored.",
    segments=(
        Segment(key="hibernating", zh="休眠客户", en="Hibernating", boxes=[Box(_LO, _LO)]),
        Segment(key="at_risk", zh="有流失风险", en="At Risk", boxes=[Box(_LO, (3, 4))]),
        Segment(key="cant_lose_them", zh="不能失去", en="Can't Lose Them", boxes=[Box(_LO, 5)]),
        Segment(key="about_to_sleep", zh="即将沉睡", en="About To Sleep", boxes=[Box(3, _LO)]),
        Segment(key="need_attention", zh="需要关注", en="Need Attention", boxes=[Box(3, 3)]),
        Segment(
            key="loyal_customers", zh="忠诚客户", en="Loyal Customers", boxes=[Box((3, 4), _HI)]
        ),
        Segment(key="promising", zh="有潜力客户", en="Promising", boxes=[Box(4, 1)]),
        Segment(key="new_customers", zh="新客户", en="New Customers", boxes=[Box(5, 1)]),
        Segment(
            key="potential_loyalist",
            zh="潜在忠诚客户",
            en="Potential Loyalist",
            boxes=[Box(_HI, (2, 3))],
        ),
        Segment(key="champions", zh="冠军客户", en="Champions", boxes=[Box(5, _HI)]),
    ),
)


def high_low_map(*, bins: int = 5, high_from: int = 4) -> SegmentMap:
    """The Chinese eight-class scheme: each of R, F, M is high or low.

    Args:
        bins: Scores per dimension.
        high_from: The lowest score that counts as high (default 4 of 5: above the middle, as
            the usual "above the mean" rule reads on scores 1 to 5).

    Returns:
        The map: 重要价值客户 (R, F, M high), 重要发展客户 (R, M high), 重要保持客户 (F, M high),
        重要挽留客户 (M high), 一般价值客户 (R, F high), 一般发展客户 (R high),
        一般保持客户 (F high), 一般挽留客户 (all low).
    """
    low, high = (1, high_from - 1), (high_from, bins)
    classes = [
        ("important_value", "重要价值客户", "Important value", high, high, high),
        ("important_develop", "重要发展客户", "Important to develop", high, low, high),
        ("important_keep", "重要保持客户", "Important to keep", low, high, high),
        ("important_retain", "重要挽留客户", "Important to win back", low, low, high),
        ("general_value", "一般价值客户", "General value", high, high, low),
        ("general_develop", "一般发展客户", "General to develop", high, low, low),
        ("general_keep", "一般保持客户", "General to keep", low, high, low),
        ("general_retain", "一般挽留客户", "General to win back", low, low, low),
    ]
    return SegmentMap(
        key="high_low_8",
        zh="八类客户（高低划分）",
        en="Eight classes (high/low)",
        bins=bins,
        description=f"Each score is high from {high_from} up, low below.",
        segments=tuple(
            Segment(key=key, zh=zh, en=en, boxes=[Box(r, f, m)]) for key, zh, en, r, f, m in classes
        ),
    )


#: The 8-segment map of high/low recency, frequency and monetary.
HIGH_LOW_8 = high_low_map()

#: Segments for owners who buy a home once or twice, scored with fixed thresholds (seed 002).
PROPERTY_MAP = SegmentMap(
    key="property",
    zh="地产客户分群",
    en="Property customer segments",
    description=(
        "For owners who buy a home once or twice, scored with fixed thresholds (seed 002): "
        "高帅富 and 蝴蝶客 are the big recent buyers, with and without repeat business."
    ),
    segments=(
        Segment(
            key="gao_shuai_fu",
            zh="高帅富",
            en="High-value repeat buyer",
            boxes=[Box(_HI, (2, 5), _HI)],
            description="Recent, repeat business, big money: keep them close (VIP service).",
        ),
        Segment(
            key="butterfly",
            zh="蝴蝶客",
            en="Butterfly",
            boxes=[Box(_HI, 1, _HI)],
            description="A recent big buyer who has bought once (515): win a second purchase "
            "or a referral before they fly.",
        ),
        Segment(
            key="dormant_big",
            zh="沉睡大客",
            en="Dormant big spender",
            boxes=[Box((1, 3), None, _HI)],
            description="Spent big, but not recently: win back with new projects.",
        ),
        Segment(
            key="loyal_owner",
            zh="忠实业主",
            en="Loyal owner",
            boxes=[Box(None, _HI, (1, 3))],
            description="Many interactions (fees, referrals, club) with modest purchases.",
        ),
        Segment(
            key="grassroots",
            zh="草根客",
            en="Grassroots",
            boxes=[Box(None, (1, 3), 1)],
            description="Small purchases, few interactions (111 at the far end).",
        ),
        Segment(
            key="developing",
            zh="成长客",
            en="Developing",
            boxes=[Box((3, 5), (1, 3), (2, 3))],
            description="Recent, middling value: upgrade and cross-sell.",
        ),
        Segment(
            key="fading",
            zh="流失风险客",
            en="Fading",
            boxes=[Box(_LO, (1, 3), (2, 3))],
            description="Middling value, long ago.",
        ),
    ),
    unscored=Segment(
        key="prospect",
        zh="潜客",
        en="Prospect",
        description="Has not bought (or every purchase was refunded): a lead, not an owner.",
    ),
)

SHIPPED_MAPS: dict[str, SegmentMap] = {
    m.key: m for m in (REPAIRED_11, RF_GRID, HIGH_LOW_8, PROPERTY_MAP, LEGACY_11)
}
"""Every shipped map by key."""
