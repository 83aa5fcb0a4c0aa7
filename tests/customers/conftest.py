"""Fixtures of the archive tests."""

from __future__ import annotations

import pytest
from _customer_helpers import Archive, registration


@pytest.fixture
def archive() -> Archive:
    a = Archive()
    a.do(registration())
    return a
