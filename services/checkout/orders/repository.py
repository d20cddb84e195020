"""Orders: created from a paid checkout (order + items + order.created in one transaction,
numbered per store from 1001), read, cancelled and refunded by the merchant."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.checkout.checkout.storage import Record
from services.checkout.customers import repository as customers
from services.checkout.orders.rules import FIRST_ORDER_NUMBER, Order, OrderLine, OrderRefund
from services.common import cursor, metrics, outbox
from services.common.errors import NotFound

PAGE_KINDS: cursor.Kinds = {"newest": (datetime, uuid.UUID)}
ORDER_SELECT = """
SELECT o.id, o.number, o.status, o.email, o.currency, o.total, o.refunded,
       o.shipping_address::text AS shipping, o.billing_address::text AS billing,
       o.payment_intent_id, o.created_at, o.updated_at, o.checkout_id, o.application_fee,
       o.payment_account, o.application_fee_refunded, o.admin_refunds, o.customer_id,
       o.subtotal, o.shipping AS shipping_amount, o.tax, o.discount, o.prices_include_tax,
       o.payment_status,
       o.fulfillment_status, o.shipping_rate->>'id' AS shipping_rate_id,
       o.shipping_rate->>'name' AS shipping_rate_name,
       ARRAY(SELECT ROW(r.stripe_refund_id, r.amount, r.status, r.source, r.cancellation,
                        r.failure_reason, r.fee_refunded, r.created_at, r.updated_at)
             FROM refunds r WHERE r.store_id = o.store_id AND r.order_id = o.id
             ORDER BY coalesce(r.stripe_created_at, r.created_at), r.created_at, r.id) AS refunds,
       (SELECT d.status FROM disputes d WHERE d.store_id = o.store_id AND d.order_id = o.id
        ORDER BY coalesce(d.stripe_created_at, d.created_at) DESC, d.id LIMIT 1)
         AS dispute_status,
       ARRAY(SELECT ROW(i.variant_id, i.product_id, i.sku, i.title, i.quantity, i.unit_price,
                        i.refunded_quantity, i.tax, i.fulfilled_quantity)
             FROM order_items i WHERE i.store_id = o.store_id AND i.order_id = o.id
             ORDER BY i.line) AS lines
FROM orders o
"""


def order_from_row(row: asyncpg.Record) -> Order:
    return Order(
        id=row["id"],
        number=row["number"],
        status=row["status"],
        email=row["email"],
        currency=row["currency"],
        total=row["total"],
        refunded=row["refunded"],
        shipping_address=json.loads(row["shipping"]),
        billing_address=json.loads(row["billing"]),
        payment_intent_id=row["payment_intent_id"],
        lines=tuple(
            OrderLine(str(v), str(p), sku, title, q, price, refunded, tax, fulfilled)
            for v, p, sku, title, q, price, refunded, tax, fulfilled in row["lines"]
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        checkout_id=row["checkout_id"],
        application_fee=row["application_fee"],
        payment_account=row["payment_account"],
        application_fee_refunded=row["application_fee_refunded"],
        refunds=tuple(OrderRefund(*refund) for refund in row["refunds"]),
        dispute_status=row["dispute_status"],
        admin_refunds=row["admin_refunds"],
        customer_id=row["customer_id"],
        subtotal=row["subtotal"],
        shipping=row["shipping_amount"],
        tax=row["tax"],
        discount=row["discount"],
        prices_include_tax=row["prices_include_tax"],
        payment_status=row["payment_status"],
        fulfillment_status=row["fulfillment_status"],
        shipping_rate_id=row["shipping_rate_id"],
        shipping_rate_name=row["shipping_rate_name"],
    )


async def load(conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID) -> Order:
    row = await conn.fetchrow(
        ORDER_SELECT + "WHERE o.store_id = $1 AND o.id = $2", store_id, order_id
    )
    if row is None:
        raise NotFound("no order with this id in this store")
    return order_from_row(row)


def order_event_data(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "order_number": order.number,
        "email": order.email,
        "customer_id": str(order.customer_id) if order.customer_id else None,
        "currency": order.currency,
        "total_minor": order.total,
        "subtotal_minor": order.subtotal,
        "shipping_minor": order.shipping,
        "tax_minor": order.tax,
        "discount_minor": order.discount,
        "prices_include_tax": order.prices_include_tax,
        "shipping_rate_name": order.shipping_rate_name,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "created_at": order.created_at.isoformat(),
        "lines": [
            {
                "variant_id": line.variant_id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "product_id": line.product_id,
                "unit_price_minor": line.unit_price,
                "total_minor": line.unit_price * line.quantity,
                "tax_minor": line.tax,
            }
            for line in order.lines
        ],
    }


async def create_from_checkout(
    conn: asyncpg.Connection, store_id: int, record: Record, payment_intent_id: str
) -> Order:
    """In the caller's transaction: the next number, the order, its items, order.created."""
    number = await conn.fetchval(
        f"""INSERT INTO store_order_counters (store_id, last_number)
            VALUES ($1, {FIRST_ORDER_NUMBER})
            ON CONFLICT (store_id) DO UPDATE
              SET last_number = store_order_counters.last_number + 1
            RETURNING last_number""",
        store_id,
    )
    request = record.request
    shipping = request["shipping_address"]
    billing = request.get("billing_address") or shipping
    customer_id = await customers.link_order(conn, store_id, request["email"], shipping)
    # What the reservation priced (a checkout reserved before shipping existed: its amount).
    pricing = record.pricing or {"subtotal": record.amount, "line_taxes": []}
    rate = (
        json.dumps({"id": pricing["shipping_rate_id"], "name": pricing["shipping_rate_name"]})
        if pricing.get("shipping_rate_id")
        else None
    )
    order_id = await conn.fetchval(
        """INSERT INTO orders (store_id, number, checkout_id, status, email, currency, total,
                               shipping_address, billing_address, payment_intent_id,
                               application_fee, payment_account, customer_id, subtotal,
                               shipping, tax, discount, prices_include_tax, shipping_rate)
           VALUES ($1, $2, $3, 'paid', $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12,
                   $13, $14, $15, $16, $17, $18::jsonb)
           RETURNING id""",
        store_id,
        number,
        record.id,
        request["email"],
        record.currency,
        record.amount,
        json.dumps(shipping),
        json.dumps(billing),
        payment_intent_id,
        record.application_fee,
        record.payment_account,
        customer_id,
        pricing["subtotal"],
        pricing.get("shipping", 0),
        pricing.get("tax", 0),
        pricing.get("discount", 0),
        bool(pricing.get("prices_include_tax")),
        rate,
    )
    lines = record.reserved_lines
    taxes = list(pricing.get("line_taxes") or []) + [0] * len(lines)
    await conn.executemany(
        """INSERT INTO order_items (store_id, order_id, line, variant_id, product_id, sku, title,
                                    quantity, unit_price, tax)
           VALUES ($1, $2, $3, $4::uuid, $5::uuid, $6, $7, $8, $9, $10)""",
        [
            (
                store_id,
                order_id,
                i,
                line.variant_id,
                line.product_id,
                line.sku,
                line.title,
                line.quantity,
                line.unit_price,
                taxes[i - 1],
            )
            for i, line in enumerate(lines, 1)
        ],
    )
    if customer_id is not None:
        await customers.refresh_totals(conn, store_id, customer_id)
    order = await load(conn, store_id, order_id)
    data = order_event_data(order)
    # The order exists only once paid: orders/paid is announced with it.
    await outbox.record(
        conn,
        outbox.order_event("created", data, f"order-created:{order.id}"),
        outbox.order_event("paid", data, f"order-paid:{order.id}"),
    )
    metrics.ORDERS_CREATED.inc()
    return order


async def page(
    conn: asyncpg.Connection,
    store_id: int,
    size: int,
    token: str,
    status: str,
    after: datetime | None,
    before: datetime | None,
) -> tuple[list[Order], str]:
    # The token is bound to the filters it was issued with (reused with others → page_token).
    filters = {"status": status, "after": after, "before": before}
    position = cursor.decode(token, PAGE_KINDS, filters)[1] if token else None
    conditions: list[str] = ["o.store_id = $1"]
    args: list[object] = [store_id]
    if status:
        args.append(status)
        conditions.append(f"o.status = ${len(args)}")
    if after:
        args.append(after)
        conditions.append(f"o.created_at >= ${len(args)}")
    if before:
        args.append(before)
        conditions.append(f"o.created_at < ${len(args)}")
    if position:
        args += [position[0], position[1]]
        conditions.append(f"(o.created_at, o.id) < (${len(args) - 1}, ${len(args)})")
    where = "WHERE " + " AND ".join(conditions) + " "
    args.append(size + 1)
    rows = await conn.fetch(
        ORDER_SELECT + where + f"ORDER BY o.created_at DESC, o.id DESC LIMIT ${len(args)}", *args
    )
    found = [order_from_row(r) for r in rows[:size]]
    next_token = ""
    if len(rows) > size:
        next_token = cursor.encode("newest", filters, (found[-1].created_at, found[-1].id))
    return found, next_token


async def for_intent(
    conn: asyncpg.Connection, store_id: int, payment_intent_id: str
) -> Order | None:
    row = await conn.fetchrow(
        ORDER_SELECT + "WHERE o.store_id = $1 AND o.payment_intent_id = $2",
        store_id,
        payment_intent_id,
    )
    return None if row is None else order_from_row(row)
