"""Shared helpers of the RFM tests: the sample data and frame builders."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from propcrm.metrics.rfm import Transaction

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "rfm_orders_sample.csv"
SAMPLE_AS_OF = date(2006, 12, 31)


def sample_transactions() -> list[Transaction]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return [
            Transaction(
                customer_id=row["customer_id"],
                date=date.fromisoformat(row["order_date"]),
                amount=Decimal(row["revenue"]),
            )
            for row in csv.DictReader(handle)
        ]


def columns_of(transactions: list[Transaction]) -> dict[str, list[Any]]:
    return {
        "customer_id": [t.customer_id for t in transactions],
        "date": [t.date for t in transactions],
        "amount": [t.cents for t in transactions],
        "type": [t.type.value for t in transactions],
        "order_id": [None if t.order_id is None else str(t.order_id) for t in transactions],
    }


def arrow_table(transactions: list[Transaction], *, purchases_only: bool = False) -> Any:
    import pyarrow as pa

    data = columns_of(transactions)
    if purchases_only:
        return pa.table(
            {
                "customer_id": pa.array(data["customer_id"], type=pa.int64()),
                "date": pa.array(data["date"], type=pa.date32()),
                "amount": pa.array(data["amount"], type=pa.int64()),
            }
        )
    return pa.table(
        {
            "customer_id": pa.array(data["customer_id"], type=pa.string()),
            "date": pa.array(data["date"], type=pa.date32()),
            "amount": pa.array(data["amount"], type=pa.int64()),
            "type": pa.array(data["type"], type=pa.string()),
            "order_id": pa.array(data["order_id"], type=pa.string()),
        }
    )


def frame(kind: str, transactions: list[Transaction], *, purchases_only: bool = False) -> Any:
    table = arrow_table(transactions, purchases_only=purchases_only)
    if kind == "pandas":
        import pandas as pd

        out = table.to_pandas()
        out["date"] = pd.to_datetime(out["date"])
        return out
    if kind == "polars":
        import polars as pl

        return pl.from_arrow(table)
    if kind == "duckdb":
        import duckdb

        return duckdb.from_arrow(table)
    raise AssertionError(kind)


def rows_of(native: Any) -> list[tuple[Any, ...]]:
    """(customer, recency, frequency, monetary_cents, r, f, m) rows of any result frame."""
    import narwhals.stable.v2 as nw

    result = nw.from_native(native)
    if isinstance(result, nw.LazyFrame):
        result = result.collect()
    names = [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary_cents",
        "r_score",
        "f_score",
        "m_score",
    ]
    return [tuple(_plain(v) for v in row) for row in result.select(names).rows()]


def _plain(value: Any) -> Any:
    if value is None or type(value).__name__ == "NAType":
        return None
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


def rows_of_result(result: Any) -> list[tuple[Any, ...]]:
    out = []
    for row in result:
        money = None if row.monetary is None else int(row.monetary * 100)
        frequency = (
            int(row.frequency)
            if row.frequency == row.frequency.to_integral_value()
            else float(row.frequency)
        )
        out.append((row.customer_id, row.recency_days, frequency, money, row.r, row.f, row.m))
    return out
