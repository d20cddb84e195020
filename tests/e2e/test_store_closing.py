"""Closing a store through Envoy: its hosts stop at once; its data stays for the grace period
(4 s in tests), then the erase job sends shop/redact to its webhooks and erases it: no row with
its id in any table that has a store_id (introspected), no Redis key, and the other stores
untouched. The merchant can close their own store, with a confirmation step; an operator can
reinstate a closed store before its erasure begins."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import redis.asyncio as redis

from services.store.tokens.resolver import cache_key
from tests.conftest import CLOSE_GRACE_SECONDS
from tests.e2e.api_client import PLATFORM_HOST, admin, create_product, signup, wait_routable
from tests.e2e.checkout_support import cart_with, checkout_body, merchant, stock_variant
from tests.e2e.lifecycle_support import mint_operator, ops_get, ops_post, rows_of_store


async def store_keys(stack, store_id: str, token: str) -> list[bytes]:
    client = redis.from_url(stack.redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"*:{store_id}:*", count=1000)]
        token_key = cache_key(hashlib.sha256(token.encode()).digest())
        return keys + ([token_key.encode()] if await client.exists(token_key) else [])
    finally:
        await client.aclose()


async def populated(stack, http, prefix: str, webhook_receiver):
    """A store with a bit of everything: products, a paid order, a cart, a custom domain, a
    second token, a shop/redact subscription, a cached token grant."""
    shop = await merchant(stack, http, prefix)
    variant = stock_variant(http, shop, 5)
    create_product(http, shop, "Extra", skus=[f"EXTRA-{shop.id}"])
    paid = http.post(
        f"/v1/carts/{cart_with(http, shop, variant['id'])}/checkout",
        headers={"host": shop.host, "idempotency-key": f"order-{shop.id}"},
        json=checkout_body(),
    )
    assert paid.status_code == 200, paid.text
    cart_with(http, shop, variant["id"])  # left in Redis
    # An automated collection keeps members by price: erasing variants fires the triggers
    # that maintain the product's price range and its memberships.
    collection = http.post(
        "/v1/admin/collections",
        headers=admin(shop),
        json={
            "collection": {
                "title": "Under 100",
                "kind": "COLLECTION_KIND_AUTOMATED",
                "rules": [{"field": "price", "relation": "less_than", "value": "10000"}],
            }
        },
    )
    assert collection.status_code == 200, collection.text
    for path, body in (
        ("/v1/admin/domains", {"domain": f"{shop.subdomain}.closing.example"}),
        ("/v1/admin/access_tokens", {"name": "app", "scopes": ["read_products"]}),
    ):
        assert http.post(path, headers=admin(shop), json=body).status_code == 200
    hook_path = f"/redact-{shop.id}"
    hook = http.post(
        "/v1/admin/webhooks",
        headers=admin(shop),
        json={"topic": "shop/redact", "url": webhook_receiver.base_url + hook_path},
    )
    assert hook.status_code == 200, hook.text
    webhook_receiver.secrets[hook_path] = hook.json()["secret"]
    assert http.get("/v1/admin/store", headers=admin(shop)).status_code == 200  # grant cached
    return shop, hook_path


async def test_close_then_erase_leaves_nothing_of_the_store(stack, http, webhook_receiver):
    operator = mint_operator(stack, "closer")
    shop, hook_path = await populated(stack, http, "closing", webhook_receiver)
    other, _ = await populated(stack, http, "staying", webhook_receiver)
    await asyncio.sleep(1)  # let the order's events settle into both stores' rows
    other_rows = await rows_of_store(stack, other.id)
    other_keys = await store_keys(stack, other.id, other.token)
    rows = await rows_of_store(stack, shop.id)
    assert rows["products"] >= 2 and rows["orders"] == 1 and rows["webhooks"] == 1
    assert rows["collection_products"] >= 2
    assert await store_keys(stack, shop.id, shop.token)

    closed_at = time.monotonic()
    r = ops_post(http, operator, shop.id, "close", reason="merchant asked support")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "STORE_STATUS_CLOSED" and r.json()["erase_after"]

    # The storefront and the admin API stop at once: the hosts are no longer routed.
    while http.get("/v1/products", headers={"host": shop.host}).status_code != 404:
        assert time.monotonic() - closed_at < 1.0, "still routed a second after closing"
        await asyncio.sleep(0.01)
    assert http.get("/v1/admin/store", headers=admin(shop)).status_code == 404
    # The data stays through the grace period.
    during = await rows_of_store(stack, shop.id)
    assert time.monotonic() - closed_at < CLOSE_GRACE_SECONDS, "too slow to see the grace"
    assert during["stores"] == 1 and during["products"] == rows["products"]

    # Then it is erased: nothing left in any table that has a store_id.
    deadline = closed_at + CLOSE_GRACE_SECONDS + 30
    while any((await rows_of_store(stack, shop.id)).values()):
        assert time.monotonic() < deadline, await rows_of_store(stack, shop.id)
        await asyncio.sleep(0.2)
    erased_at = time.monotonic()
    assert erased_at - closed_at >= CLOSE_GRACE_SECONDS
    left = await rows_of_store(stack, shop.id)
    assert set(left) >= {"products", "variants", "orders", "outbox", "webhook_deliveries"}
    assert all(count == 0 for count in left.values()), left
    assert await store_keys(stack, shop.id, shop.token) == []

    # shop/redact reached the store's webhook before its rows went.
    [redact] = webhook_receiver.requests_to(hook_path)
    assert redact.headers["x-shop-topic"] == "shop/redact"
    assert redact.signature_valid
    assert json.loads(redact.body) == {
        "shop_id": int(shop.id),
        "shop_domain": f"{shop.subdomain}.myshop.localhost",
    }
    assert closed_at + CLOSE_GRACE_SECONDS <= redact.at <= erased_at

    # The other store is untouched.
    assert await rows_of_store(stack, other.id) == other_rows
    assert await store_keys(stack, other.id, other.token) == other_keys
    assert http.get("/v1/admin/store", headers=admin(other)).status_code == 200
    assert webhook_receiver.requests_to(f"/redact-{other.id}") == []

    # The operators' record of it stays, without the merchant's data; the store is gone.
    assert ops_get(http, operator, f"stores/{shop.id}").status_code == 404
    trail = ops_get(http, operator, "audit_events", store_id=shop.id).json()["events"]
    assert "CloseStore" in [e["action"] for e in trail]
    assert shop.subdomain not in json.dumps(trail)
    # And its subdomain is free again.
    again = http.post(
        "/v1/stores",
        headers={"host": PLATFORM_HOST},
        json={
            "name": "Reborn",
            "subdomain": shop.subdomain,
            "owner_email": "new@example.com",
            "currency": "EUR",
        },
    )
    assert again.status_code == 200, again.text


def test_merchant_closes_own_store_with_a_confirmation(stack, http):
    shop = signup(http, "selfclose")
    offer = http.post("/v1/admin/store:requestClosure", headers=admin(shop), json={})
    assert offer.status_code == 200, offer.text
    token = offer.json()["confirmation_token"]
    assert offer.json()["erase_after"] and offer.json()["expires_at"]
    # Nothing has changed yet.
    assert http.get("/v1/products", headers={"host": shop.host}).status_code == 200

    wrong_token = http.post(
        "/v1/admin/store:close",
        headers=admin(shop),
        json={"confirmation_token": "not-it", "subdomain": shop.subdomain},
    )
    assert wrong_token.status_code == 400
    assert "confirmation_token" in wrong_token.json()["message"]
    wrong_name = http.post(
        "/v1/admin/store:close",
        headers=admin(shop),
        json={"confirmation_token": token, "subdomain": "someone-else"},
    )
    assert wrong_name.status_code == 400
    assert wrong_name.json()["details"][0]["field_violations"][0]["field"] == "subdomain"
    assert http.get("/v1/admin/store", headers=admin(shop)).json()["status"] == (
        "STORE_STATUS_ACTIVE"
    )

    closed = http.post(
        "/v1/admin/store:close",
        headers=admin(shop),
        json={"confirmation_token": token, "subdomain": shop.subdomain},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "STORE_STATUS_CLOSED"
    started = time.monotonic()
    while http.get("/v1/products", headers={"host": shop.host}).status_code != 404:
        assert time.monotonic() - started < 1.0
        time.sleep(0.01)

    # Within the grace period an operator can bring it back, everything intact.
    operator = mint_operator(stack, "support", ("suspend_stores", "read_stores"))
    back = ops_post(http, operator, shop.id, "reinstate", reason="closed by mistake")
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "STORE_STATUS_ACTIVE" and "erase_after" not in back.json()
    wait_routable(http, shop.host)
    assert http.get("/v1/admin/store", headers=admin(shop)).status_code == 200
    # The confirmation was used up: it cannot close the store a second time.
    reuse = http.post(
        "/v1/admin/store:close",
        headers=admin(shop),
        json={"confirmation_token": token, "subdomain": shop.subdomain},
    )
    assert reuse.status_code == 400
