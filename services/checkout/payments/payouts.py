"""Payouts to a store's bank account, from Stripe's payout.paid and payout.failed events. Payouts
stay Stripe's (read, never copied: ListPayouts asks Stripe); what the platform adds is the news:
payout.paid and payout.failed events through the outbox (merchant webhooks payouts/paid and
payouts/failed; the owner is emailed about a failure). The payout is read from Stripe now and
its current status decides the news (one event per payout and status, whatever order or how
often Stripe's events arrive)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import asyncpg

from services.checkout.payments.rules import Payout
from services.common import metrics, outbox
from services.common.db import tenant_transaction
from services.common.dedupe import first_time

log = logging.getLogger(__name__)

CONSUMER = "stripe_payouts"
NEWS = ("paid", "failed")


class PayoutReads(Protocol):
    async def payout(self, account: str, payout_id: str) -> Payout: ...


def payout_event_data(payout: Payout) -> dict[str, Any]:
    return {
        "payout_id": payout.id,
        "status": payout.status,
        "amount_minor": payout.amount,
        "currency": payout.currency,
        "arrival_date": payout.arrival_date.isoformat() if payout.arrival_date else None,
        "failure_code": payout.failure_code,
        "failure_message": payout.failure_message,
    }


class PayoutNews:
    def __init__(self, pool: asyncpg.Pool, reads: PayoutReads) -> None:
        self._pool = pool
        self._reads = reads

    async def on_stripe_event(self, store_id: int, event: dict[str, Any]) -> None:
        try:
            payout = await self._reads.payout(
                event.get("account") or "", event["data"]["object"]["id"]
            )
        except LookupError as exc:
            log.warning("Stripe event %s: %s; acknowledged", event["id"], exc)
            return
        if payout.status not in NEWS:
            log.info("payout %s is %s; nothing to announce yet", payout.id, payout.status)
            return
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            if not await first_time(conn, store_id, CONSUMER, event["id"]):
                return
            await outbox.record(
                conn,
                outbox.payout_event(
                    payout.status, payout_event_data(payout), f"payout-{payout.status}:{payout.id}"
                ),
            )
        if payout.status == "failed":
            metrics.PAYOUTS_FAILED.labels(code=payout.failure_code or "unknown").inc()
            log.error(
                "ALERT payout %s of store %s failed (%s): %s %s back in the Stripe balance",
                payout.id,
                store_id,
                payout.failure_code,
                payout.amount,
                payout.currency,
            )
