"""Inputs of RFM scoring: transactions, their types, per-type weights and fixed thresholds."""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from propcrm.errors import ValidationError
from propcrm.model.enums import LabelledEnum

__all__ = [
    "PROPERTY_THRESHOLDS",
    "PROPERTY_WEIGHTS",
    "PURCHASE_WEIGHTS",
    "Thresholds",
    "Transaction",
    "TransactionType",
    "Weights",
    "cents_of",
]

_CENT = Decimal("0.01")


class TransactionType(LabelledEnum):
    """What a customer's transaction was; the value is the stable wire name.

    Only purchases (net of their refunds) count for recency and for the purchase-only F and M.
    The other types count only in the relationship variant, through :class:`Weights`.
    """

    PURCHASE = ("purchase", "购买", "Purchase")
    REFUND = ("refund", "退款", "Refund")
    PROPERTY_FEE = ("property_fee", "物业费", "Property fee")
    REFERRAL = ("referral", "老带新", "Referral")
    CLUB_ACTIVITY = ("club_activity", "客户会活动", "Club activity")
    SERVICE = ("service", "服务", "Service")


def cents_of(amount: object, path: str = "$.amount") -> int:
    """Return ``amount`` (yuan, at most two decimal places) as integer cents (fen), exactly.

    Args:
        amount: A :class:`~decimal.Decimal` amount. Floats are refused: they cannot hold 10.05.
        path: The field path to name in an error.

    Returns:
        The amount in cents.

    Raises:
        ValidationError: ``amount`` is not a finite Decimal with at most two decimal places.
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        raise ValidationError.single(
            path,
            f"expected a Decimal amount, got {type(amount).__name__}",
            hint="pass Decimal('10.05'), or integer cents through Transaction.from_cents()",
        )
    if not amount.is_finite():
        raise ValidationError.single(path, f"amount {amount} is not a finite number")
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValidationError.single(
            path,
            f"amount {amount} has more than two decimal places",
            hint="amounts are yuan with at most two decimal places (fen)",
        )
    return int(scaled)


def _to_type(value: object) -> TransactionType:
    if isinstance(value, TransactionType):
        return value
    for kind in TransactionType:
        if kind.value == value:
            return kind
    choices = ", ".join(repr(t.value) for t in TransactionType)
    raise ValidationError.single(
        "$.type", f"{value!r} is not a transaction type", hint=f"use one of {choices}"
    )


def _check_customer(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError.single(
            "$.customer_id", f"expected a str or int customer id, got {type(value).__name__}"
        )
    if isinstance(value, str) and not value.strip():
        raise ValidationError.single("$.customer_id", "must not be empty")


def _check_date(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError.single(
            "$.date",
            f"expected a datetime.date, got {type(value).__name__}",
            hint="pass the calendar date of the transaction (value.date() for a datetime)",
        )


def _check_amount(instance: Transaction, _attribute: attrs.Attribute[Any], value: object) -> None:
    cents = cents_of(value)
    if cents < 0 and instance.type is not TransactionType.REFUND:
        raise ValidationError.single(
            "$.amount",
            f"negative amount {value} for a {instance.type.value}",
            hint="record money returned to the customer as a transaction of type 'refund'",
        )


def _check_order(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
        raise ValidationError.single(
            "$.order_id", f"expected a str or int order id, got {type(value).__name__}"
        )


@attrs.frozen(kw_only=True)
class Transaction:
    """One transaction of one customer.

    Attributes:
        customer_id: Who (a string or an integer).
        date: The calendar date of the transaction.
        amount: Money in yuan as a Decimal with at most two decimal places. Must not be negative,
            except for refunds, whose sign is ignored (a refund always returns money).
        type: What it was; purchases by default.
        order_id: The order this line belongs to. Purchase lines with the same order id are one
            purchase; a refund with an order id nets against that order. Without an order id a
            purchase line is an order of its own and a refund nets against the customer's total.
    """

    customer_id: str | int = attrs.field(validator=_check_customer)
    date: _dt.date = attrs.field(validator=_check_date)
    type: TransactionType = attrs.field(default=TransactionType.PURCHASE, converter=_to_type)
    amount: Decimal = attrs.field(validator=_check_amount)
    order_id: str | int | None = attrs.field(default=None, validator=_check_order)
    _cents: int = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        cents = cents_of(self.amount)
        signed = -abs(cents) if self.type is TransactionType.REFUND else cents
        object.__setattr__(self, "_cents", signed)  # derived once; the instance stays frozen

    @classmethod
    def from_cents(
        cls,
        customer_id: str | int,
        date: _dt.date,
        cents: int,
        *,
        type: TransactionType | str = TransactionType.PURCHASE,
        order_id: str | int | None = None,
    ) -> Transaction:
        """Build a transaction from an amount in integer cents (fen).

        Args:
            customer_id: Who.
            date: The calendar date.
            cents: The amount in cents; ``1005`` is 10.05 yuan.
            type: What it was.
            order_id: The order it belongs to, if any.

        Returns:
            The transaction.

        Raises:
            ValidationError: ``cents`` is not an integer, or another field is bad.
        """
        if isinstance(cents, bool) or not isinstance(cents, int):
            raise ValidationError.single(
                "$.amount", f"expected integer cents, got {type_name(cents)}"
            )
        return cls(
            customer_id=customer_id,
            date=date,
            amount=Decimal(cents).scaleb(-2),
            type=_to_type(type),
            order_id=order_id,
        )

    @property
    def cents(self) -> int:
        """The amount in integer cents; negative for a refund whatever sign it was given."""
        return self._cents


def type_name(value: object) -> str:
    """The type name of ``value`` for error messages."""
    return type(value).__name__


def _weight_map(
    value: Mapping[TransactionType | str, Decimal | int],
) -> dict[TransactionType, Decimal]:
    out: dict[TransactionType, Decimal] = {}
    for key, weight in value.items():
        kind = _to_type(key)
        if isinstance(weight, bool) or not isinstance(weight, (Decimal, int)):
            raise ValidationError.single(
                f"$.{kind.value}",
                f"weight must be a Decimal or int, got {type_name(weight)}",
                hint="write weights as Decimal('0.1'), never as floats",
            )
        weight = Decimal(weight)
        if not weight.is_finite() or weight < 0:
            raise ValidationError.single(f"$.{kind.value}", f"weight {weight} must be >= 0")
        if kind is TransactionType.REFUND and weight != 0:
            raise ValidationError.single(
                "$.refund", "refunds never count as interactions; their weight must be 0"
            )
        out[kind] = weight
    return out


@attrs.frozen(kw_only=True)
class Weights:
    """Per-type weights for the relationship variant of F and M.

    ``F = Σ frequency[type] × count(type)`` where purchases count as net-positive orders, and
    ``M = Σ monetary[type] × amount(type)`` where purchases count net of refunds. A type missing
    from a mapping weighs 0. Recency always comes from purchases.

    Attributes:
        frequency: Weight of one interaction of each type in F.
        monetary: Weight of one yuan of each type in M.
    """

    frequency: Mapping[TransactionType, Decimal] = attrs.field(converter=_weight_map)
    monetary: Mapping[TransactionType, Decimal] = attrs.field(converter=_weight_map)

    def frequency_of(self, kind: TransactionType) -> Decimal:
        """The F weight of ``kind`` (0 when absent)."""
        return self.frequency.get(kind, Decimal(0))

    def monetary_of(self, kind: TransactionType) -> Decimal:
        """The M weight of ``kind`` (0 when absent)."""
        return self.monetary.get(kind, Decimal(0))

    @property
    def is_purchase_only(self) -> bool:
        """True when only purchases count, each with weight 1 (classic RFM)."""
        return all(
            self.frequency_of(t) == (1 if t is TransactionType.PURCHASE else 0)
            and self.monetary_of(t) == (1 if t is TransactionType.PURCHASE else 0)
            for t in TransactionType
        )


PURCHASE_WEIGHTS = Weights(
    frequency={TransactionType.PURCHASE: 1}, monetary={TransactionType.PURCHASE: 1}
)
"""Classic RFM: F counts purchases, M sums purchases net of refunds."""

PROPERTY_WEIGHTS = Weights(
    frequency={
        TransactionType.PURCHASE: 1,
        TransactionType.REFERRAL: 1,
        TransactionType.PROPERTY_FEE: Decimal("0.1"),
        TransactionType.CLUB_ACTIVITY: Decimal("0.2"),
        TransactionType.SERVICE: Decimal("0.05"),
    },
    monetary={TransactionType.PURCHASE: 1},
)
"""Relationship F for property customers (practice, not law: configure your own).

A referral (老带新) counts like a purchase; a property-fee payment, a club activity and a service
ticket count a little. M stays the purchase amount.
"""


def _threshold_tuple(value: object) -> tuple[Decimal, ...]:
    if not isinstance(value, (tuple, list)):
        raise ValidationError.single(
            "$", f"expected a sequence of thresholds, got {type_name(value)}"
        )
    out: list[Decimal] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (Decimal, int)):
            raise ValidationError.single(
                f"$[{i}]", f"threshold must be a Decimal or int, got {type_name(item)}"
            )
        out.append(Decimal(item))
    return tuple(out)


def _check_thresholds(
    instance: Thresholds, attribute: attrs.Attribute[Any], value: tuple[Decimal, ...]
) -> None:
    if not value:
        raise ValidationError.single(f"$.{attribute.name}", "needs at least one threshold")
    for i, (low, high) in enumerate(itertools.pairwise(value)):
        if not low < high:
            raise ValidationError.single(
                f"$.{attribute.name}[{i + 1}]",
                f"thresholds must increase strictly, got {low} then {high}",
            )


@attrs.frozen(kw_only=True)
class Thresholds:
    """Fixed thresholds for ``mode="fixed"``; ``bins - 1`` values per dimension, increasing.

    Attributes:
        recency_days: Day counts. A customer whose last purchase is at most ``recency_days[-1]``
            days old scores 2 or more, at most ``recency_days[0]`` days old scores ``bins``.
        frequency: F values. F at least ``frequency[k]`` scores ``k + 2`` or more.
        monetary: Amounts in yuan. M at least ``monetary[k]`` scores ``k + 2`` or more.
    """

    recency_days: tuple[Decimal, ...] = attrs.field(
        converter=_threshold_tuple, validator=_check_thresholds
    )
    frequency: tuple[Decimal, ...] = attrs.field(
        converter=_threshold_tuple, validator=_check_thresholds
    )
    monetary: tuple[Decimal, ...] = attrs.field(
        converter=_threshold_tuple, validator=_check_thresholds
    )

    @property
    def bins(self) -> int:
        """The number of scores these thresholds give, or 0 when the dimensions disagree."""
        sizes = {len(self.recency_days), len(self.frequency), len(self.monetary)}
        return sizes.pop() + 1 if len(sizes) == 1 else 0


PROPERTY_THRESHOLDS = Thresholds(
    recency_days=(180, 365, 730, 1095),
    frequency=(2, 3, 4, 5),
    monetary=(300_000, 1_000_000, 2_000_000, 5_000_000),
)
"""Default fixed thresholds for property customers (practice, not law: configure your own).

R: within half a year scores 5, a year 4, two years 3, three years 2, older 1. F: one purchase
scores 1, two 2, three 3, four 4, five or more 5. M (yuan, average per purchase): below 300,000
(a parking space) 1, below 1 million 2, below 2 million 3, below 5 million 4, above 5.
"""
