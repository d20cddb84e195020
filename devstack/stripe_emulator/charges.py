"""Charges (made by confirming a PaymentIntent) and refunds of them."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.cards import TestCard, payment_method_details
from devstack.stripe_emulator.errors import invalid
from devstack.stripe_emulator.store import new_id
from devstack.stripe_emulator.world import Call, World

REFUND_PARAMS = {
    "payment_intent",
    "charge",
    "amount",
    "reason",
    "metadata",
    "expand",
    "refund_application_fee",
    "reverse_transfer",
    "instructions_email",
    "origin",
}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def new_charge(intent: dict[str, Any], test_card: TestCard, *, captured: bool) -> dict[str, Any]:
    succeeded = test_card.outcome != "decline"
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded and captured else 0,
        "amount_refunded": 0,
        "captured": succeeded and captured,
        "created": int(time.time()),
        "currency": intent["currency"],
        "description": intent["description"],
        "failure_code": None if succeeded else test_card.code,
        "failure_message": None if succeeded else test_card.message,
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "outcome": {
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": None if succeeded else test_card.decline_code,
            "type": "authorized" if succeeded else "issuer_declined",
        },
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "payment_method_details": payment_method_details(test_card),
        "refunded": False,
        "status": "succeeded" if succeeded else "failed",
    }


def retrieve_charge(world: World, call: Call, charge_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "charge", charge_id)


def create_refund(world: World, call: Call) -> dict[str, Any]:
    params = call.params
    p.known(params, REFUND_PARAMS)
    charge = _refundable_charge(world, call)
    amount = p.amount(params, required=False)
    reason = params.get("reason")
    if reason is not None:
        p.choice(params, "reason", REFUND_REASONS, "requested_by_customer")
    metadata = p.metadata(params)
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    if amount is None:
        amount = remaining
    if amount > remaining:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    refund = {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "charge": charge["id"],
        "created": int(time.time()),
        "currency": charge["currency"],
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": "succeeded",
    }
    world.store.add(call.account, refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    world.emit("charge.refunded", charge, call.account, call)
    return refund


def retrieve_refund(world: World, call: Call, refund_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "refund", refund_id)


def _refundable_charge(world: World, call: Call) -> dict[str, Any]:
    intent_id = p.text(call.params, "payment_intent")
    charge_id = p.text(call.params, "charge")
    if bool(intent_id) == bool(charge_id):
        raise invalid("Provide exactly one of payment_intent or charge.", param="payment_intent")
    if intent_id:
        intent = world.store.get(call.account, "payment_intent", intent_id, "payment_intent")
        if intent["status"] != "succeeded" or not intent["latest_charge"]:
            raise invalid(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
        return world.store.get(call.account, "charge", charge_id, "payment_intent")
    charge = world.store.get(call.account, "charge", charge_id, "charge")
    if not charge["captured"]:
        raise invalid(f"Charge {charge_id} has not been captured.", param="charge")
    return charge
