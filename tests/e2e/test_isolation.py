"""Each store's host sees only that store's data, over REST and gRPC, through Envoy."""

from __future__ import annotations

import uuid

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from tests.e2e.api_client import admin, grpc_channel


def _titles(http, host: str) -> set[str]:
    r = http.get("/v1/products", headers={"host": host})
    assert r.status_code == 200, r.text
    return {p["title"] for p in r.json()["products"]}


def test_each_host_lists_only_its_own_active_products(http, store_a, store_b):
    assert _titles(http, store_a.host) == {"Alpha Tee", "Alpha Mug"}
    assert _titles(http, store_b.host) == {"Bravo Tee"}  # the draft never shows


def test_same_handle_and_sku_resolve_per_store(http, store_a, store_b):
    a = http.get("/v1/products/tee", headers={"host": store_a.host}).json()
    b = http.get("/v1/products/tee", headers={"host": store_b.host}).json()
    assert a["title"] == "Alpha Tee" and b["title"] == "Bravo Tee"
    assert a["variants"][0]["sku"] == b["variants"][0]["sku"] == "SHARED-1"
    assert a["variants"][0]["price"] == {"amount_minor": "1999", "currency_code": "USD"}


async def test_grpc_storefront_is_isolated_by_authority(stack, store_a, store_b):
    for store, expected in ((store_a, {"Alpha Tee", "Alpha Mug"}), (store_b, {"Bravo Tee"})):
        async with grpc_channel(stack.ports.edge, store.host) as channel:
            stub = catalog_pb2_grpc.StorefrontStub(channel)
            reply = await stub.ListProducts(catalog_pb2.ListProductsRequest())
            assert {p.title for p in reply.products} == expected
            tee = await stub.GetProductByHandle(catalog_pb2.GetProductByHandleRequest(handle="tee"))
            assert tee.title in expected


def test_product_id_of_other_store_is_not_found_like_a_missing_id(http, store_a, store_b):
    b_product = http.get("/v1/products/tee", headers={"host": store_b.host}).json()
    foreign = http.get(f"/v1/admin/products/{b_product['id']}", headers=admin(store_a))
    missing = http.get(f"/v1/admin/products/{uuid.uuid4()}", headers=admin(store_a))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    # The owner still sees it.
    own = http.get(f"/v1/admin/products/{b_product['id']}", headers=admin(store_b))
    assert own.status_code == 200 and own.json()["title"] == "Bravo Tee"


async def test_grpc_product_id_of_other_store_is_not_found(stack, http, store_a, store_b):
    b_product = http.get("/v1/products/tee", headers={"host": store_b.host}).json()
    async with grpc_channel(stack.ports.edge, store_a.host) as channel:
        stub = catalog_pb2_grpc.CatalogAdminStub(channel)
        metadata = (("authorization", f"Bearer {store_a.token}"),)
        with pytest.raises(grpc.aio.AioRpcError) as foreign:
            await stub.GetProduct(
                catalog_pb2.GetProductRequest(id=b_product["id"]), metadata=metadata
            )
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetProduct(
                catalog_pb2.GetProductRequest(id=str(uuid.uuid4())), metadata=metadata
            )
    assert foreign.value.code() == missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert foreign.value.details() == missing.value.details()


def test_storefront_handle_of_other_store_is_not_found(http, store_a, store_b):
    r = http.get("/v1/products/alpha-mug", headers={"host": store_b.host})
    assert r.status_code == 404
