"""Admin APIs need a token of the store whose host they are called on."""

from __future__ import annotations

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from tests.e2e.api_client import grpc_channel, product_body


def test_other_stores_token_is_forbidden(http, store_a, store_b):
    r = http.get(
        "/v1/admin/store",
        headers={"host": store_a.host, "authorization": f"Bearer {store_b.token}"},
    )
    assert r.status_code == 403
    assert "does not belong to this store" in r.json()["message"]


def test_missing_token_is_unauthorized(http, store_a):
    r = http.post(
        "/v1/admin/products",
        headers={"host": store_a.host},
        json=product_body("Sneaky", skus=["X-1"]),
    )
    assert r.status_code == 401
    assert "Bearer" in r.json()["message"]


def test_unknown_token_is_unauthorized(http, store_a):
    r = http.get(
        "/v1/admin/store",
        headers={"host": store_a.host, "authorization": "Bearer shpat_not-a-token"},
    )
    assert r.status_code == 401


def test_other_stores_token_cannot_write(http, store_a, store_b):
    r = http.post(
        "/v1/admin/products",
        headers={"host": store_a.host, "authorization": f"Bearer {store_b.token}"},
        json=product_body("Planted", skus=["PLANTED-1"]),
    )
    assert r.status_code == 403
    assert "Planted" not in {
        p["title"]
        for p in http.get("/v1/products", headers={"host": store_a.host}).json()["products"]
    }


async def test_grpc_statuses_for_wrong_and_missing_token(stack, store_a, store_b):
    async with grpc_channel(stack.ports.edge, store_a.host) as channel:
        stub = catalog_pb2_grpc.CatalogAdminStub(channel)
        request = catalog_pb2.GetProductRequest(id="00000000-0000-0000-0000-000000000000")
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await stub.GetProduct(request, metadata=(("authorization", f"Bearer {store_b.token}"),))
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetProduct(request)
    assert wrong.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_storefront_needs_no_token(http, store_a):
    assert http.get("/v1/products", headers={"host": store_a.host}).status_code == 200
