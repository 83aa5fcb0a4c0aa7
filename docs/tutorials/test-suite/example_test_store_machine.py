"""test_store_machine.py: our production store setup behaves like the memory store.

SQLite with our table prefix, under whatever sequence of operations Hypothesis tries.
"""

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings

from propcrm import open_store
from propcrm.testing.store_machine import store_machine


def open_stores():
    """A fresh SQLite database; tenant views over it; a close that removes it."""
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'crm.db'}?prefix=acme_"
    opened = []

    def make_store(tenant):
        store = open_store(url, tenant=tenant)
        opened.append(store)
        return store

    def close():
        for store in opened:
            store.close()
        shutil.rmtree(folder)

    return make_store, close


TestOurStoreMatchesMemory = store_machine(open_stores).TestCase
TestOurStoreMatchesMemory.settings = settings(max_examples=5, stateful_step_count=10, deadline=None)
