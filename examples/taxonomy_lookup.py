"""Classify a few owner reports with the standard taxonomy and decide one warranty question.

Run: python examples/taxonomy_lookup.py
"""

from __future__ import annotations

from datetime import date

from propcrm import taxonomy

REPORTS = [
    "卫生间天花板滴水",
    "Water drips from the bathroom ceiling",
    "电梯困人，3号楼2单元",
    "厨房有煤气味",
    "物业费太贵了",
    "The balcony railing is loose",
]


def main() -> None:
    std = taxonomy.standard()
    print(f"taxonomy {std.tag} ({len(std.nodes_at('item'))} live items)")
    for report in REPORTS:
        hits = std.search(report, limit=1)
        if not hits:
            print(f"  {report!r}: no match")
            continue
        node = std.get(hits[0].code)
        priority = node.priority.value if node.priority else "-"
        print(
            f"  {report!r} -> {node.code} {node.name_zh} / {node.name_en} "
            f"[{std.rollup(node.code)}; parties {', '.join(node.parties)}; {priority}; "
            f"score {hits[0].score} on {'/'.join(hits[0].matched)}]"
        )

    register = taxonomy.ContractorRegister(
        contractors=[
            taxonomy.Contractor(code="ZJ3", name_zh="某建工三公司", name_en="ZJ3", party="GC"),
            taxonomy.Contractor(code="DY", name_zh="某防水公司", name_en="DY", party="SUB-WP"),
        ],
        engagements=[
            taxonomy.Engagement(
                contractor="ZJ3", project_id="NN-01", scope="Q", accepted_on=date(2022, 6, 30)
            ),
            taxonomy.Engagement(
                contractor="DY", project_id="NN-01", scope="Q.WP", accepted_on=date(2022, 6, 30)
            ),
        ],
    )
    decision = taxonomy.warranty_status(
        "Q.WP.08",
        handover=date(2023, 1, 15),
        accepted=date(2022, 6, 30),
        asked_on=date(2026, 11, 23),
        register=register,
        project_id="NN-01",
    )
    print(f"warranty of Q.WP.08 on {decision.asked_on}: {decision.state.label_en}")
    print(f"  expires {decision.expiry}; responsible {decision.responsible}")
    print(f"  rule: {decision.reference}")
    print(f"  why: {decision.reason}")
    if decision.route is not None:
        print(f"  route: {decision.route.reason}")


if __name__ == "__main__":
    main()
