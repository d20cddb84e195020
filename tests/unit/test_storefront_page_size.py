"""Storefront page sizes: defaulted, clamped, never negative."""

from __future__ import annotations

import pytest

from services.catalog.storefront.servicer import page_size
from services.common.errors import InvalidArgument


def test_page_size_defaults_clamps_and_refuses_negative():
    assert page_size(0) == 50
    assert page_size(7) == 7
    assert page_size(100_000) == 250
    with pytest.raises(InvalidArgument) as err:
        page_size(-1)
    assert err.value.violations[0].field == "page_size"
