"""Fulfillment through Envoy: partial then complete shipments move the order's
fulfillment_status; over-fulfilment, a cancelled order and another store's order are refused;
the shopper's shipping email arrives once with the tracking link; fulfillments/create,
fulfillments/update, orders/fulfilled and orders/paid webhooks are delivered once each."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from services.events.consumers.email import message_id_for
from tests.e2e.api_client import admin
from tests.e2e.checkout_support import cart_with, checkout_body, merchant, stock_variant, wait

DOMAIN = "myshop.localhost"
TOPICS = ("fulfillments/create", "fulfillments/update", "orders/fulfilled", "orders/paid")
SETTLE = 1.5
TRACK = {"company": "UPS", "number": "1Z999", "url": "https://track.example.com/1Z999"}


class Shop:
    def __init__(self, store, paths: dict[str, str]) -> None:
        self.store = store
        self.paths = paths


async def _shop(stack, http, webhook_receiver, prefix: str) -> Shop:
    store = await merchant(stack, http, prefix)
    paths = {}
    for topic in TOPICS:
        path = f"/ful-{store.id}-{topic.replace('/', '-')}"
        r = http.post(
            "/v1/admin/webhooks",
            headers=admin(store),
            json={"topic": topic, "url": webhook_receiver.base_url + path},
        )
        assert r.status_code == 200, r.text
        webhook_receiver.secrets[path] = r.json()["secret"]
        paths[topic] = path
    return Shop(store, paths)


@pytest.fixture(scope="module")
async def shop(stack, http, webhook_receiver) -> Shop:
    return await _shop(stack, http, webhook_receiver, "ful")


def _order(http, shop: Shop, quantities: tuple[int, ...] = (3, 1)) -> tuple[dict, list[dict]]:
    variants = [stock_variant(http, shop.store, 10, price=1000) for _ in quantities]
    cart = cart_with(http, shop.store, variants[0]["id"], quantities[0])
    for variant, quantity in zip(variants[1:], quantities[1:], strict=True):
        r = http.post(
            f"/v1/carts/{cart}/lines",
            headers={"host": shop.store.host},
            json={"variant_id": variant["id"], "quantity": quantity},
        )
        assert r.status_code == 200, r.text
    r = http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": shop.store.host, "idempotency-key": f"ful-{time.time_ns()}"},
        json=checkout_body(email=f"buyer-{time.time_ns()}@example.com"),
    )
    assert r.status_code == 200, r.text
    return r.json()["order"], variants


def _fulfil(http, shop: Shop, order_id: str, lines=None, notify: bool = True):
    return http.post(
        f"/v1/admin/orders/{order_id}/fulfillments",
        headers=admin(shop.store),
        json={"lines": lines or [], "tracking": TRACK, "notify_customer": notify},
    )


def _hooks(receiver, shop: Shop, topic: str, key: str, value: str) -> list[dict]:
    bodies = []
    for request in receiver.requests_to(shop.paths[topic]):
        assert request.signature_valid and request.headers["x-shop-topic"] == topic
        body = json.loads(request.body)
        if body.get(key) == value:
            bodies.append(body)
    return bodies


def _mails(smtp, key: str) -> list:
    return smtp.inbox.with_message_id(message_id_for(key, DOMAIN))


def _status(http, shop: Shop, order_id: str) -> str:
    r = http.get(f"/v1/admin/orders/{order_id}", headers=admin(shop.store))
    assert r.status_code == 200, r.text
    return r.json()["fulfillment_status"]


async def test_partial_then_complete_moves_the_status_and_tells_everyone_once(
    http, shop, smtp_server, webhook_receiver
):
    order, variants = _order(http, shop)
    # orders/paid is emitted with the order.
    wait(
        lambda: _hooks(webhook_receiver, shop, "orders/paid", "order_id", order["id"]),
        what="orders/paid",
    )
    first = _fulfil(http, shop, order["id"], [{"variant_id": variants[0]["id"], "quantity": 2}])
    assert first.status_code == 200, first.text
    made = first.json()
    assert made["status"] == "success" and made["tracking"] == TRACK
    assert _status(http, shop, order["id"]) == "partially_fulfilled"
    # Over-fulfilment: only 1 of the first line is left.
    over = _fulfil(http, shop, order["id"], [{"variant_id": variants[0]["id"], "quantity": 2}])
    assert over.status_code == 400 and "lines[0].quantity" in over.text
    rest = _fulfil(http, shop, order["id"])
    assert rest.status_code == 200, rest.text
    assert sorted(
        (line["variant_id"], line["quantity"]) for line in rest.json()["lines"]
    ) == sorted([(variants[0]["id"], 1), (variants[1]["id"], 1)])
    got = http.get(f"/v1/admin/orders/{order['id']}", headers=admin(shop.store)).json()
    assert got["fulfillment_status"] == "fulfilled"
    shipped = {line["variant_id"]: line["fulfilled_quantity"] for line in got["lines"]}
    assert shipped == {variants[0]["id"]: 3, variants[1]["id"]: 1}
    nothing = _fulfil(http, shop, order["id"])
    assert nothing.status_code == 400
    [mail] = wait(
        lambda: _mails(smtp_server, f"fulfillment-created:{made['id']}"),
        what="the shipping confirmation",
    )
    assert mail["To"] == order["email"] and "shipped" in mail["Subject"]
    assert TRACK["url"] in mail.get_body(("plain",)).get_content()
    wait(
        lambda: _hooks(webhook_receiver, shop, "orders/fulfilled", "order_id", order["id"]),
        what="orders/fulfilled",
    )
    for fid in (made["id"], rest.json()["id"]):
        wait(
            lambda f=fid: _hooks(
                webhook_receiver, shop, "fulfillments/create", "fulfillment_id", f
            ),
            what="fulfillments/create",
        )
    await asyncio.sleep(SETTLE)
    assert len(_mails(smtp_server, f"fulfillment-created:{made['id']}")) == 1
    hooks = _hooks(webhook_receiver, shop, "fulfillments/create", "fulfillment_id", made["id"])
    assert len(hooks) == 1 and hooks[0]["tracking_url"] == TRACK["url"]
    assert len(_hooks(webhook_receiver, shop, "orders/fulfilled", "order_id", order["id"])) == 1
    assert len(_hooks(webhook_receiver, shop, "orders/paid", "order_id", order["id"])) == 1
    listed = http.get(f"/v1/admin/orders/{order['id']}/fulfillments", headers=admin(shop.store))
    assert [f["id"] for f in listed.json()["fulfillments"]] == [made["id"], rest.json()["id"]]


async def test_tracking_update_and_cancel_reach_webhooks_and_free_the_units(
    http, shop, smtp_server, webhook_receiver
):
    order, variants = _order(http, shop, (2,))
    made = _fulfil(http, shop, order["id"], notify=False).json()
    assert _status(http, shop, order["id"]) == "fulfilled"
    moved = {"company": "DHL", "number": "JD01", "url": "https://dhl.example.com/JD01"}
    r = http.post(
        f"/v1/admin/orders/{order['id']}/fulfillments/{made['id']}:update_tracking",
        headers=admin(shop.store),
        json={"tracking": moved, "notify_customer": True},
    )
    assert r.status_code == 200 and r.json()["tracking"] == moved
    wait(
        lambda: [
            h
            for h in _hooks(
                webhook_receiver, shop, "fulfillments/update", "fulfillment_id", made["id"]
            )
            if h["tracking_url"] == moved["url"]
        ],
        what="fulfillments/update",
    )
    update_key = f"fulfillment-updated:{made['id']}:"
    wait(
        lambda: [
            m
            for m in smtp_server.inbox.snapshot()
            if update_key.replace(":", ".") in "".join(str(m["Message-ID"]).split())
        ],
        what="the tracking update email",
    )
    cancel = http.post(
        f"/v1/admin/orders/{order['id']}/fulfillments/{made['id']}:cancel",
        headers=admin(shop.store),
        json={},
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert _status(http, shop, order["id"]) == "unfulfilled"
    # Not mailed (notify_customer was off when it shipped; a cancellation is not mail).
    await asyncio.sleep(SETTLE)
    assert _mails(smtp_server, f"fulfillment-created:{made['id']}") == []
    assert _mails(smtp_server, f"fulfillment-cancelled:{made['id']}") == []
    cancelled_hooks = [
        h
        for h in _hooks(webhook_receiver, shop, "fulfillments/update", "fulfillment_id", made["id"])
        if h["status"] == "cancelled"
    ]
    assert len(cancelled_hooks) == 1
    again = _fulfil(http, shop, order["id"], [{"variant_id": variants[0]["id"], "quantity": 2}])
    assert again.status_code == 200, again.text


async def test_a_cancelled_order_and_another_stores_order_cannot_be_fulfilled(
    stack, http, shop, webhook_receiver
):
    order, _ = _order(http, shop, (1,))
    cancelled = http.post(
        f"/v1/admin/orders/{order['id']}:cancel", headers=admin(shop.store), json={}
    )
    assert cancelled.status_code == 200, cancelled.text
    r = _fulfil(http, shop, order["id"])
    assert r.status_code == 400 and "cancelled" in r.json()["message"]
    mine, _ = _order(http, shop, (1,))
    made = _fulfil(http, shop, mine["id"]).json()
    other = await _shop(stack, http, webhook_receiver, "fulb")
    for call in (
        _fulfil(http, other, mine["id"]),
        http.get(f"/v1/admin/orders/{mine['id']}/fulfillments", headers=admin(other.store)),
        http.post(
            f"/v1/admin/orders/{mine['id']}/fulfillments/{made['id']}:cancel",
            headers=admin(other.store),
            json={},
        ),
        http.post(
            f"/v1/admin/orders/{mine['id']}/fulfillments/{made['id']}:update_tracking",
            headers=admin(other.store),
            json={"tracking": TRACK},
        ),
    ):
        assert call.status_code == 404, call.text
    assert _status(http, shop, mine["id"]) == "fulfilled"


async def test_fulfillment_needs_its_scope(http, shop):
    r = http.post(
        "/v1/admin/access_tokens",
        headers=admin(shop.store),
        json={"name": "reader", "scopes": ["read_orders"]},
    )
    assert r.status_code == 200, r.text
    order, _ = _order(http, shop, (1,))
    refused = http.post(
        f"/v1/admin/orders/{order['id']}/fulfillments",
        headers={"host": shop.store.host, "authorization": f"Bearer {r.json()['token']}"},
        json={"tracking": TRACK},
    )
    assert refused.status_code == 403 and "write_fulfillments" in refused.text
    bad = http.post(
        f"/v1/admin/orders/{order['id']}/fulfillments",
        headers=admin(shop.store),
        json={"tracking": {**TRACK, "url": "javascript:alert(1)"}},
    )
    assert bad.status_code == 400 and "tracking.url" in bad.text


def test_refunding_what_is_left_to_ship_completes_the_fulfillment(http, shop):
    order, variants = _order(http, shop, (3,))
    shipped = _fulfil(http, shop, order["id"], [{"variant_id": variants[0]["id"], "quantity": 2}])
    assert shipped.status_code == 200, shipped.text
    assert _status(http, shop, order["id"]) == "partially_fulfilled"
    r = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(shop.store),
        json={"lines": [{"variant_id": variants[0]["id"], "quantity": 1}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["fulfillment_status"] == "fulfilled"
    # Nothing is left to ship: refunded units never are.
    assert _fulfil(http, shop, order["id"]).status_code == 400
