"""Stripe-side changes reach orders, through Envoy with the Stripe emulator and the real services:
refunds made in Stripe's Dashboard, refunds that stay pending and fail, disputes, payouts, the
platform fee a refund returns, and the admin API's own refunds — each recorded once, announced
once (merchant webhook, shopper or owner email), unchanged by duplicate events, and never on
another store's orders."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.events.consumers.email import message_id_for
from tests.e2e.api_client import StoreHandle, admin
from tests.e2e.checkout_support import cart_with, checkout_body, merchant, stock_variant, wait
from tests.support.stripe_emulator import Control, sdk_client

DOMAIN = "myshop.localhost"
TOPICS = (
    "orders/refunded",
    "orders/cancelled",
    "orders/refund_failed",
    "orders/disputed",
    "orders/dispute_closed",
    "payouts/paid",
    "payouts/failed",
)
# Long enough for a duplicate delivery, email or webhook to have arrived if one were coming.
SETTLE = 1.5


class Shop:
    """A merchant onboarded to Stripe, subscribed to every Stripe-side topic."""

    def __init__(self, store: StoreHandle, account: str, paths: dict[str, str]) -> None:
        self.store = store
        self.account = account
        self.paths = paths


@pytest.fixture(scope="module")
def control(stack):
    c = Control(stack.stripe_url)
    yield c
    c.close()


@pytest.fixture(scope="module")
def stripe(stack):
    return sdk_client(stack.stripe_url)


async def _shop(stack, http, webhook_receiver, prefix: str) -> Shop:
    store = await merchant(stack, http, prefix)
    account = http.get("/v1/admin/payments", headers=admin(store)).json()["account_id"]
    paths = {}
    for topic in TOPICS:
        path = f"/side-{store.id}-{topic.replace('/', '-')}"
        r = http.post(
            "/v1/admin/webhooks",
            headers=admin(store),
            json={"topic": topic, "url": webhook_receiver.base_url + path},
        )
        assert r.status_code == 200, r.text
        webhook_receiver.secrets[path] = r.json()["secret"]
        paths[topic] = path
    return Shop(store, account, paths)


@pytest.fixture(scope="module")
async def shop(stack, http, webhook_receiver) -> Shop:
    return await _shop(stack, http, webhook_receiver, "side")


@pytest.fixture(scope="module")
async def other(stack, http, webhook_receiver) -> Shop:
    return await _shop(stack, http, webhook_receiver, "sideb")


def _order(http, shop: Shop, price: int = 10_000, quantity: int = 1) -> dict[str, Any]:
    variant = stock_variant(http, shop.store, 10, price=price)
    cart = cart_with(http, shop.store, variant["id"], quantity)
    r = http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": shop.store.host, "idempotency-key": f"side-{time.time_ns()}"},
        json=checkout_body(email=f"buyer-{time.time_ns()}@example.com"),
    )
    assert r.status_code == 200, r.text
    return {**r.json()["order"], "checkout_id": r.json()["checkout_id"]}


def _get(http, shop: Shop, order_id: str) -> dict[str, Any]:
    r = http.get(f"/v1/admin/orders/{order_id}", headers=admin(shop.store))
    assert r.status_code == 200, r.text
    return r.json()


def _until(http, shop: Shop, order_id: str, ok: Callable[[dict], bool], what: str) -> dict:
    def current() -> dict | None:
        order = _get(http, shop, order_id)
        return order if ok(order) else None

    return wait(current, what=what)


def _hooks(receiver, shop: Shop, topic: str, order_id: str | None = None) -> list[dict]:
    bodies = []
    for request in receiver.requests_to(shop.paths[topic]):
        assert request.signature_valid and request.headers["x-shop-topic"] == topic
        body = json.loads(request.body)
        if order_id is None or body.get("order_id") == order_id:
            bodies.append(body)
    return bodies


def _mails(smtp, key: str) -> list:
    return smtp.inbox.with_message_id(message_id_for(key, DOMAIN))


def _charge(stripe, shop: Shop, intent_id: str) -> str:
    charges = stripe.v1.charges.list(
        params={"payment_intent": intent_id}, options={"stripe_account": shop.account}
    )
    [charge] = charges.data
    return charge.id


def _events(control, shop: Shop, kind: str, object_id: str) -> list[dict]:
    return [
        e
        for e in control.events(type=kind, account=shop.account)
        if e["data"]["object"]["id"] == object_id
    ]


def _resend_all(control, shop: Shop, kinds: tuple[str, ...], object_id: str) -> int:
    """Sends every event of these kinds about the object again (same bytes, new signature)."""
    sent = 0
    for kind in kinds:
        for event in _events(control, shop, kind, object_id):
            control.resend(event["id"])
            sent += 1
    return sent


def _delivered(control, event_id: str) -> bool:
    [event] = [e for e in control.events() if e["id"] == event_id]
    return any(200 <= d.get("status", 0) < 300 for d in event["deliveries"])


def test_refund_made_in_stripe_reaches_the_order_once(
    http, shop, control, smtp_server, webhook_receiver
):
    order = _order(http, shop)
    refund = control.dashboard_refund(payment_intent=order["payment_intent_id"], amount=3_000)
    got = _until(
        http, shop, order["id"], lambda o: o.get("refunds"), "the Dashboard refund on the order"
    )
    assert got["status"] == "partially_refunded"
    assert got["refunded"]["amount_minor"] == "3000"
    [row] = got["refunds"]
    assert row["id"] == refund["id"] and row["source"] == "stripe"
    assert row["status"] == "succeeded" and row["amount"]["amount_minor"] == "3000"

    key = f"order-refunded:{refund['id']}"
    [mail] = wait(lambda: _mails(smtp_server, key), what="the shopper's refund email")
    assert mail["To"] == order["email"] and "30.00 USD" in mail["Subject"]
    [hook] = wait(
        lambda: _hooks(webhook_receiver, shop, "orders/refunded", order["id"]),
        what="orders/refunded",
    )
    assert hook["refund_id"] == refund["id"] and hook["refunded_minor"] == 3000
    assert hook["source"] == "stripe" and hook["order_refunded_minor"] == 3000

    # Stripe sends events more than once: the same events again change nothing.
    resent = _resend_all(control, shop, ("refund.created",), refund["id"])
    resent += _resend_all(control, shop, ("charge.refunded",), refund["charge"])
    assert resent == 2
    time.sleep(SETTLE)
    again = _get(http, shop, order["id"])
    assert again["refunded"] == got["refunded"] and len(again["refunds"]) == 1
    assert len(_mails(smtp_server, key)) == 1
    assert len(_hooks(webhook_receiver, shop, "orders/refunded", order["id"])) == 1


def test_pending_refund_that_fails_is_surfaced_and_money_counted_back(
    http, shop, control, smtp_server, webhook_receiver
):
    order = _order(http, shop)
    refund = control.dashboard_refund(
        payment_intent=order["payment_intent_id"], amount=4_000, status="pending"
    )
    pending = _until(http, shop, order["id"], lambda o: o.get("refunds"), "the pending refund")
    assert pending["refunds"][0]["status"] == "pending"
    assert pending["refunded"]["amount_minor"] == "4000"  # pending money counts
    assert pending["status"] == "partially_refunded"

    control.fail_refund(refund["id"], "expired_or_canceled_card")
    failed = _until(
        http,
        shop,
        order["id"],
        lambda o: o["refunds"][0]["status"] == "failed",
        "the failed refund",
    )
    assert failed["refunds"][0]["failure_reason"] == "expired_or_canceled_card"
    assert failed["refunded"].get("amount_minor", "0") == "0"
    assert failed["status"] == "paid"
    [hook] = wait(
        lambda: _hooks(webhook_receiver, shop, "orders/refund_failed", order["id"]),
        what="orders/refund_failed",
    )
    assert hook["refund_id"] == refund["id"] and hook["refund_status"] == "failed"
    assert hook["failure_reason"] == "expired_or_canceled_card"
    assert hook["order_refunded_minor"] == 0

    assert _resend_all(control, shop, ("refund.updated", "refund.failed"), refund["id"]) >= 2
    time.sleep(SETTLE)
    assert _get(http, shop, order["id"])["refunds"] == failed["refunds"]
    assert len(_hooks(webhook_receiver, shop, "orders/refund_failed", order["id"])) == 1
    # The refund was announced when it was made (pending), once.
    assert len(_hooks(webhook_receiver, shop, "orders/refunded", order["id"])) == 1
    assert len(_mails(smtp_server, f"order-refunded:{refund['id']}")) == 1


def test_dispute_opened_and_closed(http, shop, control, stripe, webhook_receiver):
    order = _order(http, shop)
    charge = _charge(stripe, shop, order["payment_intent_id"])
    dispute = control.open_dispute(charge, reason="fraudulent")
    opened = _until(http, shop, order["id"], lambda o: o.get("disputed"), "the dispute")
    assert opened["dispute_status"] == "needs_response"
    [hook] = wait(
        lambda: _hooks(webhook_receiver, shop, "orders/disputed", order["id"]),
        what="orders/disputed",
    )
    assert hook["dispute_id"] == dispute["id"] and hook["dispute_reason"] == "fraudulent"
    assert hook["disputed_minor"] == 10_000

    # A disputed payment cannot be refunded: the admin API says so (no 5xx).
    r = http.post(f"/v1/admin/orders/{order['id']}:refund", headers=admin(shop.store), json={})
    assert r.status_code == 400 and "disputed" in r.json()["message"], r.text

    control.close_dispute(dispute["id"], "lost")
    closed = _until(
        http, shop, order["id"], lambda o: o["dispute_status"] == "lost", "the lost dispute"
    )
    assert closed["disputed"] is True
    [hook] = wait(
        lambda: _hooks(webhook_receiver, shop, "orders/dispute_closed", order["id"]),
        what="orders/dispute_closed",
    )
    assert hook["dispute_status"] == "lost"

    kinds = ("charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.closed")
    assert _resend_all(control, shop, kinds, dispute["id"]) >= 3
    time.sleep(SETTLE)
    assert _get(http, shop, order["id"])["dispute_status"] == "lost"
    assert len(_hooks(webhook_receiver, shop, "orders/disputed", order["id"])) == 1
    assert len(_hooks(webhook_receiver, shop, "orders/dispute_closed", order["id"])) == 1


def test_payouts_paid_and_failed(http, shop, control, smtp_server, webhook_receiver):
    _order(http, shop, price=20_000)
    control.release_balance(shop.account)
    failing = control.create_payout(shop.account, amount=5_000, currency="usd")
    control.payout_failed(failing["id"], "account_closed")
    [hook] = wait(
        lambda: [
            b
            for b in _hooks(webhook_receiver, shop, "payouts/failed")
            if b["payout_id"] == failing["id"]
        ],
        what="payouts/failed",
    )
    assert hook["failure_code"] == "account_closed" and hook["amount_minor"] == 5_000
    [mail] = wait(
        lambda: _mails(smtp_server, f"payout-failed:{failing['id']}"), what="the owner's email"
    )
    assert mail["To"] == f"owner@{shop.store.subdomain}.example.com"
    assert "50.00 USD" in mail["Subject"]
    assert "closed" in mail.get_body(preferencelist=("plain",)).get_content()

    paying = control.create_payout(shop.account, amount=6_000, currency="usd")
    control.payout_paid(paying["id"])
    [hook] = wait(
        lambda: [
            b
            for b in _hooks(webhook_receiver, shop, "payouts/paid")
            if b["payout_id"] == paying["id"]
        ],
        what="payouts/paid",
    )
    assert hook["status"] == "paid" and hook["amount_minor"] == 6_000

    assert _resend_all(control, shop, ("payout.failed",), failing["id"]) == 1
    assert _resend_all(control, shop, ("payout.paid",), paying["id"]) == 1
    time.sleep(SETTLE)
    assert len(_mails(smtp_server, f"payout-failed:{failing['id']}")) == 1
    for topic, payout in (("payouts/failed", failing), ("payouts/paid", paying)):
        hooks = _hooks(webhook_receiver, shop, topic)
        assert [h["payout_id"] for h in hooks].count(payout["id"]) == 1, topic
    # No payout mail for a payout that went through.
    assert _mails(smtp_server, f"payout-paid:{paying['id']}") == []


def test_plan_fee_is_charged_and_a_partial_refund_returns_its_share(
    http, shop, control, stripe, smtp_server, webhook_receiver
):
    order = _order(http, shop, price=10_000)
    # enterprise: 25 basis points of 100.00 USD.
    assert order["application_fee"]["amount_minor"] == "25"
    [create] = [
        r
        for r in control.requests(method="POST", path="/v1/payment_intents")
        if order["checkout_id"] in (r["idempotency_key"] or "") and r["status"] == 200
    ]
    assert create["account"] == shop.account
    assert create["fields"]["application_fee_amount"] == "25"

    r = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(shop.store),
        json={"amount_minor": 4_000},
    )
    assert r.status_code == 200, r.text
    refunded = r.json()
    [row] = refunded["refunds"]
    assert row["source"] == "admin" and row["status"] == "succeeded"
    charge = _charge(stripe, shop, order["payment_intent_id"])
    [fee] = stripe.v1.application_fees.list(params={"charge": charge}).data
    assert fee.amount == 25 and fee.amount_refunded == 10  # 40% of the fee
    assert refunded["application_fee_refunded"]["amount_minor"] == "10"
    assert row["application_fee_refunded"]["amount_minor"] == "10"

    # The shopper hears of it once, the merchant's webhook once, whatever Stripe's own events
    # about this refund do (they arrive too, and are recorded as the same refund).
    key = f"order-refunded:{row['id']}"
    wait(lambda: _mails(smtp_server, key), what="the shopper's refund email")
    wait(
        lambda: _hooks(webhook_receiver, shop, "orders/refunded", order["id"]),
        what="orders/refunded",
    )
    for event in _events(control, shop, "refund.created", row["id"]):
        wait(lambda e=event: _delivered(control, e["id"]), what="Stripe's own refund event")
    time.sleep(SETTLE)
    assert len(_mails(smtp_server, key)) == 1
    assert len(_hooks(webhook_receiver, shop, "orders/refunded", order["id"])) == 1
    assert len(_get(http, shop, order["id"])["refunds"]) == 1

    # The rest refunded in full: the fee's remainder goes back with it.
    r = http.post(f"/v1/admin/orders/{order['id']}:refund", headers=admin(shop.store), json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded"
    assert r.json()["application_fee_refunded"]["amount_minor"] == "25"
    [fee] = stripe.v1.application_fees.list(params={"charge": charge}).data
    assert fee.amount_refunded == 25


def test_admin_refund_held_pending_then_failed(http, shop, control, webhook_receiver):
    order = _order(http, shop)
    control.hold_next_refund(payment_intent=order["payment_intent_id"])
    r = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(shop.store),
        json={"amount_minor": 2_500},
    )
    assert r.status_code == 200, r.text
    [row] = r.json()["refunds"]
    assert row["status"] == "pending" and r.json()["refunded"]["amount_minor"] == "2500"
    control.fail_refund(row["id"], "lost_or_stolen_card")
    failed = _until(
        http, shop, order["id"], lambda o: o["refunds"][0]["status"] == "failed", "failure"
    )
    assert failed["status"] == "paid" and failed["refunds"][0]["source"] == "admin"
    wait(
        lambda: _hooks(webhook_receiver, shop, "orders/refund_failed", order["id"]),
        what="orders/refund_failed",
    )
    # The money is back with the store: it can be refunded again.
    r = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(shop.store),
        json={"amount_minor": 2_500},
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["refunds"]] == ["failed", "succeeded"]
    assert r.json()["refunded"]["amount_minor"] == "2500"


def test_cancellation_sends_one_cancellation_email_and_no_refund_email(
    http, shop, control, smtp_server, webhook_receiver
):
    order = _order(http, shop, price=3_000)
    r = http.post(f"/v1/admin/orders/{order['id']}:cancel", headers=admin(shop.store), json={})
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert cancelled["status"] == "cancelled"
    [row] = cancelled["refunds"]
    assert row["cancellation"] is True and row["source"] == "admin"
    key = f"order-cancelled:{order['id']}"
    [mail] = wait(lambda: _mails(smtp_server, key), what="the cancellation email")
    assert "cancelled" in mail["Subject"] and mail["To"] == order["email"]
    wait(
        lambda: _hooks(webhook_receiver, shop, "orders/cancelled", order["id"]),
        what="orders/cancelled",
    )
    for event in _events(control, shop, "refund.created", row["id"]):
        wait(lambda e=event: _delivered(control, e["id"]), what="Stripe's own refund event")
    time.sleep(SETTLE)
    assert len(_mails(smtp_server, key)) == 1
    assert _mails(smtp_server, f"order-refunded:{row['id']}") == []
    assert _hooks(webhook_receiver, shop, "orders/refunded", order["id"]) == []
    assert len(_hooks(webhook_receiver, shop, "orders/cancelled", order["id"])) == 1
    again = http.post(f"/v1/admin/orders/{order['id']}:cancel", headers=admin(shop.store), json={})
    assert again.json()["refunds"] == cancelled["refunds"]


def test_another_stores_refunds_and_disputes_never_show_here(
    http, shop, other, control, stripe, webhook_receiver
):
    mine = _order(http, shop)
    theirs = _order(http, other)
    refund = control.dashboard_refund(payment_intent=theirs["payment_intent_id"], amount=1_000)
    dispute = control.open_dispute(_charge(stripe, other, theirs["payment_intent_id"]))
    _until(http, other, theirs["id"], lambda o: o.get("refunds") and o.get("disputed"), "theirs")
    wait(
        lambda: _hooks(webhook_receiver, other, "orders/disputed", theirs["id"]),
        what="their orders/disputed",
    )
    time.sleep(SETTLE)
    here = _get(http, shop, mine["id"])
    assert here.get("refunds", []) == [] and not here.get("disputed")
    listed = http.get("/v1/admin/orders", headers=admin(shop.store)).json()["orders"]
    assert theirs["id"] not in {o["id"] for o in listed}
    assert all(refund["id"] not in {r["id"] for r in o.get("refunds", [])} for o in listed)
    assert not [o for o in listed if o.get("dispute_status") and o["id"] == theirs["id"]]
    # Their order is not found through this store, like any unknown id.
    r = http.get(f"/v1/admin/orders/{theirs['id']}", headers=admin(shop.store))
    assert r.status_code == 404
    for topic in ("orders/refunded", "orders/disputed"):
        assert _hooks(webhook_receiver, shop, topic, theirs["id"]) == []
    assert dispute["id"] not in {
        h.get("dispute_id") for h in _hooks(webhook_receiver, shop, "orders/disputed")
    }


def _connect_event(http, stack, control, kind: str, account: str, obj: dict) -> httpx.Response:
    """An event signed with the Connect endpoint's secret, as Stripe would sign it, posted to
    the platform's Connect endpoint through Envoy."""
    payload = json.dumps(
        {
            "id": f"evt_test_{time.time_ns()}",
            "object": "event",
            "type": kind,
            "account": account,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    )
    return http.post(
        "/v1/stripe/connect-webhooks",
        content=payload,
        headers={
            "host": "api.myshop.localhost",
            "content-type": "application/json",
            "stripe-signature": control.sign(payload, stack.stripe_connect_webhook_secret),
        },
    )


def test_an_event_naming_another_accounts_objects_changes_nothing(
    http, stack, shop, other, control, stripe, webhook_receiver
):
    """Events are routed by `account`; the objects are read on that account only, so an event
    for this store's account can never move another store's order (nor fail forever)."""
    theirs = _order(http, other)
    refund = control.dashboard_refund(payment_intent=theirs["payment_intent_id"], amount=500)
    dispute = control.open_dispute(_charge(stripe, other, theirs["payment_intent_id"]))
    _until(http, other, theirs["id"], lambda o: o.get("refunds") and o.get("disputed"), "theirs")
    # The other store's own events for these objects (funds withdrawn, charge.refunded, …) may
    # still be arriving: take the picture once the order has stopped changing.
    before = _get(http, other, theirs["id"])
    deadline = time.monotonic() + 30
    while True:
        time.sleep(SETTLE)
        now = _get(http, other, theirs["id"])
        if now == before or time.monotonic() > deadline:
            break
        before = now
    for kind, obj in (
        ("charge.dispute.created", {"id": dispute["id"], "object": "dispute"}),
        (
            "refund.created",
            {"id": refund["id"], "object": "refund", "payment_intent": theirs["payment_intent_id"]},
        ),
        ("payout.failed", {"id": "po_not_this_accounts", "object": "payout"}),
    ):
        r = _connect_event(http, stack, control, kind, shop.account, obj)
        assert r.status_code == 200, (kind, r.text)  # acknowledged: asking again cannot help
    time.sleep(SETTLE)
    assert _get(http, other, theirs["id"]) == before
    assert len(_hooks(webhook_receiver, other, "orders/disputed", theirs["id"])) == 1
    for topic in ("orders/disputed", "orders/refunded", "payouts/failed"):
        assert not [
            h
            for h in _hooks(webhook_receiver, shop, topic)
            if h.get("order_id") == theirs["id"] or h.get("payout_id") == "po_not_this_accounts"
        ]


def test_new_topics_are_accepted_and_unknown_ones_refused(http, shop):
    r = http.post(
        "/v1/admin/webhooks",
        headers=admin(shop.store),
        json={"topic": "payouts/exploded", "url": "https://93.184.215.14/x"},
    )
    assert r.status_code == 400 and "topic" in r.json()["message"]
    assert set(TOPICS) <= {
        w["topic"]
        for w in http.get("/v1/admin/webhooks", headers=admin(shop.store)).json()["webhooks"]
    }
