"""Control API for what happens to money outside the platform's own API calls: refunds settling
or failing (and refunds made in the Dashboard), disputes, payouts, and funds becoming available."""

from __future__ import annotations

from aiohttp import web

from devstack.stripe_emulator import balance, disputes, payouts, refunds
from devstack.stripe_emulator.api import WORLD
from devstack.stripe_emulator.control import json_body
from devstack.stripe_emulator.control_connect import answer
from devstack.stripe_emulator.store import PLATFORM

routes = web.RouteTableDef()


@routes.post("/_emulator/refunds")
async def dashboard_refund(request: web.Request) -> web.Response:
    """{"payment_intent" | "charge": id, "amount": optional, "reason": optional,
    "status": "pending" (optional), "refund_application_fee": optional bool}: a refund made on
    Stripe's side, as a merchant would in the Dashboard (request.id of its events is null)."""
    world, body = request.app[WORLD], await json_body(request)
    return answer(lambda: refunds.from_dashboard(world, body))


@routes.post("/_emulator/refunds/{refund_id}/succeed")
async def refund_succeeded(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    return answer(lambda: refunds.settle(world, request.match_info["refund_id"], "succeeded", ""))


@routes.post("/_emulator/refunds/{refund_id}/fail")
async def refund_failed(request: web.Request) -> web.Response:
    """{"failure_reason": "expired_or_canceled_card" (default) | "lost_or_stolen_card" | …}"""
    world, body = request.app[WORLD], await json_body(request)
    reason = body.get("failure_reason", "expired_or_canceled_card")
    return answer(lambda: refunds.settle(world, request.match_info["refund_id"], "failed", reason))


@routes.post("/_emulator/charges/{charge_id}/dispute")
async def open_dispute(request: web.Request) -> web.Response:
    """{"reason": "fraudulent" (default) | "product_not_received" | …, "amount": optional}"""
    world, body = request.app[WORLD], await json_body(request)
    charge_id = request.match_info["charge_id"]
    reason = body.get("reason", "fraudulent")
    return answer(lambda: disputes.open_dispute(world, charge_id, reason, body.get("amount")))


@routes.post("/_emulator/disputes/{dispute_id}/close")
async def close_dispute(request: web.Request) -> web.Response:
    """{"outcome": "won" | "lost"}"""
    world, body = request.app[WORLD], await json_body(request)
    outcome = body.get("outcome", "lost")
    return answer(lambda: disputes.close(world, request.match_info["dispute_id"], outcome))


@routes.post("/_emulator/payouts")
async def create_payout(request: web.Request) -> web.Response:
    """{"account": "acct_…" (null: the platform), "amount": optional (default all available),
    "currency": optional, "description": optional}: a payout as the schedule would make it."""
    world, body = request.app[WORLD], await json_body(request)
    account = body.get("account") or PLATFORM
    return answer(
        lambda: payouts.create(
            world, account, body.get("amount"), body.get("currency"), body.get("description")
        )
    )


@routes.post("/_emulator/payouts/{payout_id}/paid")
async def payout_paid(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    return answer(lambda: payouts.settle(world, request.match_info["payout_id"], "paid", ""))


@routes.post("/_emulator/payouts/{payout_id}/failed")
async def payout_failed(request: web.Request) -> web.Response:
    """{"failure_code": "account_closed" (default) | "no_account" | "could_not_process" | …}"""
    world, body = request.app[WORLD], await json_body(request)
    code = body.get("failure_code", "account_closed")
    return answer(lambda: payouts.settle(world, request.match_info["payout_id"], "failed", code))


@routes.post("/_emulator/balance/release")
async def release(request: web.Request) -> web.Response:
    """{"account": "acct_…" (null: the platform)}: everything pending becomes available now."""
    world, body = request.app[WORLD], await json_body(request)
    return answer(lambda: {"released": balance.release(world, body.get("account") or PLATFORM)})
