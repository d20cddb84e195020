"""Sales analytics: keeps per-store rollups (sales_rollups, sales_product_rollups) from order
events, read by the checkout service's report API (services/checkout/reports).

Exactly once: besides the consumer's dedupe on the event key (base.apply), each order is
recorded in sales_orders and each refund in sales_refunds in the same transaction as the sums
it adds, so an order or a refund announced under several keys still counts once; a refund that
fails later is taken back from the bucket it was counted in (or, failing first, never counts).
The sums are additions, so arrival order does not matter."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.events.consumers.base import Consumer, PoisonMessage
from services.events.consumers.sales_rules import (
    OrderPlaced,
    RefundFailed,
    RefundRecorded,
    change_of,
)

_ADD = """
INSERT INTO sales_rollups (store_id, bucket_start, orders, gross_sales, refunds, units)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT ON CONSTRAINT sales_rollups_pkey DO UPDATE SET
    orders = sales_rollups.orders + EXCLUDED.orders,
    gross_sales = sales_rollups.gross_sales + EXCLUDED.gross_sales,
    refunds = sales_rollups.refunds + EXCLUDED.refunds,
    units = sales_rollups.units + EXCLUDED.units
"""
_ADD_PRODUCTS = """
INSERT INTO sales_product_rollups (store_id, bucket_start, product_id, title, units,
                                   gross_sales)
SELECT $1, $2, u.product_id, u.title, u.units, u.gross
FROM unnest($3::uuid[], $4::text[], $5::bigint[], $6::bigint[]) AS u(product_id, title, units,
                                                                     gross)
ON CONFLICT ON CONSTRAINT sales_product_rollups_pkey DO UPDATE SET
    title = EXCLUDED.title,
    units = sales_product_rollups.units + EXCLUDED.units,
    gross_sales = sales_product_rollups.gross_sales + EXCLUDED.gross_sales
"""


class SalesConsumer(Consumer):
    name = "sales"
    queue = "orders.analytics"

    async def handle(self, conn: asyncpg.Connection, store_id: int, event: dict[str, Any]) -> None:
        try:
            change = change_of(event)
        except ValueError as exc:
            raise PoisonMessage(str(exc)) from exc
        if isinstance(change, OrderPlaced):
            await self._placed(conn, store_id, change)
        elif isinstance(change, RefundRecorded):
            await self._refunded(conn, store_id, change)
        elif isinstance(change, RefundFailed):
            await self._refund_failed(conn, store_id, change)

    async def _placed(self, conn: asyncpg.Connection, store_id: int, order: OrderPlaced) -> None:
        first = await conn.fetchval(
            """INSERT INTO sales_orders (store_id, order_id, bucket_start, gross_sales, units)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT ON CONSTRAINT sales_orders_pkey DO NOTHING RETURNING 1""",
            store_id,
            order.order_id,
            order.bucket,
            order.gross,
            order.units,
        )
        if not first:
            return
        await conn.execute(_ADD, store_id, order.bucket, 1, order.gross, 0, order.units)
        products: dict[Any, list] = {}
        for line in order.lines:
            product_id = line.product_id or await self._product_of(conn, store_id, line.variant_id)
            if product_id is None:
                continue
            entry = products.setdefault(product_id, [line.title, 0, 0])
            entry[1] += line.quantity
            entry[2] += line.total
        if products:
            await conn.execute(
                _ADD_PRODUCTS,
                store_id,
                order.bucket,
                list(products),
                [v[0] for v in products.values()],
                [v[1] for v in products.values()],
                [v[2] for v in products.values()],
            )

    async def _product_of(self, conn: asyncpg.Connection, store_id: int, variant_id) -> Any:
        """Events from before lines carried product ids: the variant's product if it still
        exists, else the variant itself stands in."""
        if variant_id is None:
            return None
        found = await conn.fetchval(
            "SELECT product_id FROM variants WHERE store_id = $1 AND id = $2", store_id, variant_id
        )
        return found or variant_id

    async def _refunded(self, conn: asyncpg.Connection, store_id: int, r: RefundRecorded) -> None:
        first = await conn.fetchval(
            """INSERT INTO sales_refunds (store_id, refund_key, order_id, amount, bucket_start,
                                          state)
               VALUES ($1, $2, $3, $4, $5, 'counted')
               ON CONFLICT ON CONSTRAINT sales_refunds_pkey DO NOTHING RETURNING 1""",
            store_id,
            r.key[:255],
            r.order_id,
            r.amount,
            r.bucket,
        )
        if first:
            await conn.execute(_ADD, store_id, r.bucket, 0, 0, r.amount, 0)

    async def _refund_failed(
        self, conn: asyncpg.Connection, store_id: int, r: RefundFailed
    ) -> None:
        row = await conn.fetchrow(
            """SELECT amount, bucket_start, state FROM sales_refunds
               WHERE store_id = $1 AND refund_key = $2 FOR UPDATE""",
            store_id,
            r.key[:255],
        )
        if row is None:
            # Failed before it was counted: a tombstone keeps a late order.refunded from
            # counting it (the insert there finds the key and adds nothing).
            await conn.execute(
                """INSERT INTO sales_refunds (store_id, refund_key, order_id, amount,
                                              bucket_start, state)
                   VALUES ($1, $2, $3, $4, $5, 'failed')
                   ON CONFLICT ON CONSTRAINT sales_refunds_pkey DO NOTHING""",
                store_id,
                r.key[:255],
                r.order_id,
                r.amount,
                r.bucket,
            )
            return
        if row["state"] != "counted":
            return
        await conn.execute(
            "UPDATE sales_refunds SET state = 'failed' WHERE store_id = $1 AND refund_key = $2",
            store_id,
            r.key[:255],
        )
        await conn.execute(_ADD, store_id, row["bucket_start"], 0, 0, -row["amount"], 0)
