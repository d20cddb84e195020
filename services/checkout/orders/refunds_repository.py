"""Refund and dispute rows of orders, and the order columns they move — every statement in the
caller's tenant transaction and naming its store."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import asyncpg

from services.checkout.orders.refund_rules import RecordedRefund
from services.checkout.payments.rules import Dispute


async def lock_order_of_intent(
    conn: asyncpg.Connection, store_id: int, payment_intent_id: str
) -> uuid.UUID | None:
    """The order paid by this intent, locked until the transaction ends (refund and dispute
    changes of one order are applied one at a time)."""
    return await conn.fetchval(
        """SELECT id FROM orders WHERE store_id = $1 AND payment_intent_id = $2
           ORDER BY created_at LIMIT 1 FOR UPDATE""",
        store_id,
        payment_intent_id,
    )


async def lock_order(conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM orders WHERE store_id = $1 AND id = $2 FOR UPDATE", store_id, order_id
    )
    return bool(found)


async def recorded_refunds(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID
) -> list[RecordedRefund]:
    rows = await conn.fetch(
        """SELECT stripe_refund_id, amount, status, source, cancellation, failure_reason,
                  fee_refunded, stripe_created_at
           FROM refunds WHERE store_id = $1 AND order_id = $2
           ORDER BY coalesce(stripe_created_at, created_at), created_at, id""",
        store_id,
        order_id,
    )
    return [
        RecordedRefund(
            stripe_id=r["stripe_refund_id"],
            amount=r["amount"],
            status=r["status"],
            source=r["source"],
            cancellation=r["cancellation"],
            failure_reason=r["failure_reason"],
            fee_refunded=r["fee_refunded"],
            stripe_created_at=r["stripe_created_at"],
        )
        for r in rows
    ]


async def write_refunds(
    conn: asyncpg.Connection,
    store_id: int,
    order_id: uuid.UUID,
    currency: str,
    rows: Iterable[RecordedRefund],
) -> None:
    """Inserts new refunds and updates known ones (by Stripe refund id). `source` and
    `cancellation` are kept from the first write: who made a refund does not change."""
    await conn.executemany(
        """INSERT INTO refunds (store_id, id, order_id, stripe_refund_id, amount, currency,
                                status, failure_reason, source, cancellation, fee_refunded,
                                stripe_created_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                   now(), now())
           ON CONFLICT (store_id, stripe_refund_id) DO UPDATE
             SET status = EXCLUDED.status, failure_reason = EXCLUDED.failure_reason,
                 fee_refunded = EXCLUDED.fee_refunded,
                 stripe_created_at = coalesce(refunds.stripe_created_at,
                                              EXCLUDED.stripe_created_at),
                 updated_at = now()
           WHERE refunds.store_id = $1 AND refunds.order_id = $3""",
        [
            (
                store_id,
                uuid.uuid4(),
                order_id,
                r.stripe_id,
                r.amount,
                currency,
                r.status,
                (r.failure_reason or "")[:100] or None,
                r.source,
                r.cancellation,
                r.fee_refunded,
                r.stripe_created_at,
            )
            for r in rows
        ],
    )


async def set_refund_totals(
    conn: asyncpg.Connection,
    store_id: int,
    order_id: uuid.UUID,
    *,
    refunded: int,
    status: str,
    application_fee_refunded: int,
    admin_refund: bool,
    payment_status: str,
) -> None:
    await conn.execute(
        """UPDATE orders
           SET refunded = $3, status = $4, application_fee_refunded = $5,
               admin_refunds = admin_refunds + $6, payment_status = $7,
               updated_at = now()
           WHERE store_id = $1 AND id = $2""",
        store_id,
        order_id,
        refunded,
        status,
        application_fee_refunded,
        1 if admin_refund else 0,
        payment_status,
    )


async def add_refunded_quantities(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID, lines: Mapping[str, int]
) -> None:
    await conn.executemany(
        """UPDATE order_items SET refunded_quantity = refunded_quantity + $4
           WHERE store_id = $1 AND order_id = $2 AND variant_id = $3::uuid""",
        [(store_id, order_id, variant_id, quantity) for variant_id, quantity in lines.items()],
    )


async def dispute_status(
    conn: asyncpg.Connection, store_id: int, stripe_dispute_id: str
) -> str | None:
    return await conn.fetchval(
        "SELECT status FROM disputes WHERE store_id = $1 AND stripe_dispute_id = $2",
        store_id,
        stripe_dispute_id,
    )


async def write_dispute(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID, dispute: Dispute, status: str
) -> None:
    await conn.execute(
        """INSERT INTO disputes (store_id, id, order_id, stripe_dispute_id, amount, currency,
                                 status, reason, evidence_due_by, stripe_created_at,
                                 created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now())
           ON CONFLICT (store_id, stripe_dispute_id) DO UPDATE
             SET status = EXCLUDED.status, amount = EXCLUDED.amount,
                 evidence_due_by = EXCLUDED.evidence_due_by, updated_at = now()
           WHERE disputes.store_id = $1 AND disputes.order_id = $3""",
        store_id,
        uuid.uuid4(),
        order_id,
        dispute.id,
        dispute.amount,
        dispute.currency,
        status,
        (dispute.reason or "")[:100] or None,
        dispute.evidence_due_by,
        dispute.created_at,
    )
