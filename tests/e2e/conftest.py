from __future__ import annotations

import httpx
import pytest

from tests.e2e.api_client import StoreHandle, create_product, signup


@pytest.fixture(scope="session")
def http(stack):
    with httpx.Client(base_url=stack.edge_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def store_a(http) -> StoreHandle:
    store = signup(http, "alpha")
    create_product(http, store, "Alpha Tee", skus=["SHARED-1", "A-2"], handle="tee")
    create_product(http, store, "Alpha Mug", skus=["A-MUG"])
    return store


@pytest.fixture(scope="session")
def store_b(http) -> StoreHandle:
    store = signup(http, "bravo")
    # Same handle and SKU as store A: uniqueness is per store.
    create_product(http, store, "Bravo Tee", skus=["SHARED-1"], handle="tee")
    create_product(http, store, "Bravo Hidden", skus=["B-DRAFT"], status="DRAFT")
    return store
