"""Helpers for checkout tests: a store with stock on the top plan, carts, and the emulator's
control API."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from devstack.dsn import with_database
from devstack.payments import onboard
from tests.e2e.api_client import StoreHandle, admin, signup, wait_routable
from tests.support.polling import eventually

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def checkout_body(payment_method: str = "pm_card_visa", email: str = "ada@example.com") -> dict:
    return {"email": email, "shipping_address": ADDRESS, "payment_method": payment_method}


async def admin_sql(stack, sql: str, *args):
    conn = await asyncpg.connect(with_database(stack.pg_admin_dsn, stack.database))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def merchant(
    stack, http: httpx.Client, prefix: str, *, onboarded: bool = True
) -> StoreHandle:
    """A store on the top plan, so a burst of buyers measures checkout, not the rate limit;
    onboarded to Stripe Connect (through the API and the emulator) unless told otherwise."""
    store = signup(http, prefix)
    await admin_sql(stack, "UPDATE stores SET plan = 'enterprise' WHERE id = $1", int(store.id))
    wait_routable(http, store.host)
    if onboarded:
        onboard(http, store.host, store.token, stack.stripe_url)
    return store


def stock_variant(
    http: httpx.Client, store: StoreHandle, quantity: int, price: int = 2500, policy: str = "DENY"
) -> dict:
    sku = f"CK-{uuid.uuid4().hex[:8]}"
    r = http.post(
        "/v1/admin/products",
        headers=admin(store),
        json={
            "title": f"Item {sku}",
            "status": "PRODUCT_STATUS_ACTIVE",
            "variants": [
                {
                    "sku": sku,
                    "price": {"amount_minor": price},
                    "inventory_quantity": quantity,
                    "inventory_policy": f"INVENTORY_POLICY_{policy}",
                }
            ],
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["variants"][0]


def cart_with(http: httpx.Client, store: StoreHandle, variant_id: str, quantity: int = 1) -> str:
    r = http.post(
        "/v1/carts",
        headers={"host": store.host},
        json={"lines": [{"variant_id": variant_id, "quantity": quantity}]},
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def stock(stack, variant_id: str) -> int:
    rows = await admin_sql(
        stack, "SELECT inventory_quantity FROM variants WHERE id = $1::uuid", variant_id
    )
    return rows[0]["inventory_quantity"]


class Emulator:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def fault(self, kind: str, *, times: int = 1, seconds: float | None = None, **match) -> None:
        spec = {"kind": kind, "path": "/v1/payment_intents", "times": times, "match": match}
        if seconds is not None:
            spec["seconds"] = seconds
        r = self.http.post("/_emulator/faults", json=spec)
        assert r.status_code == 200, r.text

    def latency(self, ms: int, **match) -> None:
        r = self.http.post(
            "/_emulator/latency", json={"ms": ms, "path": "/v1/payment_intents", "match": match}
        )
        assert r.status_code == 200, r.text

    def clear(self) -> None:
        self.http.delete("/_emulator/faults")
        self.http.delete("/_emulator/latency")

    def intent_creates(self, checkout_id: str) -> list[dict]:
        rows = self.http.get(
            "/_emulator/requests", params={"method": "POST", "path": "/v1/payment_intents"}
        ).json()
        return [r for r in rows["data"] if checkout_id in (r.get("idempotency_key") or "")]

    def intent_creates_for_amount(self, amount: int) -> list[dict]:
        """Distinct intents Stripe created for `amount` (replays of one key count once)."""
        rows = self.http.get(
            "/_emulator/requests", params={"method": "POST", "path": "/v1/payment_intents"}
        ).json()["data"]
        return list(
            {
                r["idempotency_key"]: r
                for r in rows
                if r.get("fields", {}).get("amount") == str(amount) and r["status"] < 500
            }.values()
        )

    def authenticate(self, intent_id: str, outcome: str = "succeed") -> None:
        r = self.http.post(
            f"/_emulator/payment_intents/{intent_id}/authenticate", json={"outcome": outcome}
        )
        assert r.status_code == 200, r.text


def wait(predicate, within: float = 20.0, what: str = "condition"):
    return eventually(predicate, within=within, what=what, every=0.05)
