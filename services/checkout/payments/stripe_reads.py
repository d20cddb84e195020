"""Reads of what changed on Stripe's side, through the same SDK client as the gateway: a
payment's refunds, the platform's application fee on a charge, a dispute, a payout — each as
Stripe returns it now (list and retrieve are strongly consistent; search is never used). The
Stripe webhook handlers treat an event as a hint and read here instead of trusting its body.

No answer (connection, 5xx, rate limit) → PaymentUnavailable: the handler answers non-2xx and
Stripe sends the event again later. An object not on the account asked about → LookupError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

from services.checkout.payments.gateway import refund_from_stripe
from services.checkout.payments.rules import (
    Dispute,
    FeeState,
    PaymentUnavailable,
    Payout,
    Refund,
)

LIST_PAGE = 100
# A payment with more refunds than this is not something a shop produces; stop reading.
MAX_REFUND_PAGES = 10


def _when(unix: int | None) -> datetime | None:
    return None if not unix else datetime.fromtimestamp(unix, UTC)


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _unavailable(exc: stripe.StripeError) -> PaymentUnavailable:
    return PaymentUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}")


def _failed(exc: stripe.StripeError, what: str) -> Exception:
    """Not on this account (an event that names another account's object): LookupError, which
    the handler acknowledges — asking again would never find it. Anything else: ask later."""
    if isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing":
        return LookupError(f"{what} not found on this account")
    return _unavailable(exc)


class StripeReads:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    async def refunds_of(self, account: str, intent_id: str) -> list[Refund]:
        """Every refund of the intent's payment, newest first."""
        params: stripe.params.RefundListParams = {"payment_intent": intent_id, "limit": LIST_PAGE}
        found: list[Refund] = []
        try:
            for _ in range(MAX_REFUND_PAGES):
                page = await self._client.v1.refunds.list_async(
                    params=params, options={"stripe_account": account}
                )
                found += [refund_from_stripe(r) for r in page.data]
                if not page.has_more or not page.data:
                    return found
                params["starting_after"] = page.data[-1].id
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        raise PaymentUnavailable(f"more than {len(found)} refunds on {intent_id}; not read")

    async def application_fee(self, charge_id: str) -> FeeState | None:
        """The platform's fee on a direct charge (a platform object: read without
        Stripe-Account), or None when the charge carries none."""
        params: stripe.params.ApplicationFeeListParams = {"charge": charge_id, "limit": 1}
        try:
            page = await self._client.v1.application_fees.list_async(params=params)
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        if not page.data:
            return None
        fee = _plain(page.data[0])
        return FeeState(fee["id"], int(fee["amount"]), int(fee.get("amount_refunded") or 0))

    async def dispute(self, account: str, dispute_id: str) -> Dispute:
        try:
            found = _plain(
                await self._client.v1.disputes.retrieve_async(
                    dispute_id, options={"stripe_account": account}
                )
            )
        except stripe.StripeError as exc:
            raise _failed(exc, f"dispute {dispute_id}") from exc
        evidence = found.get("evidence_details") or {}
        return Dispute(
            id=found["id"],
            status=found["status"],
            amount=int(found["amount"]),
            currency=str(found["currency"]).upper(),
            payment_intent=found.get("payment_intent"),
            charge=found.get("charge"),
            reason=found.get("reason"),
            evidence_due_by=_when(evidence.get("due_by")),
            created_at=_when(found.get("created")),
        )

    async def payout(self, account: str, payout_id: str) -> Payout:
        try:
            found = _plain(
                await self._client.v1.payouts.retrieve_async(
                    payout_id, options={"stripe_account": account}
                )
            )
        except stripe.StripeError as exc:
            raise _failed(exc, f"payout {payout_id}") from exc
        return Payout(
            id=found["id"],
            status=found["status"],
            amount=int(found["amount"]),
            currency=str(found["currency"]).upper(),
            arrival_date=_when(found.get("arrival_date")),
            failure_code=found.get("failure_code"),
            failure_message=found.get("failure_message"),
        )
