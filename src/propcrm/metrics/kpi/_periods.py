"""Period keys from epoch seconds, the same integers in Python and in narwhals expressions.

A key is an integer: ``yyyymmdd`` for a day, the Monday's ``yyyymmdd`` for an ISO week,
``yyyymm`` for a month, ``yyyyq`` for a quarter, ``yyyy`` for a year. Days are local days at a
fixed UTC offset (China keeps +8 all year). Dates come from the integer civil-from-days
algorithm, which every engine evaluates exactly.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal

from propcrm.errors import ValidationError

__all__ = [
    "PERIODS",
    "Period",
    "check_period",
    "period_days",
    "period_key",
    "period_label",
    "with_period",
]

Period = Literal["day", "week", "month", "quarter", "year"]
#: The period granularities KPIs group by.
PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
_EPOCH = date(1970, 1, 1)


def check_period(period: str | None) -> None:
    """Raise ``ValidationError`` unless ``period`` is a known period or ``None``."""
    if period is not None and period not in PERIODS:
        raise ValidationError.single(
            "$.period", f"unknown period {period!r}", hint="use one of " + ", ".join(PERIODS)
        )


@lru_cache(maxsize=8192)
def _key_of_day(days: int, period: str) -> int:
    d = _EPOCH + timedelta(days=days)
    if period == "day":
        return d.year * 10000 + d.month * 100 + d.day
    if period == "week":
        m = d - timedelta(days=d.weekday())
        return m.year * 10000 + m.month * 100 + m.day
    if period == "month":
        return d.year * 100 + d.month
    if period == "quarter":
        return d.year * 10 + (d.month + 2) // 3
    return d.year


def period_key(epoch_seconds: int, period: str, offset_seconds: int) -> int:
    """The period key of an instant."""
    return _key_of_day((epoch_seconds + offset_seconds) // 86400, period)


def with_period(
    nw: Any,
    frame: Any,
    column: str,
    period: str,
    offset_seconds: int,
    *,
    native_floordiv: bool = True,
) -> Any:
    """``frame`` with a ``_period`` column: the period key of the epoch-seconds ``column``.

    Each step is its own column, so SQL engines never see a nested expression that repeats
    its inputs. With ``native_floordiv`` false, ``a // b`` is written ``floor(a / b)``: narwhals
    spells Python's floor division for SQL backends as a nested CASE per division, which made
    the period key cost more than the KPIs on DuckDB; the float quotient is exact here (the
    operands stay far below 2**53, and a quotient is never within 2**-52 of an integer unless
    it is one).
    """
    c = nw.col

    def div(a: Any, b: int) -> Any:
        return a // b if native_floordiv else (a / b).floor().cast(nw.Int64)

    steps: list[tuple[str, Any]] = [("_days", div(c(column) + offset_seconds, 86400))]
    if period == "week":
        steps.append(("_days", c("_days") - (c("_days") + 3) % 7))
    steps += [
        ("_z", c("_days") + 719468),
        ("_era", div(c("_z"), 146097)),
        ("_doe", c("_z") - c("_era") * 146097),
        (
            "_yoe",
            div(
                c("_doe") - div(c("_doe"), 1460) + div(c("_doe"), 36524) - div(c("_doe"), 146096),
                365,
            ),
        ),
        (
            "_doy",
            c("_doe") - (c("_yoe") * 365 + div(c("_yoe"), 4) - div(c("_yoe"), 100)),
        ),
        ("_mp", div(c("_doy") * 5 + 2, 153)),
        ("_d", c("_doy") - div(c("_mp") * 153 + 2, 5) + 1),
        ("_m", nw.when(c("_mp") < 10).then(c("_mp") + 3).otherwise(c("_mp") - 9)),
        ("_y", c("_yoe") + c("_era") * 400 + nw.when(c("_m") <= 2).then(1).otherwise(0)),
    ]
    if period in ("day", "week"):
        key = c("_y") * 10000 + c("_m") * 100 + c("_d")
    elif period == "month":
        key = c("_y") * 100 + c("_m")
    elif period == "quarter":
        key = c("_y") * 10 + div(c("_m") + 2, 3)
    else:
        key = c("_y")
    steps.append(("_period", key))
    for name, expr in steps:
        frame = frame.with_columns(expr.alias(name))
    return frame


def _start(key: int, period: str) -> date:
    if period in ("day", "week"):
        return date(key // 10000, key // 100 % 100, key % 100)
    if period == "month":
        return date(key // 100, key % 100, 1)
    if period == "quarter":
        return date(key // 10, 3 * (key % 10) - 2, 1)
    return date(key, 1, 1)


def period_label(key: int, period: str) -> str:
    """A readable label: ``2026-03-05``, ``2026-W10``, ``2026-03``, ``2026-Q1``, ``2026``."""
    if period == "day":
        return _start(key, period).isoformat()
    if period == "week":
        iso = _start(key, period).isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if period == "month":
        return f"{key // 100}-{key % 100:02d}"
    if period == "quarter":
        return f"{key // 10}-Q{key % 10}"
    return str(key)


def period_days(key: int, period: str) -> int:
    """How many days the period has."""
    start = _start(key, period)
    if period == "day":
        return 1
    if period == "week":
        return 7
    if period == "month":
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    elif period == "quarter":
        m = start.month + 3
        end = date(start.year + (m > 12), (m - 1) % 12 + 1, 1)
    else:
        end = date(start.year + 1, 1, 1)
    return (end - start).days
