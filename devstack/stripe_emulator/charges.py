"""Charges (made by confirming a PaymentIntent): their shape, and what capturing one does to the
balances (the account is credited, the platform takes its application fee)."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import balance, fees
from devstack.stripe_emulator.cards import TestCard, payment_method_details
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World


def new_charge(intent: dict[str, Any], test_card: TestCard, *, captured: bool) -> dict[str, Any]:
    succeeded = test_card.outcome != "decline"
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded and captured else 0,
        "amount_refunded": 0,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "captured": succeeded and captured,
        "created": int(time.time()),
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
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
        "transfer_group": intent.get("transfer_group"),
    }


def book(
    world: World,
    call: Call | None,
    account: str,
    intent: dict[str, Any],
    charge: dict[str, Any],
    test_card: TestCard,
) -> None:
    """Money moves once a charge is captured: the account's balance, then the platform's fee."""
    available_on = balance.charge_available_on(world, test_card.bypass_pending)
    charge["balance_transaction"] = balance.record(
        world,
        account,
        charge["amount_captured"],
        charge["currency"],
        "payment" if account != PLATFORM else "charge",
        charge["id"],
        available_on=available_on,
    )
    fee = intent.get("application_fee_amount")
    if fee and account != PLATFORM:
        fees.collect(world, call, account, charge, fee, available_on)


def retrieve_charge(world: World, call: Call, charge_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "charge", charge_id)
