"""Prices, titles and availability of cart lines, read from the catalog (never the client)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.checkout.cart_store import StoredCart


@dataclass(frozen=True)
class PricedLine:
    id: str
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: int
    currency: str
    available: bool

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


_VARIANTS = """
SELECT v.id, v.product_id, v.sku, p.title || CASE WHEN v.title = 'Default Title' THEN ''
                                                  ELSE ' - ' || v.title END AS title,
       v.price, v.currency, v.inventory_quantity, v.inventory_policy, p.status
FROM variants v JOIN products p ON p.store_id = v.store_id AND p.id = v.product_id
WHERE v.id = ANY($1::uuid[])
"""


def _uuid_or_none(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def price_lines(conn: asyncpg.Connection, cart: StoredCart) -> list[PricedLine]:
    ids = [u for u in (_uuid_or_none(line.variant_id) for line in cart.lines) if u]
    rows = {str(r["id"]): r for r in await conn.fetch(_VARIANTS, ids)} if ids else {}
    priced = []
    for line in cart.lines:
        row = rows.get(line.variant_id)
        if row is None:  # deleted since it was added
            priced.append(
                PricedLine(
                    line.id, line.variant_id, "", None, "unavailable", line.quantity, 0, "", False
                )
            )
            continue
        in_stock = (
            row["inventory_policy"] == "continue" or row["inventory_quantity"] >= line.quantity
        )
        priced.append(
            PricedLine(
                id=line.id,
                variant_id=line.variant_id,
                product_id=str(row["product_id"]),
                sku=row["sku"],
                title=row["title"],
                quantity=line.quantity,
                unit_price=row["price"],
                currency=row["currency"],
                available=row["status"] == "active" and in_stock,
            )
        )
    return priced


async def purchasable_variant(conn: asyncpg.Connection, variant_id: str) -> bool:
    vid = _uuid_or_none(variant_id)
    if vid is None:
        return False
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM variants v JOIN products p
                 ON p.store_id = v.store_id AND p.id = v.product_id
               WHERE v.id = $1 AND p.status = 'active'""",
            vid,
        )
    )
