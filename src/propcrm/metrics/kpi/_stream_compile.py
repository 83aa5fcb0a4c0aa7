"""The streaming engine's generated adders: straight-line code per fact source.

Feeding facts to the groups is the inner loop of :func:`propcrm.metrics.kpi.compute`, so each
source's cohorts compile into one Python function. The row adder (:func:`compile_adder`,
``_add(r)``):

* reads every grouping dimension and every column used more than once exactly once;
* per cohort, skips the row when its cohort date is empty or outside the window, finds the
  period key (cached per local day) and the group's slot list (created on first use);
* updates the slots through a tree of nested ``if`` statements: the condition most slots share
  is tested once and the slots needing it go inside its branch (greedily, level by level), so
  a row that fails "not voided" skips every slot behind it at once.

The history adder (:func:`compile_history_adder`, ``_add_histories(histories)``) does the same
straight from ticket histories: it folds each one inline, only the fold fields the cohorts'
columns need (:func:`~propcrm.metrics.kpi._facts.inline_fold`: the statements
:func:`~propcrm.metrics.kpi._facts.fold_history` is compiled from, the fact options decided,
business times and SLA states included), and evaluates only the fact columns the cohorts read,
from the expressions :func:`~propcrm.metrics.kpi.ticket_facts` uses for its rows
(:data:`~propcrm.metrics.kpi._facts.FACT_EXPRESSIONS`); no row dict is built. Columns the fact
options leave empty in every row are the constant ``None``, and the slots needing a value there
drop out of the code; columns never empty (``FILLED_COLUMNS``) skip their null tests.

A conjunct implied by an enclosing one is dropped (``x == 'a'`` already means ``x is not None``:
comparisons are false on nulls). :func:`simple_update` is the plain, one ``if`` per slot
version the tests compare the generated code with (``tests/metrics/kpi/test_stream_*.py``:
generated row adders against it on random rows, the history path against fact rows on random
histories). The source is generated from condition trees whose leaves are column names and
literal values printed with ``repr()`` and from the fixed column expressions, so it holds no
caller code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from propcrm.metrics.kpi._conditions import (
    All,
    AnyOf,
    Cmp,
    Cond,
    IsIn,
    IsNull,
    Not,
    NotNull,
    col_names,
    to_source,
)
from propcrm.metrics.kpi._engine import Slot
from propcrm.metrics.kpi._facts import (
    _VALUES,
    BOOL_COLUMNS,
    FACT_EXPRESSIONS,
    FILLED_COLUMNS,
    FOLD_FIELDS,
    FactOptions,
    inline_fold,
    null_columns,
)
from propcrm.metrics.kpi._periods import period_key
from propcrm.workflow import Event

__all__ = [
    "CohortSlots",
    "GroupMap",
    "compile_adder",
    "compile_history_adder",
    "compile_maker",
    "conjuncts",
    "simple_update",
]

#: Group key (dimension values, then period key or ``None``) → the group's slot accumulators.
GroupMap = dict[tuple[Any, ...], list[Any]]


@attrs.frozen
class CohortSlots:
    """One cohort of a source: its date column, its slots and the groups they fill.

    Attributes:
        column: The cohort date column (epoch seconds).
        slots: The slots filled per group.
        groups: Group key → accumulators, filled in place by the adder.
    """

    column: str
    slots: tuple[Slot, ...]
    groups: GroupMap = attrs.field(eq=False)


def conjuncts(cond: Cond) -> list[Cond]:
    """The distinct conjuncts of a condition, nested ``All`` flattened, in order."""
    out: list[Cond] = []
    stack = [cond]
    while stack:
        c = stack.pop()
        if isinstance(c, All):
            stack.extend(reversed(c.conds))
        elif c not in out:
            out.append(c)
    return out


def _implies(known: Cond, cond: Cond) -> bool:
    """Whether ``known`` holding makes ``cond`` true (comparisons are false on nulls)."""
    if known == cond:
        return True
    return (
        isinstance(cond, NotNull)
        and isinstance(known, Cmp | IsIn)
        and known.column == cond.column
        and (not isinstance(known, IsIn) or bool(known.values))
    )


def _shared_lists(slots: Sequence[Slot]) -> dict[int, int]:
    """Median and P90 slots of the same rows share one value list: slot → the list's slot."""
    first: dict[tuple[str | None, tuple[Cond, ...]], int] = {}
    out: dict[int, int] = {}
    for i, s in enumerate(slots):
        if s.stat in ("median", "p90"):
            out[i] = first.setdefault((s.column, tuple(conjuncts(s.cond))), i)
    return out


def compile_maker(slots: Sequence[Slot]) -> Callable[[], list[Any]]:
    """A function returning a fresh accumulator list for one group of ``slots``.

    Counts and sums start at 0, medians and P90s at an empty list; slots sharing a value list
    point at the same list object.
    """
    shared = _shared_lists(slots)
    init = [
        "[]" if shared.get(i) == i else ("None" if i in shared else "0") for i in range(len(slots))
    ]
    lines = ["def _make():", f"    a = [{', '.join(init)}]"]
    lines += [f"    a[{i}] = a[{j}]" for i, j in shared.items() if i != j]
    lines.append("    return a")
    return _run(lines, {})["_make"]  # type: ignore[no-any-return]


@attrs.frozen
class _Action:
    """One slot update: ``a[index] += 1``, ``a[index] += value`` or ``a[index].append(value)``."""

    index: int
    stat: str
    column: str | None


@attrs.frozen
class _Branch:
    """``if cond:`` around updates and further branches."""

    cond: Cond
    body: tuple[_Action | _Branch, ...]


def _actions(
    slots: Sequence[Slot],
    nulls: frozenset[str] = frozenset(),
    filled: frozenset[str] = frozenset(),
) -> list[tuple[list[Cond], _Action]]:
    """Each slot's update and the conjuncts it needs.

    No condition can hold on a ``nulls`` column (always empty); null tests of a ``filled``
    column (never empty) are decided.
    """
    shared = _shared_lists(slots)
    out = []
    for i, s in enumerate(slots):
        if shared.get(i, i) != i:
            continue  # the first slot sharing the list appends for both
        cond = _given_nulls(s.cond, nulls, filled) if nulls or filled else s.cond
        if cond is False:
            continue
        stat = "count" if s.stat == "nonnull" else s.stat
        out.append(([] if cond is True else conjuncts(cond), _Action(i, stat, s.column)))
    return out


def _tree(
    items: list[tuple[list[Cond], _Action]], known: tuple[Cond, ...] = ()
) -> tuple[_Action | _Branch, ...]:
    """Nest updates under their conditions, the most shared condition first."""
    todo = []
    body: list[_Action | _Branch] = []
    for conds, action in items:
        left = [c for c in conds if not any(_implies(k, c) for k in known)]
        if left:
            todo.append((left, action))
        else:
            body.append(action)
    while todo:
        counts: dict[Cond, int] = {}
        for conds, _ in todo:
            for c in conds:
                counts[c] = counts.get(c, 0) + 1
        best = max(counts, key=counts.__getitem__)  # the first of the most shared
        inside = [(conds, action) for conds, action in todo if best in conds]
        todo = [(conds, action) for conds, action in todo if best not in conds]
        body.append(_Branch(best, _tree(inside, (*known, best))))
    return tuple(body)


def _count_columns(body: Sequence[_Action | _Branch], counts: dict[str, int]) -> None:
    for node in body:
        if isinstance(node, _Branch):
            # An order comparison reads its column twice (``x is not None and x > 0``).
            twice = isinstance(node.cond, Cmp) and node.cond.op != "=="
            for c in col_names(node.cond):
                counts[c] = counts.get(c, 0) + 1 + twice
            _count_columns(node.body, counts)
        elif node.stat != "count" and node.column is not None:
            counts[node.column] = counts.get(node.column, 0) + 1


def _test(cond: Cond, refs: dict[str, str], filled: frozenset[str], bools: frozenset[str]) -> str:
    """The source of one tested condition.

    A comparison of a ``filled`` column (never empty) skips the null test, and an equality of
    a ``bools`` column (always True or False) with ``True`` or ``False`` is a truth test.
    """
    if isinstance(cond, Cmp) and cond.column in filled and cond.column in refs:
        r = refs[cond.column]
        if cond.column in bools and cond.op == "==" and type(cond.value) is bool:
            return r if cond.value else f"(not {r})"
        return f"({r} {cond.op} {cond.value!r})"
    return to_source(cond, refs=refs)


def _emit(
    body: Sequence[_Action | _Branch],
    refs: dict[str, str],
    indent: str,
    lines: list[str],
    filled: frozenset[str] = frozenset(),
    bools: frozenset[str] = frozenset(),
) -> None:
    def value(column: str | None) -> str:
        assert column is not None
        return refs.get(column) or f"r[{column!r}]"

    for node in body:
        if isinstance(node, _Action):
            if node.stat == "count":
                lines.append(f"{indent}a[{node.index}] += 1")
            elif node.stat == "sum":
                lines.append(f"{indent}a[{node.index}] += {value(node.column)}")
            else:
                lines.append(f"{indent}a[{node.index}].append({value(node.column)})")
            continue
        # A chain of single branches becomes one ``if a and b:``.
        conds = [node.cond]
        inner = node.body
        while len(inner) == 1 and isinstance(inner[0], _Branch):
            conds.append(inner[0].cond)
            inner = inner[0].body
        test = " and ".join(_test(c, refs, filled, bools) for c in conds)
        lines.append(f"{indent}if {test}:")
        _emit(inner, refs, indent + "    ", lines, filled, bools)


def _given_nulls(
    cond: Cond, nulls: frozenset[str], filled: frozenset[str] = frozenset()
) -> Cond | bool:
    """``cond`` when the ``nulls`` columns are empty and the ``filled`` ones are not.

    Decided (True/False) or simplified.
    """
    if isinstance(cond, NotNull | IsNull) and cond.column in filled:
        return isinstance(cond, NotNull)
    if isinstance(cond, Cmp | IsIn | NotNull):
        return False if cond.column in nulls else cond
    if isinstance(cond, IsNull):
        return True if cond.column in nulls else cond
    if isinstance(cond, Not):
        inner = _given_nulls(cond.cond, nulls, filled)
        return (not inner) if isinstance(inner, bool) else Not(inner)
    parts = [_given_nulls(c, nulls, filled) for c in cond.conds]
    if isinstance(cond, All):
        if any(p is False for p in parts):
            return False
        kept = [p for p in parts if not isinstance(p, bool)]
        return All(kept) if kept else True
    if any(p is True for p in parts):
        return True
    kept = [p for p in parts if not isinstance(p, bool)]
    return AnyOf(kept) if kept else False


def _cohort_lines(
    cohorts: Sequence[CohortSlots],
    trees: Sequence[tuple[_Action | _Branch, ...]],
    refs: dict[str, str],
    keys: Sequence[str],
    *,
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
    indent: str,
    namespace: dict[str, Any],
    filled: frozenset[str] = frozenset(),
    bools: frozenset[str] = frozenset(),
) -> list[str]:
    """Per cohort: find the group of the row (if its date counts) and update its slots.

    The group is made even when no slot counts the row: it still has its KPI values (zeros).
    ``filled`` and ``bools`` are as in :func:`_test`.
    """
    lines: list[str] = []
    namespace.update(_pk=period_key, _day_keys={})
    inner = indent + "    "
    for n, (cohort, tree) in enumerate(zip(cohorts, trees, strict=True)):
        namespace[f"_groups{n}"] = cohort.groups
        namespace[f"_make{n}"] = compile_maker(cohort.slots)
        t = refs[cohort.column]
        tests = [] if cohort.column in filled else [f"{t} is not None"]
        if bounds is not None:
            tests.append(f"{bounds[0]!r} <= {t} < {bounds[1]!r}")
        test = " and ".join(tests) or "True"  # ``if True:`` compiles to its body
        lines.append(f"{indent}if {test}:")
        if period is None:
            key = f"({', '.join([*keys, 'None'])},)"
        else:
            lines += [
                f"{inner}day = ({t} + {offset_seconds!r}) // 86400",
                f"{inner}p = _day_keys.get(day)",
                f"{inner}if p is None:",
                f"{inner}    p = _day_keys[day] = _pk({t}, {period!r}, {offset_seconds!r})",
            ]
            key = f"({', '.join([*keys, 'p'])},)"
        lines += [
            f"{inner}key = {key}",
            f"{inner}a = _groups{n}.get(key)",
            f"{inner}if a is None:",
            f"{inner}    a = _groups{n}[key] = _make{n}()",
        ]
        _emit(tree, refs, inner, lines, filled, bools)
    return lines


def compile_adder(
    cohorts: Sequence[CohortSlots],
    *,
    dims: Sequence[str],
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
) -> tuple[Callable[[dict[str, Any]], None], str]:
    """The row adder of one source's cohorts, and its source text.

    Args:
        cohorts: The source's cohorts.
        dims: The fact columns grouped by, in order.
        period: Period of the cohort date to group by, or ``None``.
        offset_seconds: Local time offset for periods.
        bounds: Epoch-second window ``[start, end)`` of the cohort date, or ``None``.
    """
    trees = [_tree(_actions(c.slots)) for c in cohorts]
    counts: dict[str, int] = {}
    for tree in trees:
        _count_columns(tree, counts)
    refs: dict[str, str] = {}
    lines = ["def _add(r):"]
    keys = []
    for i, d in enumerate(dims):
        # Not every source carries every dimension (checked apart): a missing one is null.
        lines.append(f"    d{i} = r.get({d!r})")
        keys.append(f"d{i}")
    for column in dict.fromkeys(c.column for c in cohorts):
        refs[column] = f"t{len(refs)}"
        lines.append(f"    {refs[column]} = r[{column!r}]")
    for column in sorted(c for c, n in counts.items() if n > 1 and c not in refs):
        refs[column] = f"v{len(refs)}"
        lines.append(f"    {refs[column]} = r[{column!r}]")
    namespace: dict[str, Any] = {}
    lines += _cohort_lines(
        cohorts,
        trees,
        refs,
        keys,
        period=period,
        offset_seconds=offset_seconds,
        bounds=bounds,
        indent="    ",
        namespace=namespace,
    )
    lines.append("    return None")
    source = "\n".join(lines)
    return _run(lines, namespace)["_add"], source


def compile_history_adder(
    cohorts: Sequence[CohortSlots],
    *,
    dims: Sequence[str],
    period: str | None,
    offset_seconds: int,
    bounds: tuple[int, int] | None,
    options: FactOptions,
) -> tuple[Callable[[Iterable[Sequence[Event]]], None], str] | None:
    """The ticket-history adder of the ticket cohorts, and its source text.

    The generated ``_add_histories(histories)`` folds each history (inline, the fields
    needed: :func:`~propcrm.metrics.kpi._facts.inline_fold`, the statements of
    :func:`~propcrm.metrics.kpi._facts.fold_history`) and evaluates only the fact columns
    the cohorts read (:data:`~propcrm.metrics.kpi._facts.FACT_EXPRESSIONS`), without building
    a row. Columns that ``options`` leave empty in every row (no calendar: no business times;
    no SLA policies: no SLA states; no as-of instant: no ages) are the constant ``None``, so
    the slots that need them drop out of the code. Tickets received after ``options.as_of``
    are skipped, as :func:`~propcrm.metrics.kpi.iter_facts` does.

    Returns:
        ``None`` when a cohort reads a column ticket facts do not have (a custom KPI's typo
        then fails as it does on rows).
    """
    nulls = null_columns(options)
    trees = [_tree(_actions(c.slots, nulls, FILLED_COLUMNS)) for c in cohorts]
    counts: dict[str, int] = {}
    for tree in trees:
        _count_columns(tree, counts)
    needed = [*dims, *(c.column for c in cohorts), *counts]
    if any(c not in FACT_EXPRESSIONS for c in needed):
        return None
    fields = set(FOLD_FIELDS)
    refs: dict[str, str] = {}
    lines = [
        "def _add_histories(histories):",
        "    for history in histories:",
        "        if not history:",
        "            continue",
    ]
    if options.as_of is not None:
        lines += ["        if history[0].occurred_at > _as_of:", "            continue"]
    exprs = {c: "None" if c in nulls else FACT_EXPRESSIONS[c] for c in dict.fromkeys(needed)}
    # The fold of just the fields the columns read, inline (its globals include ``_as_of``).
    fold, namespace = inline_fold(
        {n for x in exprs.values() for n in _names(x) if n in fields}, options, " " * 8
    )
    lines += fold
    namespace["_VALUES"] = _VALUES
    for column, expr in exprs.items():
        if expr in fields or expr == "None":
            refs[column] = expr
        else:
            refs[column] = f"x{len(refs)}"
            lines.append(f"        {refs[column]} = {expr}")
    lines += _cohort_lines(
        cohorts,
        trees,
        refs,
        [refs[d] for d in dims],
        period=period,
        offset_seconds=offset_seconds,
        bounds=bounds,
        indent="        ",
        namespace=namespace,
        filled=FILLED_COLUMNS,
        bools=BOOL_COLUMNS,
    )
    source = "\n".join(lines)
    return _run(lines, namespace)["_add_histories"], source


def _names(expr: str) -> set[str]:
    """The names an expression reads."""
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}


def simple_update(slots: Sequence[Slot]) -> Callable[[dict[str, Any], list[Any]], None]:
    """The obviously right update of one group's accumulators: one ``if`` per slot.

    Reads the row through ``r[column]`` everywhere; the tests check the generated adders
    against it.
    """
    shared = _shared_lists(slots)
    lines = ["def _update(r, a):"]
    for i, s in enumerate(slots):
        test = to_source(s.cond)
        if s.stat in ("count", "nonnull"):
            lines.append(f"    if {test}: a[{i}] += 1")
        elif s.stat == "sum":
            lines.append(f"    if {test}: a[{i}] += r[{s.column!r}]")
        elif shared[i] == i:
            lines.append(f"    if {test}: a[{i}].append(r[{s.column!r}])")
    lines.append("    return None")
    return _run(lines, {})["_update"]  # type: ignore[no-any-return]


def _run(lines: list[str], namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile("\n".join(lines), "<propcrm-kpi>", "exec"), namespace)
    return namespace
