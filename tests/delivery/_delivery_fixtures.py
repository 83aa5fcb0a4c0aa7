"""Fixtures of the delivery tests.

They live here, not in a ``conftest.py``: other test folders import their own ``conftest`` by
that name, and a second module of that name would shadow theirs. Test modules import the
fixtures they use.
"""

from __future__ import annotations

from datetime import date

import pytest
from _delivery_helpers import REGISTER, SCOPE, Run

from propcrm import taxonomy as tx
from propcrm.workflow import delivery as d


@pytest.fixture(name="std", scope="session")
def std_fixture() -> tx.Taxonomy:
    return tx.standard()


@pytest.fixture(name="delivery")
def delivery_fixture(std: tx.Taxonomy) -> d.Delivery:
    return d.Delivery(taxonomy=std, register=REGISTER)


@pytest.fixture(name="run")
def run_fixture(delivery: d.Delivery) -> Run:
    r = Run(delivery)
    r.do(
        d.OpenDeliveryBatch(
            batch_id="B1",
            scope=SCOPE,
            title="翠湖花园 3 栋 首批交付",
            planned_handover_on=date(2026, 6, 1),
            building_id="b3",
            unit_ids=("U1", "U2"),
        )
    )
    return r
