"""An order's refunds, kept as Stripe reports them: whoever made a refund (the admin API, or
the merchant in Stripe's Dashboard) and whichever caller learns of it first (the admin call
itself, or one of Stripe's webhooks), the order ends with one row per Stripe refund, the
refunded amount of the refunds that still return money, and one event per refund.

Stripe's events are hints: the payment's refunds and the platform's fee are read from Stripe
now, then merged under the order's row lock (refund_rules.reconcile) in one transaction with
the webhook's dedupe row, the order's new totals and its outbox events. Event keys are derived
from the Stripe refund id, so the admin call and its own webhook emit one order.refunded."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from services.checkout.customers import repository as customers
from services.checkout.fulfillment import repository as fulfillments
from services.checkout.fulfillment.rules import fulfillment_status
from services.checkout.orders import refunds_repository as ledger
from services.checkout.orders import repository as orders
from services.checkout.orders.refund_rules import (
    OrderTotals,
    Reconciled,
    RecordedRefund,
    reconcile,
)
from services.checkout.orders.rules import Order, payment_status
from services.checkout.payments.rules import FeeState, PaymentUnavailable, Refund
from services.common import metrics, outbox
from services.common.db import tenant_transaction
from services.common.dedupe import first_time
from services.common.inventory_events import move_stock

log = logging.getLogger(__name__)

CONSUMER = "stripe_refunds"
ADMIN = "order_admin"


class RefundReads(Protocol):
    async def refunds_of(self, account: str, intent_id: str) -> list[Refund]: ...

    async def application_fee(self, charge_id: str) -> FeeState | None: ...


@dataclass(frozen=True)
class AdminAction:
    """What an admin refund or cancellation does besides the refund itself, once."""

    key: str  # its dedupe key (the Stripe refund id, or the cancellation)
    refund: Refund | None  # the refund it made (None: nothing was left to refund)
    cancellation: bool = False
    refunded_lines: Mapping[str, int] = field(default_factory=dict)
    restock: Mapping[str, int] = field(default_factory=dict)


def refund_event_data(order: Order, refund: RecordedRefund) -> dict[str, Any]:
    return {
        **orders.order_event_data(order),
        "status": order.status,
        "refund_id": refund.stripe_id,
        "refunded_minor": refund.amount,
        "refund_status": refund.status,
        "source": refund.source,
        "failure_reason": refund.failure_reason,
        "order_refunded_minor": order.refunded,
    }


class Refunds:
    def __init__(self, pool: asyncpg.Pool, reads: RefundReads) -> None:
        self._pool = pool
        self._reads = reads

    async def on_stripe_event(self, store_id: int, event: dict[str, Any]) -> None:
        """charge.refunded, refund.created, refund.updated, refund.failed."""
        obj = event["data"]["object"]
        intent_id = obj.get("payment_intent")
        if not intent_id:
            log.info("Stripe event %s names no payment intent; nothing to record", event["id"])
            return
        await self.sync(store_id, event.get("account") or "", intent_id, event_id=event["id"])

    async def sync(
        self,
        store_id: int,
        account: str,
        intent_id: str,
        *,
        event_id: str | None = None,
        admin: AdminAction | None = None,
    ) -> Order | None:
        """Brings the order of `intent_id` up to date with Stripe; the order as left, or None
        when no order has this payment (the checkout's own refunds of unfulfillable payments)
        or the event was seen before."""
        made = admin.refund if admin else None
        try:
            seen = await self._reads.refunds_of(account, intent_id)
        except PaymentUnavailable:
            if admin is None:
                raise
            # The admin call's refund is made: record it now (the others are as recorded
            # until the next read), rather than fail a call whose money already moved.
            seen = []
        if made is not None and made.id not in {r.id for r in seen}:
            seen.insert(0, made)  # the newest
        fee = await self._fee(seen)
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            order_id = await ledger.lock_order_of_intent(conn, store_id, intent_id)
            if order_id is None:
                # No dedupe row: the order may be written a moment later, and Stripe's retry
                # (or the next event about this payment) must then find its refunds.
                log.info("refunds of %s: no order has this payment", intent_id)
                return None
            if event_id is not None and not await first_time(conn, store_id, CONSUMER, event_id):
                return None
            order = await orders.load(conn, store_id, order_id)
            if admin is not None and not await first_time(conn, store_id, ADMIN, admin.key):
                admin = None  # a retried call: its effects are already there
            if admin is not None:
                await self._apply_admin(conn, store_id, order_id, admin)
            plan = reconcile(
                OrderTotals(
                    order.status, order.total, order.application_fee, order.application_fee_refunded
                ),
                await ledger.recorded_refunds(conn, store_id, order_id),
                seen,
                fee,
                final_status="cancelled" if admin and admin.cancellation else None,
            )
            await ledger.write_refunds(conn, store_id, order_id, order.currency, plan.changed)
            await ledger.set_refund_totals(
                conn,
                store_id,
                order_id,
                refunded=plan.refunded,
                status=plan.status,
                application_fee_refunded=plan.application_fee_refunded,
                admin_refund=admin is not None and admin.refund is not None,
                payment_status=payment_status(plan.status, order.total, plan.refunded),
            )
            # The customer's orders_count and total_spent follow the order (same transaction).
            await customers.refresh_totals_of_order(conn, store_id, order_id)
            updated = await orders.load(conn, store_id, order_id)
            await outbox.record(conn, *self._events(updated, plan, admin))
        self._observe(store_id, updated, plan)
        return updated

    async def _fee(self, seen: list[Refund]) -> FeeState | None:
        charge = next((r.charge for r in seen if r.charge), None)
        if charge is None:
            return None
        try:
            return await self._reads.application_fee(charge)
        except PaymentUnavailable as exc:
            # The refunds matter more than the fee split: record them now; the fee object is
            # read again on the next change (refund_rules._fees says what is assumed meanwhile).
            log.warning("application fee of %s not readable (%s); computing shares", charge, exc)
            return None

    async def _apply_admin(
        self, conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID, admin: AdminAction
    ) -> None:
        await ledger.add_refunded_quantities(conn, store_id, order_id, admin.refunded_lines)
        if admin.refunded_lines:
            # Refunding the units still waiting to ship can leave nothing to ship: the order's
            # fulfillment_status follows its lines.
            after = await orders.load(conn, store_id, order_id)
            status = fulfillment_status(after.lines)
            if status != after.fulfillment_status:
                await fulfillments.set_order_status(conn, store_id, order_id, status)
        if admin.restock:
            await move_stock(
                conn, store_id, "restocked", {uuid.UUID(v): q for v, q in admin.restock.items()}
            )

    def _events(
        self, order: Order, plan: Reconciled, admin: AdminAction | None
    ) -> list[outbox.Event]:
        events = [
            outbox.order_event(
                "refunded", refund_event_data(order, r), f"order-refunded:{r.stripe_id}"
            )
            for r in plan.appeared
        ]
        events += [
            outbox.order_event(
                "refund_failed", refund_event_data(order, r), f"order-refund-failed:{r.stripe_id}"
            )
            for r in plan.failed
        ]
        if admin is not None and admin.cancellation:
            data = {
                **orders.order_event_data(order),
                "status": order.status,
                "refund_id": admin.refund.id if admin.refund else None,
                "refunded_minor": admin.refund.amount if admin.refund else 0,
                "order_refunded_minor": order.refunded,
            }
            events.append(outbox.order_event("cancelled", data, f"order-cancelled:{order.id}"))
        return events

    def _observe(self, store_id: int, order: Order, plan: Reconciled) -> None:
        for refund in plan.appeared:
            metrics.REFUNDS_RECORDED.labels(source=refund.source).inc()
        for refund in plan.failed:
            reason = refund.failure_reason or refund.status
            metrics.REFUNDS_FAILED.labels(reason=reason).inc()
            log.error(
                "ALERT refund %s of order #%s (store %s) %s (%s): %s returned to the store's"
                " balance; the order's refunded amount is back to %s",
                refund.stripe_id,
                order.number,
                store_id,
                refund.status,
                reason,
                refund.amount,
                order.refunded,
            )
