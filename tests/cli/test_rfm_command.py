"""``propcrm rfm``: the segments are ``propcrm.metrics.rfm``'s segments for the same CSV."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random

import pytest

from propcrm.metrics.rfm import (
    PROPERTY_MAP,
    PROPERTY_WEIGHTS,
    REPAIRED_11,
    Transaction,
    TransactionType,
    assign_segments,
    score,
)

from .conftest import Run, assert_one_line_error, run_module

Runner = Callable[..., Run]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "rfm_orders_sample.csv"
R_ARGS = ("--as-of", "2006-12-31", "--columns", "date=order_date,amount=revenue")


def sample() -> list[Transaction]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return [
            Transaction(
                customer_id=r["customer_id"],
                date=date.fromisoformat(r["order_date"]),
                amount=Decimal(r["revenue"]),
            )
            for r in csv.DictReader(handle)
        ]


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Transaction]]:
    """Owners with purchases, refunds against orders, fees, referrals and club events."""
    rng = Random(7)
    rows: list[Transaction] = []
    as_of = date(2024, 12, 31)
    for i in range(120):
        owner = f"owner-{i:03d}"
        for p in range(rng.choice([0, 1, 1, 2])):
            day = as_of - timedelta(days=rng.randint(0, 1500))
            price = Decimal(rng.choice([180_000, 1_200_000, 2_800_000, 6_000_000]))
            rows.append(Transaction(customer_id=owner, date=day, amount=price, order_id=f"{i}-{p}"))
            if rng.random() < 0.1:
                rows.append(
                    Transaction(
                        customer_id=owner,
                        date=day + timedelta(days=20),
                        amount=price,
                        type=TransactionType.REFUND,
                        order_id=f"{i}-{p}",
                    )
                )
        for kind in (TransactionType.PROPERTY_FEE, TransactionType.REFERRAL):
            for _ in range(rng.randint(0, 4)):
                rows.append(
                    Transaction(
                        customer_id=owner,
                        date=as_of - timedelta(days=rng.randint(0, 700)),
                        amount=Decimal("320.50" if kind is TransactionType.PROPERTY_FEE else "0"),
                        type=kind,
                    )
                )
    path = tmp_path_factory.mktemp("rfm") / "portfolio.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount", "type", "order_id", "phone"])
        for t in rows:
            writer.writerow(
                [t.customer_id, t.date, t.amount, t.type.value, t.order_id or "", "13812345678"]
            )
    return path, rows


def test_r_sample_segments_equal_the_library(run: Runner) -> None:
    result = run(
        "rfm", str(SAMPLE), *R_ARGS, "--mode", "r_compatible", "--map", "rfm_11", "--format",
        "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    got = json.loads(result.out)
    scored = score(sample(), as_of=date(2006, 12, 31), mode="r_compatible")
    segments = assign_segments(scored, REPAIRED_11)
    assert [r["customer_id"] for r in got] == [c.customer_id for c in scored]
    for record, row in zip(got, scored, strict=True):
        assert (record["r"], record["f"], record["m"], record["code"]) == (
            row.r, row.f, row.m, row.code,
        )  # fmt: skip
        assert Decimal(record["monetary"]) == row.monetary
        assert record["segment"] == segments[row.customer_id].key  # type: ignore[union-attr]
    assert len(got) == 995
    assert next(r for r in got if r["customer_id"] == "Agness O'Keefe")["code"] == "555"


def test_summary_counts_and_shares(run: Runner) -> None:
    args = ("rfm", str(SAMPLE), *R_ARGS, "--mode", "r_compatible", "--map", "rfm_11", "--summary")
    summary = json.loads(run(*args, "--format", "json").out)
    scored = score(sample(), as_of=date(2006, 12, 31), mode="r_compatible")
    counts = Counter(s.key for s in assign_segments(scored, REPAIRED_11).values() if s)
    assert {s["segment"]: s["customers"] for s in summary} == dict(counts)
    assert [s["customers"] for s in summary] == sorted(counts.values(), reverse=True)
    assert sum(s["share"] for s in summary) == pytest.approx(1.0)
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").out)))
    assert [(r["segment"], int(r["customers"])) for r in rows] == [
        (s["segment"], s["customers"]) for s in summary
    ]
    table = run(*args, "--lang", "en").out.splitlines()
    assert table[0].split() == ["Segment", "Customers", "Share"]
    top = summary[0]
    assert table[2].split()[-2:] == [str(top["customers"]), f"{top['share'] * 100:.1f}%"]


def test_property_portfolio_with_weights(
    run: Runner, portfolio: tuple[Path, list[Transaction]]
) -> None:
    path, rows = portfolio
    result = run(
        "rfm", str(path), "--as-of", "2024-12-31", "--weights", "property", "--format", "csv"
    )
    assert result.code == 0, result.err
    got = list(csv.DictReader(io.StringIO(result.out)))
    scored = score(rows, as_of=date(2024, 12, 31), weights=PROPERTY_WEIGHTS)
    segments = assign_segments(scored, PROPERTY_MAP)
    assert [(r["customer_id"], r["code"], r["segment"]) for r in got] == [
        (c.customer_id, c.code or "", segments[c.customer_id].key)  # type: ignore[union-attr]
        for c in scored
    ]
    assert "prospect" in {r["segment"] for r in got}  # owners without a purchase
    assert "13812345678" not in result.out  # other columns (personal data) never leave the file
    assert "phone" not in got[0]
    as_json = run("rfm", str(path), "--as-of", "2024-12-31", "--weights", "property", "--format",
                  "json")  # fmt: skip
    records = json.loads(as_json.out)
    assert list(got[0]) == list(records[0])  # the CSV header is the JSON record's keys
    assert [r["code"] or "" for r in records] == [r["code"] for r in got]


def test_python_dash_m_rfm_table(portfolio: tuple[Path, list[Transaction]]) -> None:
    result = run_module("rfm", str(portfolio[0]), "--as-of", "2024-12-31", "--summary")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].split() == ["客群", "客户数", "占比"]
    assert "潜客" in result.out


def test_rfm_mistakes_are_one_line(run: Runner, tmp_path: Path) -> None:
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    ok = write("ok.csv", "customer_id,date,amount\na,2024-01-01,10\n")
    cases: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((str(tmp_path / "none.csv"), "--as-of", "2024-12-31"), ("unknown transactions file",)),
        ((ok, "--as-of", "31/12/2024"), ("$.as_of", "ISO date")),
        ((ok, "--as-of", "2024-12-31", "--map", "propery"), ("segment map", "'property'")),
        ((ok, "--as-of", "2024-12-31", "--columns", "when=date"), ("$.columns[0]",)),
        ((ok, "--as-of", "2024-12-31", "--columns", "date=day"), ("no column 'day'",)),
        (
            (write("cols.csv", "owner,date,amount\na,2024-01-01,1\n"), "--as-of", "2024-12-31"),
            ("$.transactions.columns", "customer_id"),
        ),
        (
            (
                write("amt.csv", "customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,ten\n"),
                "--as-of",
                "2024-12-31",
            ),
            ("$[1].amount", "line 3", "'ten'"),
        ),
        (
            (
                write("day.csv", "customer_id,date,amount\na,2024-02-30,1\n"),
                "--as-of",
                "2024-12-31",
            ),
            ("$[0].date",),
        ),
        (
            (
                write("neg.csv", "customer_id,date,amount\na,2024-01-01,-5\n"),
                "--as-of",
                "2024-12-31",
            ),
            ("$[0].amount",),
        ),
        (
            (
                write("type.csv", "customer_id,date,amount,type\na,2024-01-01,5,gift\n"),
                "--as-of",
                "2024-12-31",
            ),
            ("$[0].type",),
        ),
        (
            (
                write("pii.csv", "customer_id,date,amount\n13812345678,2024-01-01,5\n"),
                "--as-of",
                "2024-12-31",
            ),
            ("$[0].customer_id", "phone or ID number"),
        ),
        ((write("empty.csv", ""), "--as-of", "2024-12-31"), ("$.transactions", "empty")),
        (
            (str(_latin1(tmp_path)), "--as-of", "2024-12-31"),
            ("$.transactions", "UTF-8"),
        ),
    ]
    for argv, fragments in cases:
        assert_one_line_error(run("rfm", *argv), *fragments)


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.csv"
    path.write_bytes("customer_id,date,amount\nJosé,2024-01-01,5\n".encode("latin-1"))
    return path
