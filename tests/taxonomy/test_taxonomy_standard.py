"""The shipped standard taxonomy: data rules every item keeps, and a golden snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from propcrm.model.enums import Priority
from propcrm.taxonomy import Level, Taxonomy, standard, warranty_rules

SNAPSHOT = Path(__file__).parent / "snapshots" / "standard.json"


def test_version_and_tag_are_exposed(std: Taxonomy) -> None:
    assert std.name == "propcrm-standard"
    assert std.version == "1.0.0"
    assert std.tag == "propcrm-standard@1.0.0"


def test_standard_is_cached(std: Taxonomy) -> None:
    assert standard() is std


def test_nothing_is_loaded_at_import() -> None:
    code = (
        "import propcrm.taxonomy as t, sys; "
        "assert t.standard.cache_info().currsize == 0; "
        "from propcrm.taxonomy import _warranty as w; "
        "assert w.warranty_rules.cache_info().currsize == 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_golden_snapshot(std: Taxonomy) -> None:
    """Any change to the shipped data must be deliberate: regenerate the snapshot on purpose.

    PROPCRM_UPDATE_SNAPSHOTS=1 pytest tests/taxonomy/test_taxonomy_standard.py
    """
    current = std.to_json()
    if os.environ.get("PROPCRM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert current == SNAPSHOT.read_text(encoding="utf-8"), "standard taxonomy changed"


def test_every_live_quality_item_has_one_rule_of_each_side(std: Taxonomy) -> None:
    rules = warranty_rules()
    for node in std.nodes_at(Level.ITEM):
        if node.code.startswith("Q."):
            assert node.contractor_rule is not None, node.code
            assert node.buyer_rule is not None, node.code
            assert rules[node.contractor_rule].side.value == "contractor"
            assert rules[node.buyer_rule].side.value == "buyer"
        else:
            assert node.warranty == (), node.code


def test_every_item_has_known_parties_and_kinds(std: Taxonomy) -> None:
    known = {p.code for p in std.parties}
    for node in std.nodes_at(Level.ITEM, include_deprecated=True):
        assert node.parties, node.code
        assert set(node.parties) <= known, node.code
        assert node.kinds, node.code


def test_deprecated_codes_point_to_live_items(std: Taxonomy) -> None:
    deprecated = [n for n in std if n.deprecated]
    assert [n.code for n in deprecated] == ["Q.EL.07"]
    assert std.replacements == {"Q.EL.07": "S.FM.09"}
    for node in deprecated:
        assert node.replaced_by is not None
        assert std.is_valid(node.replaced_by, live=True)


def test_specific_review_decisions(std: Taxonomy) -> None:
    # Items whose warranty or parties changed in the review (docs/taxonomy.md, "Changes").
    assert std.get("Q.EX.03").warranty == ("WD2", "b-agreed")
    assert std.get("Q.WP.06").warranty == ("WL5", "b-leak1")
    assert std.get("Q.WF.02").buyer_rule == "b-agreed"
    assert std.get("Q.FO.03").buyer_rule == "b-agreed"
    assert std.get("Q.LF.01").priority is Priority.P1
    assert std.get("Q.LF.01").name_en == "Passenger entrapment"
    assert std.get("Q.WP.08").parties[0] == "GC"
    assert std.resolve("Q.EL.07") == "S.FM.09"


def test_size_by_class_and_discipline(std: Taxonomy) -> None:
    size = std.size()
    assert size["Q"] + size["S"] + size["C"] == len(std.nodes_at(Level.ITEM))
    assert (size["Q"], size["S"], size["C"]) == (91, 29, 9)
    assert size["Q.WP"] == 10


def test_docs_table_matches_the_data(std: Taxonomy) -> None:
    text = (Path(__file__).parents[2] / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for code, count in std.size().items():
        assert code in rows, code
        assert rows[code].rstrip().endswith(f"| {count} |"), rows[code]


@pytest.mark.parametrize("code", ["Q", "S", "C"])
def test_three_top_classes(std: Taxonomy, code: str) -> None:
    assert std.get(code).level is Level.CLASS
    assert std.children(code)
