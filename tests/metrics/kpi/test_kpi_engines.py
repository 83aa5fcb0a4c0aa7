"""Property tests: facts agree with replay; the streaming engine equals the frame engines."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import (
    FactOptions,
    compute_facts,
    compute_frame,
    facts_to_arrow,
    ticket_facts,
)
from propcrm.testing.strategies import st_histories
from propcrm.workflow import replay

AS_OF = datetime(2031, 1, 1, tzinfo=timezone.utc)
GROUPINGS = [
    ((), None),
    (("kind", "project"), "month"),
    (("channel", "contractor"), "week"),
    (("category_class", "priority"), "quarter"),
    (("responsible_party",), "day"),
    (("assignee", "building"), "year"),
]


@settings(max_examples=30)
@given(st_histories())
def test_facts_agree_with_replay(history: list) -> None:  # type: ignore[type-arg]
    ticket = replay(history)
    row = ticket_facts(history)
    assert row["status"] == ticket.status.value
    assert row["is_open"] == ticket.is_open
    assert row["reopen_count"] == ticket.reopen_count
    assert row["escalation_rank"] == ticket.escalation_level.rank
    assert row["responsible_party"] == ticket.responsible_party
    assert row["assignee"] == ticket.assignee
    assert row["kind"] == ticket.kind.value
    assert row["invalid"] == (ticket.validity.value == "invalid")
    for name in ("closed_at", "completed_at", "dispatched_at", "first_response_at"):
        expected = getattr(ticket, name)
        assert row[name] == (None if expected is None else int(expected.timestamp())), name
    assert row["abnormal_close"] == (
        ticket.closure_type is not None and ticket.closure_type.value == "abnormal"
    )


@pytest.mark.parametrize("backend", ["pandas", "polars", "duckdb"])
@settings(max_examples=10)
@given(
    histories=st.lists(st_histories(max_commands=12), max_size=8),
    grouping=st.sampled_from(GROUPINGS),
)
def test_stream_equals_frames(
    backend: str,
    histories: list,  # type: ignore[type-arg]
    grouping: tuple[tuple[str, ...], str | None],
) -> None:
    group_by, period = grouping
    rows = [ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories]
    stream = compute_facts(rows, group_by=group_by, period=period)
    table = facts_to_arrow(rows)
    native = {
        "pandas": lambda: table.to_pandas(),
        "polars": lambda: pytest.importorskip("polars").from_arrow(table),
        "duckdb": lambda: pytest.importorskip("duckdb").from_arrow(table),
    }[backend]()
    frames = compute_frame(native, group_by=group_by, period=period, as_records=True)
    assert frames == stream


@pytest.mark.slow
def test_stream_equals_pyspark() -> None:
    # The frame engine on a small Spark DataFrame (local[1]) against the streaming engine.
    # JVM start dominates; see benchmarks/results/kpi.md for the measured time.
    pyspark_sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed (pip install 'propcrm[spark]')"
    )
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("PySpark needs a Java runtime (17): no java on PATH and no JAVA_HOME")
    from .test_kpi_hand import AS_OF as HAND_AS_OF
    from .test_kpi_hand import histories as hand_histories

    rows = [ticket_facts(h, FactOptions(as_of=HAND_AS_OF)) for h in hand_histories()]
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .config("spark.sql.shuffle.partitions", "1")  # 200 by default: slow on tiny data
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    try:
        frame = spark.createDataFrame(facts_to_arrow(rows).to_pandas())
        # Two groupings keep the test near 30 s on a quiet machine (JVM start is most of it).
        for group_by, period in GROUPINGS[1:3]:
            stream = compute_facts(rows, group_by=group_by, period=period)
            frames = compute_frame(frame, group_by=group_by, period=period, as_records=True)
            assert frames == stream
    finally:
        spark.stop()
