"""Row conditions as data: one tree, compiled to Python source and to narwhals expressions.

A condition names fact columns and literal values only, so both engines read the same
definition. Nulls follow SQL: a comparison with a null column is false.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import attrs

__all__ = [
    "TRUE",
    "All",
    "AnyOf",
    "Cmp",
    "Cond",
    "IsIn",
    "IsNull",
    "Not",
    "NotNull",
    "col_names",
    "conjunct_names",
    "conjuncts",
    "to_expr",
    "to_source",
]

Literal: TypeAlias = str | int | float | bool


@attrs.frozen
class Cmp:
    """``column op value``: op is one of ``== != < <= > >=``; false when the column is null.

    Attributes:
        column: The fact column.
        op: The comparison.
        value: A literal.
    """

    column: str
    op: str = attrs.field(validator=attrs.validators.in_(("==", "!=", "<", "<=", ">", ">=")))
    value: Literal


def _literals(values: Iterable[Literal]) -> tuple[Literal, ...]:
    return tuple(values)


@attrs.frozen
class IsIn:
    """``column`` is one of ``values`` (false when null).

    Attributes:
        column: The fact column.
        values: The accepted literals.
    """

    column: str
    values: tuple[Literal, ...] = attrs.field(converter=_literals)


@attrs.frozen
class NotNull:
    """``column`` has a value.

    Attributes:
        column: The fact column.
    """

    column: str


@attrs.frozen
class IsNull:
    """``column`` has no value.

    Attributes:
        column: The fact column.
    """

    column: str


@attrs.frozen
class Not:
    """The negation of a condition (null-safe: every leaf is already true or false).

    Attributes:
        cond: The condition negated.
    """

    cond: Cond


def _conds(values: Iterable[Cond]) -> tuple[Cond, ...]:
    return tuple(values)


@attrs.frozen
class All:
    """Every condition holds (true when empty).

    Attributes:
        conds: The conditions.
    """

    conds: tuple[Cond, ...] = attrs.field(converter=_conds)


@attrs.frozen
class AnyOf:
    """At least one condition holds (false when empty).

    Attributes:
        conds: The conditions.
    """

    conds: tuple[Cond, ...] = attrs.field(converter=_conds)


#: A condition over fact columns: the building block of KPI numerators and filters.
Cond: TypeAlias = Cmp | IsIn | NotNull | IsNull | Not | All | AnyOf

#: The condition that always holds.
TRUE: Cond = All(())


def conjuncts(cond: Cond) -> list[Cond]:
    """The conditions an ``All`` (nested or not) requires, in order; any other as itself."""
    if isinstance(cond, All):
        return [p for c in cond.conds for p in conjuncts(c)]
    return [cond]


def conjunct_names(conds: Iterable[Cond]) -> dict[Cond, str]:
    """A column name (``_c0``, ``_c1`` …) for each distinct conjunct of ``conds``.

    Frame engines compute each once per row; a condition then combines its conjuncts' columns.
    """
    names: dict[Cond, str] = {}
    for cond in conds:
        for part in conjuncts(cond):
            names.setdefault(part, f"_c{len(names)}")
    return names


def col_names(cond: Cond) -> set[str]:
    """Every column a condition reads."""
    if isinstance(cond, Cmp | IsIn | NotNull | IsNull):
        return {cond.column}
    if isinstance(cond, Not):
        return col_names(cond.cond)
    out: set[str] = set()
    for c in cond.conds:
        out |= col_names(c)
    return out


def to_source(cond: Cond, row: str = "r", *, refs: Mapping[str, str] | None = None) -> str:
    """Python source of a boolean expression over the mapping named ``row``.

    ``refs`` maps column names to local variable names already bound to ``row[column]``
    (the streaming engine reads each column once per row).
    """

    def ref(column: str) -> str:
        if refs is not None and column in refs:
            return refs[column]
        return f"{row}[{column!r}]"

    if isinstance(cond, Cmp):
        r = ref(cond.column)
        if cond.op == "==":
            # A literal is never None, so equality already excludes a null column.
            return f"({r} == {cond.value!r})"
        if cond.op == "!=":
            return f"({r} != {cond.value!r} and {r} is not None)"
        return f"({r} is not None and {r} {cond.op} {cond.value!r})"
    if isinstance(cond, IsIn):
        if not cond.values:
            return "False"
        # A set display of literals compiles to one constant frozenset.
        return f"({ref(cond.column)} in {{{', '.join(repr(v) for v in cond.values)}}})"
    if isinstance(cond, NotNull):
        return f"({ref(cond.column)} is not None)"
    if isinstance(cond, IsNull):
        return f"({ref(cond.column)} is None)"
    if isinstance(cond, Not):
        return f"(not {to_source(cond.cond, row, refs=refs)})"
    if not cond.conds:
        return "True" if isinstance(cond, All) else "False"
    joiner = " and " if isinstance(cond, All) else " or "
    return "(" + joiner.join(to_source(c, row, refs=refs) for c in cond.conds) + ")"


def to_expr(cond: Cond, nw: Any) -> Any:
    """A narwhals boolean expression, never null, so sums count exactly.

    Comparisons fill their nulls with false where they are made (a comparison with a null
    column is false, also under ``Not``); null tests, literals and their combinations are
    never null, so the whole expression needs no further fill (SQL engines would otherwise
    see a nested ``COALESCE`` per condition).
    """
    return _expr(cond, nw)


def _expr(cond: Cond, nw: Any) -> Any:
    if isinstance(cond, Cmp):
        c = nw.col(cond.column)
        v = cond.value
        ops = {
            "==": lambda: c == v,
            "!=": lambda: c != v,
            "<": lambda: c < v,
            "<=": lambda: c <= v,
            ">": lambda: c > v,
            ">=": lambda: c >= v,
        }
        return ops[cond.op]().fill_null(False)
    if isinstance(cond, IsIn):
        return nw.col(cond.column).is_in(list(cond.values)).fill_null(False)
    if isinstance(cond, NotNull):
        return ~nw.col(cond.column).is_null()
    if isinstance(cond, IsNull):
        return nw.col(cond.column).is_null()
    if isinstance(cond, Not):
        return ~_expr(cond.cond, nw)
    if not cond.conds:
        return nw.lit(isinstance(cond, All))
    out = _expr(cond.conds[0], nw)
    for c in cond.conds[1:]:
        out = (out & _expr(c, nw)) if isinstance(cond, All) else (out | _expr(c, nw))
    return out
