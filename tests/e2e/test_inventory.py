"""Inventory through Envoy: optimistic adjustments, bulk sync, events in the same transaction,
low-stock crossing, and isolation between stores."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests.e2e.api_client import admin, signup


@pytest.fixture(scope="module")
def shop(http):
    return signup(http, "stock")


def _variant(http, store, title: str, sku: str, quantity: int = 10, policy: str = "DENY") -> dict:
    body = {
        "title": title,
        "status": "PRODUCT_STATUS_ACTIVE",
        "variants": [
            {
                "sku": sku,
                "price": {"amount_minor": 500},
                "inventory_quantity": quantity,
                "inventory_policy": f"INVENTORY_POLICY_{policy}",
            }
        ],
    }
    r = http.post("/v1/admin/products", headers=admin(store), json=body)
    assert r.status_code == 200, r.text
    return r.json()["variants"][0]


def _adjust(http, store, variant_id: str, delta: int, version: int) -> httpx.Response:
    return http.post(
        f"/v1/admin/variants/{variant_id}/inventory:adjust",
        headers=admin(store),
        json={"delta": delta, "expected_version": version},
    )


async def _outbox(stack, store_id: str, variant_id: str) -> list[str]:
    conn = await asyncpg.connect(stack.app_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_store_id', $1, true)", store_id)
            rows = await conn.fetch(
                "SELECT routing_key FROM outbox WHERE payload->'data'->>'variant_id' = $1"
                " ORDER BY id",
                variant_id,
            )
        return [r["routing_key"] for r in rows]
    finally:
        await conn.close()


async def test_concurrent_adjustments_with_one_version_let_exactly_one_win(stack, http, shop):
    variant = _variant(http, shop, "Race", "RACE-1", quantity=100)
    version = variant["version"]
    async with httpx.AsyncClient(base_url=stack.edge_url, timeout=10) as client:
        for round_ in range(5):
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"/v1/admin/variants/{variant['id']}/inventory:adjust",
                        headers=admin(shop),
                        json={"delta": -1 - i, "expected_version": version},
                    )
                    for i in range(2)
                )
            )
            codes = sorted(r.status_code for r in responses)
            assert codes == [200, 409], (round_, [r.text for r in responses])
            winner = next(r for r in responses if r.status_code == 200).json()
            loser = next(r for r in responses if r.status_code == 409).json()
            assert f"version {winner['version']}" in loser["message"]
            assert f"quantity {winner['quantity']}" in loser["message"]
            version = winner["version"]
    product = http.get(
        f"/v1/admin/products/{_product_id(http, shop, 'RACE-1')}", headers=admin(shop)
    ).json()
    final = product["variants"][0]
    assert final["version"] == version
    assert 100 - 10 <= final["inventory_quantity"] <= 100 - 5  # one delta (-1 or -2) per round


def _product_id(http, store, sku: str) -> str:
    r = http.get("/v1/products", headers={"host": store.host}, params={"page_size": 250})
    for p in r.json()["products"]:
        if any(v["sku"] == sku for v in p["variants"]):
            return p["id"]
    raise AssertionError(f"{sku} not listed")


def test_adjustment_errors(http, shop):
    variant = _variant(http, shop, "Few", "FEW-1", quantity=2)
    r = _adjust(http, shop, variant["id"], -3, variant["version"])
    assert r.status_code == 400 and "backorders" in r.json()["message"]  # FAILED_PRECONDITION
    r = _adjust(http, shop, variant["id"], 0, variant["version"])
    assert (
        r.status_code == 400 and r.json()["details"][0]["field_violations"][0]["field"] == "delta"
    )
    r = _adjust(http, shop, variant["id"], 1, 0)
    assert r.status_code == 400 and "expected_version" in r.json()["message"]
    backorder = _variant(http, shop, "Backorder", "BACK-1", quantity=0, policy="CONTINUE")
    r = _adjust(http, shop, backorder["id"], -4, backorder["version"])
    assert r.status_code == 200 and r.json()["quantity"] == -4


async def test_each_change_writes_one_event_and_low_stock_fires_once_per_crossing(
    stack, http, shop
):
    variant = _variant(http, shop, "Lamp", "LAMP-1", quantity=10)  # threshold 5 by default
    steps = [
        (-6, ["adjusted", "low"]),
        (-1, ["adjusted"]),
        (+10, ["adjusted"]),
        (-10, ["adjusted", "low"]),
    ]
    version = variant["version"]
    expected: list[str] = []
    for delta, kinds in steps:
        r = _adjust(http, shop, variant["id"], delta, version)
        assert r.status_code == 200, r.text
        version = r.json()["version"]
        expected += [f"inventory.{k}.{shop.id}" for k in kinds]
        assert await _outbox(stack, shop.id, variant["id"]) == expected
    # A refused adjustment writes nothing.
    assert _adjust(http, shop, variant["id"], -1, version - 1).status_code == 409
    assert await _outbox(stack, shop.id, variant["id"]) == expected
    # The two low-stock events reach the alerts consumer and the admin API.
    deadline = time.monotonic() + 20
    while True:
        alerts = http.get("/v1/admin/inventory-alerts", headers=admin(shop)).json()["alerts"]
        mine = [a for a in alerts if a["variant_id"] == variant["id"]]
        if len(mine) == 2:
            break
        assert time.monotonic() < deadline, alerts
        await asyncio.sleep(0.1)
    assert sorted(a["quantity"] for a in mine) == [3, 4] and mine[0]["threshold"] == 5


async def test_sync_sets_known_lists_unknown_and_is_all_or_nothing(stack, http, shop, store_b):
    a = _variant(http, shop, "Sync A", "SYNC-A", quantity=1)
    b = _variant(http, shop, "Sync B", "SYNC-B", quantity=7)
    r = http.post(
        "/v1/admin/inventory:sync",
        headers=admin(shop),
        json={
            "lines": [
                {"sku": "SYNC-A", "quantity": 40},
                {"sku": "NOPE-1", "quantity": 3},
                {"sku": "SYNC-B", "quantity": 7},
                {"sku": "SHARED-1", "quantity": 99},
            ]
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # SHARED-1 exists only in store B: on this store it is unknown, and B is untouched.
    assert body["unknown_skus"] == ["NOPE-1", "SHARED-1"]
    results = {x["sku"]: x for x in body["results"]}
    assert results["SYNC-A"]["quantity"] == 40 and results["SYNC-A"]["changed"] is True
    assert results["SYNC-B"]["changed"] is False
    assert await _outbox(stack, shop.id, a["id"]) == [f"inventory.synced.{shop.id}"]
    assert await _outbox(stack, shop.id, b["id"]) == []
    b_tee = http.get("/v1/products/tee", headers={"host": store_b.host}).json()
    assert b_tee["variants"][0]["available"] is True

    # One bad line refuses the whole call: nothing applied, no events.
    r = http.post(
        "/v1/admin/inventory:sync",
        headers=admin(shop),
        json={"lines": [{"sku": "SYNC-A", "quantity": 5}, {"sku": "SYNC-B", "quantity": -1}]},
    )
    assert r.status_code == 400
    assert r.json()["details"][0]["field_violations"][0]["field"] == "lines[1].quantity"
    product = http.get(
        f"/v1/admin/products/{_product_id(http, shop, 'SYNC-A')}", headers=admin(shop)
    ).json()
    assert product["variants"][0]["inventory_quantity"] == 40
    assert await _outbox(stack, shop.id, a["id"]) == [f"inventory.synced.{shop.id}"]

    r = http.post(
        "/v1/admin/inventory:sync",
        headers=admin(shop),
        json={"lines": [{"sku": "X", "quantity": 1}] * 2},
    )
    assert r.status_code == 400 and "duplicates" in r.json()["message"]
    r = http.post(
        "/v1/admin/inventory:sync",
        headers=admin(shop),
        json={"lines": [{"sku": f"S{i}", "quantity": 1} for i in range(1001)]},
    )
    assert r.status_code == 400 and "1000" in r.json()["message"]


def test_other_stores_variant_is_not_found_and_unchanged(http, shop, store_b):
    b_product = http.get("/v1/products/tee", headers={"host": store_b.host}).json()
    b_variant = b_product["variants"][0]
    before = http.get(f"/v1/admin/products/{b_product['id']}", headers=admin(store_b)).json()
    r = _adjust(http, shop, b_variant["id"], -1, 1)
    assert r.status_code == 404
    r = http.patch(
        f"/v1/admin/variants/{b_variant['id']}", headers=admin(shop), json={"title": "hijack"}
    )
    assert r.status_code == 404
    assert (
        http.delete(f"/v1/admin/variants/{b_variant['id']}", headers=admin(shop)).status_code == 404
    )
    after = http.get(f"/v1/admin/products/{b_product['id']}", headers=admin(store_b)).json()
    assert after == before


def test_write_inventory_scope_is_required(http, shop):
    variant = _variant(http, shop, "Scoped", "SCOPE-1")
    r = http.post(
        "/v1/admin/access_tokens",
        headers=admin(shop),
        json={"name": "reader", "scopes": ["read_products"]},
    )
    assert r.status_code == 200, r.text
    reader = r.json()["token"]
    r = http.post(
        f"/v1/admin/variants/{variant['id']}/inventory:adjust",
        headers={"host": shop.host, "authorization": f"Bearer {reader}"},
        json={"delta": 1, "expected_version": variant["version"]},
    )
    assert r.status_code == 403 and "write_inventory" in r.json()["message"]
