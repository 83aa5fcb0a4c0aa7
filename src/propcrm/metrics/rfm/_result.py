"""What scoring returns: per-customer values and scores, and the thresholds used."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import attrs

from propcrm.errors import ValidationError
from propcrm.metrics.rfm._rules import Mode, MonetaryKind

__all__ = ["CustomerRfm", "RfmResult", "UsedThresholds"]


@attrs.frozen(kw_only=True)
class CustomerRfm:
    """One customer's RFM values and scores.

    Customers without a counted purchase (prospects, 潜客) have ``recency_days``, ``monetary``
    and all three scores ``None``; ``frequency`` still counts their weighted interactions.

    Attributes:
        customer_id: Who.
        recency_days: Days from the last counted purchase to ``as_of``.
        frequency: F: counted purchases, or weighted interactions in the relationship variant.
        monetary: M in yuan: the net total, or the average per counted purchase rounded half
            to even to the fen.
        r: Recency score, 1 (long ago) to ``bins`` (recent).
        f: Frequency score, 1 to ``bins``.
        m: Monetary score, 1 to ``bins``.
    """

    customer_id: str | int
    recency_days: int | None
    frequency: Decimal
    monetary: Decimal | None
    r: int | None
    f: int | None
    m: int | None

    @property
    def cell(self) -> tuple[int, int, int] | None:
        """The score cell ``(r, f, m)``, or ``None`` for a prospect."""
        if self.r is None or self.f is None or self.m is None:
            return None
        return (self.r, self.f, self.m)

    @property
    def code(self) -> str | None:
        """The scores as the usual three-digit code, e.g. ``"515"``."""
        cell = self.cell
        return None if cell is None else f"{cell[0]}{cell[1]}{cell[2]}"


@attrs.frozen(kw_only=True)
class UsedThresholds:
    """The breaks each dimension was scored with, in natural units.

    For ``fixed`` these are the given thresholds; for ``r_compatible`` the package's breaks
    (quantile + 1); for ``dense`` the smallest value (R: the largest day count) reaching each
    score from 2 up; for ``quantile`` the value of the first customer placed in each score from
    2 up. ``None`` marks a score no customer reached.

    Attributes:
        recency_days: Breaks in days.
        frequency: Breaks in F units.
        monetary: Breaks in yuan.
    """

    recency_days: tuple[Decimal | None, ...]
    frequency: tuple[Decimal | None, ...]
    monetary: tuple[Decimal | None, ...]


@attrs.frozen(kw_only=True)
class RfmResult:
    """Scores of every customer, sorted by customer id, with how they were made.

    Attributes:
        as_of: The analysis date.
        mode: The scoring mode.
        bins: The number of scores per dimension.
        monetary: ``"average"`` or ``"total"``.
        thresholds: The breaks used.
        customers: One row per customer, sorted by customer id.
    """

    as_of: date
    mode: Mode
    bins: int
    monetary: MonetaryKind
    thresholds: UsedThresholds
    customers: tuple[CustomerRfm, ...]

    def __iter__(self) -> Iterator[CustomerRfm]:
        return iter(self.customers)

    def __len__(self) -> int:
        return len(self.customers)

    def get(self, customer_id: str | int) -> CustomerRfm | None:
        """The row of ``customer_id``, or ``None``."""
        for row in self.customers:
            if row.customer_id == customer_id:
                return row
        return None

    def distribution(self, dimension: str) -> dict[int, int]:
        """How many scored customers got each score of ``dimension`` (``"r"``, ``"f"``, ``"m"``).

        Args:
            dimension: Which score.

        Returns:
            Score → number of customers, for every score 1 … ``bins`` (zeros included).

        Raises:
            ValidationError: ``dimension`` is not ``"r"``, ``"f"`` or ``"m"``.
        """
        if dimension not in ("r", "f", "m"):
            raise ValidationError.single(
                "$.dimension", f"expected 'r', 'f' or 'm', got {dimension!r}"
            )
        counts = Counter(getattr(row, dimension) for row in self.customers)
        return {score: counts.get(score, 0) for score in range(1, self.bins + 1)}
