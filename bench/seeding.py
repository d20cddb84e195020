"""Bench data, the one way every benchmark makes it.

Through the API where the benchmark measures what a merchant's store is (sign-up, a product
with its triggers and events); straight in SQL as the superuser where the API would be the
slow part (thousands of stores, millions of variants), with session_replication_role =
replica: no per-row triggers, NOTIFYs or FK checks, so what the variants trigger maintains
(each product's price range and availability) is computed here."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NamedTuple

import asyncpg
import httpx

from bench import db
from services.store.edge.rate_limits import PLANS

HANDLE = "bench-tee"
# Benchmarks measure the edge and the services, not the per-store rate limit.
UNLIMITED_PLAN = "enterprise"

BENCH_TEE = {
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
}


@dataclass(frozen=True)
class BenchStore:
    id: int
    host: str
    token: str


# --- through the API -------------------------------------------------------------------------


def signup(http: httpx.Client, prefix: str = "bench", name: str = "Bench") -> BenchStore:
    r = http.post(
        "/v1/stores",
        headers={"host": "api.myshop.localhost"},
        json={
            "name": name,
            "subdomain": f"{prefix}-{uuid.uuid4().hex[:10]}",
            "owner_email": "bench@example.com",
            "currency": "USD",
        },
    )
    r.raise_for_status()
    body = r.json()
    return BenchStore(
        int(body["store"]["id"]), body["store"]["primary_domain"], body["admin_token"]["token"]
    )


def wait_routed(http: httpx.Client, host: str, live: bool = True, timeout: float = 30) -> float:
    """Seconds until the edge routes `host` (live) or answers 404 for it (not live)."""
    started = time.monotonic()
    while (http.get("/v1/products", headers={"host": host}).status_code != 404) != live:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{host} not {'live' if live else 'gone'} after {timeout}s")
        time.sleep(0.005)
    return time.monotonic() - started


def add_product(http: httpx.Client, store: BenchStore, product: dict) -> dict:
    r = http.post(
        "/v1/admin/products",
        headers={"host": store.host, "authorization": f"Bearer {store.token}"},
        json=product,
    )
    r.raise_for_status()
    return r.json()


def seed_store(http: httpx.Client) -> BenchStore:
    """A store signed up, routed, with the bench tee (five variants) on its storefront."""
    store = signup(http)
    wait_routed(http, store.host)
    add_product(http, store, BENCH_TEE)
    check = http.get(f"/v1/products/{HANDLE}", headers={"host": store.host})
    assert check.status_code == 200 and len(check.json()["variants"]) == 5, check.text
    return store


def lift_rate_limit(edge_url: str, admin_db: str, store: BenchStore, timeout: float = 30) -> None:
    """The store on the unlimited plan (SQL: billing's job, no API for it), and waits until
    the edge applies it (one route push)."""
    db.execute(admin_db, "UPDATE stores SET plan = $1 WHERE id = $2", UNLIMITED_PLAN, store.id)
    limit = str(PLANS[UNLIMITED_PLAN].burst)
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=edge_url, timeout=10) as http:
        while (
            http.get("/v1/products", headers={"host": store.host}).headers.get("x-ratelimit-limit")
            != limit
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{store.host}: plan change not applied after {timeout}s")
            time.sleep(0.05)


# --- in SQL, as the superuser ------------------------------------------------------------------


@asynccontextmanager
async def seeding_session(admin_db: str) -> AsyncIterator[asyncpg.Connection]:
    """Superuser: RLS does not apply; replica role: no per-row triggers, FK checks or NOTIFY
    (before the services start nobody listens; they load everything at start-up)."""
    async with db.connect(admin_db) as conn:
        await conn.execute("SET session_replication_role = replica")
        yield conn


def insert_stores(
    admin_db: str, count: int, *, unlimited: bool = False, domain_every: int = 10
) -> float:
    """Stores seed-1 … seed-<count>, every `domain_every`th with a verified custom domain
    (www.seed-<n>.example.com); optionally all on the unlimited plan. Seconds taken."""

    async def run() -> None:
        async with seeding_session(admin_db) as conn:
            await conn.execute(
                """INSERT INTO stores (name, subdomain, owner_email, currency)
                   SELECT 'Seed ' || g, 'seed-' || g, 'owner@seed-' || g || '.example', 'USD'
                   FROM generate_series(1, $1) g""",
                count,
            )
            if unlimited:
                await conn.execute("UPDATE stores SET plan = $1", UNLIMITED_PLAN)
            await conn.execute(
                """INSERT INTO store_domains (store_id, domain, verification_token, verified_at)
                   SELECT id, 'www.' || subdomain || '.example.com', 'seed', now()
                   FROM stores WHERE id % $1 = 0""",
                domain_every,
            )

    started = time.monotonic()
    asyncio.run(run())
    return time.monotonic() - started


class SeedVariant(NamedTuple):
    id: uuid.UUID
    sku: str
    size: str  # its one option value (option "Size"), also its title
    price: int
    quantity: int


class SeedProduct(NamedTuple):
    """Tuples, not dataclasses: millions are made for a 100,000-store catalog."""

    store_id: int
    id: uuid.UUID
    handle: str
    title: str
    description: str
    variants: Sequence[SeedVariant]

    def row(self) -> tuple:
        """In PRODUCT_COLUMNS order."""
        prices = [v.price for v in self.variants]
        available = any(v.quantity > 0 for v in self.variants)
        return (
            self.store_id,
            self.id,
            self.handle,
            self.title,
            self.description,
            "active",
            ["Size"],
            min(prices),
            max(prices),
            available,
        )

    def variant_rows(self) -> list[tuple]:
        """In VARIANT_COLUMNS order."""
        return [
            (
                self.store_id,
                v.id,
                self.id,
                n,
                v.sku,
                v.size,
                v.price,
                "USD",
                v.quantity,
                "deny",
                _options_json(v.size),
            )
            for n, v in enumerate(self.variants, 1)
        ]


@functools.cache
def _options_json(size: str) -> str:
    return json.dumps([size])


PRODUCT_COLUMNS = (
    "store_id",
    "id",
    "handle",
    "title",
    "description",
    "status",
    "options",
    "min_price",
    "max_price",
    "available",
)
VARIANT_COLUMNS = (
    "store_id",
    "id",
    "product_id",
    "position",
    "sku",
    "title",
    "price",
    "currency",
    "inventory_quantity",
    "inventory_policy",
    "options",
)


async def copy_products(conn: asyncpg.Connection, products: Sequence[SeedProduct]) -> int:
    """COPYs the products and their variants (in a seeding_session); the variants copied."""
    variants = [row for p in products for row in p.variant_rows()]
    await conn.copy_records_to_table(
        "products", records=[p.row() for p in products], columns=PRODUCT_COLUMNS
    )
    await conn.copy_records_to_table("variants", records=variants, columns=VARIANT_COLUMNS)
    return len(variants)


async def vacuum_analyze(conn: asyncpg.Connection) -> None:
    """Statistics for the planner and a visibility map for index-only scans."""
    await conn.execute("VACUUM ANALYZE products")
    await conn.execute("VACUUM ANALYZE variants")
