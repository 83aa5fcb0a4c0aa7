"""CSV and JSON import and export; errors name the row (or JSON path) and the field."""

from __future__ import annotations

import json

import pytest

from propcrm.errors import ValidationError
from propcrm.taxonomy import Taxonomy


def test_csv_round_trip(std: Taxonomy) -> None:
    again = Taxonomy.from_csv(std.to_csv(), name=std.name, version=std.version)
    assert again == std
    assert again.fingerprint == std.fingerprint


def test_json_round_trip(std: Taxonomy) -> None:
    assert Taxonomy.from_json(std.to_json()) == std


def _csv(tiny: Taxonomy, row: int, column: str, value: str) -> str:
    lines = tiny.to_csv().splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def test_csv_error_names_row_and_field(tiny: Taxonomy) -> None:
    # row 1 is the header; rows 2-7 in code order: Q, Q.ST, Q.ST.01, Q.WP, Q.WP.01, Q.WP.02
    text = _csv(tiny, 6, "warranty", "WL5|b-roof9")
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_csv(text, name="t", version="1", parties=tiny.parties)
    assert caught.value.paths == ("row 6: warranty[1]",)
    assert "b-roof9" in str(caught.value)


def test_csv_collects_every_bad_field(tiny: Taxonomy) -> None:
    lines = _csv(tiny, 3, "priority", "P9").splitlines()
    lines[6] = lines[6].replace("Q.WP.02", "Q.WP.2x")
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_csv("\n".join(lines), name="t", version="1", parties=tiny.parties)
    assert caught.value.paths == ("row 3: priority", "row 7: code")


def test_csv_tree_errors_point_at_rows(tiny: Taxonomy) -> None:
    lines = tiny.to_csv().splitlines()
    lines.append(lines[6])  # Q.WP.02 again
    lines.append(lines[5].replace("SUB-WP|GC", "NOBODY").replace("Q.WP.01", "Q.WP.09"))
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_csv("\n".join(lines), name="t", version="1", parties=tiny.parties)
    assert caught.value.paths == ("row 8: code", "row 9: parties[0]")


def test_csv_header_problems(tiny: Taxonomy) -> None:
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_csv("code,name_en\nQ,x\n", name="t", version="1")
    assert caught.value.paths == ("row 1: name_zh",)
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_csv(
            "code,name_zh,name_en,colour\nQ,x,x,red\n", name="t", version="1", parties=()
        )
    assert caught.value.paths == ("row 2: colour",)


def test_json_error_paths(tiny: Taxonomy) -> None:
    document = json.loads(tiny.to_json())
    document["nodes"][4]["warranty"] = ["WL5", 7]
    document["nodes"][5]["kinds"] = ["grumble"]
    document["parties"][0]["kind"] = "wizard"
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_json(json.dumps(document))
    assert caught.value.paths == (
        "$.parties[0].kind",
        "$.nodes[4].warranty[1]",
        "$.nodes[5].kinds",
    )
    document = json.loads(tiny.to_json())
    document["nodes"].append(document["nodes"][0])
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_json(json.dumps(document))
    assert caught.value.paths == ("$.nodes[6].code",)


def test_json_shape_errors() -> None:
    with pytest.raises(ValidationError, match="not JSON"):
        Taxonomy.from_json("{")
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_json('{"name": 1, "nodes": {}}')
    assert caught.value.paths == ("$.name", "$.version", "$.parties", "$.nodes")
    with pytest.raises(ValidationError) as caught:
        Taxonomy.from_json('{"name": "a", "version": "1", "parties": [1], "nodes": [2]}')
    assert caught.value.paths == ("$.parties[0]", "$.nodes[0]")
    with pytest.raises(ValidationError):
        Taxonomy.from_json("[]")
