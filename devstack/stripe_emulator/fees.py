"""Application fees: what the platform takes from a direct charge on a connected account
(`application_fee_amount` with `Stripe-Account`). The fee object lives on the platform; the
charge names it (`application_fee`, `application_fee_amount`). A refund with
`refund_application_fee=true` gives the connected account back a share of the fee proportional to
the share of the charge refunded (all of what is left once the charge is fully refunded)."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import balance, listing
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World

APPLICATION_ID = "ca_emulatorplatform"


def validate(call: Call, fee: int | None, amount: int) -> None:
    """`application_fee_amount` on a PaymentIntent: direct charges only, at most the amount."""
    if fee is None:
        return
    if call.account == PLATFORM:
        raise invalid(
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
            "direct payment (using an OAuth key or Stripe-Account header) or destination payment "
            "(using `transfer_data[destination]`).",
            param="application_fee_amount",
        )
    if fee > amount:
        raise invalid(
            f"The application fee amount ({fee}) cannot be greater than the amount ({amount}).",
            param="application_fee_amount",
        )


def collect(
    world: World,
    call: Call | None,
    account: str,
    charge: dict[str, Any],
    amount: int,
    available_on: float,
) -> dict[str, Any]:
    """The platform's fee on a captured charge (capped at what was captured)."""
    amount = min(amount, charge["amount_captured"])
    fee_id = new_id("fee")
    fee = {
        "id": fee_id,
        "object": "application_fee",
        "account": account,
        "amount": amount,
        "amount_refunded": 0,
        "application": APPLICATION_ID,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": int(time.time()),
        "currency": charge["currency"],
        "fee_source": {"charge": charge["id"], "type": "charge"},
        "livemode": False,
        "originating_transaction": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/application_fees/{fee_id}/refunds",
        },
    }
    fee["balance_transaction"] = balance.record(
        world,
        PLATFORM,
        amount,
        charge["currency"],
        "application_fee",
        fee_id,
        available_on=available_on,
    )
    balance.record(
        world,
        account,
        -amount,
        charge["currency"],
        "application_fee",
        fee_id,
        available_on=available_on,
    )
    world.store.add(PLATFORM, fee)
    charge.update(application_fee=fee_id, application_fee_amount=amount)
    world.emit("application_fee.created", fee, PLATFORM, call)
    return fee


def refund_share(
    world: World, call: Call | None, charge: dict[str, Any], refunded: int
) -> dict[str, Any] | None:
    """After `refunded` more of `charge` was refunded with refund_application_fee=true."""
    fee = world.store.find(charge.get("application_fee") or "", "application_fee")
    if fee is None:
        return None
    left = fee["amount"] - fee["amount_refunded"]
    if charge["amount_refunded"] >= charge["amount_captured"]:
        share = left
    else:
        captured = charge["amount_captured"]
        share = min(left, (2 * fee["amount"] * refunded + captured) // (2 * captured))
    if share <= 0:
        return None
    fee_refund = {
        "id": new_id("fr"),
        "object": "fee_refund",
        "amount": share,
        "balance_transaction": balance.record(
            world, PLATFORM, -share, fee["currency"], "application_fee_refund", fee["id"]
        ),
        "created": int(time.time()),
        "currency": fee["currency"],
        "fee": fee["id"],
        "metadata": {},
    }
    balance.record(
        world, fee["account"], share, fee["currency"], "application_fee_refund", fee["id"]
    )
    fee["amount_refunded"] += share
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]
    fee["refunds"]["data"].insert(0, fee_refund)
    fee["refunds"]["total_count"] += 1
    world.emit("application_fee.refunded", fee, PLATFORM, call)
    return fee_refund


def retrieve(world: World, call: Call, fee_id: str) -> dict[str, Any]:
    p.known(call.params, {"expand"})
    return world.store.get(call.account, "application_fee", fee_id)


def list_fees(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, listing.LIST_PARAMS | {"charge"})
    rows = listing.filtered(world.store.all(call.account, "application_fee"), call.params, "charge")
    return listing.page(rows, call.params, "/v1/application_fees", "application_fee")
