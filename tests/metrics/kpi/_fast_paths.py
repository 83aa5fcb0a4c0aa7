"""Switching the frame engine's fast paths off, and watching whether they ran (test helpers)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from propcrm.metrics.kpi import _frames as frames_module


@contextlib.contextmanager
def without(*fast_paths: str) -> Iterator[None]:
    """Within the block, ``compute_frame`` takes its generic path instead of ``fast_paths``.

    Each is a name ``_frames`` calls (``polars_cohort``, ``polars_quantiles`` or
    ``duckdb_cohorts``); a fast path that returns ``None`` means "does not apply here".
    """
    originals = {name: getattr(frames_module, name) for name in fast_paths}

    def disabled(*args: Any, **kwargs: Any) -> None:
        return None

    for name in fast_paths:
        setattr(frames_module, name, disabled)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(frames_module, name, original)


def spy(monkeypatch: pytest.MonkeyPatch, fast_path: str) -> list[bool]:
    """Whether each call of ``fast_path`` applied (returned a result), in call order."""
    taken: list[bool] = []
    original = getattr(frames_module, fast_path)

    def watched(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        if fast_path == "duckdb_cohorts" and out is not None:  # one entry per cohort
            taken.extend(rows is not None for rows in out.values())
        else:
            taken.append(out is not None)
        return out

    monkeypatch.setattr(frames_module, fast_path, watched)
    return taken
