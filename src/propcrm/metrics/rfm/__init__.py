"""RFM customer segmentation built for property customers.

Score customers on recency, frequency and monetary value with :func:`score` (pure Python over
:class:`Transaction` objects, or any pandas, Polars or DuckDB frame through narwhals), then put
them into segments with a :class:`SegmentMap`. Every shipped map is checked: each score cell
belongs to exactly one segment. See ``docs/rfm.md``.
"""

from __future__ import annotations

from propcrm.metrics.rfm._api import assign_segments, score, score_frame
from propcrm.metrics.rfm._frames import Columns, ScoredFrame
from propcrm.metrics.rfm._maps import Box, MapReport, Segment, SegmentMap
from propcrm.metrics.rfm._model import (
    PROPERTY_THRESHOLDS,
    PROPERTY_WEIGHTS,
    PURCHASE_WEIGHTS,
    Thresholds,
    Transaction,
    TransactionType,
    Weights,
)
from propcrm.metrics.rfm._result import CustomerRfm, RfmResult, UsedThresholds
from propcrm.metrics.rfm._rules import MODES, Mode, MonetaryKind
from propcrm.metrics.rfm._shipped import (
    HIGH_LOW_8,
    LEGACY_11,
    PROPERTY_MAP,
    REPAIRED_11,
    RF_GRID,
    SHIPPED_MAPS,
    high_low_map,
)

__all__ = [
    "HIGH_LOW_8",
    "LEGACY_11",
    "MODES",
    "PROPERTY_MAP",
    "PROPERTY_THRESHOLDS",
    "PROPERTY_WEIGHTS",
    "PURCHASE_WEIGHTS",
    "REPAIRED_11",
    "RF_GRID",
    "SHIPPED_MAPS",
    "Box",
    "Columns",
    "CustomerRfm",
    "MapReport",
    "Mode",
    "MonetaryKind",
    "RfmResult",
    "ScoredFrame",
    "Segment",
    "SegmentMap",
    "Thresholds",
    "Transaction",
    "TransactionType",
    "UsedThresholds",
    "Weights",
    "assign_segments",
    "high_low_map",
    "score",
    "score_frame",
]
