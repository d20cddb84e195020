"""What confirming with a test card does to a PaymentIntent: succeed (a charge; captured or
waiting for capture), decline (a failed charge and a 402 card_error), or ask for 3-D Secure."""

from __future__ import annotations

import copy
from typing import Any

from devstack.stripe_emulator.cards import TestCard, payment_method_details
from devstack.stripe_emulator.charges import book, new_charge
from devstack.stripe_emulator.errors import StripeError
from devstack.stripe_emulator.world import Call, World


def attempt(
    world: World, call: Call, intent: dict[str, Any], test_card: TestCard, return_url: str | None
) -> None:
    intent["last_payment_error"] = None
    if test_card.outcome == "authenticate":
        intent.update(status="requires_action", next_action=_next_action(intent, return_url))
        world.emit("payment_intent.requires_action", intent, call.account, call)
    elif test_card.outcome == "decline":
        _decline(world, call, intent, test_card)
    else:
        succeed(world, call, call.account, intent, test_card)


def succeed(
    world: World, call: Call | None, account: str, intent: dict[str, Any], test_card: TestCard
) -> None:
    manual = intent["capture_method"] == "manual"
    charge = world.store.add(account, new_charge(intent, test_card, captured=not manual))
    intent.update(latest_charge=charge["id"], next_action=None, last_payment_error=None)
    if not manual:
        book(world, call, account, intent, charge, test_card)
    world.emit("charge.succeeded", charge, account, call)
    if manual:
        intent.update(status="requires_capture", amount_capturable=intent["amount"])
        world.emit("payment_intent.amount_capturable_updated", intent, account, call)
        return
    intent.update(status="succeeded", amount_received=intent["amount"])
    world.emit("payment_intent.succeeded", intent, account, call)


def _decline(world: World, call: Call, intent: dict[str, Any], test_card: TestCard) -> None:
    charge = world.store.add(call.account, new_charge(intent, test_card, captured=False))
    error = {
        "type": "card_error",
        "code": test_card.code,
        "decline_code": test_card.decline_code,
        "message": test_card.message,
        "charge": charge["id"],
        "payment_method": pm_object(intent["payment_method"], test_card),
    }
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        latest_charge=charge["id"],
        last_payment_error=error,
        next_action=None,
    )
    world.emit("charge.failed", charge, call.account, call)
    world.emit("payment_intent.payment_failed", intent, call.account, call)
    raise StripeError(
        402,
        "card_error",
        test_card.message or "Your card was declined.",
        code=test_card.code,
        decline_code=test_card.decline_code,
        charge=charge["id"],
        payment_intent=copy.deepcopy(intent),
        payment_method=error["payment_method"],
    )


def pm_object(pm_id: str, test_card: TestCard) -> dict[str, Any]:
    return {"id": pm_id, "object": "payment_method", **payment_method_details(test_card)}


def _next_action(intent: dict[str, Any], return_url: str | None) -> dict[str, Any]:
    url = f"/_emulator/payment_intents/{intent['id']}/authenticate"
    if return_url:
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": url, "return_url": return_url},
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url},
    }
