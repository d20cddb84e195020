"""Disputes (chargebacks), opened and closed by the control API as a cardholder's bank would.

Opening one takes the disputed amount out of the account's balance at once (Stripe:
charge.dispute.created, then charge.dispute.funds_withdrawn) and marks the charge `disputed`; a
disputed charge can no longer be refunded (`charge_disputed`). Closing it `won` gives the money back
(charge.dispute.closed, charge.dispute.funds_reinstated); `lost` keeps it withdrawn
(charge.dispute.closed). Stripe's dispute fee is not modelled."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import balance, listing
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing
from devstack.stripe_emulator.store import new_id
from devstack.stripe_emulator.world import Call, World

REASONS = (
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)
OPEN = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


def of_charge(world: World, account: str, charge_id: str) -> list[dict[str, Any]]:
    return [d for d in world.store.all(account, "dispute") if d["charge"] == charge_id]


def open_dispute(
    world: World, charge_id: str, reason: str = "fraudulent", amount: int | None = None
) -> dict[str, Any]:
    charge = world.store.find(charge_id, "charge")
    if charge is None:
        raise missing("charge", charge_id, "charge")
    if reason not in REASONS:
        raise invalid(f"reason must be one of {', '.join(REASONS)}", param="reason")
    account = world.store.owner(charge_id) or ""
    disputable = charge["amount_captured"] - charge["amount_refunded"]
    if not charge["captured"] or disputable <= 0:
        raise invalid(f"Charge {charge_id} has nothing captured and unrefunded to dispute.")
    if any(d["status"] in OPEN for d in of_charge(world, account, charge_id)):
        raise invalid(f"Charge {charge_id} already has an open dispute.")
    amount = disputable if amount is None else amount
    if not isinstance(amount, int) or not 1 <= amount <= disputable:
        raise invalid(f"amount must be between 1 and {disputable}", param="amount")
    now = int(time.time())
    dispute_id = new_id("dp")
    withdrawal = balance.record(
        world,
        account,
        -amount,
        charge["currency"],
        "adjustment",
        dispute_id,
        description=f"Chargeback withdrawal for {charge_id}",
    )
    dispute = {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [withdrawal],
        "charge": charge_id,
        "created": now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {},
        "evidence_details": {
            "due_by": now + 7 * 24 * 3600,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": charge["payment_method_details"]["card"]["brand"],
                "case_type": "chargeback",
                "network_reason_code": None,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }
    world.store.add(account, dispute)
    charge["disputed"] = True
    world.emit("charge.dispute.created", dispute, account, None)
    world.emit("charge.dispute.funds_withdrawn", dispute, account, None)
    return dispute


def close(world: World, dispute_id: str, outcome: str) -> dict[str, Any]:
    dispute = world.store.find(dispute_id, "dispute")
    if dispute is None:
        raise missing("dispute", dispute_id)
    if outcome not in ("won", "lost"):
        raise invalid('outcome must be "won" or "lost"', param="outcome")
    if dispute["status"] not in OPEN:
        raise invalid(f"Dispute {dispute_id} is already closed ({dispute['status']}).")
    account = world.store.owner(dispute_id) or ""
    dispute.update(status=outcome, is_charge_refundable=outcome == "won")
    if outcome == "won":
        dispute["balance_transactions"].append(
            balance.record(
                world,
                account,
                dispute["amount"],
                dispute["currency"],
                "adjustment",
                dispute_id,
                description=f"Chargeback reversal for {dispute['charge']}",
            )
        )
    world.emit("charge.dispute.closed", dispute, account, None)
    if outcome == "won":
        world.emit("charge.dispute.funds_reinstated", dispute, account, None)
    return dispute


def retrieve(world: World, call: Call, dispute_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "dispute", dispute_id)


def list_disputes(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, listing.LIST_PARAMS | {"charge", "payment_intent"})
    rows = world.store.all(call.account, "dispute")
    rows = listing.filtered(rows, call.params, "charge", "payment_intent")
    return listing.page(rows, call.params, "/v1/disputes", "dispute")
