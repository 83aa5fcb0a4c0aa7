"""Hypothesis: extend, deprecate and merge never lose a code, never leave a dangling or cyclic
replacement, and never change the taxonomy they were called on."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propcrm.errors import ValidationError
from propcrm.taxonomy import Level, Node, Taxonomy, standard


@dataclass(frozen=True)
class Add:
    discipline: int
    number: int


@dataclass(frozen=True)
class Rename:
    item: int
    name: str


@dataclass(frozen=True)
class Deprecate:
    item: int
    target: int


Op = Add | Rename | Deprecate

ops = st.one_of(
    st.builds(Add, st.integers(0, 40), st.integers(80, 99)),
    st.builds(Rename, st.integers(0, 200), st.text("屋面渗漏新名abc", min_size=1, max_size=6)),
    st.builds(Deprecate, st.integers(0, 200), st.integers(0, 200)),
)


def _apply(taxonomy: Taxonomy, op: Op) -> Taxonomy:
    """Apply one operation; an operation the rules refuse leaves the taxonomy as it was."""
    live = taxonomy.nodes_at(Level.ITEM)
    try:
        if isinstance(op, Add):
            disciplines = taxonomy.nodes_at(Level.DISCIPLINE)
            parent = disciplines[op.discipline % len(disciplines)]
            code = f"{parent.code}.{op.number}"
            node = Node(code=code, name_zh="新增", name_en="Added", parties=("PM",))
            return taxonomy.add(node)
        if isinstance(op, Rename):
            return taxonomy.rename(live[op.item % len(live)].code, name_en=op.name.strip() or "x")
        old, new = live[op.item % len(live)], live[op.target % len(live)]
        return taxonomy.deprecate(old.code, new.code)
    except ValidationError:
        return taxonomy


def _check_invariants(taxonomy: Taxonomy) -> None:
    assert set(taxonomy.replacements) == {n.code for n in taxonomy if n.deprecated}
    for node in taxonomy:
        if node.replaced_by is not None:
            target = taxonomy.get(node.replaced_by)
            assert not target.deprecated, f"{node.code} → deprecated {target.code}"
            assert target.level is node.level
            assert taxonomy.resolve(node.code) == target.code  # one hop, so no cycle
        if node.parent is not None:
            assert node.parent in taxonomy


def _evolve(base: Taxonomy, operations: list[Op]) -> Taxonomy:
    snapshot = base.to_json()
    current = base
    for op in operations:
        before = current
        current = _apply(current, op)
        assert set(before.codes) <= set(current.codes)  # no code is lost
        _check_invariants(current)
    assert base.to_json() == snapshot  # pure: the taxonomy operated on is untouched
    return current


@given(st.lists(ops, max_size=8))
def test_extend_and_deprecate_keep_every_code(operations: list[Op]) -> None:
    base = standard()
    result = _evolve(base, operations)
    diff = base.diff(result)
    assert diff.compatible
    assert {code for code, _ in diff.deprecated} <= set(base.codes)


@given(st.lists(ops, max_size=6), st.lists(ops, max_size=6))
def test_merge_keeps_both_sides(left_ops: list[Op], right_ops: list[Op]) -> None:
    base = standard()
    left, right = _evolve(base, left_ops), _evolve(base, right_ops)
    if _retire_into_each_other(left, right):
        # the only refusal left with on_conflict="ours": A → B on one side, B → A on the other
        with pytest.raises(ValidationError, match="cycle"):
            left.merge(right, version="merged", on_conflict="ours")
        return
    merged = left.merge(right, version="merged", on_conflict="ours")
    assert set(left.codes) | set(right.codes) == set(merged.codes)
    _check_invariants(merged)
    retired = {n.code for n in (*left, *right) if n.deprecated}
    assert retired <= {n.code for n in merged if n.deprecated}  # a merge revives nothing
    assert left.diff(merged).compatible
    assert right.diff(merged).compatible


def _retire_into_each_other(left: Taxonomy, right: Taxonomy) -> bool:
    """Whether following replacements across both sides runs in a circle."""
    edges = {n.code: n.replaced_by for n in left if n.replaced_by}
    for n in right:
        if n.replaced_by and n.code not in edges:
            edges[n.code] = n.replaced_by
    for start in edges:
        seen, code = {start}, edges[start]
        while code in edges:
            if code in seen:
                return True
            seen.add(code)
            code = edges[code]
    return False


@given(st.lists(ops, max_size=6))
def test_merge_with_itself_is_identity(operations: list[Op]) -> None:
    taxonomy = _evolve(standard(), operations)
    assert taxonomy.merge(taxonomy, version=taxonomy.version) == taxonomy


@given(st.lists(ops, max_size=6))
def test_csv_and_json_round_trip_any_evolved_taxonomy(operations: list[Op]) -> None:
    taxonomy = _evolve(standard(), operations)
    assert Taxonomy.from_json(taxonomy.to_json()) == taxonomy
    again = Taxonomy.from_csv(
        taxonomy.to_csv(), name=taxonomy.name, version=taxonomy.version, parties=taxonomy.parties
    )
    assert again == taxonomy


def test_cycle_case_is_reachable() -> None:
    # The refusal the merge property tolerates really happens, and only as described.
    base = standard()
    a = base.deprecate("Q.WP.01", "Q.WP.02")
    b = base.deprecate("Q.WP.02", "Q.WP.01")
    with pytest.raises(ValidationError, match="cycle"):
        a.merge(b, version="x", on_conflict="ours")


@given(st.text(alphabet="卫生间天花板滴水漏电梯困人门窗 waterdripceilingliftdoor", max_size=20))
def test_search_order_is_score_then_code(query: str) -> None:
    hits = standard().search(query, limit=None)
    assert [(-h.score, h.code) for h in hits] == sorted((-h.score, h.code) for h in hits)
    assert all(h.score >= len(h.matched) > 0 for h in hits)  # every matched unit weighs ≥ 1
    assert standard().search(query, limit=None) == hits
