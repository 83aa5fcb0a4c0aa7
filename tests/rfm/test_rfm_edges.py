"""Edge cases of scoring: tiny populations, ties, refunds, exact money, bad input."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from propcrm.errors import ValidationError
from propcrm.metrics.rfm import (
    MODES,
    PROPERTY_MAP,
    PROPERTY_THRESHOLDS,
    PROPERTY_WEIGHTS,
    Columns,
    Thresholds,
    Transaction,
    TransactionType,
    Weights,
    assign_segments,
    score,
    score_frame,
)

AS_OF = date(2024, 12, 31)


def buy(customer: str, day: date, amount: str, **kw: object) -> Transaction:
    return Transaction(customer_id=customer, date=day, amount=Decimal(amount), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_one_customer(mode: str) -> None:
    result = score([buy("a", date(2024, 12, 1), "100")], as_of=AS_OF, mode=mode)  # type: ignore[arg-type]
    (row,) = result
    assert row.recency_days == 30
    assert row.cell is not None
    assert all(1 <= s <= 5 for s in row.cell)


def test_one_customer_scores_per_mode() -> None:
    rows = [buy("a", date(2024, 12, 1), "100")]
    assert score(rows, as_of=AS_OF, mode="quantile").customers[0].cell == (1, 1, 1)
    assert score(rows, as_of=AS_OF, mode="dense").customers[0].cell == (1, 1, 1)
    # R: 30 days < 31 (quantile + 1), so the top score; F and M: below max + 1, so 1
    assert score(rows, as_of=AS_OF, mode="r_compatible").customers[0].cell == (5, 1, 1)
    # property thresholds: within half a year, one purchase, 100 yuan
    assert score(rows, as_of=AS_OF, mode="fixed").customers[0].cell == (5, 1, 1)


def test_fewer_customers_than_bins() -> None:
    rows = [
        buy("a", date(2024, 1, 1), "10"),
        buy("b", date(2024, 6, 1), "20"),
        buy("c", date(2024, 12, 1), "30"),
    ]
    quantile = score(rows, as_of=AS_OF, mode="quantile")
    assert [r.m for r in quantile] == [1, 2, 3]  # NTILE: one per bucket, top buckets empty
    assert [r.r for r in quantile] == [1, 2, 3]
    assert quantile.thresholds.monetary == (Decimal("20"), Decimal("30"), None, None)
    dense = score(rows, as_of=AS_OF, mode="dense")
    assert [r.m for r in dense] == [1, 2, 4]  # 1 + (j - 1) * 5 // 3
    # the smallest value scoring at least 2, 3, 4, 5
    assert dense.thresholds.monetary == (Decimal("20"), Decimal("30"), Decimal("30"), None)


def test_all_values_equal() -> None:
    rows = [buy(c, date(2024, 6, 1), "50") for c in "edcba"]
    dense = score(rows, as_of=AS_OF, mode="dense")
    assert {r.cell for r in dense} == {(1, 1, 1)}  # equal values share a score
    quantile = score(rows, as_of=AS_OF, mode="quantile")
    # NTILE must split ties; it does so by customer id, never by row order
    assert [(r.customer_id, r.m) for r in quantile] == [
        ("a", 1),
        ("b", 2),
        ("c", 3),
        ("d", 4),
        ("e", 5),
    ]
    r_compat = score(rows, as_of=AS_OF, mode="r_compatible")
    assert {r.cell for r in r_compat} == {(5, 1, 1)}


def test_refund_nets_against_its_order_and_never_counts() -> None:
    base = [buy("a", date(2024, 3, 1), "500", order_id="o1")]
    refunded = [
        *base,
        buy("a", date(2024, 3, 5), "500", type=TransactionType.REFUND, order_id="o1"),
    ]
    partly = [*base, buy("a", date(2024, 3, 5), "200", type=TransactionType.REFUND, order_id="o1")]
    loose = [*base, buy("a", date(2024, 3, 5), "-200", type=TransactionType.REFUND)]
    assert score(base, as_of=AS_OF).customers[0].frequency == 1
    full = score(refunded, as_of=AS_OF).customers[0]
    assert (full.frequency, full.monetary, full.cell) == (0, None, None)  # back to prospect
    part = score(partly, as_of=AS_OF).customers[0]
    assert (part.frequency, part.monetary, part.recency_days) == (1, Decimal("300.00"), 305)
    unlinked = score(loose, as_of=AS_OF).customers[0]
    assert (unlinked.frequency, unlinked.monetary) == (1, Decimal("300.00"))


def test_refund_does_not_raise_f_in_frames() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {
            "customer_id": ["a", "a"],
            "date": [date(2024, 3, 1), date(2024, 3, 5)],
            "amount": [Decimal("500.00"), Decimal("200.00")],
            "type": ["purchase", "refund"],
            "order_id": ["o1", "o1"],
        }
    )
    out = score(frame, as_of=AS_OF, columns=Columns(type="type", order_id="order_id"))
    assert out.select("frequency", "monetary_cents").row(0) == (1, 30000)


def test_ten_oh_five_stays_ten_oh_five() -> None:
    rows = [buy("a", date(2024, 1, 1), "10.05")]
    assert score(rows, as_of=AS_OF, monetary="total").customers[0].monetary == Decimal("10.05")
    assert Transaction.from_cents("a", date(2024, 1, 1), 1005).amount == Decimal("10.05")
    three = [buy("a", date(2024, 1, d), "10.05") for d in (1, 2, 3)]
    assert score(three, as_of=AS_OF).customers[0].monetary == Decimal("10.05")
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {
            "customer_id": ["a"] * 3,
            "date": [date(2024, 1, d) for d in (1, 2, 3)],
            "amount": [Decimal("10.05")] * 3,
        }
    )
    assert score(frame, as_of=AS_OF)["monetary_cents"].to_list() == [1005]


def test_average_rounds_half_to_even_to_the_fen() -> None:
    rows = [buy("a", date(2024, 1, 1), "0.01"), buy("a", date(2024, 1, 2), "0.02")]  # 1.5 fen
    assert score(rows, as_of=AS_OF).customers[0].monetary == Decimal("0.02")
    rows = [
        buy("a", date(2024, 1, 1), "0.01"),
        buy("a", date(2024, 1, 2), "0.00"),
    ]  # 0.5 fen, one counted
    assert score(rows, as_of=AS_OF).customers[0].monetary == Decimal("0.01")


def test_floats_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Transaction(customer_id="a", date=date(2024, 1, 1), amount=10.05)  # type: ignore[arg-type]
    assert caught.value.paths == ("$.amount",)
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"customer_id": ["a"], "date": [date(2024, 1, 1)], "amount": [10.05]})
    with pytest.raises(ValidationError, match="floats"):
        score(frame, as_of=AS_OF)


def test_bad_rows_are_reported_with_their_path() -> None:
    with pytest.raises(ValidationError) as caught:
        score([buy("a", date(2024, 1, 1), "1"), {"customer_id": "b"}], as_of=AS_OF)
    assert caught.value.paths == ("$[1]",)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"amount": Decimal("-1")}, "$.amount"),
        ({"amount": Decimal("1.005")}, "$.amount"),
        ({"date": datetime(2024, 1, 1)}, "$.date"),
        ({"customer_id": ""}, "$.customer_id"),
        ({"type": "gift"}, "$.type"),
    ],
)
def test_bad_transactions(kwargs: dict[str, object], path: str) -> None:
    fields: dict[str, object] = {
        "customer_id": "a",
        "date": date(2024, 1, 1),
        "amount": Decimal("1"),
    }
    fields.update(kwargs)
    with pytest.raises(ValidationError) as caught:
        Transaction(**fields)  # type: ignore[arg-type]
    assert caught.value.paths == (path,)


def test_settings_are_checked() -> None:
    rows = [buy("a", date(2024, 1, 1), "1")]
    with pytest.raises(ValidationError, match="today"):
        score(rows, as_of=datetime(2024, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="unknown mode"):
        score(rows, as_of=AS_OF, mode="ntile")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="4 thresholds"):
        score(
            rows,
            as_of=AS_OF,
            bins=5,
            thresholds=Thresholds(recency_days=(1,), frequency=(1,), monetary=(1,)),
        )
    with pytest.raises(ValidationError):
        Thresholds(recency_days=(2, 1), frequency=(1, 2), monetary=(1, 2))
    with pytest.raises(ValidationError):
        Weights(frequency={"refund": 1}, monetary={})


def test_missing_values_in_frames() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {"customer_id": ["a", None], "date": [date(2024, 1, 1)] * 2, "amount": [1, 2]}
    )
    with pytest.raises(ValidationError) as caught:
        score(frame, as_of=AS_OF)
    assert caught.value.paths == ("$.customer_id",)


def test_later_transactions_are_ignored() -> None:
    rows = [
        buy("a", date(2024, 1, 1), "100"),
        buy("a", date(2025, 1, 1), "900"),
        buy("z", date(2025, 2, 1), "1"),
    ]
    result = score(rows, as_of=AS_OF, monetary="total")
    assert [(r.customer_id, r.frequency, r.monetary) for r in result] == [
        ("a", 1, Decimal("100.00"))
    ]


def test_prospects_and_the_relationship_variant() -> None:
    rows = [
        buy("owner", date(2024, 11, 1), "3000000"),
        *(buy("owner", date(2024, m, 1), "300", type="property_fee") for m in range(1, 13)),
        buy("owner", date(2024, 5, 1), "0", type="referral"),
        buy("lead", date(2024, 6, 1), "0", type="club_activity"),
    ]
    plain = score(rows, as_of=AS_OF)
    assert plain.get("owner").frequency == 1  # type: ignore[union-attr]
    # one big recent purchase: the butterfly (5·1·4)
    assert assign_segments(plain, PROPERTY_MAP)["owner"].zh == "蝴蝶客"  # type: ignore[union-attr]
    weighted = score(rows, as_of=AS_OF, weights=PROPERTY_WEIGHTS)
    owner, lead = weighted.get("owner"), weighted.get("lead")
    assert owner is not None
    assert lead is not None
    assert owner.frequency == Decimal("3.2")  # 1 purchase + 1 referral + 12 × 0.1 fees
    assert owner.monetary == Decimal("3000000.00")
    assert lead.frequency == Decimal("0.2")
    assert lead.cell is None
    segments = assign_segments(weighted, PROPERTY_MAP)
    assert segments["lead"] is not None
    assert segments["lead"].zh == "潜客"
    # fees and a referral lift F to 3.2: a repeat customer of the developer, 高帅富 (5·3·4)
    assert owner.cell == (5, 3, 4)
    assert segments["owner"] is not None
    assert segments["owner"].zh == "高帅富"


def test_property_thresholds_are_the_default() -> None:
    result = score([buy("a", date(2024, 1, 1), "1")], as_of=AS_OF)
    assert result.thresholds.recency_days == PROPERTY_THRESHOLDS.recency_days
    assert result.mode == "fixed"
    assert result.monetary == "average"


def test_frames_report_thresholds() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {"customer_id": [1, 2], "date": [date(2024, 1, 1), date(2024, 6, 1)], "amount": [100, 200]}
    )
    out = score_frame(frame, as_of=AS_OF, mode="quantile", bins=2)
    assert out.thresholds.monetary == (Decimal("2.00"),)
    assert out.frame["m_score"].to_list() == [1, 2]


def test_distribution_names_a_dimension() -> None:
    result = score([buy("a", date(2024, 1, 1), "1")], as_of=AS_OF)
    assert result.distribution("r") == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}  # 365 days: within a year
    with pytest.raises(ValidationError):
        result.distribution("x")
