"""Segment maps: rules over score cells, and the checker that proves a map sound."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import product
from typing import Any

import attrs

from propcrm.errors import NotFoundError, ValidationError

__all__ = ["Box", "MapReport", "Segment", "SegmentMap"]

Cell = tuple[int, int, int]


def _span(value: object) -> tuple[int, int]:
    if value is None:
        return (1, 9)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 1 <= value[0] <= value[1] <= 9
    ):
        return (value[0], value[1])
    raise ValidationError.single(
        "$", f"a score range is an int, a (low, high) pair from 1 to 9 or None, got {value!r}"
    )


@attrs.frozen
class Box:
    """Cells whose R, F and M scores each lie in an inclusive range.

    Args:
        r: A score, a ``(low, high)`` pair, or ``None`` for any score.
        f: Same, for F.
        m: Same, for M.
    """

    r: tuple[int, int] = attrs.field(default=None, converter=_span)
    f: tuple[int, int] = attrs.field(default=None, converter=_span)
    m: tuple[int, int] = attrs.field(default=None, converter=_span)

    def __contains__(self, cell: object) -> bool:
        if not isinstance(cell, tuple) or len(cell) != 3:
            return False
        r, f, m = cell
        return bool(
            self.r[0] <= r <= self.r[1]
            and self.f[0] <= f <= self.f[1]
            and self.m[0] <= m <= self.m[1]
        )


def _boxes(value: Iterable[Box]) -> tuple[Box, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Segment:
    """A named segment: the union of its boxes.

    Attributes:
        key: Stable identifier, e.g. ``"butterfly"``.
        zh: Chinese label, e.g. ``"蝴蝶客"``.
        en: English label.
        boxes: The cells it claims.
        description: What the segment means and what to do with it.
    """

    key: str
    zh: str
    en: str
    boxes: tuple[Box, ...] = attrs.field(default=(), converter=_boxes)
    description: str = ""

    def claims(self, cell: Cell) -> bool:
        """True when one of the boxes contains ``cell``."""
        return any(cell in box for box in self.boxes)


@attrs.frozen(kw_only=True)
class MapReport:
    """What :meth:`SegmentMap.check` found.

    Attributes:
        unassigned: Cells no segment claims.
        overlaps: Cells claimed by more than one segment, with the keys claiming them.
        unreachable: Keys of segments that win no cell (every cell they claim is claimed by an
            earlier segment first, or they claim none).
        cells: The number of cells checked (``bins ** 3``).
    """

    unassigned: tuple[Cell, ...]
    overlaps: tuple[tuple[Cell, tuple[str, ...]], ...]
    unreachable: tuple[str, ...]
    cells: int

    @property
    def ok(self) -> bool:
        """True when every cell is claimed exactly once and every segment is reachable."""
        return not (self.unassigned or self.overlaps or self.unreachable)

    @property
    def codes(self) -> tuple[str, ...]:
        """The unassigned cells as three-digit codes, e.g. ``"515"``."""
        return tuple(f"{r}{f}{m}" for r, f, m in self.unassigned)


def _segment_tuple(value: Iterable[Segment]) -> tuple[Segment, ...]:
    return tuple(value)


def _check_bins(_instance: object, _attribute: attrs.Attribute[Any], value: int) -> None:
    if not 2 <= value <= 9:
        raise ValidationError.single("$.bins", f"bins must be from 2 to 9, got {value}")


@attrs.frozen(kw_only=True)
class SegmentMap:
    """A set of rules over score cells. The first segment claiming a cell wins it.

    A sound map claims every cell exactly once, so its order does not matter; :meth:`check`
    says whether it is sound.

    Attributes:
        key: Stable identifier.
        zh: Chinese name.
        en: English name.
        segments: The segments, in precedence order.
        bins: Scores per dimension the map is written for.
        unscored: The segment of customers without scores (no counted purchase), if any.
        description: When to use the map.
    """

    key: str
    zh: str
    en: str
    segments: tuple[Segment, ...] = attrs.field(converter=_segment_tuple)
    bins: int = attrs.field(default=5, validator=_check_bins)
    unscored: Segment | None = None
    description: str = ""

    def cells(self) -> Iterator[Cell]:
        """Every cell ``(r, f, m)`` in order."""
        span = range(1, self.bins + 1)
        yield from product(span, span, span)

    def claimants(self, cell: Cell) -> tuple[Segment, ...]:
        """Every segment claiming ``cell``, in precedence order."""
        return tuple(s for s in self.segments if s.claims(cell))

    def segment_of(self, cell: Cell | None) -> Segment | None:
        """The segment of a cell (``None`` means unscored); ``None`` when no segment claims it."""
        if cell is None:
            return self.unscored
        for segment in self.segments:
            if segment.claims(cell):
                return segment
        return None

    def get(self, key: str) -> Segment:
        """The segment with ``key``.

        Raises:
            NotFoundError: No such segment (a ``LookupError``).
        """
        every = (*self.segments, *([self.unscored] if self.unscored else []))
        for segment in every:
            if segment.key == key:
                return segment
        close = [s.key for s in every if key.lower() in s.key or s.key in key.lower()]
        raise NotFoundError(f"segment of map {self.key!r}", key, suggestions=close[:3])

    def check(self) -> MapReport:
        """Check coverage, overlap and reachability over all ``bins ** 3`` cells."""
        unassigned: list[Cell] = []
        overlaps: list[tuple[Cell, tuple[str, ...]]] = []
        winners: set[str] = set()
        for cell in self.cells():
            claiming = self.claimants(cell)
            if not claiming:
                unassigned.append(cell)
                continue
            winners.add(claiming[0].key)
            if len(claiming) > 1:
                overlaps.append((cell, tuple(s.key for s in claiming)))
        unreachable = tuple(s.key for s in self.segments if s.key not in winners)
        return MapReport(
            unassigned=tuple(unassigned),
            overlaps=tuple(overlaps),
            unreachable=unreachable,
            cells=self.bins**3,
        )

    def lookup(self) -> list[str | None]:
        """Segment keys by cell index: ``[unscored, cell (1,1,1), (1,1,2), …]`` for the engines."""
        unscored = None if self.unscored is None else self.unscored.key
        keys: list[str | None] = [unscored]
        for cell in self.cells():
            found = self.segment_of(cell)
            keys.append(None if found is None else found.key)
        return keys
