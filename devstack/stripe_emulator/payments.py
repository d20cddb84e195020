"""PaymentIntents: create, retrieve, update. Transitions live in payment_actions.py and card
outcomes in outcomes.py.

Every endpoint validates all of its parameters before it changes anything, so a validation
error (never saved for idempotency) leaves no half-made object behind. As on Stripe: the amount
must reach the currency's minimum, a PaymentMethod must belong to the account (or be a test id),
an application fee needs a direct charge (`Stripe-Account`), and a connected account must be
able to take card payments before anything is confirmed on it."""

from __future__ import annotations

import copy
import time
from typing import Any

import stripe

from devstack.stripe_emulator import accounts, currencies, fees, payment_methods
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.cards import TestCard
from devstack.stripe_emulator.errors import invalid, missing, not_modelled, unexpected_state
from devstack.stripe_emulator.outcomes import attempt
from devstack.stripe_emulator.store import new_id, random_string
from devstack.stripe_emulator.world import Call, World

# Real Stripe parameters the emulator accepts (many only echoed or ignored); anything else is
# "Received unknown parameter", as on Stripe, so a typo in the checkout service fails in tests.
SHARED_PARAMS = {
    "expand",
    "payment_method",
    "allowed_payment_method_types",
    "payment_method_options",
    "receipt_email",
    "return_url",
    "off_session",
    "error_on_requires_action",
    "setup_future_usage",
    "shipping",
    "mandate_data",
    "payment_method_data",
    "use_stripe_sdk",
    "capture_method",
    "radar_options",
}
CREATE_PARAMS = SHARED_PARAMS | {
    "amount",
    "currency",
    "confirm",
    "metadata",
    "description",
    "customer",
    "application_fee_amount",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
    "on_behalf_of",
    "automatic_payment_methods",
    "confirmation_method",
}
CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (*CONFIRMABLE, "requires_capture", "processing")


def payment_method(world: World, call: Call) -> tuple[str | None, TestCard | None]:
    pm = p.text(call.params, "payment_method")
    return pm, (payment_methods.resolve(world, call.account, pm) if pm else None)


def refuse_unmodelled(params: dict[str, Any]) -> None:
    if params.get("customer"):
        # No Customer can exist here, so every id is one Stripe would not know either.
        raise missing("customer", str(params["customer"]), "customer")
    for name in ("transfer_data", "on_behalf_of"):
        if params.get(name):
            raise not_modelled(f"destination charges ({name})", name)


def create(world: World, call: Call) -> dict[str, Any]:
    params = call.params
    p.known(params, CREATE_PARAMS & p.sdk_params(stripe.params.PaymentIntentCreateParams))
    amount = p.amount(params)
    currency = p.currency(params)
    currencies.check_minimum(amount, currency)
    capture_method = p.choice(params, "capture_method", CAPTURE_METHODS, "automatic_async")
    confirm = p.boolean(params, "confirm")
    metadata = p.metadata(params)
    refuse_unmodelled(params)
    pm, test_card = payment_method(world, call)
    if confirm and test_card is None:
        raise invalid(
            "You must provide a payment_method to confirm this PaymentIntent.",
            param="payment_method",
        )
    fee = p.non_negative(params, "application_fee_amount")
    fees.validate(call, fee, amount)
    if confirm:
        accounts.require_charges_enabled(world, call.account)
    intent_id = new_id("pi")
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "application": None,
        "application_fee_amount": fee,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": f"{intent_id}_secret_{random_string(25)}",
        "confirmation_method": params.get("confirmation_method") or "automatic",
        "created": int(time.time()),
        "currency": currency,
        "customer": p.text(params, "customer"),
        "description": p.text(params, "description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": p.text(params, "on_behalf_of"),
        "payment_method": pm,
        "payment_method_types": p.string_list(params, "allowed_payment_method_types", ["card"]),
        "receipt_email": p.text(params, "receipt_email"),
        "statement_descriptor": p.text(params, "statement_descriptor"),
        "status": "requires_confirmation" if pm else "requires_payment_method",
        "transfer_group": p.text(params, "transfer_group"),
    }
    world.store.add(call.account, intent)
    world.emit("payment_intent.created", intent, call.account, call)
    if confirm and test_card is not None:
        attempt(world, call, intent, test_card, p.text(params, "return_url"))
    return intent


def retrieve(world: World, call: Call, intent_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "payment_intent", intent_id)


UPDATE_PARAMS = {
    "amount",
    "currency",
    "metadata",
    "description",
    "receipt_email",
    "payment_method",
    "capture_method",
    "customer",
    "expand",
    "allowed_payment_method_types",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "application_fee_amount",
    "transfer_group",
    "payment_method_options",
    "payment_method_data",
}


def update(world: World, call: Call, intent_id: str) -> dict[str, Any]:
    params = call.params
    p.known(params, UPDATE_PARAMS & p.sdk_params(stripe.params.PaymentIntentUpdateParams))
    refuse_unmodelled(params)
    intent = world.store.get(call.account, "payment_intent", intent_id)
    changes: dict[str, Any] = {"metadata": p.metadata(params, intent["metadata"])}
    if "amount" in params or "currency" in params or "payment_method" in params:
        if intent["status"] not in CONFIRMABLE:
            raise unexpected_state(
                "You cannot update this PaymentIntent's amount, currency or payment method "
                f"because it has a status of {intent['status']}.",
                copy.deepcopy(intent),
            )
        if "amount" in params:
            changes["amount"] = p.amount(params)
        if "currency" in params:
            changes["currency"] = p.currency(params)
        currencies.check_minimum(
            changes.get("amount", intent["amount"]), changes.get("currency", intent["currency"])
        )
        if "payment_method" in params:
            pm, _ = payment_method(world, call)
            changes["payment_method"] = pm
            changes["status"] = "requires_confirmation" if pm else "requires_payment_method"
    if "application_fee_amount" in params:
        fee = p.non_negative(params, "application_fee_amount")
        fees.validate(call, fee, changes.get("amount", intent["amount"]))
        changes["application_fee_amount"] = fee
    for name in ("description", "receipt_email", "statement_descriptor"):
        if name in params:
            changes[name] = p.text(params, name)
    if "capture_method" in params:
        changes["capture_method"] = p.choice(params, "capture_method", CAPTURE_METHODS, "")
    intent.update(changes)
    return intent
