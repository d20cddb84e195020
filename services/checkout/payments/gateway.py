"""Stripe through the official SDK: PaymentIntents on the store's Connect account, with an
idempotency key the server derives from the store and the checkout record (never the client's
key). A lost response (timeout, 5xx) is reconciled by looking the intent up by its metadata,
never by charging again."""

from __future__ import annotations

import asyncio
import logging

import stripe

from services.checkout.config import CheckoutSettings
from services.checkout.payments.rules import Payment, PaymentUnavailable

log = logging.getLogger(__name__)


def _plain(obj) -> dict:
    """SDK objects are not dicts (no .get); work on their plain form."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _from_intent(intent) -> Payment:
    intent = _plain(intent)
    status = intent["status"]
    if status == "succeeded":
        return Payment("succeeded", intent["id"])
    if status == "requires_action":
        return Payment("requires_action", intent["id"], client_secret=intent["client_secret"])
    if status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        return Payment(
            "declined" if status == "requires_payment_method" else "canceled",
            intent["id"],
            decline_code=error.get("decline_code") or error.get("code"),
            message=error.get("message"),
        )
    return Payment("pending", intent["id"])


class StripeGateway:
    def __init__(self, settings: CheckoutSettings) -> None:
        self._client = stripe.StripeClient(
            settings.stripe_api_key,
            base_addresses={"api": settings.stripe_api_base},
            http_client=stripe.HTTPXClient(timeout=settings.stripe_timeout),
            max_network_retries=0,
        )

    async def charge(
        self,
        *,
        account: str,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Payment:
        for attempt in range(3):
            try:
                intent = await self._client.v1.payment_intents.create_async(
                    params={
                        "amount": amount,
                        "currency": currency.lower(),
                        "payment_method": payment_method,
                        # The SDK's typed params (its API version) no longer know this name;
                        # the payments work replaces it together with the emulator.
                        "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
                        "confirm": True,
                        "metadata": metadata,
                    },
                    options={"idempotency_key": idempotency_key, "stripe_account": account},
                )
                return _from_intent(intent)
            except stripe.CardError as exc:
                error = exc.error
                declined = getattr(error, "payment_intent", None) if error else None
                return Payment(
                    "declined",
                    declined["id"] if declined else None,
                    decline_code=(getattr(error, "decline_code", None) or exc.code),
                    message=exc.user_message or str(exc),
                )
            except stripe.RateLimitError:
                await asyncio.sleep(0.2 * 2**attempt)
            except (stripe.APIConnectionError, stripe.APIError) as exc:
                log.warning("Stripe create failed (%s); looking the intent up", exc)
                found = await self.find(account, metadata["checkout_id"])
                if found is not None:
                    return found
                raise PaymentUnavailable(str(exc)) from exc
        raise PaymentUnavailable("Stripe is rate limiting; retry shortly")

    async def find(self, account: str, checkout_id: str) -> Payment | None:
        try:
            result = await self._client.v1.payment_intents.search_async(
                params={"query": f"metadata['checkout_id']:'{checkout_id}'"},
                options={"stripe_account": account},
            )
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        intents = list(result.data)
        if not intents:
            return None
        # Prefer a successful one: it is the one that moved money.
        intents.sort(key=lambda i: i["status"] != "succeeded")
        return _from_intent(intents[0])

    async def retrieve(self, account: str, intent_id: str) -> Payment:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                intent_id, options={"stripe_account": account}
            )
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        return _from_intent(intent)

    async def cancel(self, account: str, intent_id: str) -> Payment:
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                intent_id, options={"stripe_account": account}
            )
        except stripe.InvalidRequestError:
            return await self.retrieve(account, intent_id)  # already succeeded or canceled
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        return _from_intent(intent)

    async def refund(self, account: str, intent_id: str, amount: int, idempotency_key: str) -> str:
        try:
            refund = await self._client.v1.refunds.create_async(
                params={"payment_intent": intent_id, "amount": amount},
                options={"idempotency_key": idempotency_key, "stripe_account": account},
            )
        except stripe.StripeError as exc:
            raise PaymentUnavailable(str(exc)) from exc
        return refund["id"]
