"""Inventory change events, shared by the catalog's admin paths and the checkout's reservations:
inventory.{action}.{store_id} for every change, and inventory.low.{store_id} when the quantity
falls to the store's low-stock threshold from above it (once per crossing). Also the one
stock-delta write (reserve, restock) that records those events in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.common import outbox


@dataclass(frozen=True)
class Level:
    variant_id: uuid.UUID
    sku: str | None
    product_id: uuid.UUID
    quantity: int
    version: int
    policy: str


def crossed_low(previous: int, quantity: int, threshold: int) -> bool:
    return previous > threshold >= quantity


def change_events(
    store_id: int, action: str, before: Level, after: Level, threshold: int
) -> list[outbox.Event]:
    """The events of one stock change; keys are derived from the variant's new version, so
    the same change can never be recorded twice."""
    data = {
        "variant_id": str(after.variant_id),
        "product_id": str(after.product_id),
        "sku": after.sku,
        "previous_quantity": before.quantity,
        "quantity": after.quantity,
        "delta": after.quantity - before.quantity,
        "version": after.version,
    }
    key = f"inventory:{after.variant_id}:{after.version}"
    events = [outbox.inventory_event(action, store_id, data, key)]
    if crossed_low(before.quantity, after.quantity, threshold):
        events.append(
            outbox.inventory_event(
                "low",
                store_id,
                {**data, "threshold": threshold},
                f"inventory-low:{after.variant_id}:{after.version}",
            )
        )
    return events


def level_from_row(row: asyncpg.Record) -> Level:
    """From a row carrying id, sku, product_id, inventory_quantity, version, inventory_policy."""
    return Level(
        variant_id=row["id"],
        sku=row["sku"],
        product_id=row["product_id"],
        quantity=row["inventory_quantity"],
        version=row["version"],
        policy=row["inventory_policy"],
    )


async def low_stock_threshold(conn: asyncpg.Connection, store_id: int) -> int:
    return int(
        await conn.fetchval("SELECT low_stock_threshold FROM stores WHERE id = $1", store_id)
    )


_MOVE = """
UPDATE variants AS v SET inventory_quantity = v.inventory_quantity + u.delta,
       version = v.version + 1, updated_at = now()
FROM unnest($2::uuid[], $3::int[]) AS u(id, delta)
WHERE v.store_id = $1 AND v.id = u.id
RETURNING v.id, v.sku, v.product_id, v.inventory_quantity, v.version, v.inventory_policy
"""


async def move_stock(
    conn: asyncpg.Connection, store_id: int, action: str, deltas: dict[uuid.UUID, int]
) -> list[Level]:
    """Adds each delta (in variant-id order, like every other stock lock) and records the
    change events in the caller's transaction; returns the new levels."""
    ids = sorted(deltas)
    rows = await conn.fetch(_MOVE, store_id, ids, [deltas[i] for i in ids])
    threshold = await low_stock_threshold(conn, store_id)
    after = [level_from_row(r) for r in rows]
    events = [
        e
        for level in after
        for e in change_events(
            store_id,
            action,
            Level(
                level.variant_id,
                level.sku,
                level.product_id,
                level.quantity - deltas[level.variant_id],
                level.version - 1,
                level.policy,
            ),
            level,
            threshold,
        )
    ]
    await outbox.record(conn, *events)
    return after
