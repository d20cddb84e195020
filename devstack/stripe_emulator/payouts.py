"""Payouts from an account's available balance to its bank account. Stripe makes them on the
account's payout schedule; here the control API makes one (`/_emulator/payouts`) and later marks
it `paid` or `failed` (the money then returns to the balance), with the events Stripe sends:
payout.created, payout.paid, payout.failed. The API only reads them (`GET /v1/payouts…`)."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import accounts, balance, listing
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World

FAILURES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or the "
    "number, of payouts allowed. This normally indicates that the bank account is a savings or "
    "other non-checking account.",
    "could_not_process": "The bank could not process this payout.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is "
    "invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}


def create(
    world: World,
    account: str,
    amount: int | None = None,
    currency: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Control API: pays out `amount` (default: all available) of `currency`."""
    if account != PLATFORM and accounts.lookup(world, account) is None:
        raise missing("account", account, "account")
    accounts.require_payouts_enabled(world, account)
    sums = balance.totals(world, account)
    currency = currency or next(iter(sorted(sums)), "usd")
    available = sums.get(currency, {}).get("available", 0)
    amount = available if amount is None else amount
    if not isinstance(amount, int) or amount < 1:
        raise invalid("amount must be a positive integer (minor units)", param="amount")
    if amount > available:
        raise invalid(
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low. You can use the /v1/balance endpoint to view your Stripe "
            "balance (for more details, see stripe.com/docs/api#balance).",
            code="balance_insufficient",
        )
    now = int(time.time())
    payout_id = new_id("po")
    acct = accounts.lookup(world, account) if account != PLATFORM else None
    banks = acct["external_accounts"]["data"] if acct else []
    payout = {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now + 2 * 24 * 3600,
        "automatic": True,
        "balance_transaction": balance.record(
            world, account, -amount, currency, "payout", payout_id
        ),
        "created": now,
        "currency": currency,
        "description": description or "STRIPE PAYOUT",
        "destination": banks[0]["id"] if banks else None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "type": "bank_account",
    }
    world.store.add(account, payout)
    world.emit("payout.created", payout, account, None)
    return payout


def settle(world: World, payout_id: str, outcome: str, failure_code: str) -> dict[str, Any]:
    payout = world.store.find(payout_id, "payout")
    if payout is None:
        raise missing("payout", payout_id)
    if outcome not in ("paid", "failed"):
        raise invalid('outcome must be "paid" or "failed"', param="outcome")
    if outcome == "failed" and failure_code not in FAILURES:
        raise invalid(f"failure_code must be one of {', '.join(FAILURES)}", param="failure_code")
    if payout["status"] not in ("pending", "in_transit"):
        raise invalid(f"Payout {payout_id} is already {payout['status']}.")
    account = world.store.owner(payout_id) or ""
    payout["status"] = outcome
    if outcome == "failed":
        payout.update(
            failure_code=failure_code,
            failure_message=FAILURES[failure_code],
            failure_balance_transaction=balance.record(
                world, account, payout["amount"], payout["currency"], "payout_failure", payout_id
            ),
        )
    world.emit(f"payout.{outcome}", payout, account, None)
    return payout


def retrieve(world: World, call: Call, payout_id: str) -> dict[str, Any]:
    return world.store.get(call.account, "payout", payout_id)


def list_payouts(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, listing.LIST_PARAMS | {"status", "destination", "arrival_date"})
    rows = world.store.all(call.account, "payout")
    rows = listing.filtered(rows, call.params, "status", "destination")
    return listing.page(rows, call.params, "/v1/payouts", "payout")
