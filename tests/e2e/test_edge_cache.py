"""The storefront edge cache (Envoy's cache filter on the edge_cache listener): anonymous
storefront GETs are served from it, keyed by host and the full query, so one store is never
served another's body for the same path; a merchant's change is served within the documented
bound (max-age=1: about a second, under 2 s); admin, cart and checkout calls and anything
carrying credentials or a shopper's session never go through it.

A response served from the cache carries an `age` header (RFC 9111; Envoy adds it on a hit), one
from the service never does: that is how these tests tell the two apart."""

from __future__ import annotations

import time

import httpx
import pytest

from services.catalog.config import CatalogSettings
from tests.e2e.api_client import admin, create_product, signup

# envoy/README.md: Cache-Control max-age=1 (the Catalog's default), no stale serving: a change
# is served at most about one second later; the documented bound is 2 s.
STALENESS_BOUND_S = 2


def _get(http: httpx.Client, host: str, path: str, **headers: str) -> httpx.Response:
    r = http.get(path, headers={"host": host, **headers})
    assert r.status_code == 200, r.text
    return r


def _until_cached(http: httpx.Client, host: str, path: str) -> httpx.Response:
    """The first response the edge serves from its cache for this host and path."""
    for _ in range(50):
        r = _get(http, host, path)
        if "age" in r.headers:
            return r
    raise AssertionError(f"{host}{path} never served from the edge cache: {dict(r.headers)}")


def _retitle(http: httpx.Client, store, product_id: str, title: str) -> None:
    r = http.patch(
        f"/v1/admin/products/{product_id}",
        headers=admin(store),
        params={"update_mask": "title"},
        json={"title": title},
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module", autouse=True)
def edge_caching(stack):
    """The suite's stack runs with nothing cacheable (its tests read what they just wrote);
    this module restarts the Catalog service with the production setting, and back after."""

    def restart(seconds: str) -> None:
        stack.stop("catalog")
        stack.extra_env["STOREFRONT_CACHE_SECONDS"] = seconds
        stack.start_service("catalog")

    restart(str(CatalogSettings.storefront_cache_seconds))
    yield
    restart("0")


@pytest.fixture(scope="module")
def two_stores(http, edge_caching):
    """Two stores with a product under the same handle, so the paths are byte-identical."""
    a, b = signup(http, "cachea"), signup(http, "cacheb")
    pa = create_product(http, a, "Store A's lamp", handle="same-lamp")
    pb = create_product(http, b, "Store B's lamp", handle="same-lamp")
    return a, b, pa, pb


def test_storefront_reads_are_cacheable_and_marked(http, two_stores):
    a, _, _, _ = two_stores
    for path in (
        "/v1/products/same-lamp",
        "/v1/products",
        "/v1/search?query=lamp",
        "/v1/collections",
    ):
        first = _get(http, a.host, path)
        assert first.headers.get("cache-control") == "public, max-age=1", (path, first.headers)
        _until_cached(http, a.host, path)


def test_one_store_is_never_served_another_stores_cached_body(http, two_stores):
    a, b, _, _ = two_stores
    for path in ("/v1/products/same-lamp", "/v1/products?page_size=5", "/v1/search?query=lamp"):
        cached_a = _until_cached(http, a.host, path)
        assert "Store A's lamp" in cached_a.text and "Store B" not in cached_a.text
        # The same path at B while A's body sits in the cache: B's own, first from the
        # service, then from the cache; and never A's.
        for _ in range(5):
            r = _get(http, b.host, path)
            assert "Store B's lamp" in r.text and "Store A" not in r.text, (path, r.text)
        cached_b = _until_cached(http, b.host, path)
        assert "Store B's lamp" in cached_b.text and "Store A" not in cached_b.text
        assert "Store A's lamp" in _until_cached(http, a.host, path).text


def test_the_full_query_is_part_of_the_key(http, two_stores):
    a, _, _, _ = two_stores
    _until_cached(http, a.host, "/v1/search?query=lamp")
    # Another query on the same path is another entry: this one matches nothing.
    other = _get(http, a.host, "/v1/search?query=zebra")
    assert "age" not in other.headers and "lamp" not in other.text


def test_a_merchants_change_is_served_within_the_bound(http, two_stores):
    a, _, pa, _ = two_stores
    path = "/v1/products/same-lamp"
    assert "Store A's lamp" in _until_cached(http, a.host, path).text
    _retitle(http, a, pa["id"], "Store A's new lamp")
    changed = time.monotonic()
    # With a shopper's session the edge cache is bypassed: the change shows at once.
    fresh = _get(http, a.host, path, **{"x-shopper-session": "not-a-real-session"})
    assert "age" not in fresh.headers and "Store A's new lamp" in fresh.text
    # Past the bound every anonymous read has it too, from the service or the cache.
    time.sleep(max(0.0, STALENESS_BOUND_S - (time.monotonic() - changed)))
    for _ in range(5):
        assert "Store A's new lamp" in _get(http, a.host, path).text
    assert "Store A's new lamp" in _until_cached(http, a.host, path).text


def test_credentials_sessions_admin_and_carts_bypass_the_cache(http, two_stores):
    a, _, pa, _ = two_stores
    path = "/v1/products/same-lamp"
    _until_cached(http, a.host, path)
    for headers in (
        {"authorization": f"Bearer {a.token}"},
        {"x-shopper-session": "not-a-real-session"},
        {"cookie": "session=x"},
    ):
        for _ in range(3):
            r = _get(http, a.host, path, **headers)
            assert "age" not in r.headers, (headers, r.headers)
    for _ in range(3):
        r = _get(
            http, a.host, f"/v1/admin/products/{pa['id']}", authorization=admin(a)["authorization"]
        )
        assert "age" not in r.headers and "cache-control" not in r.headers, r.headers
    cart = http.post("/v1/carts", headers={"host": a.host}, json={"lines": []})
    assert cart.status_code == 200, cart.text
    for _ in range(3):
        r = _get(http, a.host, f"/v1/carts/{cart.json()['id']}")
        assert "age" not in r.headers and "cache-control" not in r.headers, r.headers
