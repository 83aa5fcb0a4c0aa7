"""Reading, navigating and extending a taxonomy."""

from __future__ import annotations

import attrs
import pytest
from _taxonomy_helpers import tiny_nodes, tiny_parties

from propcrm.errors import NotFoundError, ValidationError
from propcrm.model.enums import AreaType
from propcrm.taxonomy import Level, Node, Party, RoomType, Taxonomy


def test_get_unknown_code_suggests_closest(std: Taxonomy) -> None:
    with pytest.raises(NotFoundError) as caught:
        std.get("Q.WP.8")
    assert caught.value.suggestions[0] == "Q.WP.08"
    assert "did you mean" in str(caught.value)
    assert isinstance(caught.value, LookupError)


def test_get_with_nothing_close_has_no_suggestions(std: Taxonomy) -> None:
    with pytest.raises(NotFoundError) as caught:
        std.get("ZZZZZZZZ")
    assert caught.value.suggestions == ()


def test_children_and_ancestors(std: Taxonomy) -> None:
    assert [n.code for n in std.children("Q.WP")][:2] == ["Q.WP.01", "Q.WP.02"]
    assert len(std.children("Q.WP")) == 10
    assert [n.code for n in std.ancestors("Q.WP.08")] == ["Q.WP", "Q"]
    assert std.ancestors("Q") == ()
    assert "Q.EL.07" not in [n.code for n in std.children("Q.EL")]
    assert "Q.EL.07" in [n.code for n in std.children("Q.EL", include_deprecated=True)]


def test_rollup(std: Taxonomy) -> None:
    assert std.rollup("Q.WP.08") == "Q.WP"
    assert std.rollup("Q.WP.08", "class") == "Q"
    assert std.rollup("Q.WP", Level.DISCIPLINE) == "Q.WP"
    assert std.rollup("Q.EL.07") == "Q.EL"  # history keeps its own grouping
    assert std.rollup(std.resolve("Q.EL.07")) == "S.FM"
    with pytest.raises(ValidationError, match="cannot roll up"):
        std.rollup("Q", Level.DISCIPLINE)


def test_validate_code(std: Taxonomy) -> None:
    assert std.validate_code("Q.WP.08").code == "Q.WP.08"
    assert std.validate_code("Q.EL.07").deprecated
    with pytest.raises(ValidationError) as caught:
        std.validate_code("Q.EL.07", live=True, path="$.category")
    assert caught.value.paths == ("$.category",)
    assert "S.FM.09" in str(caught.value)
    with pytest.raises(ValidationError, match="not a taxonomy code"):
        std.validate_code("q-wp-08")
    with pytest.raises(ValidationError, match="did you mean"):
        std.validate_code("Q.WP.88")
    assert std.is_valid("Q.EL.07")
    assert not std.is_valid("Q.EL.07", live=True)
    assert not std.is_valid(17)


def test_node_validation_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Node(code="Q.WP.01", name_zh="x", name_en="x", warranty=("WL6",))
    assert caught.value.paths == ("$.warranty[0]",)
    with pytest.raises(ValidationError) as caught:
        Node(code="q.wp", name_zh="x", name_en="x")
    assert caught.value.paths == ("$.code",)
    with pytest.raises(ValidationError) as caught:
        Node(code="Q.WP.01", name_zh="x", name_en="x", warranty=("WL5", "WD2"))
    assert caught.value.paths == ("$.warranty",)
    with pytest.raises(ValidationError):
        Node(code="Q.WP.01", name_zh=" ", name_en="x")
    with pytest.raises(ValidationError):
        Node(code="Q.WP.01", name_zh="x", name_en="x", kinds=("grumble",))
    with pytest.raises(ValidationError):
        Node(code="Q.WP.01", name_zh="x", name_en="x", parties=("GC", "GC"))


def test_location_is_an_attribute(std: Taxonomy) -> None:
    node = std.get("Q.WP.04")
    assert node.applies_to(AreaType.UNIT, RoomType.BATHROOM)
    assert not node.applies_to(AreaType.COMMON)
    assert not node.applies_to(room=RoomType.ROOF)
    assert std.get("Q.WP.08").applies_to(AreaType.UNIT, RoomType.BATHROOM)  # any room


def test_structure_is_checked(tiny: Taxonomy) -> None:
    nodes = tiny_nodes()
    with pytest.raises(ValidationError) as caught:
        Taxonomy(name="t", version="1", nodes=[*nodes, nodes[2]], parties=tiny_parties())
    assert caught.value.paths == ("$.nodes[6].code",)
    orphan = Node(code="Q.XX.01", name_zh="x", name_en="x")
    with pytest.raises(ValidationError, match=r"parent Q\.XX does not exist"):
        tiny.add(orphan)
    stranger = Node(code="Q.WP.03", name_zh="x", name_en="x", parties=("NOPE",))
    with pytest.raises(ValidationError) as caught:
        tiny.add(stranger)
    assert "unknown party NOPE" in str(caught.value)
    with pytest.raises(ValidationError):
        Taxonomy(name="has space", version="1", nodes=nodes, parties=tiny_parties())


def test_add_is_pure_and_refuses_taken_codes(tiny: Taxonomy) -> None:
    new = Node(code="Q.WP.03", name_zh="窗边渗漏", name_en="Window leak", parties=("GC",))
    grown = tiny.add(new, version="2")
    assert "Q.WP.03" in grown
    assert "Q.WP.03" not in tiny
    assert (grown.version, tiny.version) == ("2", "1")
    with pytest.raises(ValidationError, match="exists already"):
        grown.add(new)
    discipline = Node(code="Q.EL", name_zh="电气", name_en="Electrical")
    item = Node(code="Q.EL.01", name_zh="插座", name_en="Socket", parties=("GC",))
    assert [n.code for n in tiny.add(item, discipline).children("Q.EL")] == ["Q.EL.01"]


def test_rename_keeps_code_and_old_names_as_aliases(tiny: Taxonomy) -> None:
    renamed = tiny.rename("Q.WP.01", name_zh="屋顶漏水", version="2")
    node = renamed.get("Q.WP.01")
    assert node.name_zh == "屋顶漏水"
    assert node.name_en == "Roof leak"
    assert "屋面渗漏" in node.aliases
    assert renamed.search("屋面渗漏")[0].code == "Q.WP.01"
    assert tiny.get("Q.WP.01").name_zh == "屋面渗漏"
    diff = tiny.diff(renamed)
    assert diff.renamed == ("Q.WP.01",)
    assert diff.changed == (("Q.WP.01", ("name_zh", "aliases")),)


def test_deprecate_flattens_and_refuses_bad_targets(tiny: Taxonomy) -> None:
    extra = Node(code="Q.WP.03", name_zh="新", name_en="New", parties=("GC",))
    t = tiny.add(extra).deprecate("Q.WP.01", "Q.WP.02").deprecate("Q.WP.02", "Q.WP.03")
    assert t.get("Q.WP.01").replaced_by == "Q.WP.03"  # flattened, one hop to a live code
    assert t.resolve("Q.WP.01") == "Q.WP.03"
    assert [h.code for h in t.search("屋面")] == []
    with pytest.raises(ValidationError, match="already deprecated"):
        t.deprecate("Q.WP.01", "Q.WP.03")
    with pytest.raises(ValidationError, match="is deprecated"):
        t.deprecate("Q.WP.03", "Q.WP.01")
    with pytest.raises(ValidationError, match="is a item"):
        tiny.deprecate("Q.WP.01", "Q.ST")
    with pytest.raises(ValidationError, match="live children"):
        tiny.deprecate("Q.WP", "Q.ST")
    with pytest.raises(ValidationError, match="lies under it"):
        tiny.deprecate("Q.WP.01", "Q.WP.01")
    with pytest.raises(NotFoundError):
        tiny.deprecate("Q.WP.01", "Q.WP.99")


def test_replace_and_parties(tiny: Taxonomy) -> None:
    node = tiny.get("Q.WP.02")
    changed = tiny.replace(attrs.evolve(node, parties=("SUB-WP",)))
    assert changed.get("Q.WP.02").parties == ("SUB-WP",)
    with pytest.raises(NotFoundError):
        tiny.replace(Node(code="Q.WP.77", name_zh="x", name_en="x"))
    more = tiny.add_parties(Party(code="PM", kind="property", name_zh="物业", name_en="PM"))
    assert more.party("PM").name_en == "PM"
    with pytest.raises(ValidationError):
        more.add_parties(Party(code="PM", kind="property", name_zh="物业", name_en="PM"))
    with pytest.raises(NotFoundError):
        tiny.party("PN")


def test_merge_and_conflicts(tiny: Taxonomy) -> None:
    vendor_item = Node(code="Q.WP.90", name_zh="泳池", name_en="Pool", parties=("GC",))
    vendor = tiny.add(vendor_item, version="v").with_version("v", name="vendor")
    merged = tiny.merge(vendor, version="2")
    assert set(merged.codes) == set(tiny.codes) | {"Q.WP.90"}
    assert merged.name == "tiny"
    assert merged.version == "2"
    other = tiny.rename("Q.WP.02", name_en="Wall leak")
    with pytest.raises(ValidationError) as caught:
        tiny.merge(other, version="2")
    assert caught.value.paths == ("$.nodes[Q.WP.02]",)
    assert tiny.merge(other, version="2", on_conflict="ours").get("Q.WP.02").name_en == (
        "External-wall seepage"
    )
    assert tiny.merge(other, version="2", on_conflict="theirs").get("Q.WP.02").name_en == (
        "Wall leak"
    )
    retired = tiny.deprecate("Q.WP.02", "Q.WP.01")
    assert tiny.merge(retired, version="3").get("Q.WP.02").deprecated
    assert retired.merge(tiny, version="3").get("Q.WP.02").deprecated


def test_merge_refuses_cycles(tiny: Taxonomy) -> None:
    a = tiny.deprecate("Q.WP.01", "Q.WP.02")
    b = tiny.deprecate("Q.WP.02", "Q.WP.01")
    with pytest.raises(ValidationError, match="cycle"):
        a.merge(b, version="x")


def test_diff(tiny: Taxonomy) -> None:
    new = tiny.add(
        Node(code="Q.WP.03", name_zh="新", name_en="New", parties=("GC",)), version="2"
    ).deprecate("Q.WP.02", "Q.WP.03")
    diff = tiny.diff(new)
    assert diff.added == ("Q.WP.03",)
    assert diff.deprecated == (("Q.WP.02", "Q.WP.03"),)
    assert diff.removed == ()
    assert diff.compatible
    assert not diff.empty
    backwards = new.diff(tiny)
    assert backwards.removed == ("Q.WP.03",)
    assert not backwards.compatible
    assert tiny.diff(tiny).empty


def test_fingerprint_tracks_content_not_version(tiny: Taxonomy) -> None:
    assert tiny.fingerprint == tiny.with_version("9").fingerprint
    assert tiny.fingerprint != tiny.rename("Q.WP.01", name_en="Roof").fingerprint


def test_node_from_row_reports_every_field() -> None:
    node = Node.from_row(
        {"code": "Q.WP.11", "name_zh": "新", "name_en": "New", "warranty": "WL5|b-leak1"}
    )
    assert node.warranty == ("WL5", "b-leak1")
    with pytest.raises(ValidationError) as caught:
        Node.from_row({"code": "Q.WP.11", "name_en": "New", "kinds": "moan", "colour": "red"})
    assert caught.value.paths == ("$.name_zh", "$.kinds", "$.colour")
