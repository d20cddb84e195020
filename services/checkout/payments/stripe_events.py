"""Inbound Stripe webhooks: verified with the SDK (Stripe-Signature, 300 s tolerance), deduped
by event id, and turned into the same finalise / compensate steps a retry would take."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import stripe

from services.checkout.checkout import records
from services.checkout.checkout.flow import CheckoutFlow
from services.checkout.payments.accounts import account_in
from services.checkout.payments.rules import PaymentGateway
from services.common.db import tenant_transaction
from services.common.dedupe import first_time
from services.common.errors import FailedPrecondition, InvalidArgument

log = logging.getLogger(__name__)

CONSUMER = "stripe_webhook"
HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed")


class StripeEvents:
    def __init__(
        self, pool: asyncpg.Pool, flow: CheckoutFlow, gateway: PaymentGateway, secret: str
    ) -> None:
        self._pool = pool
        self._flow = flow
        self._gateway = gateway
        self._secret = secret

    async def handle(self, payload: bytes, signature: str) -> None:
        try:
            verified = stripe.Webhook.construct_event(
                payload, signature, self._secret, tolerance=300
            )
        except (ValueError, stripe.SignatureVerificationError):
            raise InvalidArgument.field(
                "stripe-signature", "signature verification failed (or timestamp too old)"
            ) from None
        event: dict[str, Any] = verified.to_dict()
        if event["type"] not in HANDLED:
            return
        intent = event["data"]["object"]
        metadata = intent.get("metadata") or {}
        try:
            store_id = int(metadata["store_id"])
            checkout_id = uuid.UUID(metadata["checkout_id"])
        except (KeyError, ValueError, TypeError):
            log.info("Stripe event %s is not about one of our checkouts", event["id"])
            return
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            account = await account_in(conn, store_id)
            if account is None or event.get("account") not in (None, account):
                log.warning(
                    "Stripe event %s names account %s, not store %s's",
                    event["id"],
                    event.get("account"),
                    store_id,
                )
                return
            if not await first_time(conn, store_id, CONSUMER, event["id"]):
                return
            try:
                record = await records.load(conn, store_id, checkout_id)
            except LookupError:
                log.warning("Stripe event %s for unknown checkout %s", event["id"], checkout_id)
                return
            if record.state == "completed" and event["type"] == "payment_intent.succeeded":
                return  # the checkout itself already placed the order (the usual case)
        if event["type"] == "payment_intent.succeeded":
            await self._succeeded(store_id, checkout_id, account, intent)
        else:
            error = intent.get("last_payment_error") or {}
            message = f"payment declined: {error.get('message') or 'authentication failed'}"
            await self._flow.compensate(
                store_id, checkout_id, final_error=FailedPrecondition(message)
            )

    async def _succeeded(
        self, store_id: int, checkout_id: uuid.UUID, account: str, intent: dict[str, Any]
    ) -> None:
        try:
            await self._flow.finalize(store_id, checkout_id, intent["id"])
        except FailedPrecondition:
            # Money arrived for a checkout that already gave its items back: return it.
            refund = await self._gateway.refund(
                account, intent["id"], intent["amount"], f"shop:{store_id}:late:{intent['id']}"
            )
            log.error("checkout %s paid after release; refunded %s", checkout_id, refund)
