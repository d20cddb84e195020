"""Phase 2: one variant with little stock and many buyers at once, each with its own cart; a
409 (contention, ABORTED) is retried with the same Idempotency-Key, as a client would. Exactly
the stock must sell, and the rest be told it is sold out (400)."""

from __future__ import annotations

import asyncio
import random
import time

import httpx

from bench.checkout.platform import Platform
from bench.checkout.shopping import CHECKOUT_BODY, hot_product
from bench.db import scalar
from bench.seeding import add_product


def hot_sku(p: Platform, stock: int, buyers: int) -> dict:
    p.emulator_latency(0)
    with httpx.Client(base_url=p.stack.edge_url, timeout=10) as http:
        variant = add_product(http, p.store, hot_product(stock))["variants"][0]["id"]
        ids = p.carts.write([[variant] for _ in range(buyers)])
        p.carts.check(http, p.store.host, ids[0], 1)
    retries_before = p.serialization_retries()
    result = asyncio.run(buy_at_once(p, ids, "hot"))
    result["serialization_retries"] = int(p.serialization_retries() - retries_before)
    sold = scalar(
        p.admin_db,
        "SELECT coalesce(sum(quantity), 0) FROM order_items"
        " WHERE store_id = $1 AND variant_id = $2::uuid",
        p.store.id,
        variant,
    )
    left = scalar(
        p.admin_db,
        "SELECT inventory_quantity FROM variants WHERE store_id = $1 AND id = $2::uuid",
        p.store.id,
        variant,
    )
    result.update(
        stock=stock,
        buyers=buyers,
        units_sold_in_db=sold,
        stock_left=left,
        exactly_stock_sold=(result["orders"] == stock == sold and left == 0),
    )
    print(
        f"  hot SKU: {result['orders']} orders, sold out in {result['sell_out_ms']} ms,"
        f" 400: {result['status_400']}, 409: {result['status_409']}, stock left {left},"
        f" serialization retries {result['serialization_retries']}",
        flush=True,
    )
    return result


async def buy_at_once(p: Platform, cart_ids: list[str], prefix: str) -> dict:
    """All buyers at once, one per cart; a 409 is retried with the same key (counted)."""
    limits = httpx.Limits(max_connections=len(cart_ids), max_keepalive_connections=0)
    first: dict[int, int] = {}
    seen: dict[int, int] = {}
    done_at: list[float] = []
    async with httpx.AsyncClient(base_url=p.stack.edge_url, timeout=60, limits=limits) as client:
        started = time.monotonic()

        async def buy(cart_id: str) -> None:
            key = f"{prefix}-{cart_id}"
            for attempt in range(20):
                r = await client.post(
                    f"/v1/carts/{cart_id}/checkout",
                    headers={"host": p.store.host, "idempotency-key": key},
                    json=CHECKOUT_BODY,
                )
                seen[r.status_code] = seen.get(r.status_code, 0) + 1
                if attempt == 0:
                    first[r.status_code] = first.get(r.status_code, 0) + 1
                if r.status_code != 409:
                    break
                await asyncio.sleep(random.uniform(0.01, 0.05))
            if r.status_code == 200:
                done_at.append(time.monotonic() - started)

        await asyncio.gather(*(buy(c) for c in cart_ids))
        finished = time.monotonic() - started
    done_at.sort()
    return {
        "orders": len(done_at),
        "sell_out_ms": round(1000 * done_at[-1], 1) if done_at else None,
        "all_answered_ms": round(1000 * finished, 1),
        "status_400": seen.get(400, 0),
        "status_409": seen.get(409, 0),
        "statuses_all_attempts": {str(k): v for k, v in sorted(seen.items())},
        "statuses_first_attempt": {str(k): v for k, v in sorted(first.items())},
    }
