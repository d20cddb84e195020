"""Storefront ListProducts through Envoy: sorts, filters, keyset pages that stay correct while
products are inserted, and tokens bound to the sort and filters they were issued for."""

from __future__ import annotations

import itertools

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from tests.e2e.api_client import StoreHandle, create_product, grpc_channel, signup

SORTS = (
    "PRODUCT_SORT_NEWEST",
    "PRODUCT_SORT_PRICE_ASC",
    "PRODUCT_SORT_PRICE_DESC",
    "PRODUCT_SORT_TITLE",
)
_skus = itertools.count(1)


def add_product(
    http,
    store: StoreHandle,
    title: str,
    prices: list[int],
    *,
    quantity: int = 5,
    policy: str = "INVENTORY_POLICY_DENY",
    status: str = "ACTIVE",
    description: str = "",
) -> dict:
    return create_product(
        http,
        store,
        title,
        prices=prices,
        quantity=quantity,
        policy=policy,
        status=status,
        description=description,
    )


def list_page(http, store: StoreHandle, **params) -> dict:
    r = http.get("/v1/products", params=params, headers={"host": store.host})
    assert r.status_code == 200, r.text
    return r.json()


def titles(http, store: StoreHandle, **params) -> list[str]:
    return [p["title"] for p in list_page(http, store, page_size=250, **params)["products"]]


@pytest.fixture(scope="module")
def shop(http) -> StoreHandle:
    """A (cheapest variant 10.00, another 50.00), B 25.00, C 80.00 sold out, D 30.00 out of
    stock but sold on backorder, plus a draft that never shows."""
    store = signup(http, "list")
    add_product(http, store, "banana Bread", [1000, 5000])
    add_product(http, store, "Apple Pie", [2500])
    add_product(http, store, "cherry Tart", [8000], quantity=0)
    add_product(http, store, "Date Loaf", [3000], quantity=0, policy="INVENTORY_POLICY_CONTINUE")
    add_product(http, store, "Draft Cake", [2000], status="DRAFT")
    return store


def test_sorts(http, shop):
    assert titles(http, shop) == ["Date Loaf", "cherry Tart", "Apple Pie", "banana Bread"]
    assert titles(http, shop, sort="PRODUCT_SORT_NEWEST") == titles(http, shop)
    by_price = ["banana Bread", "Apple Pie", "Date Loaf", "cherry Tart"]
    assert titles(http, shop, sort="PRODUCT_SORT_PRICE_ASC") == by_price
    assert titles(http, shop, sort="PRODUCT_SORT_PRICE_DESC") == by_price[::-1]
    # Case-insensitive, although the database collation is C.
    assert titles(http, shop, sort="PRODUCT_SORT_TITLE") == [
        "Apple Pie",
        "banana Bread",
        "cherry Tart",
        "Date Loaf",
    ]


def test_price_range_matches_any_variant_in_range(http, shop):
    asc = {"sort": "PRODUCT_SORT_PRICE_ASC"}
    # banana Bread's variants (10.00 and 50.00) straddle 20.00-30.00 without one inside it.
    assert titles(http, shop, min_price=2000, max_price=3000, **asc) == ["Apple Pie", "Date Loaf"]
    assert titles(http, shop, min_price=4000, **asc) == ["banana Bread", "cherry Tart"]
    assert titles(http, shop, max_price=1000, **asc) == ["banana Bread"]
    assert titles(http, shop, min_price=5000, max_price=5000, **asc) == ["banana Bread"]
    assert titles(http, shop, max_price=0) == []  # zero is a bound, not "unset"


def test_available_only(http, shop):
    assert titles(http, shop, available_only="true", sort="PRODUCT_SORT_PRICE_ASC") == [
        "banana Bread",
        "Apple Pie",
        "Date Loaf",  # out of stock, but the policy sells it on backorder
    ]
    listed = {p["title"]: p["available"] for p in list_page(http, shop)["products"]}
    assert listed == {
        "banana Bread": True,
        "Apple Pie": True,
        "cherry Tart": False,
        "Date Loaf": True,
    }


def _insert_around(http, store: StoreHandle, round_: int) -> None:
    """Products that land before and after a walk's position, whatever its sort."""
    cheap, dear = 1 + round_, 10**9 - round_
    add_product(http, store, f"Aaa inserted {round_}", [dear])
    add_product(http, store, f"Zzz inserted {round_}", [cheap])


@pytest.mark.parametrize("sort", SORTS)
def test_rest_walk_returns_every_existing_product_once_while_others_insert(http, sort):
    store = signup(http, "walk")
    existing = {
        add_product(http, store, f"Walk {n:02d}", [100 * (n % 7) + 500])["id"] for n in range(23)
    }
    seen: list[str] = []
    token, pages = "", 0
    while True:
        page = list_page(http, store, page_size=4, sort=sort, page_token=token)
        seen += [p["id"] for p in page["products"]]
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
        _insert_around(http, store, pages)
    assert len(seen) == len(set(seen)), "a product appeared twice"
    assert existing <= set(seen), f"missing: {existing - set(seen)}"
    assert pages >= 6


@pytest.mark.parametrize(
    "sort", [catalog_pb2.PRODUCT_SORT_PRICE_DESC, catalog_pb2.PRODUCT_SORT_TITLE]
)
async def test_grpc_walk_with_filters_while_others_insert(stack, http, sort):
    store = signup(http, "gwalk")
    existing = set()
    for n in range(15):
        product = add_product(http, store, f"Grpc {n:02d}", [1000 + 100 * n], quantity=n % 3)
        if n % 3:
            existing.add(product["id"])
    seen: list[str] = []
    request = catalog_pb2.ListProductsRequest(
        page_size=3, sort=sort, available_only=True, min_price=1000, max_price=3000
    )
    async with grpc_channel(stack.ports.edge, store.host) as channel:
        stub = catalog_pb2_grpc.StorefrontStub(channel)
        for round_ in range(100):
            reply = await stub.ListProducts(request)
            seen += [p.id for p in reply.products]
            assert all(p.available for p in reply.products)
            if not reply.next_page_token:
                break
            request.page_token = reply.next_page_token
            _insert_around(http, store, round_)
    assert len(seen) == len(set(seen))
    assert set(seen) == existing  # inserted ones are outside the price range


def test_page_size_is_clamped_and_defaulted(http, shop):
    assert len(list_page(http, shop, page_size=1000)["products"]) == 4
    assert len(list_page(http, shop, page_size=0)["products"]) == 4
    r = http.get("/v1/products", params={"page_size": -1}, headers={"host": shop.host})
    assert r.status_code == 400 and "page_size" in r.json()["message"]


def _error(http, store: StoreHandle, **params) -> str:
    """The 400's body: the service's JSON error, or the transcoder's plain text when it
    cannot even build the request (an unknown enum name)."""
    r = http.get("/v1/products", params=params, headers={"host": store.host})
    assert r.status_code == 400, r.text
    return r.text


def test_token_is_bound_to_its_sort_and_filters(http, shop):
    first = list_page(http, shop, page_size=1, sort="PRODUCT_SORT_PRICE_ASC", min_price=100)
    token = first["next_page_token"]
    assert token
    # Same sort and filters: fine.
    list_page(
        http, shop, page_size=1, sort="PRODUCT_SORT_PRICE_ASC", min_price=100, page_token=token
    )
    for changed in (
        {"sort": "PRODUCT_SORT_PRICE_DESC", "min_price": 100},
        {"sort": "PRODUCT_SORT_PRICE_ASC", "min_price": 200},
        {"sort": "PRODUCT_SORT_PRICE_ASC"},
        {"sort": "PRODUCT_SORT_PRICE_ASC", "min_price": 100, "available_only": "true"},
    ):
        assert "page_token" in _error(http, shop, page_size=1, page_token=token, **changed)
    # A page size change is fine: it is not part of the ordering.
    list_page(
        http, shop, page_size=3, sort="PRODUCT_SORT_PRICE_ASC", min_price=100, page_token=token
    )


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "eyJ2IjoyfQ",  # {"v":2}
        "e30",  # {}
        # a number where the newest sort keeps a timestamp
        "eyJ2IjoyLCJrIjoibmV3ZXN0IiwiZiI6IiIsImEiOlsxLDJdfQ",
    ],
)
def test_malformed_tokens_name_page_token(http, shop, token):
    assert "page_token" in _error(http, shop, page_token=token)


def test_bad_filters_and_sort_name_their_field(http, shop):
    assert "min_price" in _error(http, shop, min_price=-1)
    assert "max_price" in _error(http, shop, max_price=-5)
    assert "min_price" in _error(http, shop, min_price=500, max_price=100)
    assert "sort" in _error(http, shop, sort="PRODUCT_SORT_BOGUS")
    assert "sort" in _error(http, shop, sort="cheapest")


async def test_grpc_unknown_sort_is_invalid_argument(stack, shop):
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        stub = catalog_pb2_grpc.StorefrontStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListProducts(catalog_pb2.ListProductsRequest(sort=99))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sort" in err.value.details()
