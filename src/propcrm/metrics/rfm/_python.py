"""The pure-Python engine: aggregate transactions per customer, then score (private)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

import attrs

from propcrm.errors import FieldError, ValidationError
from propcrm.metrics.rfm._model import Thresholds, Transaction, TransactionType, Weights
from propcrm.metrics.rfm._result import CustomerRfm, RfmResult, UsedThresholds
from propcrm.metrics.rfm._rules import (
    DIMENSIONS,
    Dimension,
    Mode,
    MonetaryKind,
    dense_cuts,
    div_half_even,
    fixed_cuts,
    natural,
    ntile_bucket,
    r_quantile_cuts,
)

__all__ = ["Facts", "aggregate", "integer_weights", "score_facts"]

_OTHER_TYPES = (
    TransactionType.PROPERTY_FEE,
    TransactionType.REFERRAL,
    TransactionType.CLUB_ACTIVITY,
    TransactionType.SERVICE,
)


def integer_weights(
    weights: Weights,
) -> tuple[int, dict[TransactionType, int], dict[TransactionType, int]]:
    """Scale the weights to integers: ``(scale, F numerators, M numerators)``.

    ``scale`` is the power of ten that makes every weight whole, so weighted sums stay exact.
    """
    places = 0
    for weight in [*weights.frequency.values(), *weights.monetary.values()]:
        exponent = weight.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            places = max(places, -exponent)
    scale = 10**places
    f = {t: int(weights.frequency_of(t) * scale) for t in TransactionType}
    m = {t: int(weights.monetary_of(t) * scale) for t in TransactionType}
    return scale, f, m


@attrs.frozen(kw_only=True)
class Facts:
    """Per-customer integer facts, sorted by customer id (the engines' common ground).

    Attributes:
        ids: Customer ids, ascending.
        last: Date of the last counted purchase, ``None`` for prospects.
        orders: Counted purchases (orders whose net amount is positive).
        f_scaled: Weighted F times ``scale``.
        m_scaled: Weighted net money in cents times ``scale``.
        scale: The weights' denominator.
    """

    ids: Sequence[str | int]
    last: Sequence[date | None]
    orders: Sequence[int]
    f_scaled: Sequence[int]
    m_scaled: Sequence[int]
    scale: int


def _validated(transactions: Iterable[object]) -> list[Transaction]:
    rows: list[Transaction] = []
    errors: list[FieldError] = []
    kinds: set[type] = set()
    for i, row in enumerate(transactions):
        if not isinstance(row, Transaction):
            errors.append(
                FieldError(
                    path=f"$[{i}]", message=f"expected a Transaction, got {type(row).__name__}"
                )
            )
            continue
        kinds.add(type(row.customer_id))
        rows.append(row)
    if errors:
        raise ValidationError(errors[:20], subject="transactions")
    if len(kinds) > 1:
        raise ValidationError.single(
            "$[*].customer_id",
            "customer ids mix strings and integers, so they have no order",
            subject="transactions",
            hint="use one type of customer id",
        )
    return rows


def aggregate(transactions: Iterable[object], *, as_of: date, weights: Weights) -> Facts:
    """Aggregate transactions dated on or before ``as_of`` into per-customer facts."""
    rows = _validated(transactions)
    scale, kf, km = integer_weights(weights)
    order_net: dict[tuple[str | int, str | int], int] = {}
    order_date: dict[tuple[str | int, str | int], date] = {}
    loose: dict[str | int, list[tuple[int, date]]] = {}
    net: dict[str | int, int] = {}
    counts: dict[str | int, dict[TransactionType, int]] = {}
    money: dict[str | int, dict[TransactionType, int]] = {}
    for row in rows:
        if row.date > as_of:
            continue
        customer = row.customer_id
        net.setdefault(customer, 0)
        cents = row.cents
        kind = row.type
        if kind in (TransactionType.PURCHASE, TransactionType.REFUND):
            net[customer] += cents
            if row.order_id is not None:
                key = (customer, row.order_id)
                order_net[key] = order_net.get(key, 0) + cents
                if kind is TransactionType.PURCHASE:
                    previous = order_date.get(key)
                    order_date[key] = row.date if previous is None else max(previous, row.date)
            elif kind is TransactionType.PURCHASE:
                loose.setdefault(customer, []).append((cents, row.date))
        else:
            per_count = counts.setdefault(customer, {})
            per_count[kind] = per_count.get(kind, 0) + 1
            per_money = money.setdefault(customer, {})
            per_money[kind] = per_money.get(kind, 0) + cents
    orders: dict[str | int, int] = {}
    last: dict[str | int, date] = {}

    def count(customer: str | int, when: date) -> None:
        orders[customer] = orders.get(customer, 0) + 1
        if customer not in last or when > last[customer]:
            last[customer] = when

    for (customer, _order), amount in order_net.items():
        when = order_date.get((customer, _order))
        if amount > 0 and when is not None:
            count(customer, when)
    for customer, items in loose.items():
        for amount, when in items:
            if amount > 0:
                count(customer, when)
    ids: list[str | int] = sorted(net)  # type: ignore[type-var,unused-ignore]
    f_scaled: list[int] = []
    m_scaled: list[int] = []
    for customer in ids:
        n = orders.get(customer, 0)
        f = kf[TransactionType.PURCHASE] * n
        m = km[TransactionType.PURCHASE] * net[customer]
        for kind in _OTHER_TYPES:
            f += kf[kind] * counts.get(customer, {}).get(kind, 0)
            m += km[kind] * money.get(customer, {}).get(kind, 0)
        f_scaled.append(f)
        m_scaled.append(m)
    return Facts(
        ids=ids,
        last=[last.get(c) for c in ids],
        orders=[orders.get(c, 0) for c in ids],
        f_scaled=f_scaled,
        m_scaled=m_scaled,
        scale=scale,
    )


def monetary_cents(m_scaled: int, orders: int, scale: int, kind: MonetaryKind) -> int:
    """M in cents: the weighted net total, or its average per counted purchase (half even)."""
    if kind == "total":
        return div_half_even(m_scaled, scale)
    return div_half_even(m_scaled, scale * orders)


def _score_dimension(
    dimension: Dimension,
    xs: list[int],
    mode: Mode,
    bins: int,
    thresholds: Thresholds,
    scale: int,
) -> tuple[list[int], tuple[Decimal | None, ...]]:
    """Scores (1 … bins) of ``xs`` (higher is better, sorted by customer id) and the breaks."""
    n = len(xs)
    if n == 0:
        return [], (None,) * (bins - 1)
    if mode == "quantile":
        order = sorted(range(n), key=lambda i: (xs[i], i))
        scores = [0] * n
        firsts: dict[int, int] = {}
        for position, i in enumerate(order):
            bucket = ntile_bucket(position, n, bins)
            scores[i] = bucket
            firsts.setdefault(bucket, xs[i])
        breaks = tuple(
            natural(dimension, firsts[s], scale) if s in firsts else None
            for s in range(2, bins + 1)
        )
        return scores, breaks
    cuts: list[int]
    reported: tuple[Decimal | None, ...]
    if mode == "fixed":
        cuts, given = fixed_cuts(dimension, thresholds, scale)
        reported = given
    elif mode == "r_compatible":
        ordered = sorted(-x for x in xs) if dimension == "r" else sorted(xs)
        cuts, reported = r_quantile_cuts(dimension, ordered, bins, scale)
    else:
        optional = dense_cuts(sorted(set(xs)), bins)
        cuts = [c for c in optional if c is not None]
        reported = tuple(None if c is None else natural(dimension, c, scale) for c in optional)
    return [1 + bisect_right(cuts, x) for x in xs], reported


def score_facts(
    facts: Facts,
    *,
    as_of: date,
    mode: Mode,
    bins: int,
    monetary: MonetaryKind,
    thresholds: Thresholds,
) -> RfmResult:
    """Score aggregated facts in pure Python."""
    scored = [i for i, n in enumerate(facts.orders) if n > 0]
    recency: list[int | None] = [None] * len(facts.ids)
    money: list[int | None] = [None] * len(facts.ids)
    for i in scored:
        when = facts.last[i]
        assert when is not None  # a counted purchase has a date
        recency[i] = (as_of - when).days
        money[i] = monetary_cents(facts.m_scaled[i], facts.orders[i], facts.scale, monetary)
    columns: dict[Dimension, list[int]] = {
        "r": [-(recency[i] or 0) for i in scored],
        "f": [facts.f_scaled[i] for i in scored],
        "m": [money[i] or 0 for i in scored],
    }
    scores: dict[Dimension, list[int | None]] = {}
    breaks: dict[Dimension, tuple[Decimal | None, ...]] = {}
    for dimension in DIMENSIONS:
        got, breaks[dimension] = _score_dimension(
            dimension, columns[dimension], mode, bins, thresholds, facts.scale
        )
        full: list[int | None] = [None] * len(facts.ids)
        for i, s in zip(scored, got, strict=False):
            full[i] = s
        scores[dimension] = full
    rows = tuple(
        CustomerRfm(
            customer_id=facts.ids[i],
            recency_days=recency[i],
            frequency=_fraction_decimal(Fraction(facts.f_scaled[i], facts.scale)),
            monetary=None if money[i] is None else Decimal(money[i]).scaleb(-2),  # type: ignore[arg-type]
            r=scores["r"][i],
            f=scores["f"][i],
            m=scores["m"][i],
        )
        for i in range(len(facts.ids))
    )
    return RfmResult(
        as_of=as_of,
        mode=mode,
        bins=bins,
        monetary=monetary,
        thresholds=UsedThresholds(
            recency_days=breaks["r"], frequency=breaks["f"], monetary=breaks["m"]
        ),
        customers=rows,
    )


def _fraction_decimal(value: Fraction) -> Decimal:
    # scale is a power of ten, so this division terminates exactly
    return Decimal(value.numerator) / Decimal(value.denominator)
