"""Store authors find the aggregate-stream checks in propcrm.stores.helpers."""

from __future__ import annotations

import pytest

from propcrm.errors import PermissionDeniedError, ValidationError
from propcrm.stores import _contract, helpers


def test_stream_checks_are_re_exported_from_helpers() -> None:
    for name in (
        "check_stream_write",
        "check_stream_read",
        "check_stream_page",
        "MAX_STREAM_ID_LENGTH",
        "MAX_STREAM_TYPE_LENGTH",
    ):
        assert name in helpers.__all__
        assert getattr(helpers, name) is getattr(_contract, name)


def test_check_stream_read_says_which_company_to_read() -> None:
    assert helpers.check_stream_read("c1", "delivery_batch", None) == "c1"
    assert helpers.check_stream_read(None, "delivery_batch", "c2") == "c2"
    assert helpers.check_stream_read(None, "delivery_batch", None, every_company=True) is None
    with pytest.raises(ValidationError) as unnamed:
        helpers.check_stream_read(None, "delivery_batch", None, stream_id="B1")
    assert unnamed.value.errors[0].path == "$.company_id"
    with pytest.raises(PermissionDeniedError):
        helpers.check_stream_read("c1", "delivery_batch", "c2")
    with pytest.raises(ValidationError) as long_id:
        helpers.check_stream_read(
            "c1", "delivery_batch", None, stream_id="B" * (helpers.MAX_STREAM_ID_LENGTH + 1)
        )
    assert long_id.value.errors[0].path == "$.stream_id"
