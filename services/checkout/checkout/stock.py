"""Phase 1 of a checkout and its undo: reserve stock (and record what was reserved, at what
price) in one short SERIALIZABLE transaction that locks the variants in id order, so two
checkouts of the same items queue instead of deadlocking and never oversell; and give the
stock back when the payment does not happen."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from services.checkout.checkout import records
from services.common import metrics
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition
from services.common.inventory_events import move_stock
from services.common.retry import retry_serializable
from services.common.stock_rules import cannot_sell

_LOCK = """
SELECT v.id, v.product_id, v.sku, v.price, v.currency, v.inventory_quantity, v.version,
       v.inventory_policy, p.status,
       p.title || CASE WHEN v.title = 'Default Title' THEN '' ELSE ' - ' || v.title END AS title
FROM variants v JOIN products p ON p.store_id = v.store_id AND p.id = v.product_id
WHERE v.store_id = $1 AND v.id = ANY($2::uuid[])
ORDER BY v.id
FOR UPDATE OF v
"""


async def reserve(
    pool: asyncpg.Pool,
    store_id: int,
    record_id: uuid.UUID,
    lines: list[tuple[str, int]],
    lease_seconds: int,
) -> records.Record:
    """Decrements stock for every line or for none; records the reservation on the checkout."""
    wanted: dict[uuid.UUID, int] = {}
    for variant_id, quantity in lines:
        vid = uuid.UUID(variant_id)
        wanted[vid] = wanted.get(vid, 0) + quantity

    async def attempt() -> records.Record:
        async with tenant_transaction(pool, store_id=store_id, isolation="serializable") as conn:
            current = await records.load(conn, store_id, record_id, lock=True)
            if current.state != "processing":
                return current  # another worker got here first
            rows = {r["id"]: r for r in await conn.fetch(_LOCK, store_id, list(wanted))}
            problems = []
            for vid, quantity in wanted.items():
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
                raise FailedPrecondition("cannot reserve: " + "; ".join(problems))
            currencies = {rows[v]["currency"] for v in wanted}
            if len(currencies) != 1:
                raise FailedPrecondition("cart mixes currencies")
            reserved = [
                {
                    "variant_id": str(v),
                    "product_id": str(rows[v]["product_id"]),
                    "sku": rows[v]["sku"],
                    "title": rows[v]["title"],
                    "quantity": q,
                    "unit_price": rows[v]["price"],
                }
                for v, q in sorted(wanted.items())
            ]
            await move_stock(conn, store_id, "reserved", {v: -q for v, q in wanted.items()})
            amount = sum(line["quantity"] * line["unit_price"] for line in reserved)
            await records.set_state(
                conn,
                store_id,
                record_id,
                "reserved",
                reserved_lines=json.dumps(reserved),
                currency=currencies.pop(),
                amount=amount,
            )
            await records.extend_lease(conn, store_id, record_id, lease_seconds)
            return await records.load(conn, store_id, record_id)

    return await retry_serializable(attempt, on_retry=metrics.CHECKOUT_RETRIES.inc)


async def release(
    conn: asyncpg.Connection,
    store_id: int,
    record: records.Record,
    *,
    final_state: str,
    error_code: int | None = None,
    error_message: str | None = None,
) -> None:
    """Gives reserved stock back (inventory.restocked events) and closes the record, in the
    caller's transaction; a record no longer holding a reservation is left alone."""
    current = await records.load(conn, store_id, record.id, lock=True)
    if current.state not in ("reserved", "requires_action") or not current.reserved_lines:
        return
    lines: list[dict[str, Any]] = current.reserved_lines
    wanted = {uuid.UUID(line["variant_id"]): line["quantity"] for line in lines}
    rows = {r["id"]: r for r in await conn.fetch(_LOCK, store_id, list(wanted))}
    present = {v: q for v, q in wanted.items() if v in rows}  # a deleted variant stays gone
    if present:
        await move_stock(conn, store_id, "restocked", present)
    await records.set_state(
        conn, store_id, record.id, final_state, error_code=error_code, error_message=error_message
    )
