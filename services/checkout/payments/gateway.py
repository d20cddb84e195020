"""Stripe through the official SDK: direct charges on the store's connected account, with an
idempotency key the server derives from the store and the checkout record (never the client's
key), the API version pinned here, and every error class mapped to what it means for money:

- a card decline → a declined payment (the shopper's to fix);
- no answer (connection, 5xx, a 409 "key in use", rate limits that do not clear) → unknown:
  the caller asks again later with the **same** key, which Stripe answers with the first result;
- our request refused (invalid, permission, authentication, idempotency) → nothing charged,
  logged with a reference the shopper is shown.

Search is never used: it lags behind writes. An intent whose create answer was lost is found by
repeating the create, or in the strongly consistent list of recent intents."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import stripe

from services.checkout.config import CheckoutSettings
from services.checkout.payments.rules import Payment, PaymentRefused, PaymentUnavailable, Refund

log = logging.getLogger(__name__)

# The Stripe API version every request names, so Stripe's answers (and events) keep the shape
# this code reads even when the account's default version moves. It is the SDK's own
# (stripe 16.1.0): the SDK's typed parameters describe exactly this version.
STRIPE_API_VERSION = "2026-10-28.endive"
LIST_PAGE = 100
LIST_PAGES = 20


def _plain(obj: Any) -> dict[str, Any]:
    """SDK objects are not dicts (no .get); work on their plain form."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def payment_from_intent(obj: Any) -> Payment:
    intent = _plain(obj)
    status = intent["status"]
    common = {
        "intent_id": intent["id"],
        "amount": intent.get("amount"),
        "metadata": dict(intent.get("metadata") or {}),
    }
    if status == "succeeded":
        return Payment("succeeded", **common)
    if status == "requires_action":
        return Payment("requires_action", client_secret=intent.get("client_secret"), **common)
    if status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        return Payment(
            "declined" if status == "requires_payment_method" else "canceled",
            decline_code=error.get("decline_code") or error.get("code"),
            message=error.get("message"),
            **common,
        )
    return Payment("pending", **common)


def _refused(exc: stripe.StripeError, action: str) -> PaymentRefused:
    """Our request was refused: log Stripe's full answer under a reference the shopper sees."""
    reference = uuid.uuid4().hex[:12]
    code = getattr(exc, "code", None)
    log.error(
        "Stripe refused %s (%s, code %s, reference %s): %s",
        action,
        type(exc).__name__,
        code,
        reference,
        exc.user_message or str(exc),
    )
    if code == "amount_too_small":
        return PaymentRefused(
            "the order total is below the smallest amount the payment provider accepts",
            reference,
            shopper_fixable=True,
        )
    return PaymentRefused(
        f"the payment could not be taken: this store's payment setup was refused by the "
        f"provider; nothing was charged (reference {reference})",
        reference,
    )


_REFUSALS = (
    stripe.InvalidRequestError,
    stripe.PermissionError,
    stripe.AuthenticationError,
    stripe.IdempotencyError,
)


def stripe_client(settings: CheckoutSettings) -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.HTTPXClient(timeout=settings.stripe_timeout),
        stripe_version=STRIPE_API_VERSION,
        # Retries are ours (same key, recovery worker), never a hidden loop in the SDK.
        max_network_retries=0,
    )


class StripeGateway:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    async def charge(
        self,
        *,
        account: str,
        amount: int,
        currency: str,
        payment_method: str,
        application_fee: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Payment:
        params: stripe.params.PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": payment_method,
            "confirm": True,
            # Cards only, confirmed server-side: no redirect-based method can be chosen.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": metadata,
        }
        if application_fee:
            params["application_fee_amount"] = application_fee
        for attempt in range(3):
            try:
                intent = await self._client.v1.payment_intents.create_async(
                    params=params,
                    options={"idempotency_key": idempotency_key, "stripe_account": account},
                )
                return payment_from_intent(intent)
            except stripe.CardError as exc:
                error = exc.error
                declined = getattr(error, "payment_intent", None) if error else None
                return Payment(
                    "declined",
                    declined["id"] if declined else None,
                    decline_code=(getattr(error, "decline_code", None) or exc.code),
                    message=exc.user_message or str(exc),
                    metadata=metadata,
                )
            except stripe.RateLimitError:
                await asyncio.sleep(0.2 * 2**attempt)
            except stripe.APIError as exc:
                if exc.http_status != 409:
                    raise PaymentUnavailable(str(exc)) from exc
                # The same key is still executing (the recovery worker and a retry raced):
                # once it finishes Stripe replays its answer to us.
                await asyncio.sleep(0.2 * 2**attempt)
            except stripe.APIConnectionError as exc:
                raise PaymentUnavailable(str(exc)) from exc
            except _REFUSALS as exc:
                raise _refused(exc, "a payment") from exc
        raise PaymentUnavailable("Stripe is busy with this payment (rate limit or key in use)")

    async def retrieve(self, account: str, intent_id: str) -> Payment:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                intent_id, options={"stripe_account": account}
            )
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        return payment_from_intent(intent)

    async def find_recent(
        self, account: str, metadata: dict[str, str], since: datetime
    ) -> Payment | None:
        """Pages the account's intents newest first until they are older than `since`."""
        oldest = int(since.timestamp()) - 60  # clocks differ: a minute of slack
        params: stripe.params.PaymentIntentListParams = {"limit": LIST_PAGE}
        try:
            for _ in range(LIST_PAGES):
                page = await self._client.v1.payment_intents.list_async(
                    params=params, options={"stripe_account": account}
                )
                for intent in page.data:
                    found: dict[str, str] = dict(intent.to_dict().get("metadata") or {})
                    if all(found.get(k) == v for k, v in metadata.items()):
                        return payment_from_intent(intent)
                if not page.has_more or not page.data or page.data[-1].created < oldest:
                    return None
                params["starting_after"] = page.data[-1].id
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        raise PaymentUnavailable("too many recent intents to look through; later")

    async def cancel(self, account: str, intent_id: str) -> Payment:
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                intent_id, options={"stripe_account": account}
            )
        except stripe.InvalidRequestError:
            return await self.retrieve(account, intent_id)  # already succeeded or canceled
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        return payment_from_intent(intent)

    async def refund(
        self,
        account: str,
        intent_id: str,
        amount: int | None,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> Refund:
        params: stripe.params.RefundCreateParams = {
            "payment_intent": intent_id,
            # Direct charges: the platform's fee goes back in proportion to what is refunded.
            "refund_application_fee": True,
        }
        if amount is not None:
            params["amount"] = amount
        if metadata:
            params["metadata"] = metadata
        try:
            refund = await self._client.v1.refunds.create_async(
                params=params,
                options={"idempotency_key": idempotency_key, "stripe_account": account},
            )
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise PaymentUnavailable(str(exc)) from exc
        except stripe.InvalidRequestError as exc:
            reason = _REFUND_REFUSALS.get(getattr(exc, "code", None) or "")
            if reason is None:
                raise _refused(exc, "a refund") from exc
            raise PaymentRefused(
                reason, uuid.uuid4().hex[:12], shopper_fixable=True, code=exc.code
            ) from exc
        except _REFUSALS as exc:
            raise _refused(exc, "a refund") from exc
        return refund_from_stripe(refund)


# Refusals that describe the payment's state, not a fault of ours: said as they are.
_REFUND_REFUSALS = {
    "charge_disputed": "the payment is disputed: it cannot be refunded while the dispute is open",
    "charge_already_refunded": "the payment has already been refunded in full (a refund may"
    " have been made in Stripe)",
    "amount_too_large": "the amount is more than what is left to refund on the payment (a"
    " refund may have been made in Stripe)",
}


def refund_from_stripe(obj: Any) -> Refund:
    refund = _plain(obj)
    created = refund.get("created")
    return Refund(
        id=refund["id"],
        status=refund.get("status") or "pending",
        amount=int(refund["amount"]),
        charge=refund.get("charge"),
        currency=(refund.get("currency") or "").upper() or None,
        failure_reason=refund.get("failure_reason"),
        created_at=datetime.fromtimestamp(created, UTC) if created else None,
        metadata=dict(refund.get("metadata") or {}),
    )
