"""PaymentMethods: the documented test ids (`pm_card_visa`, …) work on every account, as on
Stripe; a PaymentMethod made with `POST /v1/payment_methods` belongs to the account it was made on,
and any other account asking for it gets `resource_missing` on `payment_method`.

Cards come from Stripe's test tokens (`card[token]=tok_visa`); raw card numbers are refused as
Stripe refuses them without raw-card-data access. A platform shares one of its PaymentMethods with
a connected account by creating it there with `payment_method=<the platform's pm_…>`."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.cards import CARDS, TestCard, payment_method_details
from devstack.stripe_emulator.errors import invalid, missing, not_modelled
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World

CREATE_PARAMS = {
    "allow_redisplay",
    "billing_details",
    "card",
    "customer",
    "expand",
    "metadata",
    "payment_method",
    "type",
}
# Stripe's test tokens, as the test PaymentMethod each one makes.
TOKENS = {f"tok_{name.removeprefix('pm_card_')}": name for name in CARDS}


def resolve(world: World, account: str, pm_id: str) -> TestCard:
    """The test card behind a PaymentMethod id as `account` may use it."""
    if pm_id in CARDS:
        return CARDS[pm_id]
    name = world.cards.get(pm_id)
    if name is None or world.store.owner(pm_id) != account:
        raise missing("PaymentMethod", pm_id, "payment_method")
    return CARDS[name]


def _card_name(world: World, call: Call) -> str:
    params = call.params
    shared = p.text(params, "payment_method")
    if shared is not None:
        if call.account == PLATFORM:
            raise invalid(
                "`payment_method` shares a platform PaymentMethod with a connected account: "
                "send the request with the Stripe-Account header of that account.",
                param="payment_method",
            )
        if shared in CARDS:
            return shared
        resolve(world, PLATFORM, shared)  # the platform's own, or resource_missing
        return world.cards[shared]
    kind = p.required_text(params, "type")
    if kind != "card":
        raise not_modelled(f"PaymentMethods of type {kind}", "type")
    card = params.get("card")
    if not isinstance(card, dict):
        raise invalid("Missing required param: card.", param="card", code="parameter_missing")
    if "number" in card:
        raise invalid(
            "Sending credit card numbers directly to the Stripe API is generally unsafe. We "
            "suggest you use test tokens that map to the test card you are using, see "
            "https://stripe.com/docs/testing. To enable testing raw card data APIs, see "
            "https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis.",
            param="card[number]",
        )
    token = card.get("token")
    if token not in TOKENS:
        raise missing("token", str(token), "card[token]")
    return TOKENS[token]


def create(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, CREATE_PARAMS)
    if call.params.get("customer"):
        raise missing("customer", str(call.params["customer"]), "customer")
    name = _card_name(world, call)
    metadata = p.metadata(call.params)
    pm = shape(new_id("pm"), CARDS[name], metadata)
    world.store.add(call.account, pm)
    world.cards[pm["id"]] = name
    return pm


def retrieve(world: World, call: Call, pm_id: str) -> dict[str, Any]:
    if pm_id in CARDS:
        return shape(pm_id, CARDS[pm_id], {})
    return world.store.get(call.account, "payment_method", pm_id, label="PaymentMethod")


def shape(pm_id: str, card: TestCard, metadata: dict[str, str]) -> dict[str, Any]:
    details = payment_method_details(card)
    details["card"].update(
        exp_month=12,
        exp_year=time.gmtime().tm_year + 3,
        funding="debit" if "debit" in card.brand else "credit",
        checks={"address_line1_check": None, "address_postal_code_check": None, "cvc_check": None},
        three_d_secure_usage={"supported": True},
        wallet=None,
    )
    return {
        "id": pm_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "created": int(time.time()),
        "customer": None,
        "livemode": False,
        "metadata": metadata,
        **details,
    }
