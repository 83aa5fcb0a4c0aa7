"""Hypothesis strategies for KPI conditions over three nullable columns, and rows to test them on.

Columns: ``n`` (small integers), ``s`` (strings, one with a quote) and ``b`` (booleans, also
compared with an integer literal), each sometimes null. The SQL tests compile conditions and
compare what they accept with the Python conditions on the same rows.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from propcrm.metrics.kpi._conditions import All, AnyOf, Cmp, Cond, IsIn, IsNull, Not, NotNull

__all__ = ["st_cond", "st_row"]

_LEAF: st.SearchStrategy[Cond] = st.one_of(
    st.builds(
        Cmp, st.just("n"), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), st.integers(-2, 2)
    ),
    st.builds(
        Cmp, st.just("s"), st.sampled_from(["==", "!="]), st.sampled_from(["a", "b", "it's"])
    ),
    st.builds(IsIn, st.just("s"), st.lists(st.sampled_from(["a", "b", "it's"]), max_size=3)),
    st.builds(Cmp, st.just("b"), st.sampled_from(["==", "!="]), st.booleans()),
    st.builds(Cmp, st.just("b"), st.just("=="), st.just(1)),
    st.builds(NotNull, st.sampled_from(["n", "s", "b"])),
    st.builds(IsNull, st.sampled_from(["n", "s", "b"])),
)


def st_cond(max_leaves: int = 8) -> st.SearchStrategy[Cond]:
    """Conditions nested with ``Not``, ``All`` and ``AnyOf`` over the three columns."""
    return st.recursive(
        _LEAF,
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.builds(All, st.lists(inner, max_size=3)),
            st.builds(AnyOf, st.lists(inner, max_size=3)),
        ),
        max_leaves=max_leaves,
    )


st_row: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "n": st.one_of(st.none(), st.integers(-3, 3)),
        "s": st.one_of(st.none(), st.sampled_from(["a", "b", "it's"])),
        "b": st.one_of(st.none(), st.booleans()),
    }
)
