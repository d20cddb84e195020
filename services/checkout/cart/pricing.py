"""Prices, titles and availability of cart lines, read from the catalog (never the client)."""

from __future__ import annotations

import asyncpg

from services.checkout.cart.rules import PricedLine, StoredCart, unavailable_line
from services.common.ids import uuid_or_none
from services.common.stock_rules import cannot_sell

_VARIANTS = """
SELECT v.id, v.product_id, v.sku, p.title || CASE WHEN v.title = 'Default Title' THEN ''
                                                  ELSE ' - ' || v.title END AS title,
       v.price, v.currency, v.inventory_quantity, v.inventory_policy, p.status
FROM variants v JOIN products p ON p.store_id = v.store_id AND p.id = v.product_id
WHERE v.store_id = $1 AND v.id = ANY($2::uuid[])
"""


async def price_lines(
    conn: asyncpg.Connection, store_id: int, cart: StoredCart
) -> list[PricedLine]:
    ids = [u for u in (uuid_or_none(line.variant_id) for line in cart.lines) if u]
    rows = {str(r["id"]): r for r in await conn.fetch(_VARIANTS, store_id, ids)} if ids else {}
    priced = []
    for line in cart.lines:
        row = rows.get(line.variant_id)
        if row is None:  # deleted since it was added
            priced.append(unavailable_line(line))
            continue
        reason = cannot_sell(
            row["status"], row["inventory_policy"], row["inventory_quantity"], line.quantity
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
                available=reason is None,
            )
        )
    return priced


async def purchasable_variant(conn: asyncpg.Connection, store_id: int, variant_id: str) -> bool:
    vid = uuid_or_none(variant_id)
    if vid is None:
        return False
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM variants v JOIN products p
                 ON p.store_id = v.store_id AND p.id = v.product_id
               WHERE v.store_id = $1 AND v.id = $2 AND p.status = 'active'""",
            store_id,
            vid,
        )
    )
