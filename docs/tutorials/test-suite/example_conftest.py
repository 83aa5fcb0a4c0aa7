"""conftest.py at the root of your test suite."""

import pytest
from crm_app import Outbox
from hypothesis import HealthCheck, settings

from propcrm.plugins import make_plugin_manager

# Opt in: propcrm never loads its fixtures into a test run by itself.
pytest_plugins = ["propcrm.testing.pytest_plugin"]

# Whole ticket histories take a while to draw on a busy machine: no deadline, no slow warning.
settings.register_profile("app", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("app")


@pytest.fixture
def outbox():
    """The app's outbox, empty for each test."""
    return Outbox()


@pytest.fixture
def propcrm_plugins(outbox):
    """Override propcrm's fixture: the built-in plugins plus ours, nothing installed."""
    return make_plugin_manager(plugins=[outbox])
