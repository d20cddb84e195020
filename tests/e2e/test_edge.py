"""The edge decides the store from the Host alone: unknown hosts get 404 and nothing a client
sends in x-store-id changes the store."""

from __future__ import annotations

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.store.v1 import store_pb2, store_pb2_grpc

from tests.e2e.api_client import admin, grpc_channel, signup, wait_routable


def test_unknown_host_is_404(http, store_a):
    r = http.get("/v1/products", headers={"host": "no-such-store.myshop.localhost"})
    assert r.status_code == 404
    r = http.get("/v1/products", headers={"host": "evil.example.com"})
    assert r.status_code == 404


async def test_unknown_host_over_grpc_is_unimplemented(stack, store_a):
    async with grpc_channel(stack.ports.edge, "no-such-store.myshop.localhost") as channel:
        stub = catalog_pb2_grpc.StorefrontStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListProducts(catalog_pb2.ListProductsRequest())
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def _titles(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {p["title"] for p in response.json()["products"]}


def test_client_x_store_id_is_replaced(http, store_a, store_b):
    r = http.get("/v1/products", headers={"host": store_a.host, "x-store-id": store_b.id})
    assert _titles(r) == {"Alpha Tee", "Alpha Mug"}


def test_duplicated_client_x_store_id_is_replaced(http, store_a, store_b):
    headers = [("host", store_a.host), ("x-store-id", store_b.id), ("x-store-id", store_b.id)]
    r = http.get("/v1/products", headers=headers)
    assert _titles(r) == {"Alpha Tee", "Alpha Mug"}


def test_underscore_header_variant_is_rejected(http, store_a, store_b):
    r = http.get("/v1/products", headers={"host": store_a.host, "x_store_id": store_b.id})
    assert r.status_code == 400


def test_admin_api_ignores_client_x_store_id(http, store_a, store_b):
    r = http.get("/v1/admin/store", headers={**admin(store_a), "x-store-id": store_b.id})
    assert r.status_code == 200
    assert r.json()["id"] == store_a.id


async def test_grpc_metadata_x_store_id_is_replaced(stack, store_a, store_b):
    async with grpc_channel(stack.ports.edge, store_a.host) as channel:
        stub = catalog_pb2_grpc.StorefrontStub(channel)
        reply = await stub.ListProducts(
            catalog_pb2.ListProductsRequest(),
            metadata=(("x-store-id", store_b.id), ("x-store-id", store_b.id)),
        )
        assert {p.title for p in reply.products} == {"Alpha Tee", "Alpha Mug"}
        admin_stub = store_pb2_grpc.StoreAdminStub(channel)
        store = await admin_stub.GetStore(
            store_pb2.GetStoreRequest(),
            metadata=(("authorization", f"Bearer {store_a.token}"), ("x-store-id", store_b.id)),
        )
        assert store.id == store_a.id


def test_host_variants_reach_the_same_store(http, store_a):
    for host in (store_a.host.upper(), f"{store_a.host}:8080", f"{store_a.host}."):
        assert _titles(http.get("/v1/products", headers={"host": host})) == {
            "Alpha Tee",
            "Alpha Mug",
        }


def test_new_store_is_routable_within_one_second(http):
    store = signup(http, "fresh")
    # signup() already waited; measure a second one from the moment signup returns.
    assert store.host.endswith(".myshop.localhost")
    r = http.post(
        "/v1/stores",
        headers={"host": "api.myshop.localhost"},
        json={
            "name": "Quick",
            "subdomain": f"quick-{store.subdomain[-8:]}",
            "owner_email": "q@example.com",
            "currency": "EUR",
        },
    )
    assert r.status_code == 200, r.text
    assert wait_routable(http, r.json()["store"]["primary_domain"], timeout=5) < 1.0
