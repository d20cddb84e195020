"""The Stripe event types the platform acts on, and so the only ones its webhook endpoints
subscribe to (`enabled_events`): every other delivery would cost an HTTPS request, a signature
check and a log line for nothing (measured in bench.checkout: a paid order drew four
deliveries — payment_intent.created, charge.succeeded, payment_intent.succeeded,
application_fee.created — of which one is acted on). Plain data: no Stripe SDK here."""

from __future__ import annotations

# The intent events that can change what the checkout must do (services.checkout.payments.
# stripe_events); created, processing, amount_capturable_updated … change nothing.
INTENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
)
ACCOUNT_EVENTS = ("account.updated",)
# Refunds made here or in Stripe's Dashboard, disputes, payouts (the orders and payouts rooms).
REFUND_EVENTS = ("charge.refunded", "refund.created", "refund.updated", "refund.failed")
DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
PAYOUT_EVENTS = ("payout.paid", "payout.failed")

# Both endpoints (platform and Connect) subscribe to exactly these.
HANDLED_EVENT_TYPES = (
    *INTENT_EVENTS,
    *ACCOUNT_EVENTS,
    *REFUND_EVENTS,
    *DISPUTE_EVENTS,
    *PAYOUT_EVENTS,
)
