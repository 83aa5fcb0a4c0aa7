"""The R package rfm's sample data in R-compatible mode: its breaks and its scoring rule."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest
from _rfm_helpers import SAMPLE_AS_OF, sample_transactions

from propcrm.metrics.rfm import RfmResult, score


@pytest.fixture(scope="module")
def result() -> RfmResult:
    return score(sample_transactions(), as_of=SAMPLE_AS_OF, mode="r_compatible")


def test_sample_size(result: RfmResult) -> None:
    assert len(result) == 995
    assert sum(row.frequency for row in result) == 4906


def test_recency_breaks_match_the_package(result: RfmResult) -> None:
    assert result.thresholds.recency_days == tuple(
        Decimal(x) for x in ("115", "181", "297.4", "482")
    )


def _r_rule(values: list[float], breaks: list[float], reverse: bool) -> list[int]:
    """rfm_table_order's loop, transcribed: score i where lower[i] <= v < upper[i]."""
    lower = [min(values), *breaks]
    upper = [*breaks, max(values) + 1]
    n = len(lower)
    out = []
    for v in values:
        hits = [i for i in range(n) if lower[i] <= v < upper[i]]
        assert len(hits) == 1
        out.append(n - hits[0] if reverse else hits[0] + 1)
    return out


def test_scores_follow_the_documented_rule(result: RfmResult) -> None:
    rows = list(result)
    recency = [float(r.recency_days or 0) for r in rows]
    frequency = [float(r.frequency) for r in rows]
    money = [float(r.monetary or 0) for r in rows]
    # bins(): type-7 quantiles at 1/5 … 4/5, plus one
    f_breaks = [q + 1 for q in statistics.quantiles(frequency, n=5, method="inclusive")]
    m_breaks = [q + 1 for q in statistics.quantiles(money, n=5, method="inclusive")]
    assert [float(b) for b in result.thresholds.frequency] == pytest.approx(f_breaks)
    assert [float(b) for b in result.thresholds.monetary] == pytest.approx(m_breaks)
    assert [r.r for r in rows] == _r_rule(recency, [115, 181, 297.4, 482], reverse=True)
    assert [r.f for r in rows] == _r_rule(frequency, f_breaks, reverse=False)
    assert [r.m for r in rows] == _r_rule(money, m_breaks, reverse=False)


@pytest.mark.parametrize(
    ("customer", "code"),
    [
        # rfm_score column printed in the package's README and vignette
        ("Abbey O'Reilly", "343"),
        ("Add Senger", "412"),
        ("Aden Lesch", "323"),
        ("Admiral Senger", "433"),
        ("Agness O'Keefe", "555"),
        ("Aileen Barton", "555"),
        ("Ailene Hermann", "355"),
    ],
)
def test_published_scores(result: RfmResult, customer: str, code: str) -> None:
    row = result.get(customer)
    assert row is not None
    assert row.code == code


def test_score_distribution(result: RfmResult) -> None:
    # quantile scoring fills R and M evenly; F has only a few distinct counts, so it cannot
    for dimension in "rm":
        counts = result.distribution(dimension)
        assert sum(counts.values()) == 995
        assert all(190 <= c <= 205 for c in counts.values()), counts
    assert sum(result.distribution("f").values()) == 995
