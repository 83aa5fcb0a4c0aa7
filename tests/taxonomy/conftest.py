"""Fixtures of the taxonomy tests: the standard taxonomy and a small hand-made one."""

from __future__ import annotations

import pytest
from _taxonomy_helpers import tiny_nodes, tiny_parties

from propcrm.taxonomy import Taxonomy, standard


@pytest.fixture(scope="session")
def std() -> Taxonomy:
    return standard()


@pytest.fixture
def tiny() -> Taxonomy:
    return Taxonomy(name="tiny", version="1", nodes=tiny_nodes(), parties=tiny_parties())
