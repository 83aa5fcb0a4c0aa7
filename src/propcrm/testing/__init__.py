"""Test helpers for apps built on propcrm (extra ``testing``): Hypothesis strategies.

Import :mod:`propcrm.testing.strategies` for strategies of every public value. Nothing here is
imported by propcrm itself, so the library never needs pytest or Hypothesis at run time.
"""

from __future__ import annotations

__all__: list[str] = []
