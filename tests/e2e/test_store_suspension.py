"""Suspending a store through the operator API, through Envoy: its storefront, cart and checkout
answer 503 / UNAVAILABLE "this store is unavailable" (checkout before reserving anything), its
admin API keeps answering reads and refuses writes, its webhooks wait; reinstated, everything
works again and nothing was lost. Other stores never notice."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.checkout.v1 import checkout_pb2, checkout_pb2_grpc

from services.common.db import create_pool
from services.store.edge.routes import STORE_UNAVAILABLE
from tests.e2e.api_client import admin, create_product, grpc_channel, product_body, signup
from tests.e2e.checkout_support import cart_with, checkout_body, merchant, stock, stock_variant
from tests.e2e.lifecycle_support import mint_operator, ops_post
from tests.integration.events_support import emit, low_stock
from tests.support.polling import seconds_until


@pytest.fixture(scope="module")
def operator(stack):
    return mint_operator(stack, "suspender", ("read_stores", "suspend_stores", "read_audit"))


def wait_status(http, host: str, path: str, status: int, within: float = 2.0) -> float:
    """Seconds until `path` on `host` answers `status` (a route push reaching the edge)."""
    return seconds_until(
        lambda: http.get(path, headers={"host": host}).status_code == status,
        within=within,
        what=f"{host}{path} to answer {status}",
    )


def deliveries(http, store, webhook_id: str) -> list[dict]:
    r = http.get(f"/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin(store))
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


async def test_suspend_then_reinstate(stack, http, operator, webhook_receiver):
    shop = await merchant(stack, http, "susp")
    neighbour = signup(http, "susp-neighbour")
    variant = stock_variant(http, shop, 5, price=1500)
    paid = http.post(
        f"/v1/carts/{cart_with(http, shop, variant['id'])}/checkout",
        headers={"host": shop.host, "idempotency-key": "before-suspension"},
        json=checkout_body(),
    )
    assert paid.status_code == 200, paid.text
    waiting_cart = cart_with(http, shop, variant["id"])
    path = f"/susp-{shop.id}"
    hook = http.post(
        "/v1/admin/webhooks",
        headers=admin(shop),
        json={"topic": "inventory/low", "url": webhook_receiver.base_url + path},
    )
    assert hook.status_code == 200, hook.text
    webhook_receiver.secrets[path] = hook.json()["secret"]
    webhook_id = hook.json()["webhook"]["id"]
    product = create_product(http, shop, "Kept Tee", skus=[f"KEPT-{shop.id}"])
    product_path = f"/v1/admin/products/{product['id']}"
    storefront_before = http.get("/v1/products", headers={"host": shop.host}).json()

    r = ops_post(http, operator, shop.id, "suspend", reason="chargebacks under review")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "STORE_STATUS_SUSPENDED"
    assert wait_status(http, shop.host, "/v1/products", 503) < 1.0

    # Storefront, cart and checkout: the documented status, over REST and gRPC.
    r = http.get("/v1/products", headers={"host": shop.host})
    assert r.status_code == 503
    assert r.json()["message"] == STORE_UNAVAILABLE and r.json()["code"] == 14
    assert http.post("/v1/carts", headers={"host": shop.host}, json={}).status_code == 503
    refused = http.post(
        f"/v1/carts/{waiting_cart}/checkout",
        headers={"host": shop.host, "idempotency-key": "during-suspension"},
        json=checkout_body(),
    )
    assert refused.status_code == 503 and refused.json()["message"] == STORE_UNAVAILABLE
    assert await stock(stack, variant["id"]) == 4  # nothing reserved
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as listing:
            await catalog_pb2_grpc.StorefrontStub(channel).ListProducts(
                catalog_pb2.ListProductsRequest()
            )
        with pytest.raises(grpc.aio.AioRpcError) as checkout:
            await checkout_pb2_grpc.CheckoutStub(channel).Checkout(
                checkout_pb2.CheckoutRequest(cart_id=waiting_cart),
                metadata=(("idempotency-key", "grpc-during-suspension"),),
            )
    for err in (listing.value, checkout.value):
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert err.details() == STORE_UNAVAILABLE

    # The admin API reads, and refuses writes.
    store = http.get("/v1/admin/store", headers=admin(shop))
    assert store.status_code == 200 and store.json()["status"] == "STORE_STATUS_SUSPENDED"
    assert http.get(product_path, headers=admin(shop)).json() == product
    assert http.get("/v1/admin/orders", headers=admin(shop)).status_code == 200
    write = http.post("/v1/admin/products", headers=admin(shop), json=product_body("No", skus=[]))
    assert write.status_code == 403 and "suspended" in write.json()["message"]

    # Webhooks wait: the event is recorded, its delivery stays pending.
    pool = await create_pool(stack.app_dsn, 1)
    try:
        await emit(pool, int(shop.id), low_stock(int(shop.id), key=uuid.uuid4().hex))
    finally:
        await pool.close()
    deadline = time.monotonic() + 15
    while not deliveries(http, shop, webhook_id):
        assert time.monotonic() < deadline, "the delivery was never recorded"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # several delivery-worker passes
    assert [d["status"] for d in deliveries(http, shop, webhook_id)] == ["pending"]
    assert webhook_receiver.requests_to(path) == []

    # The neighbour never noticed.
    assert http.get("/v1/products", headers={"host": neighbour.host}).status_code == 200

    r = ops_post(http, operator, shop.id, "reinstate", reason="cleared")
    assert r.status_code == 200 and r.json()["status"] == "STORE_STATUS_ACTIVE"
    assert wait_status(http, shop.host, "/v1/products", 200) < 1.0

    # Everything works again, nothing was lost.
    deadline = time.monotonic() + 15
    while [d["status"] for d in deliveries(http, shop, webhook_id)] != ["delivered"]:
        assert time.monotonic() < deadline, deliveries(http, shop, webhook_id)
        await asyncio.sleep(0.1)
    assert len(webhook_receiver.requests_to(path)) == 1
    assert http.get(product_path, headers=admin(shop)).json() == product
    assert http.get("/v1/products", headers={"host": shop.host}).json() == storefront_before
    assert len(http.get("/v1/admin/orders", headers=admin(shop)).json()["orders"]) == 1
    again = http.post(
        f"/v1/carts/{waiting_cart}/checkout",
        headers={"host": shop.host, "idempotency-key": "after-reinstatement"},
        json=checkout_body(),
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "paid"
    assert await stock(stack, variant["id"]) == 3
    created = http.post(
        "/v1/admin/products", headers=admin(shop), json=product_body("Back", skus=["BACK-1"])
    )
    assert created.status_code == 200, created.text
