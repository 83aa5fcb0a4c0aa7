"""The entry points: :func:`score`, :func:`score_frame` and :func:`assign_segments`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, overload

from propcrm.errors import ValidationError
from propcrm.metrics.rfm._frames import Columns, ScoredFrame, is_frame, score_native
from propcrm.metrics.rfm._maps import Segment, SegmentMap
from propcrm.metrics.rfm._model import (
    PROPERTY_THRESHOLDS,
    PURCHASE_WEIGHTS,
    Thresholds,
    Transaction,
    Weights,
)
from propcrm.metrics.rfm._python import aggregate, score_facts
from propcrm.metrics.rfm._result import RfmResult
from propcrm.metrics.rfm._rules import MODES, Mode, MonetaryKind, check_bins

__all__ = ["assign_segments", "score", "score_frame"]


def _settings(
    as_of: object,
    mode: object,
    bins: int,
    monetary: object,
    thresholds: Thresholds | None,
) -> tuple[date, Mode, MonetaryKind, Thresholds]:
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise ValidationError.single(
            "$.as_of",
            f"as_of must be a datetime.date, got {type(as_of).__name__}",
            hint="pass the analysis date explicitly; propcrm never assumes today",
        )
    if mode not in MODES:
        raise ValidationError.single(
            "$.mode", f"unknown mode {mode!r}", hint="use one of " + ", ".join(MODES)
        )
    check_bins(bins)
    if monetary is None:
        monetary = "total" if mode == "r_compatible" else "average"
    if monetary not in ("average", "total"):
        raise ValidationError.single(
            "$.monetary", f"monetary must be 'average' or 'total', got {monetary!r}"
        )
    if thresholds is None:
        thresholds = PROPERTY_THRESHOLDS
    if mode == "fixed" and thresholds.bins != bins:
        raise ValidationError.single(
            "$.thresholds",
            f"fixed mode with {bins} bins needs {bins - 1} thresholds per dimension",
            hint="pass Thresholds(...) with bins - 1 values for each of R, F and M",
        )
    return as_of, mode, monetary, thresholds


@overload
def score(
    transactions: Iterable[Transaction],
    *,
    as_of: date,
    mode: Mode = ...,
    bins: int = ...,
    monetary: MonetaryKind | None = ...,
    thresholds: Thresholds | None = ...,
    weights: Weights = ...,
    columns: Columns | None = ...,
    segments: SegmentMap | None = ...,
) -> RfmResult: ...
@overload
def score(
    transactions: Any,
    *,
    as_of: date,
    mode: Mode = ...,
    bins: int = ...,
    monetary: MonetaryKind | None = ...,
    thresholds: Thresholds | None = ...,
    weights: Weights = ...,
    columns: Columns | None = ...,
    segments: SegmentMap | None = ...,
) -> Any: ...
def score(
    transactions: Any,
    *,
    as_of: date,
    mode: Mode = "fixed",
    bins: int = 5,
    monetary: MonetaryKind | None = None,
    thresholds: Thresholds | None = None,
    weights: Weights = PURCHASE_WEIGHTS,
    columns: Columns | None = None,
    segments: SegmentMap | None = None,
) -> Any:
    """Score customers on recency, frequency and monetary value.

    Args:
        transactions: An iterable of :class:`Transaction`, or a dataframe (pandas, Polars,
            DuckDB, or anything narwhals reads) with the columns named by ``columns``.
        as_of: The analysis date. Transactions after it are ignored; recency counts days to it.
        mode: ``"fixed"`` (default, thresholds), ``"quantile"`` (NTILE, ties by customer id),
            ``"r_compatible"`` (the R package ``rfm``'s breaks) or ``"dense"`` (equal values
            share a score).
        bins: Scores per dimension, 2 to 9.
        monetary: ``"average"`` per counted purchase or ``"total"``; by default ``"total"`` in
            ``r_compatible`` mode (as the R package) and ``"average"`` otherwise.
        thresholds: Fixed thresholds (``fixed`` mode); :data:`PROPERTY_THRESHOLDS` by default.
        weights: Per-type weights of F and M; :data:`PURCHASE_WEIGHTS` (classic RFM) by default.
        columns: Column names, for frames.
        segments: A map whose segment keys are added as a ``segment`` column (frames only; for
            iterables use :func:`assign_segments`).

    Returns:
        An :class:`RfmResult` for an iterable; a frame of the caller's type for a frame (see
        :class:`ScoredFrame` for its columns; :func:`score_frame` also returns the thresholds).

    Raises:
        ValidationError: Bad settings or bad transactions (with the field path).
        ImportError: A frame was given but narwhals, numpy or pyarrow is missing (the message
            says which extra to install).
    """
    if is_frame(transactions):
        return score_frame(
            transactions,
            as_of=as_of,
            mode=mode,
            bins=bins,
            monetary=monetary,
            thresholds=thresholds,
            weights=weights,
            columns=columns,
            segments=segments,
        ).frame
    as_of, mode, monetary_kind, fixed = _settings(as_of, mode, bins, monetary, thresholds)
    if columns is not None or segments is not None:
        raise ValidationError.single(
            "$.columns" if columns is not None else "$.segments",
            "columns and segments apply to dataframes only",
            hint="for Transaction objects, call assign_segments(result, segment_map)",
        )
    facts = aggregate(transactions, as_of=as_of, weights=weights)
    return score_facts(
        facts, as_of=as_of, mode=mode, bins=bins, monetary=monetary_kind, thresholds=fixed
    )


def score_frame(
    frame: Any,
    *,
    as_of: date,
    mode: Mode = "fixed",
    bins: int = 5,
    monetary: MonetaryKind | None = None,
    thresholds: Thresholds | None = None,
    weights: Weights = PURCHASE_WEIGHTS,
    columns: Columns | None = None,
    segments: SegmentMap | None = None,
) -> ScoredFrame:
    """Score a dataframe; return the caller's frame type together with the thresholds used.

    Args:
        frame: A pandas, Polars or DuckDB frame (anything narwhals reads).
        as_of: The analysis date.
        mode: See :func:`score`.
        bins: See :func:`score`.
        monetary: See :func:`score`.
        thresholds: See :func:`score`.
        weights: See :func:`score`.
        columns: Column names; ``Columns()`` by default.
        segments: A map whose keys fill a ``segment`` column.

    Returns:
        The scored frame and the thresholds.

    Raises:
        ValidationError: Bad settings, missing columns, float amounts, missing values.
        ImportError: narwhals, numpy or pyarrow is missing.
    """
    as_of, mode, monetary_kind, fixed = _settings(as_of, mode, bins, monetary, thresholds)
    if segments is not None and segments.bins != bins:
        raise ValidationError.single(
            "$.segments", f"the map {segments.key!r} is for {segments.bins} bins, not {bins}"
        )
    return score_native(
        frame,
        as_of=as_of,
        mode=mode,
        bins=bins,
        monetary=monetary_kind,
        thresholds=fixed,
        weights=weights,
        columns=columns or Columns(),
        segment_lookup=None if segments is None else segments.lookup(),
    )


def assign_segments(result: RfmResult, segment_map: SegmentMap) -> dict[str | int, Segment | None]:
    """The segment of every customer of ``result`` under ``segment_map``.

    Args:
        result: Scores from :func:`score`.
        segment_map: The map; its ``bins`` must equal the result's.

    Returns:
        Customer id → segment (``None`` where the map leaves the cell unassigned, or for a
        customer without scores when the map has no ``unscored`` segment).

    Raises:
        ValidationError: The map is for another number of bins.
    """
    if segment_map.bins != result.bins:
        raise ValidationError.single(
            "$.segment_map",
            f"the map {segment_map.key!r} is for {segment_map.bins} bins, not {result.bins}",
        )
    return {row.customer_id: segment_map.segment_of(row.cell) for row in result.customers}
