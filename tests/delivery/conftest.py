"""Fixtures of the delivery tests (defined in ``_delivery_helpers``)."""

from __future__ import annotations

from _delivery_helpers import delivery, run, std

__all__ = ["delivery", "run", "std"]
