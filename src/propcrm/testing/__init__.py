"""Test helpers for apps built on propcrm (extra ``testing``).

- :mod:`propcrm.testing.strategies`: Hypothesis strategies for every public value (also
  registered for ``st.from_type`` through the ``hypothesis`` entry point);
- :mod:`propcrm.testing.store_contract`: the store conformance suite (``StoreContract``; a store
  subclasses it and overrides one fixture);
- :mod:`propcrm.testing.store_machine`: ``store_machine``, a Hypothesis state machine comparing
  any store with the memory store;
- :mod:`propcrm.testing.pytest_plugin`: opt-in ``propcrm_*`` fixtures
  (``pytest_plugins = ["propcrm.testing.pytest_plugin"]``).

Nothing here is imported by propcrm itself, so the library never needs pytest or Hypothesis at
run time.
"""

from __future__ import annotations

__all__: list[str] = []
