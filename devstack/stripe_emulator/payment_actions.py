"""PaymentIntent transitions after creation: confirm, capture, cancel, and the control API's
3-D Secure completion."""

from __future__ import annotations

import copy
import time
from typing import Any

import stripe

from devstack.stripe_emulator import accounts, charges, fees, payment_methods
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing, unexpected_state
from devstack.stripe_emulator.outcomes import attempt, pm_object, succeed
from devstack.stripe_emulator.payments import (
    CANCELABLE,
    CAPTURE_METHODS,
    CONFIRMABLE,
    SHARED_PARAMS,
    payment_method,
)
from devstack.stripe_emulator.world import Call, World

CANCEL_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


def confirm(world: World, call: Call, intent_id: str) -> dict[str, Any]:
    p.known(call.params, SHARED_PARAMS & p.sdk_params(stripe.params.PaymentIntentConfirmParams))
    intent = world.store.get(call.account, "payment_intent", intent_id)
    if intent["status"] not in CONFIRMABLE:
        raise unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of {intent['status']}.",
            copy.deepcopy(intent),
        )
    pm, test_card = payment_method(world, call)
    if test_card is None and intent["payment_method"]:
        pm = intent["payment_method"]
        test_card = payment_methods.resolve(world, call.account, pm)
    if test_card is None:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            param="payment_method",
        )
    capture_method = p.choice(
        call.params, "capture_method", CAPTURE_METHODS, intent["capture_method"]
    )
    accounts.require_charges_enabled(world, call.account)
    intent.update(payment_method=pm, capture_method=capture_method)
    attempt(world, call, intent, test_card, p.text(call.params, "return_url"))
    return intent


def capture(world: World, call: Call, intent_id: str) -> dict[str, Any]:
    p.known(call.params, {"amount_to_capture", "expand", "metadata", "application_fee_amount"})
    intent = world.store.get(call.account, "payment_intent", intent_id)
    if intent["status"] != "requires_capture":
        raise unexpected_state(
            "This PaymentIntent could not be captured because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            "captured: requires_capture.",
            copy.deepcopy(intent),
        )
    amount = (
        p.amount(call.params, "amount_to_capture", required=False) or intent["amount_capturable"]
    )
    if amount > intent["amount_capturable"]:
        raise invalid(
            "The amount to capture is greater than the amount capturable.",
            param="amount_to_capture",
            code="amount_too_large",
        )
    metadata = p.metadata(call.params, intent["metadata"])
    fee = p.non_negative(call.params, "application_fee_amount")
    if fee is not None:
        fees.validate(call, fee, amount)
        intent["application_fee_amount"] = fee
    charge = world.store.get(call.account, "charge", intent["latest_charge"])
    charge.update(captured=True, amount_captured=amount)
    test_card = payment_methods.resolve(world, call.account, intent["payment_method"])
    charges.book(world, call, call.account, intent, charge, test_card)
    intent.update(
        status="succeeded", amount_received=amount, amount_capturable=0, metadata=metadata
    )
    world.emit("charge.captured", charge, call.account, call)
    world.emit("payment_intent.succeeded", intent, call.account, call)
    return intent


def cancel(world: World, call: Call, intent_id: str) -> dict[str, Any]:
    p.known(call.params, {"cancellation_reason", "expand"})
    reason = call.params.get("cancellation_reason")
    if reason is not None:
        p.choice(call.params, "cancellation_reason", CANCEL_REASONS, "abandoned")
    intent = world.store.get(call.account, "payment_intent", intent_id)
    if intent["status"] not in CANCELABLE:
        raise unexpected_state(
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            f"canceled: {', '.join(CANCELABLE)}.",
            copy.deepcopy(intent),
        )
    intent.update(
        status="canceled",
        canceled_at=int(time.time()),
        cancellation_reason=reason,
        next_action=None,
        amount_capturable=0,
    )
    world.emit("payment_intent.canceled", intent, call.account, call)
    return intent


def authenticate(world: World, intent_id: str, passed: bool) -> dict[str, Any]:
    """The shopper finishing (or failing) 3-D Secure: the control API's stand-in for Stripe.js."""
    intent = world.store.find(intent_id, "payment_intent")
    if intent is None:
        raise missing("payment_intent", intent_id)
    if intent["status"] != "requires_action":
        raise unexpected_state(
            f"PaymentIntent {intent_id} has a status of {intent['status']}, not requires_action.",
            copy.deepcopy(intent),
        )
    account = world.store.owner(intent_id) or ""
    pm = intent["payment_method"]
    test_card = payment_methods.resolve(world, account, pm)
    intent["next_action"] = None
    if passed:
        succeed(world, None, account, intent, test_card)
    else:
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "type": "invalid_request_error",
                "code": "payment_intent_authentication_failure",
                "message": "The provided PaymentMethod has failed authentication. You can provide "
                "payment_method_data or a new PaymentMethod to attempt to fulfill this "
                "PaymentIntent again.",
                "payment_method": pm_object(pm, test_card),
            },
        )
        world.emit("payment_intent.payment_failed", intent, account, None)
    return intent
