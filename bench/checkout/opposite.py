"""Phase 2b: carts holding the same two variants in opposite order (half A then B, half B then
A), every buyer at once, with stock for all of them. Stock is taken with the rows locked in id
order, so the two halves queue instead of deadlocking: every buyer gets an order, none is
refused for "contention" (409) while stock remains, and the stock left is exact."""

from __future__ import annotations

import asyncio

import httpx

from bench.checkout.hot_sku import buy_at_once
from bench.checkout.platform import Platform
from bench.checkout.shopping import hot_product
from bench.db import scalar
from bench.seeding import add_product


def opposite_carts(p: Platform, buyers: int) -> dict:
    p.emulator_latency(0)
    stock = buyers + 10  # enough for everyone: any refusal is contention, not shortage
    with httpx.Client(base_url=p.stack.edge_url, timeout=10) as http:
        a = add_product(http, p.store, hot_product(stock, "PAIR-A"))["variants"][0]["id"]
        b = add_product(http, p.store, hot_product(stock, "PAIR-B"))["variants"][0]["id"]
        ids = p.carts.write([[a, b] if i % 2 else [b, a] for i in range(buyers)])
        p.carts.check(http, p.store.host, ids[0], 2)
    retries_before = p.serialization_retries()
    result = asyncio.run(buy_at_once(p, ids, "opposite"))
    result["serialization_retries"] = int(p.serialization_retries() - retries_before)
    # Checkouts cut off by a timeout are finished (or undone) by the recovery worker first.
    result["recovered_after_s"] = round(p.wait_recovered(), 1) if p.unfinished() else 0.0
    left = [
        scalar(
            p.admin_db,
            "SELECT inventory_quantity FROM variants WHERE store_id = $1 AND id = $2::uuid",
            p.store.id,
            v,
        )
        for v in (a, b)
    ]
    # Sold as the database counts it: a checkout whose answer Envoy timed out (504 on a busy
    # machine) may still have placed its order.
    sold = [
        scalar(
            p.admin_db,
            "SELECT coalesce(sum(quantity), 0) FROM order_items"
            " WHERE store_id = $1 AND variant_id = $2::uuid",
            p.store.id,
            v,
        )
        for v in (a, b)
    ]
    result.update(
        buyers=buyers,
        stock_each=stock,
        stock_left=left,
        units_sold_in_db=sold,
        every_buyer_served=result["orders"] == buyers,
        exact_stock=[stock - n for n in sold] == left,
    )
    print(
        f"  opposite-order carts: {result['orders']} of {buyers} orders in"
        f" {result['all_answered_ms']} ms, 409: {result['status_409']},"
        f" 400: {result['status_400']}, all statuses {result['statuses_all_attempts']},"
        f" stock left {left}, sold {sold} (exact: {result['exact_stock']})",
        flush=True,
    )
    return result
