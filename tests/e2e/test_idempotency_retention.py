"""An Idempotency-Key past retention: before pruning the same key with another request is
refused; once the reaper has pruned the finished checkout (24 h after it finished; here its
finish is moved back a day) the key is free and the same key is a new request — a new payment
and a new order, exactly as Stripe treats a key older than 24 hours."""

from __future__ import annotations

from devstack.dsn import REAPER_ROLE, with_user
from services.common.db import create_pool
from services.events.retention import Reaper, RetentionConfig
from tests.e2e.checkout_support import admin_sql, cart_with, checkout_body, merchant, stock_variant


def checkout(http, store, cart: str, key: str):
    return http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": store.host, "idempotency-key": key},
        json=checkout_body(),
    )


async def reap_checkouts(stack) -> int:
    pool = await create_pool(with_user(stack.pg_admin_dsn, REAPER_ROLE, stack.database), 2)
    try:
        return await Reaper(pool, RetentionConfig.from_env()).reap("checkouts")
    finally:
        await pool.close()


async def test_a_pruned_key_is_a_new_request(stack, http):
    shop = await merchant(stack, http, "prune")
    variant = stock_variant(http, shop, 5, price=1500)
    first = checkout(http, shop, cart_with(http, shop, variant["id"]), "prune-key-1")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "paid"

    # Within retention: another cart under the same key is "a different request".
    refused = checkout(http, shop, cart_with(http, shop, variant["id"]), "prune-key-1")
    assert refused.status_code == 400 and "different" in refused.json()["message"]
    # Nothing to prune yet: it finished moments ago.
    assert await reap_checkouts(stack) == 0

    await admin_sql(
        stack,
        "UPDATE checkouts SET updated_at = now() - interval '25 hours'"
        " WHERE store_id = $1 AND idempotency_key = 'prune-key-1'",
        int(shop.id),
    )
    assert await reap_checkouts(stack) == 1

    # Past retention: the key starts a new checkout — a second payment and order.
    again = checkout(http, shop, cart_with(http, shop, variant["id"]), "prune-key-1")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "paid"
    assert again.json()["checkout_id"] != first.json()["checkout_id"]
    assert again.json()["order"]["id"] != first.json()["order"]["id"]
    orders = await admin_sql(
        stack, "SELECT checkout_id FROM orders WHERE store_id = $1 ORDER BY number", int(shop.id)
    )
    # The first order keeps the id of the checkout that placed it, though that row is gone.
    assert [str(o["checkout_id"]) for o in orders] == [
        first.json()["checkout_id"],
        again.json()["checkout_id"],
    ]
