"""Balances, kept as Stripe does: one balance transaction per movement of money on an account.

A captured charge credits the account as `pending` until `available_on` (Stripe's payout
schedule: days; here `balance_pending_seconds`, or at once for `pm_card_bypassPending`); an
application fee moves the same amount from the connected account to the platform, with the
charge's availability; refunds, dispute withdrawals and payouts debit `available` at once (which
may go negative); a failed refund or payout, a won dispute and a refunded fee credit it back.
Stripe's own processing and dispute fees are not modelled: `fee` is always 0."""

from __future__ import annotations

import time
from typing import Any

from devstack.stripe_emulator import listing
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World

CATEGORIES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "refund_failure": "refund_failure",
    "application_fee": "platform_earning",
    "application_fee_refund": "platform_earning_refund",
    "adjustment": "dispute",
    "payout": "payout",
    "payout_failure": "payout_reversal",
}


def record(
    world: World,
    account: str,
    amount: int,
    currency: str,
    type_: str,
    source: str,
    *,
    available_on: float | None = None,
    description: str | None = None,
) -> str:
    """A balance transaction on `account`; its id."""
    now = time.time()
    txn = {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": int(now if available_on is None else available_on),
        "created": int(now),
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": amount,
        "reporting_category": CATEGORIES.get(type_, type_),
        "source": source,
        "status": "pending",
        "type": type_,
    }
    world.store.add(account, txn)
    return txn["id"]


def charge_available_on(world: World, bypass_pending: bool) -> float:
    return time.time() + (0.0 if bypass_pending else world.config.balance_pending_seconds)


def _with_status(txn: dict[str, Any], now: float) -> dict[str, Any]:
    txn["status"] = "available" if txn["available_on"] <= now else "pending"
    return txn


def totals(world: World, account: str) -> dict[str, dict[str, int]]:
    """{currency: {"available": n, "pending": n}}"""
    now = time.time()
    out: dict[str, dict[str, int]] = {}
    for txn in world.store.all(account, "balance_transaction"):
        bucket = out.setdefault(txn["currency"], {"available": 0, "pending": 0})
        bucket[_with_status(txn, now)["status"]] += txn["amount"]
    return out


def retrieve(world: World, call: Call) -> dict[str, Any]:
    sums = totals(world, call.account) or {_default_currency(world, call.account): {}}

    def rows(kind: str) -> list[dict[str, Any]]:
        return [
            {"amount": s.get(kind, 0), "currency": c, "source_types": {"card": s.get(kind, 0)}}
            for c, s in sorted(sums.items())
        ]

    body: dict[str, Any] = {
        "object": "balance",
        "available": rows("available"),
        "livemode": False,
        "pending": rows("pending"),
    }
    if call.account == PLATFORM:
        body["connect_reserved"] = [{"amount": 0, "currency": c} for c in sorted(sums)]
    return body


def release(world: World, account: str) -> int:
    """Control API: everything pending on `account` becomes available now; the count."""
    now = time.time()
    moved = 0
    for txn in world.store.all(account, "balance_transaction"):
        if txn["available_on"] > now:
            txn["available_on"] = int(now)
            moved += 1
    return moved


def retrieve_transaction(world: World, call: Call, txn_id: str) -> dict[str, Any]:
    txn = world.store.get(call.account, "balance_transaction", txn_id)
    return _with_status(txn, time.time())


def list_transactions(world: World, call: Call) -> dict[str, Any]:
    now = time.time()
    rows = [_with_status(t, now) for t in world.store.all(call.account, "balance_transaction")]
    for name in ("type", "source", "currency"):
        if value := call.params.get(name):
            rows = [r for r in rows if r[name] == value]
    return listing.page(rows, call.params, "/v1/balance_transactions", "balance_transaction")


def _default_currency(world: World, account: str) -> str:
    acct = world.store.find(account, "account") if account != PLATFORM else None
    return acct["default_currency"] if acct else "usd"
