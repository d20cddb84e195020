"""Money after the charge, through the official SDK and the control API: refunds that stay pending
and then succeed or fail, refunds made on Stripe's side, disputes, balances and payouts, each with
the events Stripe sends to the Connect endpoint (event.account set)."""

from __future__ import annotations

import json

import pytest
import stripe

from devstack.stripe_emulator.process import start_emulator
from tests.support.stripe_emulator import (
    Delivery,
    WebhookSink,
    connected_account,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
SECRET = "whsec_money_connect"


@pytest.fixture(scope="module")
def emulator(sink):
    with start_emulator(connect_webhook_urls=[sink.url("/c")], connect_webhook_secret=SECRET) as e:
        yield e


@pytest.fixture
def shop(client, control) -> dict:
    """A fresh connected account per test, so balances start at zero."""
    return {"stripe_account": connected_account(client, control)}


def pay(client, shop: dict, amount: int = 10000, pm: str = "pm_card_visa", **extra):
    params = {"amount": amount, "currency": "usd", "payment_method": pm, "confirm": True, **extra}
    return client.v1.payment_intents.create(params=params, options=shop)


def events(sink: WebhookSink, type_: str, object_id: str, timeout: float = 5) -> list[stripe.Event]:
    def match(d: Delivery) -> bool:
        body = json.loads(d.body)
        return body["type"] == type_ and body["data"]["object"]["id"] == object_id

    return [
        stripe.Webhook.construct_event(d.body, d.headers["stripe-signature"], SECRET)
        for d in sink.wait_for(match, timeout)
    ]


def amounts(balance, kind: str) -> dict[str, int]:
    return {row.currency: row.amount for row in getattr(balance, kind)}


# Refunds


def test_a_refund_succeeds_at_once_by_default(client, shop, sink):
    intent = pay(client, shop)
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 1500}, options=shop
    )
    assert refund.status == "succeeded" and refund.failure_reason is None
    [created] = events(sink, "refund.created", refund.id)
    assert created.account == shop["stripe_account"] and created.data.object.status == "succeeded"
    [refunded] = events(sink, "charge.refunded", intent.latest_charge)
    assert refunded.data.object.amount_refunded == 1500


async def test_a_held_refund_is_pending_then_succeeds(client, control, shop, sink):
    intent = pay(client, shop)
    control.hold_next_refund(payment_intent=intent.id)
    refund = await client.v1.refunds.create_async(
        params={"payment_intent": intent.id}, options=shop
    )
    assert refund.status == "pending" and refund.pending_reason == "processing"
    assert events(sink, "refund.created", refund.id)[0].data.object.status == "pending"
    charge = await client.v1.charges.retrieve_async(intent.latest_charge, options=shop)
    assert charge.amount_refunded == 10000 and charge.refunded  # pending refunds count

    control.succeed_refund(refund.id)
    fetched = await client.v1.refunds.retrieve_async(refund.id, options=shop)
    assert fetched.status == "succeeded"
    [updated] = events(sink, "refund.updated", refund.id)
    assert updated.data.object.status == "succeeded"
    assert events(sink, "refund.failed", refund.id, timeout=0.3) == []
    # Only the next matching refund was held.
    other = pay(client, shop)
    assert (
        client.v1.refunds.create(params={"payment_intent": other.id}, options=shop).status
        == "succeeded"
    )


def test_a_failed_refund_gives_the_money_back_and_says_why(client, control, shop, sink):
    intent = pay(client, shop, pm="pm_card_bypassPending")
    control.hold_next_refund(payment_intent=intent.id)
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 4000}, options=shop
    )
    assert amounts(client.v1.balance.retrieve(options=shop), "available") == {"usd": 6000}

    control.fail_refund(refund.id, "lost_or_stolen_card")
    failed = client.v1.refunds.retrieve(refund.id, options=shop)
    assert failed.status == "failed" and failed.failure_reason == "lost_or_stolen_card"
    assert failed.failure_balance_transaction.startswith("txn_")
    charge = client.v1.charges.retrieve(intent.latest_charge, options=shop)
    assert charge.amount_refunded == 0 and not charge.refunded
    assert amounts(client.v1.balance.retrieve(options=shop), "available") == {"usd": 10000}
    [failed_event] = events(sink, "refund.failed", refund.id)
    assert failed_event.account == shop["stripe_account"]
    assert events(sink, "refund.updated", refund.id)[0].data.object.status == "failed"
    # The charge can be refunded again.
    again = client.v1.refunds.create(params={"payment_intent": intent.id}, options=shop)
    assert again.amount == 10000


def test_even_a_succeeded_refund_can_fail_later(client, control, shop):
    intent = pay(client, shop)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id}, options=shop)
    assert control.fail_refund(refund.id, "expired_or_canceled_card")["status"] == "failed"
    reply = control.post(f"/refunds/{refund.id}/succeed")
    assert reply.status_code == 400  # failed is final
    reply = control.post(f"/refunds/{refund.id}/fail", {"failure_reason": "bored"})
    assert reply.status_code == 400


def test_a_refund_made_in_the_dashboard_reaches_the_platform_only_by_webhook(
    client, control, shop, sink
):
    intent = pay(client, shop)
    refund = control.dashboard_refund(payment_intent=intent.id, amount=2500)
    assert refund["status"] == "succeeded"
    [created] = events(sink, "refund.created", refund["id"])
    assert created.account == shop["stripe_account"] and created.request.id is None
    listed = client.v1.refunds.list(params={"payment_intent": intent.id}, options=shop)
    assert [r.id for r in listed.data] == [refund["id"]]
    pending = control.dashboard_refund(payment_intent=intent.id, status="pending")
    assert pending["status"] == "pending" and pending["amount"] == 7500


# Disputes


async def test_a_dispute_lost(client, control, shop, sink):
    intent = pay(client, shop, pm="pm_card_bypassPending")
    dispute = control.open_dispute(intent.latest_charge, "product_not_received")
    assert dispute["id"].startswith("dp_") and dispute["status"] == "needs_response"
    assert dispute["amount"] == 10000 and dispute["reason"] == "product_not_received"
    [created] = events(sink, "charge.dispute.created", dispute["id"])
    assert created.account == shop["stripe_account"]
    assert events(sink, "charge.dispute.funds_withdrawn", dispute["id"])
    charge = await client.v1.charges.retrieve_async(intent.latest_charge, options=shop)
    assert charge.disputed is True
    balance = await client.v1.balance.retrieve_async(options=shop)
    assert amounts(balance, "available") == {"usd": 0}

    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.refunds.create_async(params={"payment_intent": intent.id}, options=shop)
    assert caught.value.code == "charge_disputed"

    control.close_dispute(dispute["id"], "lost")
    closed = await client.v1.disputes.retrieve_async(dispute["id"], options=shop)
    assert closed.status == "lost"
    assert events(sink, "charge.dispute.closed", dispute["id"])[0].data.object.status == "lost"
    assert events(sink, "charge.dispute.funds_reinstated", dispute["id"], timeout=0.3) == []
    assert amounts(await client.v1.balance.retrieve_async(options=shop), "available") == {"usd": 0}


def test_a_dispute_won_reinstates_the_funds(client, control, shop, sink):
    intent = pay(client, shop, pm="pm_card_bypassPending")
    dispute = control.open_dispute(intent.latest_charge, amount=3000)
    control.close_dispute(dispute["id"], "won")
    assert events(sink, "charge.dispute.funds_reinstated", dispute["id"])
    assert amounts(client.v1.balance.retrieve(options=shop), "available") == {"usd": 10000}
    listed = client.v1.disputes.list(params={"charge": intent.latest_charge}, options=shop)
    assert [d.status for d in listed.data] == ["won"]
    assert control.post(f"/disputes/{dispute['id']}/close", {"outcome": "lost"}).status_code == 400
    assert (
        control.post(f"/charges/{intent.latest_charge}/dispute", {"amount": 20000}).status_code
        == 400
    )


# Balance and payouts


def test_charges_are_pending_until_the_payout_schedule_and_fees_move_to_the_platform(
    client, control, shop
):
    pay(client, shop, application_fee_amount=700)
    balance = client.v1.balance.retrieve(options=shop)
    assert balance.object == "balance"
    assert amounts(balance, "pending") == {"usd": 9300}
    assert amounts(balance, "available") == {"usd": 0}
    assert control.release_balance(shop["stripe_account"]) >= 1
    assert amounts(client.v1.balance.retrieve(options=shop), "available") == {"usd": 9300}


def test_a_refund_debits_the_available_balance(client, shop):
    intent = pay(client, shop, pm="pm_card_bypassPending")
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2500}, options=shop)
    balance = client.v1.balance.retrieve(options=shop)
    assert amounts(balance, "available") == {"usd": 7500}
    assert amounts(balance, "pending") == {"usd": 0}
    txns = client.v1.balance_transactions.list(options=shop).data
    assert sorted(t.type for t in txns) == ["payment", "refund"]


async def test_a_payout_is_created_then_paid(client, control, shop, sink):
    pay(client, shop, amount=5000, pm="pm_card_bypassPending")
    payout = control.create_payout(shop["stripe_account"], amount=3000)
    assert payout["status"] == "pending" and payout["amount"] == 3000
    assert payout["destination"].startswith("ba_")
    [created] = events(sink, "payout.created", payout["id"])
    assert created.account == shop["stripe_account"]
    balance = await client.v1.balance.retrieve_async(options=shop)
    assert amounts(balance, "available") == {"usd": 2000}

    control.payout_paid(payout["id"])
    fetched = await client.v1.payouts.retrieve_async(payout["id"], options=shop)
    assert fetched.status == "paid"
    assert events(sink, "payout.paid", payout["id"])[0].account == shop["stripe_account"]


def test_a_failed_payout_returns_the_money(client, control, shop, sink):
    pay(client, shop, amount=5000, pm="pm_card_bypassPending")
    payout = control.create_payout(shop["stripe_account"])
    assert payout["amount"] == 5000  # everything available by default
    control.payout_failed(payout["id"], "no_account")
    failed = client.v1.payouts.retrieve(payout["id"], options=shop)
    assert failed.status == "failed" and failed.failure_code == "no_account"
    assert "No bank account" in failed.failure_message
    assert events(sink, "payout.failed", payout["id"])
    assert amounts(client.v1.balance.retrieve(options=shop), "available") == {"usd": 5000}


def test_payouts_list_pages_and_filters(client, control, shop):
    pay(client, shop, amount=9000, pm="pm_card_bypassPending")
    made = [control.create_payout(shop["stripe_account"], amount=1000)["id"] for _ in range(3)]
    control.payout_paid(made[0])
    first = client.v1.payouts.list(params={"limit": 2}, options=shop)
    assert [p.id for p in first.data] == made[::-1][:2] and first.has_more
    rest = client.v1.payouts.list(
        params={"limit": 2, "starting_after": first.data[-1].id}, options=shop
    )
    assert [p.id for p in rest.data] == made[:1] and not rest.has_more
    paid = client.v1.payouts.list(params={"status": "paid"}, options=shop)
    assert [p.id for p in paid.data] == made[:1]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payouts.retrieve(made[0])  # the platform's payouts are other payouts


def test_payouts_need_funds_and_an_account_that_can_be_paid(client, control, shop):
    pay(client, shop, amount=1000)  # still pending
    reply = control.post("/payouts", {"account": shop["stripe_account"], "amount": 500})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "balance_insufficient"
    control.release_balance(shop["stripe_account"])
    control.disable_charges(shop["stripe_account"])
    reply = control.post("/payouts", {"account": shop["stripe_account"], "amount": 500})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "payouts_not_allowed"


def test_the_platform_balance_holds_its_fees(client, control, shop):
    before = amounts(client.v1.balance.retrieve(), "pending").get("usd", 0)
    pay(client, shop, application_fee_amount=250)
    after = client.v1.balance.retrieve()
    assert amounts(after, "pending")["usd"] - before == 250
    assert after.connect_reserved[0].amount == 0
