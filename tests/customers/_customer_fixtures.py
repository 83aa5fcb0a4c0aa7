"""Fixtures of the archive tests.

They live here, not in a ``conftest.py``: other test folders import their own ``conftest`` by
that name, and a second module of that name would shadow theirs.
"""

from __future__ import annotations

import pytest
from _customer_helpers import Archive, registration


@pytest.fixture(name="archive")
def archive_fixture() -> Archive:
    """One registered customer."""
    a = Archive()
    a.do(registration())
    return a
