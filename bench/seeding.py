"""Bench setup shared by the benchmarks: a store with one product signed up through the API,
and the store's plan set straight in the database (billing's job; no API for it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx

HANDLE = "bench-tee"
# Benchmarks measure the edge and the services, not the per-store rate limit.
UNLIMITED_PLAN = "enterprise"


@dataclass(frozen=True)
class BenchStore:
    id: int
    host: str
    token: str


def seed_store(http: httpx.Client, wait: Callable[[str], object]) -> BenchStore:
    """Signs up a store, waits (with `wait(host)`) until the edge routes it, adds a product with
    five variants and checks the storefront serves it."""
    subdomain = f"bench-{uuid.uuid4().hex[:8]}"
    r = http.post(
        "/v1/stores",
        headers={"host": "api.myshop.localhost"},
        json={
            "name": "Bench",
            "subdomain": subdomain,
            "owner_email": "bench@example.com",
            "currency": "USD",
        },
    )
    r.raise_for_status()
    body = r.json()
    store = BenchStore(
        int(body["store"]["id"]), body["store"]["primary_domain"], body["admin_token"]["token"]
    )
    wait(store.host)
    r = http.post(
        "/v1/admin/products",
        headers={"host": store.host, "authorization": f"Bearer {store.token}"},
        json={
            "title": "Bench Tee",
            "handle": HANDLE,
            "status": "PRODUCT_STATUS_ACTIVE",
            "options": ["Size"],
            "variants": [
                {
                    "sku": f"BT-{s}",
                    "price": {"amount_minor": 2500},
                    "inventory_quantity": 100,
                    "option_values": [s],
                }
                for s in ("XS", "S", "M", "L", "XL")
            ],
        },
    )
    r.raise_for_status()
    check = http.get(f"/v1/products/{HANDLE}", headers={"host": store.host})
    assert check.status_code == 200 and len(check.json()["variants"]) == 5, check.text
    return store


async def set_plan(
    admin_db_dsn: str, plan: str, *, store_id: int | None = None, subdomain: str | None = None
) -> None:
    """As the superuser of the bench database (RLS does not apply to it)."""
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        await conn.execute(
            "UPDATE stores SET plan = $1 WHERE id = $2 OR subdomain = $3", plan, store_id, subdomain
        )
    finally:
        await conn.close()


def wait_rate_limit(edge_url: str, host: str, limit: int, timeout: float = 30) -> None:
    """Until the edge applies the store's new plan (one route push)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=edge_url, timeout=10) as http:
        while http.get("/v1/products", headers={"host": host}).headers.get(
            "x-ratelimit-limit"
        ) != str(limit):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{host}: plan change not applied after {timeout}s")
            time.sleep(0.05)
