"""Shipping and tax through Envoy: the options a cart has for an address, the itemised order
and the amount Stripe charges, addresses outside every zone, rates changed between listing and
checkout, tax-inclusive and tax-exclusive stores, refunds that return a line's tax, and another
store's zones, rates and tax rates invisible and unusable."""

from __future__ import annotations

import time

import pytest

from tests.e2e.api_client import admin
from tests.e2e.checkout_support import (
    ADDRESS,
    Emulator,
    cart_with,
    checkout_body,
    merchant,
    stock,
    stock_variant,
)
from tests.e2e.shipping_support import (
    NY,
    amount,
    rate,
    shipping_options,
    tax_rate,
    tax_settings,
    zone,
)


@pytest.fixture(scope="module")
def emulator(stack):
    em = Emulator(f"http://127.0.0.1:{stack.ports.stripe}")
    yield em
    em.clear()


@pytest.fixture(scope="module")
async def shop(stack, http):
    """A US store: ships to the US at 7.00 flat, New York tax 8.875 % on lines and shipping,
    prices without tax."""
    store = await merchant(stack, http, "ship")
    home = zone(http, store, ["US"])
    flat = rate(http, store, home["id"], price_minor=700)
    tax_rate(http, store, "US", 8875, region="US-NY")
    tax_settings(http, store, inclusive=False, tax_shipping=True)
    return store, home, flat


def _checkout(http, store, cart: str, **body):
    return http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": store.host, "idempotency-key": f"k-{time.time_ns()}"},
        json={**checkout_body(), **body},
    )


async def test_checkout_charges_shipping_and_tax_and_the_order_is_itemised(
    stack, http, shop, emulator
):
    store, _, flat = shop
    variant = stock_variant(http, store, 10, price=1999)
    cart = cart_with(http, store, variant["id"], 2)
    listed = shipping_options(http, store, cart, NY)
    assert listed.status_code == 200, listed.text
    [option] = listed.json()["options"]
    assert option["id"] == flat["id"] and amount(option["price"]) == 700
    # 3998 x 8.875 % = 354.82 → 355; 700 x 8.875 % = 62.125 → 62 (per line, half up).
    estimate = option["estimate"]
    assert [amount(estimate[k]) for k in ("subtotal", "shipping", "tax", "total")] == [
        3998,
        700,
        417,
        5115,
    ]
    r = _checkout(http, store, cart, shipping_address=NY, shipping_rate_id=flat["id"])
    assert r.status_code == 200, r.text
    order = r.json()["order"]
    assert [amount(order[k]) for k in ("subtotal", "shipping", "tax", "total")] == [
        3998,
        700,
        417,
        5115,
    ]
    assert amount(order.get("discount")) == 0
    assert order["payment_status"] == "paid" and order["fulfillment_status"] == "unfulfilled"
    assert order["shipping_rate_id"] == flat["id"]
    assert amount(order["lines"][0]["tax"]) == 355
    # What Stripe charged is the order's total.
    [intent] = emulator.intent_creates(r.json()["checkout_id"])
    assert intent["fields"]["amount"] == "5115"


async def test_refunding_a_line_returns_its_price_and_its_tax_and_a_full_refund_the_total(
    http, shop
):
    store, _, flat = shop
    variant = stock_variant(http, store, 10, price=1000)
    cart = cart_with(http, store, variant["id"], 3)
    order = _checkout(http, store, cart, shipping_address=NY, shipping_rate_id=flat["id"]).json()[
        "order"
    ]
    # Line 3000, tax 266.25 → 266; shipping 700, tax 62.125 → 62; total 4028.
    assert amount(order["total"]) == 4028 and amount(order["lines"][0]["tax"]) == 266
    one = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(store),
        json={"lines": [{"variant_id": variant["id"], "quantity": 1}]},
    )
    assert one.status_code == 200, one.text
    # 1000 + floor(266 x 1/3) = 1088.
    assert amount(one.json()["refunded"]) == 1088
    assert one.json()["payment_status"] == "partially_refunded"
    rest = http.post(
        f"/v1/admin/orders/{order['id']}:refund",
        headers=admin(store),
        json={"lines": [{"variant_id": variant["id"], "quantity": 2}]},
    )
    assert rest.status_code == 200, rest.text
    # The other two units return the rest of the line's tax exactly: 2000 + 266 - 88.
    assert amount(rest.json()["refunded"]) == 1088 + 2178
    final = http.post(f"/v1/admin/orders/{order['id']}:refund", headers=admin(store), json={})
    assert final.status_code == 200, final.text
    assert amount(final.json()["refunded"]) == 4028
    assert final.json()["payment_status"] == "refunded"


async def test_an_address_outside_every_zone_is_refused_before_anything_is_reserved(
    stack, http, shop
):
    store, _, flat = shop
    variant = stock_variant(http, store, 4)
    cart = cart_with(http, store, variant["id"], 2)
    berlin = {**ADDRESS, "city": "Berlin", "country": "DE"}
    listed = shipping_options(http, store, cart, berlin)
    assert listed.status_code == 400 and "does not ship to DE" in listed.json()["message"]
    r = _checkout(http, store, cart, shipping_address=berlin, shipping_rate_id=flat["id"])
    assert r.status_code == 400, r.text
    assert "does not ship to DE" in r.json()["message"]
    assert await stock(stack, variant["id"]) == 4
    # Without a rate the store (which ships) asks for one, naming the field.
    missing = _checkout(http, store, cart, shipping_address=NY)
    assert missing.status_code == 400 and "shipping_rate_id" in missing.json()["message"]
    assert await stock(stack, variant["id"]) == 4


async def test_a_rate_changed_after_listing_charges_the_new_price_and_a_deleted_one_is_refused(
    stack, http, shop, emulator
):
    store, home, _ = shop
    express = rate(http, store, home["id"], name="Express", price_minor=1500)
    variant = stock_variant(http, store, 5, price=2000)
    cart = cart_with(http, store, variant["id"])
    listed = shipping_options(http, store, cart, ADDRESS).json()["options"]
    assert 1500 in [amount(o["price"]) for o in listed]
    changed = http.put(
        f"/v1/admin/shipping_rates/{express['id']}",
        headers=admin(store),
        json={"name": "Express", "kind": "flat", "price_minor": 1800},
    )
    assert changed.status_code == 200, changed.text
    r = _checkout(http, store, cart, shipping_rate_id=express["id"])
    assert r.status_code == 200, r.text
    order = r.json()["order"]
    # Springfield (no region) has no tax rate: 2000 + 1800.
    assert amount(order["shipping"]) == 1800 and amount(order["total"]) == 3800
    assert emulator.intent_creates(r.json()["checkout_id"])[0]["fields"]["amount"] == "3800"
    gone = http.delete(f"/v1/admin/shipping_rates/{express['id']}", headers=admin(store))
    assert gone.status_code == 200, gone.text
    cart = cart_with(http, store, variant["id"])
    before = await stock(stack, variant["id"])
    refused = _checkout(http, store, cart, shipping_rate_id=express["id"])
    assert refused.status_code == 400
    assert "shipping_rate_id" in refused.json()["message"]
    assert await stock(stack, variant["id"]) == before


async def test_a_tax_inclusive_store_charges_the_prices_shown(stack, http, emulator):
    store = await merchant(stack, http, "vat")
    eu = zone(http, store, ["DE", "FR"], name="EU")
    post = rate(
        http,
        store,
        eu["id"],
        name="DHL",
        kind="free_above",
        price_minor=490,
        free_above_minor=50_000,
    )
    tax_rate(http, store, "DE", 19_000)
    tax_settings(http, store, inclusive=True, tax_shipping=False)
    variant = stock_variant(http, store, 5, price=11_900)
    cart = cart_with(http, store, variant["id"])
    berlin = {**ADDRESS, "city": "Berlin", "country": "DE"}
    r = _checkout(http, store, cart, shipping_address=berlin, shipping_rate_id=post["id"])
    assert r.status_code == 200, r.text
    order = r.json()["order"]
    # 11900 holds 1900 of VAT; shipping 490 is untaxed; the shopper pays 11900 + 490.
    assert [amount(order[k]) for k in ("subtotal", "shipping", "tax", "total")] == [
        10_000,
        490,
        1900,
        12_390,
    ]
    assert order["prices_include_tax"] is True
    assert emulator.intent_creates(r.json()["checkout_id"])[0]["fields"]["amount"] == "12390"


async def test_weight_bands_price_by_the_cart_weight(stack, http):
    store = await merchant(stack, http, "kilo")
    home = zone(http, store, ["US"])
    by_weight = rate(
        http,
        store,
        home["id"],
        kind="weight",
        weight_bands=[
            {"up_to_grams": 1000, "price_minor": 500},
            {"up_to_grams": 5000, "price_minor": 1200},
        ],
    )
    variant = stock_variant(http, store, 20)
    # The variant's weight through the catalog admin API (update_mask from the query).
    weighed = http.patch(
        f"/v1/admin/variants/{variant['id']}",
        headers=admin(store),
        params={"update_mask": "weight_grams"},
        json={"weight_grams": 800},
    )
    assert weighed.status_code == 200, weighed.text
    assert weighed.json()["weight_grams"] == 800
    light = shipping_options(http, store, cart_with(http, store, variant["id"], 1), ADDRESS)
    assert [amount(o["price"]) for o in light.json()["options"]] == [500]
    heavy = shipping_options(http, store, cart_with(http, store, variant["id"], 3), ADDRESS)
    assert [amount(o["price"]) for o in heavy.json()["options"]] == [1200]
    # 7 x 800 g is past the last band: the rate is not offered, and checkout refuses it.
    cart = cart_with(http, store, variant["id"], 7)
    assert shipping_options(http, store, cart, ADDRESS).json().get("options", []) == []
    r = _checkout(http, store, cart, shipping_rate_id=by_weight["id"])
    assert r.status_code == 400 and "shipping_rate_id" in r.json()["message"]
    assert await stock(stack, variant["id"]) == 20


async def test_another_stores_zones_rates_and_tax_rates_are_invisible_and_unusable(
    stack, http, shop
):
    store, home, flat = shop
    other = await merchant(stack, http, "othership")
    listed = http.get("/v1/admin/shipping_zones", headers=admin(other))
    assert listed.status_code == 200 and listed.json().get("zones", []) == []
    mine = http.get("/v1/admin/shipping_zones", headers=admin(store)).json()["zones"]
    assert home["id"] in [z["id"] for z in mine]
    assert http.get("/v1/admin/tax_rates", headers=admin(other)).json().get("tax_rates", []) == []
    [ny] = http.get("/v1/admin/tax_rates", headers=admin(store)).json()["tax_rates"]
    for call in (
        http.put(
            f"/v1/admin/shipping_rates/{flat['id']}",
            headers=admin(other),
            json={"name": "Mine", "kind": "flat", "price_minor": 1},
        ),
        http.delete(f"/v1/admin/shipping_rates/{flat['id']}", headers=admin(other)),
        http.put(
            f"/v1/admin/shipping_zones/{home['id']}",
            headers=admin(other),
            json={"name": "Mine", "areas": ["US"]},
        ),
        http.delete(f"/v1/admin/shipping_zones/{home['id']}", headers=admin(other)),
        http.post(
            f"/v1/admin/shipping_zones/{home['id']}/rates",
            headers=admin(other),
            json={"name": "X", "kind": "flat", "price_minor": 1},
        ),
        http.put(
            f"/v1/admin/tax_rates/{ny['id']}",
            headers=admin(other),
            json={"rate_millipercent": 1},
        ),
        http.delete(f"/v1/admin/tax_rates/{ny['id']}", headers=admin(other)),
    ):
        assert call.status_code == 404, call.text
    # The other store ships nowhere, so A's rate id means nothing there.
    variant = stock_variant(http, other, 3)
    cart = cart_with(http, other, variant["id"])
    r = _checkout(http, other, cart, shipping_rate_id=flat["id"])
    assert r.status_code == 400 and "no such shipping rate" in r.json()["message"]
    assert await stock(stack, variant["id"]) == 3
    # A's setup is untouched.
    after = http.get("/v1/admin/shipping_zones", headers=admin(store)).json()["zones"]
    assert [r["id"] for z in after for r in z["rates"] if r["id"] == flat["id"]] == [flat["id"]]


async def test_bad_setup_is_refused_naming_the_field(http, shop):
    store, home, _ = shop
    bad_zone = http.post(
        "/v1/admin/shipping_zones", headers=admin(store), json={"name": "X", "areas": ["USA"]}
    )
    assert bad_zone.status_code == 400 and "areas" in bad_zone.text
    bad_rate = http.post(
        f"/v1/admin/shipping_zones/{home['id']}/rates",
        headers=admin(store),
        json={"name": "X", "kind": "weight", "weight_bands": []},
    )
    assert bad_rate.status_code == 400 and "weight_bands" in bad_rate.text
    bad_tax = http.post(
        "/v1/admin/tax_rates",
        headers=admin(store),
        json={"country": "US", "rate_millipercent": 200_000},
    )
    assert bad_tax.status_code == 400 and "rate_millipercent" in bad_tax.text
    twice = http.post(
        "/v1/admin/tax_rates",
        headers=admin(store),
        json={"country": "US", "region": "NY", "rate_millipercent": 1},
    )
    assert twice.status_code == 409
