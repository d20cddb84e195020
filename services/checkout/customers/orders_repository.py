"""A customer's orders (the admin's recent orders, the shopper's own list) and what erasing a
customer does to them — every statement in the caller's tenant transaction, naming its store."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.checkout.orders.repository import ORDER_SELECT, order_from_row
from services.checkout.orders.rules import Order


async def orders_of(
    conn: asyncpg.Connection,
    store_id: int,
    customer_id: uuid.UUID,
    limit: int,
    after: tuple[datetime | int, uuid.UUID] | None = None,
) -> list[Order]:
    """Newest first, at most `limit`, after the keyset position `after`."""
    args: list[object] = [store_id, customer_id]
    where = "WHERE o.store_id = $1 AND o.customer_id = $2"
    if after is not None:
        args += list(after)
        where += " AND (o.created_at, o.id) < ($3, $4)"
    args.append(limit)
    rows = await conn.fetch(
        ORDER_SELECT + where + f" ORDER BY o.created_at DESC, o.id DESC LIMIT ${len(args)}",
        *args,
    )
    return [order_from_row(r) for r in rows]


async def erase_from_orders(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID
) -> list[uuid.UUID]:
    """Blanks the email and addresses of the customer's orders (amounts, lines and refunds
    stay); the orders' ids. Locks the orders before the customer, as refunds do."""
    rows = await conn.fetch(
        """UPDATE orders
           SET email = '', shipping_address = '{}'::jsonb, billing_address = '{}'::jsonb,
               updated_at = now()
           WHERE store_id = $1 AND customer_id = $2
           RETURNING id""",
        store_id,
        customer_id,
    )
    return [r["id"] for r in rows]


async def completed_checkouts(
    conn: asyncpg.Connection, store_id: int, order_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(checkout id, order id) of the checkouts that placed these orders."""
    rows = await conn.fetch(
        """SELECT checkout_id, id FROM orders WHERE store_id = $1 AND id = ANY($2::uuid[])""",
        store_id,
        order_ids,
    )
    return [(r["checkout_id"], r["id"]) for r in rows]


async def erase_from_checkouts(
    conn: asyncpg.Connection,
    store_id: int,
    email_key: str,
    responses: dict[uuid.UUID, bytes],
) -> int:
    """The idempotency records hold the request (email, addresses) and the stored response
    (the order as first answered): blank the former for every checkout of this email, and
    replace the latter with the erased order, so a replay stays byte-identical to what an
    order read shows now. The fingerprint is kept: the shopper's retry still replays."""
    status = await conn.execute(
        """UPDATE checkouts
           SET request = request || '{"email": "", "shipping_address": {},
                                      "billing_address": {}}'::jsonb,
               updated_at = now()
           WHERE store_id = $1 AND lower(request ->> 'email') = $2""",
        store_id,
        email_key,
    )
    await conn.executemany(
        """UPDATE checkouts SET response = $3
           WHERE store_id = $1 AND id = $2 AND response IS NOT NULL""",
        [(store_id, checkout_id, body) for checkout_id, body in responses.items()],
    )
    return int(status.split()[-1])


async def erase_from_deliveries(
    conn: asyncpg.Connection, store_id: int, email_key: str, customer_id: uuid.UUID
) -> None:
    """Sent mails keep their subject, not the recipient; webhook payloads (pending or logged)
    about the person lose the email, and customers/* payloads the name, phone, note and tags."""
    await conn.execute(
        "UPDATE sent_emails SET recipient = '' WHERE store_id = $1 AND lower(recipient) = $2",
        store_id,
        email_key,
    )
    await conn.execute(
        """UPDATE webhook_deliveries
           SET payload = payload || '{"email": ""}'::jsonb
                         || CASE WHEN topic LIKE 'customers/%'
                                 THEN '{"name": null, "phone": null, "note": null,
                                        "tags": []}'::jsonb
                                 ELSE '{}'::jsonb END
           WHERE store_id = $1
             AND (lower(payload ->> 'email') = $2 OR payload ->> 'customer_id' = $3)""",
        store_id,
        email_key,
        str(customer_id),
    )
