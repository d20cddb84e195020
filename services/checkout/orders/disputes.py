"""Disputes of an order's payment, from Stripe's charge.dispute.* events: the dispute is read
from Stripe as it is now (the event is a hint), recorded under the order's row lock with the
webhook's dedupe row, and announced: order.disputed when the order first learns of it,
order.dispute_closed when it closes (won, lost, …)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import asyncpg

from services.checkout.orders import dispute_rules
from services.checkout.orders import refunds_repository as ledger
from services.checkout.orders import repository as orders
from services.checkout.payments.rules import Dispute
from services.common import metrics, outbox
from services.common.db import tenant_transaction
from services.common.dedupe import first_time

log = logging.getLogger(__name__)

CONSUMER = "stripe_disputes"


class DisputeReads(Protocol):
    async def dispute(self, account: str, dispute_id: str) -> Dispute: ...


class Disputes:
    def __init__(self, pool: asyncpg.Pool, reads: DisputeReads) -> None:
        self._pool = pool
        self._reads = reads

    async def on_stripe_event(self, store_id: int, event: dict[str, Any]) -> None:
        """charge.dispute.created, .updated, .closed, .funds_withdrawn, .funds_reinstated."""
        try:
            dispute = await self._reads.dispute(
                event.get("account") or "", event["data"]["object"]["id"]
            )
        except LookupError as exc:
            log.warning("Stripe event %s: %s; acknowledged", event["id"], exc)
            return
        if not dispute.payment_intent:
            log.info("dispute %s names no payment intent; nothing to record", dispute.id)
            return
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            order_id = await ledger.lock_order_of_intent(conn, store_id, dispute.payment_intent)
            if order_id is None:
                log.warning(
                    "dispute %s: no order has payment %s", dispute.id, dispute.payment_intent
                )
                return
            if not await first_time(conn, store_id, CONSUMER, event["id"]):
                return
            recorded = await ledger.dispute_status(conn, store_id, dispute.id)
            status = dispute_rules.advance(recorded, dispute.status)
            await ledger.write_dispute(conn, store_id, order_id, dispute, status)
            order = await orders.load(conn, store_id, order_id)
            news = dispute_rules.events(recorded, status)
            data = {
                **orders.order_event_data(order),
                "status": order.status,
                "dispute_id": dispute.id,
                "dispute_status": status,
                "dispute_reason": dispute.reason,
                "disputed_minor": dispute.amount,
                "evidence_due_by": (
                    dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None
                ),
            }
            key = {"disputed": "order-disputed", "dispute_closed": "order-dispute-closed"}
            await outbox.record(
                conn,
                *(outbox.order_event(n, data, f"{key[n]}:{dispute.id}") for n in news),
            )
        if "disputed" in news:
            metrics.DISPUTES.labels(outcome="opened").inc()
            log.warning(
                "dispute %s opened on order #%s (store %s): %s, %s %s, respond by %s",
                dispute.id,
                order.number,
                store_id,
                dispute.reason,
                dispute.amount,
                dispute.currency,
                dispute.evidence_due_by,
            )
        if "dispute_closed" in news:
            metrics.DISPUTES.labels(outcome=status).inc()
