"""Hand-made values shared by the taxonomy tests."""

from __future__ import annotations

from propcrm.taxonomy import Node, Party


def tiny_nodes() -> list[Node]:
    return [
        Node(code="Q", name_zh="房屋质量", name_en="Housing quality"),
        Node(code="Q.WP", name_zh="防水渗漏", name_en="Leakage", keywords=("渗漏", "leak")),
        Node(
            code="Q.WP.01",
            name_zh="屋面渗漏",
            name_en="Roof leak",
            keywords=("屋面", "roof"),
            parties=("SUB-WP", "GC"),
            warranty=("WL5", "b-roof3"),
        ),
        Node(
            code="Q.WP.02",
            name_zh="外墙面渗漏",
            name_en="External-wall seepage",
            keywords=("外墙", "wall"),
            parties=("GC",),
            warranty=("WL5", "b-leak1"),
        ),
        Node(code="Q.ST", name_zh="结构", name_en="Structure"),
        Node(
            code="Q.ST.01",
            name_zh="沉降",
            name_en="Settlement",
            parties=("GC",),
            warranty=("WS", "b-struct"),
        ),
    ]


def tiny_parties() -> list[Party]:
    return [
        Party(code="GC", kind="contractor", name_zh="总包单位", name_en="General contractor"),
        Party(code="SUB-WP", kind="contractor", name_zh="防水分包", name_en="Waterproofing"),
    ]
