"""Inbound Stripe webhooks. Verified with the SDK against the endpoint's own secret (platform or
Connect; 300 s tolerance), routed to the store that owns `event.account`, and treated as a
hint: the object is fetched from Stripe as it is now, so duplicates and events out of order
can never move anything backwards.

- `payment_intent.*` → the checkout's settle steps (an order exists for a succeeded intent, or
  it is refunded; a decline restocks), idempotent by design;
- `account.updated` → the store's payment flags, from the account as Stripe returns it now;
- anything else the orders and payouts rooms registered a handler for (refunds made on
  Stripe's side, disputes, payouts): each handler dedupes in its own effect's transaction.
An event about an unknown account, or of a type nobody handles, is acknowledged and logged."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import stripe

from services.checkout.checkout.flow import CheckoutFlow
from services.checkout.payments.accounts import StoreAccounts, state_from_account
from services.checkout.payments.connect import StripeConnect
from services.checkout.payments.event_types import INTENT_EVENTS
from services.checkout.payments.rules import PaymentGateway, PaymentUnavailable
from services.common.errors import InvalidArgument, Unavailable

log = logging.getLogger(__name__)

# (store id, the verified event as a plain dict) → the effect.
Handler = Callable[[int, dict[str, Any]], Awaitable[None]]
SETTLED_BY_STATUS = ("succeeded", "declined", "canceled", "requires_action")


class StripeEvents:
    def __init__(
        self,
        flow: CheckoutFlow,
        gateway: PaymentGateway,
        accounts: StoreAccounts,
        connect: StripeConnect,
        *,
        platform_secret: str,
        connect_secret: str,
        handlers: Mapping[str, Handler] | None = None,
        on_account_change: Callable[[int], None] = lambda _store: None,
    ) -> None:
        self._flow = flow
        self._gateway = gateway
        self._accounts = accounts
        self._connect = connect
        self._secrets = {False: platform_secret, True: connect_secret}
        self._handlers = dict(handlers or {})
        self._on_account_change = on_account_change

    async def handle(self, payload: bytes, signature: str, *, connect: bool) -> None:
        try:
            verified = stripe.Webhook.construct_event(
                payload, signature, self._secrets[connect], tolerance=300
            )
        except (ValueError, stripe.SignatureVerificationError):
            raise InvalidArgument.field(
                "stripe-signature", "signature verification failed (or timestamp too old)"
            ) from None
        event: dict[str, Any] = verified.to_dict()
        kind = event["type"]
        if kind not in INTENT_EVENTS and kind != "account.updated" and kind not in self._handlers:
            log.debug("Stripe event %s (%s) not handled", event["id"], kind)
            return
        account = event.get("account")
        if not account:
            log.info("Stripe platform event %s (%s) acknowledged", event["id"], kind)
            return
        store_id = await self._accounts.store_of(account)
        if store_id is None:
            log.warning("Stripe event %s (%s) for unknown account %s", event["id"], kind, account)
            return
        try:
            if kind in INTENT_EVENTS:
                await self._intent(store_id, account, event)
            elif kind == "account.updated":
                await self._account_updated(store_id, account)
            else:
                await self._handlers[kind](store_id, event)
        except PaymentUnavailable as exc:
            # Stripe retries a non-2xx answer: we look again then.
            raise Unavailable("the payment provider did not answer; retry") from exc

    async def _intent(self, store_id: int, account: str, event: dict[str, Any]) -> None:
        intent = event["data"]["object"]
        metadata = intent.get("metadata") or {}
        try:
            checkout_id = uuid.UUID(metadata["checkout_id"])
            ours = int(metadata["store_id"]) == store_id
        except (KeyError, ValueError, TypeError):
            ours = False
        if not ours:
            log.info("Stripe event %s is not about one of this store's checkouts", event["id"])
            return
        if intent.get("status") == "succeeded" and await self._flow.has_order(
            store_id, intent["id"]
        ):
            return  # an order exists for it: nothing any event can change
        payment = await self._gateway.retrieve(account, intent["id"])
        if payment.status not in SETTLED_BY_STATUS:
            return  # still processing: a later event (or the recovery worker) settles it
        try:
            await self._flow.observe(store_id, checkout_id, payment)
        except LookupError:
            log.warning("Stripe event %s for unknown checkout %s", event["id"], checkout_id)
            if payment.status == "succeeded":
                # No checkout (pruned after retention, or never ours) means no order can be
                # made for it: money without an order is refunded in full.
                await self._flow.refund_unknown(store_id, checkout_id, intent["id"], account)

    async def _account_updated(self, store_id: int, account: str) -> None:
        state = state_from_account(await self._connect.account(account))
        await self._accounts.record(store_id, state)
        self._on_account_change(store_id)
        log.info(
            "store %s payments: charges %s, payouts %s",
            store_id,
            "enabled" if state.charges_enabled else "disabled",
            "enabled" if state.payouts_enabled else "disabled",
        )
