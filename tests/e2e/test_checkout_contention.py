"""No contention refusals: a checkout is refused only when stock is short (DESIGN §5).

Stock is taken with the variants locked FOR UPDATE in id order under READ COMMITTED, so
buyers of the same items queue instead of being told "too much contention" (409): carts that
hold the same two variants in opposite order all succeed, and a hot SKU sells exactly its
stock with everyone else told it is sold out (400), never 409."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.checkout_support import (
    Emulator,
    admin_sql,
    checkout_body,
    merchant,
    stock,
    stock_variant,
)


@pytest.fixture(scope="module")
def emulator(stack):
    em = Emulator(f"http://127.0.0.1:{stack.ports.stripe}")
    em.clear()
    yield em
    em.clear()


@pytest.fixture(scope="module")
async def shop(stack, http):
    return await merchant(stack, http, "race")


def _cart(http: httpx.Client, store, variant_ids: list[str]) -> str:
    r = http.post(
        "/v1/carts",
        headers={"host": store.host},
        json={"lines": [{"variant_id": v, "quantity": 1} for v in variant_ids]},
    )
    assert r.status_code == 200, r.text
    assert [line["variant_id"] for line in r.json()["lines"]] == variant_ids, r.text
    return r.json()["id"]


async def _everyone_at_once(stack, store, carts: list[str], prefix: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(carts))
    async with httpx.AsyncClient(base_url=stack.edge_url, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"/v1/carts/{cart}/checkout",
                    headers={"host": store.host, "idempotency-key": f"{prefix}-{i}"},
                    json=checkout_body(),
                )
                for i, cart in enumerate(carts)
            )
        )


async def test_opposite_order_carts_all_succeed_without_contention(stack, http, shop, emulator):
    buyers = 30
    a = stock_variant(http, shop, buyers)
    b = stock_variant(http, shop, buyers)
    carts = [
        _cart(http, shop, [a["id"], b["id"]] if i % 2 else [b["id"], a["id"]])
        for i in range(buyers)
    ]
    responses = await _everyone_at_once(stack, shop, carts, "opposite")
    odd = {r.status_code: r.text[:200] for r in responses if r.status_code != 200}
    # Stock for everyone: any refusal would be contention (or a deadlock), not shortage.
    assert [r.status_code for r in responses] == [200] * buyers, odd
    assert await stock(stack, a["id"]) == 0 and await stock(stack, b["id"]) == 0
    sold = await admin_sql(
        stack,
        "SELECT variant_id::text AS v, sum(quantity) AS n FROM order_items"
        " WHERE store_id = $1 AND variant_id = ANY($2::uuid[]) GROUP BY variant_id",
        int(shop.id),
        [a["id"], b["id"]],
    )
    assert {r["v"]: r["n"] for r in sold} == {a["id"]: buyers, b["id"]: buyers}


async def test_hot_sku_sells_its_stock_and_refuses_only_for_shortage(stack, http, shop, emulator):
    units, buyers = 15, 120
    hot = stock_variant(http, shop, units)
    carts = [_cart(http, shop, [hot["id"]]) for _ in range(buyers)]
    responses = await _everyone_at_once(stack, shop, carts, "hot")
    codes = [r.status_code for r in responses]
    assert 409 not in codes, [r.text[:200] for r in responses if r.status_code == 409][:3]
    assert codes.count(200) == units, sorted(set(codes))
    refused = [r for r in responses if r.status_code != 200]
    assert all(r.status_code == 400 for r in refused), {r.status_code for r in refused}
    assert all("only 0 left" in r.json()["message"] for r in refused), refused[0].text
    assert await stock(stack, hot["id"]) == 0
    sold = await admin_sql(
        stack,
        "SELECT coalesce(sum(quantity), 0) AS n FROM order_items"
        " WHERE store_id = $1 AND variant_id = $2::uuid",
        int(shop.id),
        hot["id"],
    )
    assert sold[0]["n"] == units
