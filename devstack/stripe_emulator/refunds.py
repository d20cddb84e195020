"""Refunds. A card refund usually succeeds at once, but on Stripe it can also stay `pending` and
later succeed or fail (`failure_reason`: the card was closed, lost, …), even after it showed
`succeeded`; then the money comes back to the account and the charge is no longer refunded by
that much. The emulator does the same when a test asks:

- a `refund_pending` fault rule (control API, like the other faults) makes the next matching
  `POST /v1/refunds` pending;
- `/_emulator/refunds/{id}/succeed` and `/fail` settle it (refund.updated; refund.failed too);
- `/_emulator/refunds` makes a refund "on Stripe's side" (as a merchant in the Dashboard would),
  which the platform learns of only from webhooks.

Events as Stripe sends them: refund.created and charge.refunded when a refund is made (pending
or not), refund.updated when its status changes, refund.failed when it fails."""

from __future__ import annotations

import time
from typing import Any

import stripe

from devstack.stripe_emulator import balance, disputes, fees, listing
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing
from devstack.stripe_emulator.store import new_id
from devstack.stripe_emulator.world import Call, World

REFUND_PARAMS = {
    "payment_intent",
    "charge",
    "amount",
    "currency",
    "reason",
    "metadata",
    "expand",
    "refund_application_fee",
    "reverse_transfer",
    "instructions_email",
    "origin",
}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
FAILURE_REASONS = (
    "lost_or_stolen_card",
    "expired_or_canceled_card",
    "charge_for_pending_refund_disputed",
    "insufficient_funds",
    "declined",
    "merchant_request",
    "unknown",
)


def create(world: World, call: Call) -> dict[str, Any]:
    params = call.params
    p.known(params, REFUND_PARAMS & p.sdk_params(stripe.params.RefundCreateParams))
    charge = refundable_charge(world, call.account, params)
    amount = p.amount(params, required=False)
    reason = params.get("reason")
    if reason is not None:
        p.choice(params, "reason", REFUND_REASONS, "requested_by_customer")
    if params.get("reverse_transfer") is not None:
        raise invalid(
            "reverse_transfer applies to destination charges, which the local emulator does not "
            "model.",
            param="reverse_transfer",
        )
    refund_fee = p.boolean(params, "refund_application_fee")
    metadata = p.metadata(params)
    amount = check_amount(charge, amount)
    pending = world.rules.take("refund_pending", call.method, call.path, call.fields) is not None
    return issue(
        world,
        call,
        call.account,
        charge,
        amount,
        reason=reason,
        metadata=metadata,
        refund_fee=refund_fee,
        pending=pending,
    )


def refundable_charge(world: World, account: str, params: dict[str, Any]) -> dict[str, Any]:
    intent_id = p.text(params, "payment_intent")
    charge_id = p.text(params, "charge")
    if bool(intent_id) == bool(charge_id):
        raise invalid("Provide exactly one of payment_intent or charge.", param="payment_intent")
    if intent_id:
        intent = world.store.get(account, "payment_intent", intent_id, "payment_intent")
        if intent["status"] != "succeeded" or not intent["latest_charge"]:
            raise invalid(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = world.store.get(account, "charge", intent["latest_charge"], "payment_intent")
    else:
        charge = world.store.get(account, "charge", charge_id, "charge")
        if not charge["captured"]:
            raise invalid(f"Charge {charge_id} has not been captured.", param="charge")
    if any(d["status"] != "won" for d in disputes.of_charge(world, account, charge["id"])):
        raise invalid(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    return charge


def check_amount(charge: dict[str, Any], amount: int | None) -> int:
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    if amount is None:
        return remaining
    if amount > remaining:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    return amount


def issue(
    world: World,
    call: Call | None,
    account: str,
    charge: dict[str, Any],
    amount: int,
    *,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
    refund_fee: bool = False,
    pending: bool = False,
) -> dict[str, Any]:
    refund_id = new_id("re")
    refund = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance.record(
            world, account, -amount, charge["currency"], "refund", refund_id
        ),
        "charge": charge["id"],
        "created": int(time.time()),
        "currency": charge["currency"],
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "failure_balance_transaction": None,
        "failure_reason": None,
        "metadata": metadata or {},
        "payment_intent": charge["payment_intent"],
        "pending_reason": "processing" if pending else None,
        "reason": reason,
        "receipt_number": None,
        "status": "pending" if pending else "succeeded",
    }
    world.store.add(account, refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    if refund_fee:
        fees.refund_share(world, call, charge, amount)
    world.emit("refund.created", refund, account, call)
    world.emit("charge.refunded", charge, account, call)
    return refund


def settle(world: World, refund_id: str, outcome: str, failure_reason: str) -> dict[str, Any]:
    """Control API: a pending refund succeeds, or a pending or succeeded one fails."""
    refund = world.store.find(refund_id, "refund")
    if refund is None:
        raise missing("refund", refund_id)
    allowed = ("pending",) if outcome == "succeeded" else ("pending", "succeeded")
    if refund["status"] not in allowed:
        raise invalid(
            f"Refund {refund_id} has a status of {refund['status']}; it can be marked "
            f"{outcome} only from {' or '.join(allowed)}."
        )
    if outcome == "failed" and failure_reason not in FAILURE_REASONS:
        raise invalid(f"failure_reason must be one of {', '.join(FAILURE_REASONS)}")
    account = world.store.owner(refund_id) or ""
    refund.update(status=outcome, pending_reason=None)
    if outcome == "failed":
        refund["failure_reason"] = failure_reason
        refund["failure_balance_transaction"] = balance.record(
            world, account, refund["amount"], refund["currency"], "refund_failure", refund_id
        )
        charge = world.store.find(refund["charge"], "charge")
        if charge is not None:
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
    world.emit("refund.updated", refund, account, None)
    if outcome == "failed":
        world.emit("refund.failed", refund, account, None)
    return refund


def from_dashboard(world: World, spec: dict[str, Any]) -> dict[str, Any]:
    """Control API: a refund made outside the platform's code (the merchant's Dashboard)."""
    charge_id = spec.get("charge")
    intent_id = spec.get("payment_intent")
    target = world.store.find(charge_id or intent_id or "")
    if target is None:
        raise missing("charge" if charge_id else "payment_intent", str(charge_id or intent_id))
    account = world.store.owner(target["id"]) or ""
    charge = refundable_charge(
        world, account, {"charge": charge_id} if charge_id else {"payment_intent": intent_id}
    )
    amount = spec.get("amount")
    if amount is not None and (not isinstance(amount, int) or amount < 1):
        raise invalid("amount must be a positive integer (minor units)", param="amount")
    amount = check_amount(charge, amount)
    reason = spec.get("reason")
    if reason is not None and reason not in REFUND_REASONS:
        raise invalid(f"reason must be one of {', '.join(REFUND_REASONS)}")
    return issue(
        world,
        None,
        account,
        charge,
        amount,
        reason=reason,
        metadata=spec.get("metadata") or {},
        refund_fee=bool(spec.get("refund_application_fee")),
        pending=spec.get("status") == "pending",
    )


def retrieve(world: World, call: Call, refund_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "refund", refund_id)


def list_refunds(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, listing.LIST_PARAMS | {"charge", "payment_intent"})
    rows = world.store.all(call.account, "refund")
    rows = listing.filtered(rows, call.params, "charge", "payment_intent")
    return listing.page(rows, call.params, "/v1/refunds", "refund")
