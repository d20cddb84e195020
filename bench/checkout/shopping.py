"""What the checkout benchmark's buyers buy and send: the spread catalog, the hot SKU, carts'
lines and the checkout request."""

from __future__ import annotations

import hashlib
import random
import uuid

from bench.seeding import SeedProduct, SeedVariant

SIZES = ("XS", "S", "M", "L", "XL")
SPREAD_STOCK = 1_000_000  # never runs out: the spread run measures throughput, not sell-outs
ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
CHECKOUT_BODY = {
    "email": "ada@example.com",
    "shipping_address": ADDRESS,
    "payment_method": "pm_card_visa",
}


def variant_id(n: int) -> uuid.UUID:
    """Variant n (1-based) of the spread catalog. Derived from n, so the pgbench script can
    compute the same ids in SQL (md5(...)::uuid) without a look-up table; md5 scatters them
    over the index like random ids."""
    return uuid.UUID(hashlib.md5(f"bench-variant-{n}".encode()).hexdigest())


def variant_sql(expr: str) -> str:
    """variant_id() in SQL, for a pgbench integer expression."""
    return f"md5('bench-variant-' || {expr}::int)::uuid"


def spread_catalog(store_id: int, variants: int) -> list[SeedProduct]:
    """`variants` variants, five sizes per product, each product at one price."""
    rng = random.Random(7)
    products = []
    for p in range(variants // len(SIZES)):
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        base = rng.randrange(500, 20_000, 100)
        numbers = [p * len(SIZES) + position for position in range(1, len(SIZES) + 1)]
        products.append(
            SeedProduct(
                store_id,
                product_id,
                f"spread-{p}",
                f"Spread Item {p}",
                "A product of the spread catalog.",
                [
                    SeedVariant(variant_id(n), f"SP-{n}", size, base, SPREAD_STOCK)
                    for n, size in zip(numbers, SIZES, strict=True)
                ],
            )
        )
    return products


def spread_lines(count: int, variants: int, rng: random.Random) -> list[list[str]]:
    """Two different random variants per cart."""
    return [
        [str(variant_id(n)) for n in rng.sample(range(1, variants + 1), 2)] for _ in range(count)
    ]


def hot_product(quantity: int, sku: str = "HOT-1") -> dict:
    """The flash-sale item, created through the admin API (a real product's triggers and
    events)."""
    return {
        "title": f"Flash Sale Sneaker {sku}",
        "status": "PRODUCT_STATUS_ACTIVE",
        "variants": [
            {
                "sku": sku,
                "price": {"amount_minor": 9900},
                "inventory_quantity": quantity,
                "inventory_policy": "INVENTORY_POLICY_DENY",
            }
        ],
    }
