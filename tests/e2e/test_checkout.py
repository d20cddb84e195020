"""Checkout through Envoy with the Stripe emulator: idempotency, never overselling, no lock held
across the payment call, recovery after crashes and lost responses, declines, 3-D Secure and
Stripe's webhooks."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import httpx
import pytest

from services.events.consumers.email import message_id_for
from tests.e2e.api_client import admin
from tests.e2e.checkout_support import (
    Emulator,
    admin_sql,
    cart_with,
    checkout_body,
    merchant,
    stock,
    stock_variant,
    wait,
)


@pytest.fixture(scope="module")
def emulator(stack):
    em = Emulator(f"http://127.0.0.1:{stack.ports.stripe}")
    yield em
    em.clear()


@pytest.fixture(scope="module")
async def shop(stack, http):
    return await merchant(stack, http, "buy")


def _checkout(http, store, cart_id: str, key: str, body: dict | None = None) -> httpx.Response:
    return http.post(
        f"/v1/carts/{cart_id}/checkout",
        headers={"host": store.host, "idempotency-key": key},
        json=body or checkout_body(),
    )


async def _orders(stack, store) -> list:
    return await admin_sql(
        stack,
        "SELECT number, total, checkout_id, payment_intent_id"
        " FROM orders WHERE store_id = $1 ORDER BY number",
        int(store.id),
    )


async def test_same_key_same_request_replays_byte_identically(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 5, price=1234)
    cart = cart_with(http, shop, variant["id"], 2)
    first = _checkout(http, shop, cart, "replay-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "paid" and body["order"]["total"]["amount_minor"] == "2468"
    second = _checkout(http, shop, cart, "replay-1")
    assert second.status_code == 200 and second.content == first.content
    assert len(emulator.intent_creates(body["checkout_id"])) == 1
    orders = await _orders(stack, shop)
    assert [o["total"] for o in orders if str(o["checkout_id"]) == body["checkout_id"]] == [2468]
    assert await stock(stack, variant["id"]) == 3
    # The paid cart is gone; the same key with a different request is refused.
    other = _checkout(http, shop, cart, "replay-1", checkout_body(email="eve@example.com"))
    assert other.status_code == 400 and "different" in other.json()["message"]


async def test_order_numbers_are_per_store_from_1001(stack, http, emulator):
    a, b = await merchant(stack, http, "numa"), await merchant(stack, http, "numb")
    for store in (a, b, a):
        variant = stock_variant(http, store, 3)
        r = _checkout(http, store, cart_with(http, store, variant["id"]), f"n-{time.time_ns()}")
        assert r.status_code == 200, r.text
    assert [o["number"] for o in await _orders(stack, a)] == [1001, 1002]
    assert [o["number"] for o in await _orders(stack, b)] == [1001]


async def test_concurrent_requests_with_one_key_make_one_order(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 50)
    cart = cart_with(http, shop, variant["id"])
    emulator.latency(300, amount="2500")  # keep the first request busy while the others arrive
    try:
        async with httpx.AsyncClient(base_url=stack.edge_url, timeout=20) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"/v1/carts/{cart}/checkout",
                        headers={"host": shop.host, "idempotency-key": "same-20"},
                        json=checkout_body(),
                    )
                    for _ in range(20)
                )
            )
    finally:
        emulator.clear()
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 409} and codes.count(200) >= 1, codes
    paid = [r for r in responses if r.status_code == 200]
    assert len({r.content for r in paid}) == 1
    replay = _checkout(http, shop, cart, "same-20")
    assert replay.content == paid[0].content
    checkout_id = replay.json()["checkout_id"]
    assert len(emulator.intent_creates(checkout_id)) == 1
    assert await stock(stack, variant["id"]) == 49


@pytest.mark.parametrize("run", range(5))
async def test_200_buyers_for_10_units_make_exactly_10_orders(stack, http, shop, emulator, run):
    variant = stock_variant(http, shop, 10)
    carts = [cart_with(http, shop, variant["id"]) for _ in range(200)]
    async with httpx.AsyncClient(
        base_url=stack.edge_url, timeout=60, limits=httpx.Limits(max_connections=200)
    ) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/v1/carts/{cart}/checkout",
                    headers={"host": shop.host, "idempotency-key": f"flash-{run}-{i}"},
                    json=checkout_body(),
                )
                for i, cart in enumerate(carts)
            )
        )
    codes = [r.status_code for r in responses]
    odd = {r.status_code: r.text[:200] for r in responses if r.status_code not in (200, 400)}
    assert codes.count(200) == 10, (sorted(set(codes)), odd)
    assert all(c in (200, 400) for c in codes), odd
    assert all(
        "only 0 left" in r.json()["message"] or "cannot reserve" in r.json()["message"]
        for r in responses
        if r.status_code == 400
    )
    assert await stock(stack, variant["id"]) == 0
    sold = await admin_sql(
        stack,
        "SELECT coalesce(sum(quantity), 0) AS n FROM order_items WHERE variant_id = $1::uuid",
        variant["id"],
    )
    assert sold[0]["n"] == 10


async def test_slow_payment_does_not_block_other_buyers(stack, http, shop, emulator):
    """No row lock is held across the Stripe call: while one buyer's payment hangs at Stripe,
    buyers of another SKU and of the same SKU check out. The hanging one then ends like any
    lost answer: paid, or "retry with the same key", whose retry is paid."""
    slow = stock_variant(http, shop, 5, price=777)
    fast = stock_variant(http, shop, 5, price=888)
    slow_cart, fast_cart = cart_with(http, shop, slow["id"]), cart_with(http, shop, fast["id"])
    same_cart = cart_with(http, shop, slow["id"])
    emulator.latency(2000, amount="777")
    try:
        async with httpx.AsyncClient(base_url=stack.edge_url, timeout=20) as client:

            def buy(cart: str, key: str):
                return client.post(
                    f"/v1/carts/{cart}/checkout",
                    headers={"host": shop.host, "idempotency-key": key},
                    json=checkout_body(),
                )

            stuck = asyncio.ensure_future(buy(slow_cart, "slow-1"))
            await asyncio.sleep(0.3)
            other_sku = await buy(fast_cart, "fast-1")
            assert other_sku.status_code == 200
            emulator.clear()  # the same SKU's remaining stock sells at full speed too
            same_sku = await buy(same_cart, "slow-2")
            assert same_sku.status_code == 200
            assert not stuck.done(), "the other buyers waited for the slow payment"
            first = await stuck
            assert first.status_code in (200, 503), first.text
            if first.status_code == 503:
                assert "same Idempotency-Key" in first.json()["message"]
                assert (await buy(slow_cart, "slow-1")).status_code == 200
    finally:
        emulator.clear()
    assert await stock(stack, slow["id"]) == 3
    # One intent each for slow-1 and slow-2: the hanging one was never created twice.
    assert len(emulator.intent_creates_for_amount(777)) == 2


async def test_decline_restocks_and_is_replayed_as_final(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 4)
    cart = cart_with(http, shop, variant["id"], 2)
    declined = _checkout(http, shop, cart, "decline-1", checkout_body("pm_card_chargeDeclined"))
    assert declined.status_code == 400 and "declined" in declined.json()["message"]
    assert await stock(stack, variant["id"]) == 4
    again = _checkout(http, shop, cart, "decline-1", checkout_body("pm_card_chargeDeclined"))
    assert again.content == declined.content
    # A new key (another card) may try again with the same cart.
    ok = _checkout(http, shop, cart, "decline-2")
    assert ok.status_code == 200 and await stock(stack, variant["id"]) == 2


@pytest.mark.parametrize("fault", ["error_after_create", "timeout"])
async def test_lost_stripe_response_is_reconciled_without_a_second_charge(
    stack, http, shop, emulator, fault
):
    variant = stock_variant(http, shop, 3, price=4242)
    cart = cart_with(http, shop, variant["id"])
    emulator.fault(fault, amount="4242", **({"seconds": 4} if fault == "timeout" else {}))
    try:
        first = _checkout(http, shop, cart, f"lost-{fault}")
        if first.status_code != 200:
            assert first.status_code == 503, first.text
            first = wait(
                lambda: (
                    (r := _checkout(http, shop, cart, f"lost-{fault}")).status_code == 200 and r
                ),
                within=30,
                what="reconciled checkout",
            )
    finally:
        emulator.clear()
    checkout_id = first.json()["checkout_id"]
    orders = [o for o in await _orders(stack, shop) if str(o["checkout_id"]) == checkout_id]
    assert len(orders) == 1
    intents = await admin_sql(
        stack, "SELECT payment_intent_id FROM checkouts WHERE id = $1::uuid", checkout_id
    )
    assert intents[0]["payment_intent_id"] == orders[0]["payment_intent_id"]
    assert len({r["idempotency_key"] for r in emulator.intent_creates(checkout_id)}) == 1


async def test_rate_limited_stripe_is_retried(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 3, price=4343)
    emulator.fault("rate_limit", amount="4343")
    try:
        r = _checkout(http, shop, cart_with(http, shop, variant["id"]), "ratelimited-1")
    finally:
        emulator.clear()
    assert r.status_code == 200, r.text


async def test_crash_after_payment_before_order_is_recovered_once(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 3, price=5151)
    cart = cart_with(http, shop, variant["id"])
    emulator.latency(1500, amount="5151")
    async with httpx.AsyncClient(base_url=stack.edge_url, timeout=20) as client:
        pending = asyncio.ensure_future(
            client.post(
                f"/v1/carts/{cart}/checkout",
                headers={"host": shop.host, "idempotency-key": "crash-1"},
                json=checkout_body(),
            )
        )
        await asyncio.sleep(0.6)  # the PaymentIntent request is in flight
        stack.procs["checkout"].send_signal(signal.SIGKILL)
        response = await pending
    assert response.status_code in (502, 503), response.text
    emulator.clear()
    await asyncio.sleep(1.2)  # Stripe finishes creating (and charging) the intent meanwhile
    await asyncio.to_thread(stack.stop, "checkout")
    await asyncio.to_thread(stack.start_service, "checkout")

    async def order_placed():
        rows = await admin_sql(
            stack,
            "SELECT o.id FROM orders o JOIN checkouts c"
            " ON c.store_id = o.store_id AND c.id = o.checkout_id"
            " WHERE c.idempotency_key = 'crash-1'",
        )
        return rows

    deadline = time.monotonic() + 30
    while not await order_placed():  # the recovery worker takes over once the lease runs out
        assert time.monotonic() < deadline, "recovery did not place the order"
        await asyncio.sleep(0.2)
    replay = _checkout(http, shop, cart, "crash-1")
    assert replay.status_code == 200 and replay.json()["status"] == "paid"
    assert len(await order_placed()) == 1
    assert (
        len({r["idempotency_key"] for r in emulator.intent_creates(replay.json()["checkout_id"])})
        == 1
    )
    assert await stock(stack, variant["id"]) == 2


async def test_3d_secure_waits_for_the_webhook(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 3)
    cart = cart_with(http, shop, variant["id"])
    body = checkout_body("pm_card_threeDSecure2Required")
    r = _checkout(http, shop, cart, "3ds-1", body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "requires_action" and r.json()["client_secret"]
    checkout_id = r.json()["checkout_id"]
    rows = await admin_sql(
        stack, "SELECT payment_intent_id FROM checkouts WHERE id = $1::uuid", checkout_id
    )
    emulator.authenticate(rows[0]["payment_intent_id"], "succeed")
    paid = wait(
        lambda: (
            (x := _checkout(http, shop, cart, "3ds-1", body)).json().get("status") == "paid" and x
        ),
        what="webhook-finalised order",
    )
    assert int(paid.json()["order"]["number"]) >= 1001
    assert await stock(stack, variant["id"]) == 2


async def test_failed_3d_secure_releases_the_stock(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 3)
    cart = cart_with(http, shop, variant["id"])
    body = checkout_body("pm_card_threeDSecure2Required")
    r = _checkout(http, shop, cart, "3ds-fail", body)
    rows = await admin_sql(
        stack,
        "SELECT payment_intent_id FROM checkouts WHERE id = $1::uuid",
        r.json()["checkout_id"],
    )
    assert await stock(stack, variant["id"]) == 2
    emulator.authenticate(rows[0]["payment_intent_id"], "fail")
    wait(
        lambda: _checkout(http, shop, cart, "3ds-fail", body).status_code == 400,
        what="declined after failed authentication",
    )
    assert await stock(stack, variant["id"]) == 3


async def test_webhook_with_bad_signature_changes_nothing(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 3)
    cart = cart_with(http, shop, variant["id"])
    r = _checkout(http, shop, cart, "3ds-forged", checkout_body("pm_card_threeDSecure2Required"))
    checkout_id = r.json()["checkout_id"]
    rows = await admin_sql(
        stack, "SELECT payment_intent_id FROM checkouts WHERE id = $1::uuid", checkout_id
    )
    forged = json.dumps(
        {
            "id": "evt_forged",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": rows[0]["payment_intent_id"],
                    "object": "payment_intent",
                    "amount": 2500,
                    "metadata": {"store_id": shop.id, "checkout_id": checkout_id},
                }
            },
        }
    )
    signed = emulator.http.post(
        "/_emulator/webhooks/sign", json={"payload": forged, "secret": "whsec_wrong"}
    ).json()
    r = http.post(
        "/v1/stripe/webhooks",
        content=forged,
        headers={
            "host": "api.myshop.localhost",
            "content-type": "application/json",
            "stripe-signature": signed["signature_header"],
        },
    )
    assert r.status_code == 400
    state = await admin_sql(stack, "SELECT state FROM checkouts WHERE id = $1::uuid", checkout_id)
    assert state[0]["state"] == "requires_action"


def test_cross_store_cart_is_not_found(http, shop, store_a):
    variant = stock_variant(http, shop, 3)
    cart = cart_with(http, shop, variant["id"])
    r = http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": store_a.host, "idempotency-key": "cross-1"},
        json=checkout_body(),
    )
    assert r.status_code == 404


def test_client_sent_prices_are_refused(http, shop):
    variant = stock_variant(http, shop, 3)
    cart = cart_with(http, shop, variant["id"])
    r = _checkout(http, shop, cart, "price-1", {**checkout_body(), "total": {"amount_minor": 1}})
    assert r.status_code == 400 and "total" in r.json()["message"]


async def test_orders_admin_get_list_refund_cancel(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 5, price=1000)
    r = _checkout(http, shop, cart_with(http, shop, variant["id"], 3), "admin-1")
    order = r.json()["order"]
    got = http.get(f"/v1/admin/orders/{order['id']}", headers=admin(shop)).json()
    assert got["number"] == order["number"] and got["total"]["amount_minor"] == "3000"
    listed = http.get("/v1/admin/orders", headers=admin(shop), params={"status": "paid"}).json()
    assert order["id"] in [o["id"] for o in listed["orders"]]
    r = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(shop),
        json={"lines": [{"variant_id": variant["id"], "quantity": 1}], "restock": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "partially_refunded"
    assert r.json()["refunded"]["amount_minor"] == "1000"
    assert await stock(stack, variant["id"]) == 3
    r = http.post(f"/v1/admin/orders/{order['id']}:cancel", headers=admin(shop), json={})
    assert r.json()["status"] == "cancelled" and r.json()["refunded"]["amount_minor"] == "3000"
    assert await stock(stack, variant["id"]) == 5
    assert (
        http.get(
            f"/v1/admin/orders/{order['id']}", headers={**admin(shop), "host": shop.host}
        ).status_code
        == 200
    )


def test_paid_order_sends_one_confirmation_email(http, shop, smtp_server):
    variant = stock_variant(http, shop, 3, price=1999)
    r = _checkout(http, shop, cart_with(http, shop, variant["id"], 2), "email-1")
    order = r.json()["order"]
    message_id = message_id_for(f"order-created:{order['id']}", "myshop.localhost")
    [mail] = wait(lambda: smtp_server.inbox.with_message_id(message_id), what="confirmation")
    assert mail["To"] == "ada@example.com"
    assert f"#{order['number']}" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "39.98 USD" in text and "2 x" in text
    assert mail.get_body(preferencelist=("html",)) is not None
    time.sleep(1)  # a duplicate delivery would have arrived by now
    assert len(smtp_server.inbox.with_message_id(message_id)) == 1


async def test_continue_policy_allows_backorders(stack, http, shop, emulator):
    variant = stock_variant(http, shop, 0, policy="CONTINUE")
    r = _checkout(http, shop, cart_with(http, shop, variant["id"], 2), "backorder-1")
    assert r.status_code == 200, r.text
    assert await stock(stack, variant["id"]) == -2
