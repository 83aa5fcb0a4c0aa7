"""The scoring rules, shared by every engine (private).

Each dimension is scored on integers where higher is better: R on minus the days since the last
purchase, F on F scaled by the weights' denominator, M on cents. Every mode but ``quantile`` turns
into ``bins - 1`` integer cut points and a score of ``1 + #{cut <= x}``; ``quantile`` is NTILE
over the values sorted with ties broken by customer id. The pure-Python engine and the numpy
engine both call these helpers for the cut points, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from propcrm.errors import ValidationError
from propcrm.metrics.rfm._model import Thresholds

__all__ = [
    "DIMENSIONS",
    "MODES",
    "Dimension",
    "Mode",
    "MonetaryKind",
    "dense_cuts",
    "div_half_even",
    "fixed_cuts",
    "natural",
    "ntile_bucket",
    "ntile_start",
    "r_quantile_cuts",
    "to_decimal",
]

#: How scores are cut: fixed thresholds, quantiles, R-compatible quantiles, or dense ranks.
Mode = Literal["fixed", "quantile", "r_compatible", "dense"]
#: Monetary as the average or the total per customer.
MonetaryKind = Literal["average", "total"]
Dimension = Literal["r", "f", "m"]
#: Every scoring mode.
MODES: tuple[Mode, ...] = ("fixed", "quantile", "r_compatible", "dense")
DIMENSIONS: tuple[Dimension, ...] = ("r", "f", "m")


def div_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even, exactly (``denominator > 0``)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def to_decimal(value: Fraction) -> Decimal:
    """A fraction as a Decimal (exact when it terminates, else to 28 significant digits)."""
    if value.denominator == 1:
        return Decimal(value.numerator)
    return Decimal(value.numerator) / Decimal(value.denominator)


def natural(dimension: Dimension, x: Fraction | int, scale: int) -> Decimal:
    """Turn an internal value back into its unit: days for R, F, yuan for M."""
    value = x if isinstance(x, Fraction) else Fraction(int(x))
    if dimension == "r":
        return to_decimal(-value)
    if dimension == "f":
        return to_decimal(value / scale)
    return to_decimal(value / 100)


def _unit(dimension: Dimension, scale: int) -> int:
    """One natural unit (a day, one F, one yuan) in internal units."""
    return {"r": 1, "f": scale, "m": 100}[dimension]


def ntile_bucket(position: int, count: int, bins: int) -> int:
    """SQL ``NTILE(bins)`` bucket (1-based) of the 0-based ``position`` among ``count`` rows."""
    size, bigger = divmod(count, bins)
    boundary = bigger * (size + 1)
    if position < boundary:
        return position // (size + 1) + 1
    return bigger + (position - boundary) // size + 1


def ntile_start(bucket: int, count: int, bins: int) -> int:
    """The 0-based sorted position where NTILE ``bucket`` (1-based) starts (``count`` if empty)."""
    size, bigger = divmod(count, bins)
    if bucket - 1 <= bigger:
        start = (bucket - 1) * (size + 1)
    else:
        start = bigger * (size + 1) + (bucket - 1 - bigger) * size
    return min(start, count)


def fixed_cuts(
    dimension: Dimension, thresholds: Thresholds, scale: int
) -> tuple[list[int], tuple[Decimal, ...]]:
    """Integer cut points and reported breaks for fixed thresholds.

    R: ``days <= t`` earns a point, so the cut on minus days is ``-floor(t)``. F and M: a value
    at or above ``t`` earns a point, so the cut is ``ceil(t * unit)``.
    """
    if dimension == "r":
        given = thresholds.recency_days
        cuts = sorted(-math.floor(t) for t in given)
    else:
        given = thresholds.frequency if dimension == "f" else thresholds.monetary
        unit = _unit(dimension, scale)
        cuts = sorted(math.ceil(Fraction(t) * unit) for t in given)
    return cuts, given


def quantile_type7(ordered: Sequence[int], probability: Fraction) -> Fraction:
    """R's default quantile (type 7, linear) of sorted integers, exactly."""
    h = (len(ordered) - 1) * probability
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    at_low, at_high = int(ordered[low]), int(ordered[high])
    return at_low + (h - low) * (at_high - at_low)


def r_quantile_cuts(
    dimension: Dimension, ordered_natural: Sequence[int], bins: int, scale: int
) -> tuple[list[int], tuple[Decimal, ...]]:
    """Cut points of the R package ``rfm`` (``bins()`` in its ``utils.R``).

    ``ordered_natural`` holds the values in natural integer units, ascending: days for R, scaled
    F, cents for M. The package takes the type-7 quantiles at ``k / bins`` for ``k = 1 …
    bins - 1`` and adds 1 (one day, one purchase, one currency unit); a value ``v`` then falls
    in the half-open interval ``[break_k, break_k+1)``. F and M score the interval's index; R
    scores it in reverse, so fewer days score higher.
    """
    unit = _unit(dimension, scale)
    breaks = [quantile_type7(ordered_natural, Fraction(k, bins)) + unit for k in range(1, bins)]
    if dimension == "r":
        # days < b earns a point  <=>  -days >= 1 - ceil(b)
        cuts = sorted(1 - math.ceil(b) for b in breaks)
        reported = tuple(to_decimal(b) for b in breaks)
    else:
        cuts = [math.ceil(b) for b in breaks]
        reported = tuple(to_decimal(b / unit) for b in breaks)
    return cuts, reported


def dense_cuts(distinct_ascending: Sequence[int], bins: int) -> list[int | None]:
    """Cut points of dense scoring over the distinct values (higher is better), ascending.

    The ``j``-th distinct value (1-based, of ``k``) scores ``1 + (j - 1) * bins // k``; the cut
    for score ``s + 1`` is the smallest value scoring above ``s``, or ``None`` when none does.
    """
    k = len(distinct_ascending)
    cuts: list[int | None] = [None] * (bins - 1)
    for s in range(1, bins):
        # smallest j with 1 + (j - 1) * bins // k > s  <=>  (j - 1) * bins >= s * k
        j = -(-s * k // bins) + 1
        if j <= k:
            cuts[s - 1] = int(distinct_ascending[j - 1])
    return cuts


def check_bins(bins: int) -> None:
    """Refuse a number of bins outside 2 … 9 (a score is one digit)."""
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 9:
        raise ValidationError.single("$.bins", f"bins must be an integer from 2 to 9, got {bins!r}")
