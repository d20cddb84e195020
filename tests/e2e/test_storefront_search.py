"""Storefront SearchProducts through Envoy: ranking on a small known corpus, prefix matching on
the last word, a typo fallback, and nothing but the store's own active products."""

from __future__ import annotations

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from tests.e2e.api_client import StoreHandle, grpc_channel, signup
from tests.e2e.test_storefront_listing import add_product

CORPUS = {
    "Blue Shirt": "",
    "Blue Oxford Shirt": "A crisp cotton shirt.",
    "Shirt Dress": "Light and blue.",
    "Red Flannel Shirt": "Warm.",
    "Blue Ceramic Mug": "Holds coffee.",
    # Says "shirt" four times, but only in its description.
    "Travel Flask": "Not a shirt, but blue: blue shirt shirt shirt.",
    "Wool Sweater": "Warm and soft.",
}


def _add(http, store: StoreHandle, title: str, description: str = "", **kwargs) -> dict:
    return add_product(http, store, title, [1500], description=description, **kwargs)


@pytest.fixture(scope="module")
def shop(http) -> StoreHandle:
    store = signup(http, "search")
    for title, description in CORPUS.items():
        _add(http, store, title, description)
    _add(http, store, "Blue Shirt Prototype", "unreleased", status="DRAFT")
    return store


@pytest.fixture(scope="module")
def other_shop(http) -> StoreHandle:
    store = signup(http, "search-other")
    _add(http, store, "Blue Shirt Elsewhere", "from another store")
    return store


def search(http, store: StoreHandle, query: str, **params) -> dict:
    r = http.get("/v1/search", params={"query": query, **params}, headers={"host": store.host})
    assert r.status_code == 200, r.text
    return r.json()


def found(http, store: StoreHandle, query: str) -> list[str]:
    body = search(http, store, query)
    assert not body["approximate"], body
    return [p["title"] for p in body["products"]]


def test_relevance_order(http, shop):
    ranked = found(http, shop, "blue shirt")
    # The exact title first, then the title with both words, then partial title matches.
    assert ranked[:2] == ["Blue Shirt", "Blue Oxford Shirt"]
    assert set(ranked[2:]) == {"Shirt Dress", "Travel Flask"}
    ranked = found(http, shop, "Shirt")
    # Every product named a shirt outranks the description that repeats the word.
    assert set(ranked[:4]) == {
        "Blue Shirt",
        "Blue Oxford Shirt",
        "Shirt Dress",
        "Red Flannel Shirt",
    }
    assert ranked[4:] == ["Travel Flask"]


def test_last_word_matches_as_prefix(http, shop):
    assert found(http, shop, "blue sh")[:2] == ["Blue Shirt", "Blue Oxford Shirt"]
    assert found(http, shop, "oxf") == ["Blue Oxford Shirt"]
    assert found(http, shop, "CERAMIC m") == ["Blue Ceramic Mug"]
    # Only the last word is a prefix: "oxf" as a first word must match a whole word.
    body = search(http, shop, "oxf shirt")
    assert body["approximate"] or body["products"] == []


def test_typo_falls_back_to_similar_titles(http, shop):
    body = search(http, shop, "sweter")
    assert body["approximate"] is True
    assert [p["title"] for p in body["products"]] == ["Wool Sweater"]
    body = search(http, shop, "flannell shirt")
    assert body["approximate"] is True
    assert body["products"][0]["title"] == "Red Flannel Shirt"


def test_drafts_are_never_found(http, shop):
    assert search(http, shop, "prototype")["products"] == []
    assert search(http, shop, "unreleased")["products"] == []
    assert "Blue Shirt Prototype" not in found(http, shop, "blue shirt")


def test_other_stores_products_are_never_found(http, shop, other_shop):
    assert search(http, shop, "elsewhere")["products"] == []
    assert "Blue Shirt Elsewhere" not in found(http, shop, "blue shirt")
    assert found(http, other_shop, "blue shirt") == ["Blue Shirt Elsewhere"]


@pytest.mark.parametrize(
    "query", ["shirt & !blue", "shirt:*|mug", "shirt')(", "'; DROP TABLE products; --", "\\", "<->"]
)
def test_query_syntax_in_input_is_just_text(http, shop, query):
    body = search(http, shop, query)
    assert isinstance(body["products"], list)


def test_only_punctuation_finds_nothing(http, shop):
    assert search(http, shop, "!!! ...") == {
        "products": [],
        "next_page_token": "",
        "approximate": False,
    }


def test_pages_walk_the_ranking(http, shop):
    everything = found(http, shop, "shirt")
    walked, token = [], ""
    while True:
        body = search(http, shop, "shirt", page_size=2, page_token=token)
        walked += [p["title"] for p in body["products"]]
        token = body["next_page_token"]
        if not token:
            break
    assert walked == everything


def test_bad_requests_name_their_field(http, shop):
    def error(**params) -> str:
        r = http.get("/v1/search", params=params, headers={"host": shop.host})
        assert r.status_code == 400, r.text
        return r.json()["message"]

    assert "query" in error(query="")
    # Spelled %20 (httpx would send "+", which the transcoder keeps as a literal plus).
    r = http.get("/v1/search?query=%20%20%20", headers={"host": shop.host})
    assert r.status_code == 400 and "query" in r.json()["message"]
    assert "query" in error(query="x" * 257)
    assert "page_size" in error(query="shirt", page_size=-1)
    token = search(http, shop, "shirt", page_size=1)["next_page_token"]
    assert "page_token" in error(query="blue", page_token=token)
    assert "page_token" in error(query="shirt", page_token="nonsense")
    list_token = http.get(
        "/v1/products", params={"page_size": 1}, headers={"host": shop.host}
    ).json()["next_page_token"]
    assert "page_token" in error(query="shirt", page_token=list_token)


async def test_grpc_search_through_envoy(stack, shop, other_shop):
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        stub = catalog_pb2_grpc.StorefrontStub(channel)
        reply = await stub.SearchProducts(catalog_pb2.SearchProductsRequest(query="blue sh"))
        assert [p.title for p in reply.products][:2] == ["Blue Shirt", "Blue Oxford Shirt"]
        assert all(p.variants and p.variants[0].price.amount_minor == 1500 for p in reply.products)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SearchProducts(catalog_pb2.SearchProductsRequest(query=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "query" in err.value.details()
