"""The recovery worker: picks up checkouts whose worker stopped mid-way (its lease ran out) and
finishes or undoes them, so a crash never leaves stock reserved or money without an order.

- processing: nothing reserved yet → marked failed (the shopper may retry with the same key);
- reserved: Stripe is asked about the intent (by id, else by metadata): succeeded → order;
  declined / canceled / never created → restock; unknown (Stripe down) → try again later;
- requires_action past its wait: the intent is cancelled (or, if it succeeded meanwhile, the
  order is placed) and the stock released."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from services.checkout.checkout import records
from services.checkout.checkout.flow import CheckoutFlow
from services.checkout.payments.accounts import account_in
from services.checkout.payments.rules import Payment, PaymentGateway, PaymentUnavailable
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition
from services.common.workers import PeriodicWorker

log = logging.getLogger(__name__)

BATCH = 20


class RecoveryWorker(PeriodicWorker):
    name = "checkout-recovery"

    def __init__(
        self,
        pool: asyncpg.Pool,
        worker_pool: asyncpg.Pool,
        flow: CheckoutFlow,
        gateway: PaymentGateway,
        *,
        lease_seconds: int,
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        self._pool = pool
        self._worker_pool = worker_pool
        self._flow = flow
        self._gateway = gateway
        self._lease = lease_seconds
        self.interval = interval

    async def run_once(self) -> bool:
        claimed = await self._worker_pool.fetch(
            "SELECT store_id, checkout_id FROM platform.claim_stale_checkouts($1, $2)",
            BATCH,
            self._lease,
        )
        for row in claimed:
            try:
                await self.recover(row["store_id"], row["checkout_id"])
            except Exception:
                log.exception("recovering checkout %s failed; will retry", row["checkout_id"])
        return len(claimed) == BATCH

    async def recover(self, store_id: int, checkout_id: uuid.UUID) -> None:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            record = await records.load(conn, store_id, checkout_id)
            account = await account_in(conn, store_id) or ""
            if record.state == "processing":
                await records.set_state(
                    conn,
                    store_id,
                    record.id,
                    "failed",
                    error_message="interrupted before reserving stock",
                )
                return
        if record.state not in ("reserved", "requires_action"):
            return
        payment: Payment | None
        try:
            if record.payment_intent_id:
                payment = await self._gateway.retrieve(account, record.payment_intent_id)
            else:
                payment = await self._gateway.find(account, str(record.id))
        except PaymentUnavailable:
            log.warning("Stripe unreachable while recovering %s; later", checkout_id)
            return
        if payment is not None and payment.status == "succeeded":
            await self._flow.finalize(store_id, record.id, payment.intent_id or "")
            log.info("recovered checkout %s: order placed", checkout_id)
            return
        if payment is not None and payment.status in ("requires_action", "pending"):
            if record.state == "requires_action" or payment.status == "pending":
                payment = await self._gateway.cancel(account, payment.intent_id or "")
                if payment.status == "succeeded":
                    await self._flow.finalize(store_id, record.id, payment.intent_id or "")
                    return
        final = None
        if payment is not None and payment.status in ("declined", "canceled"):
            final = FailedPrecondition(
                f"payment {payment.status}: {payment.message or 'not completed'}"
            )
        await self._flow.compensate(store_id, record.id, final_error=final)
        log.info(
            "recovered checkout %s: stock released (%s)",
            checkout_id,
            payment.status if payment else "no payment",
        )
