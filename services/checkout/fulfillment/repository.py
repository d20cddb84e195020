"""Fulfillments in PostgreSQL, in the caller's tenant transaction; every statement names its
store. The order row is locked first, so two fulfillments of one order queue instead of
shipping the same unit twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.checkout.fulfillment.rules import Tracking
from services.common.errors import NotFound


@dataclass(frozen=True)
class Fulfillment:
    id: uuid.UUID
    order_id: uuid.UUID
    status: str
    # (variant id, quantity)
    lines: tuple[tuple[str, int], ...]
    tracking: Tracking
    notify_customer: bool
    created_at: datetime
    updated_at: datetime


_SELECT = """
SELECT f.id, f.order_id, f.status, f.tracking_company, f.tracking_number, f.tracking_url,
       f.notify_customer, f.created_at, f.updated_at,
       ARRAY(SELECT ROW(i.variant_id::text, l.quantity)
               FROM fulfillment_lines l
               JOIN order_items i ON i.store_id = l.store_id AND i.order_id = l.order_id
                                 AND i.line = l.line
              WHERE l.store_id = f.store_id AND l.fulfillment_id = f.id
              ORDER BY l.line) AS lines
FROM fulfillments f
"""


def _from_row(row: asyncpg.Record) -> Fulfillment:
    return Fulfillment(
        id=row["id"],
        order_id=row["order_id"],
        status=row["status"],
        lines=tuple((v, q) for v, q in row["lines"]),
        tracking=Tracking(row["tracking_company"], row["tracking_number"], row["tracking_url"]),
        notify_customer=row["notify_customer"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def lock_order(conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID) -> None:
    if not await conn.fetchval(
        "SELECT id FROM orders WHERE store_id = $1 AND id = $2 FOR UPDATE", store_id, order_id
    ):
        raise NotFound("no order with this id in this store")


async def load(
    conn: asyncpg.Connection,
    store_id: int,
    order_id: uuid.UUID,
    fulfillment_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Fulfillment:
    row = await conn.fetchrow(
        _SELECT
        + "WHERE f.store_id = $1 AND f.order_id = $2 AND f.id = $3"
        + (" FOR UPDATE OF f" if lock else ""),
        store_id,
        order_id,
        fulfillment_id,
    )
    if row is None:
        raise NotFound("no fulfillment with this id on this order")
    return _from_row(row)


async def of_order(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID
) -> list[Fulfillment]:
    rows = await conn.fetch(
        _SELECT + "WHERE f.store_id = $1 AND f.order_id = $2 ORDER BY f.created_at, f.id",
        store_id,
        order_id,
    )
    return [_from_row(r) for r in rows]


async def insert(
    conn: asyncpg.Connection,
    store_id: int,
    order_id: uuid.UUID,
    plan: dict[int, int],
    tracking: Tracking,
    notify_customer: bool,
) -> uuid.UUID:
    fulfillment_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO fulfillments (store_id, id, order_id, status, tracking_company,
                                     tracking_number, tracking_url, notify_customer, created_at,
                                     updated_at)
           VALUES ($1, $2, $3, 'success', $4, $5, $6, $7, now(), now())""",
        store_id,
        fulfillment_id,
        order_id,
        tracking.company,
        tracking.number,
        tracking.url,
        notify_customer,
    )
    await conn.execute(
        """INSERT INTO fulfillment_lines (store_id, fulfillment_id, order_id, line, quantity)
           SELECT $1, $2, $3, p.line, p.quantity
           FROM unnest($4::int[], $5::int[]) AS p(line, quantity)""",
        store_id,
        fulfillment_id,
        order_id,
        list(plan),
        list(plan.values()),
    )
    await move_fulfilled(conn, store_id, order_id, plan)
    return fulfillment_id


async def move_fulfilled(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID, change: dict[int, int]
) -> None:
    """Adds `change` (negative to take back) to the lines' fulfilled quantities."""
    await conn.execute(
        """UPDATE order_items i SET fulfilled_quantity = i.fulfilled_quantity + p.quantity
           FROM unnest($3::int[], $4::int[]) AS p(line, quantity)
           WHERE i.store_id = $1 AND i.order_id = $2 AND i.line = p.line""",
        store_id,
        order_id,
        list(change),
        list(change.values()),
    )


async def lines_of(
    conn: asyncpg.Connection, store_id: int, fulfillment_id: uuid.UUID
) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT line, quantity FROM fulfillment_lines WHERE store_id = $1 AND fulfillment_id = $2",
        store_id,
        fulfillment_id,
    )
    return {r["line"]: r["quantity"] for r in rows}


async def set_status(
    conn: asyncpg.Connection, store_id: int, fulfillment_id: uuid.UUID, status: str
) -> None:
    await conn.execute(
        """UPDATE fulfillments SET status = $3, updated_at = now()
           WHERE store_id = $1 AND id = $2""",
        store_id,
        fulfillment_id,
        status,
    )


async def set_tracking(
    conn: asyncpg.Connection,
    store_id: int,
    fulfillment_id: uuid.UUID,
    tracking: Tracking,
    notify_customer: bool,
) -> None:
    await conn.execute(
        """UPDATE fulfillments
              SET tracking_company = $3, tracking_number = $4, tracking_url = $5,
                  notify_customer = $6, updated_at = now()
            WHERE store_id = $1 AND id = $2""",
        store_id,
        fulfillment_id,
        tracking.company,
        tracking.number,
        tracking.url,
        notify_customer,
    )


async def set_order_status(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID, status: str
) -> None:
    await conn.execute(
        """UPDATE orders SET fulfillment_status = $3, updated_at = now()
           WHERE store_id = $1 AND id = $2""",
        store_id,
        order_id,
        status,
    )
