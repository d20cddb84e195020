"""Carts through Envoy: prices from the catalog, limits, and carts scoped to their store."""

from __future__ import annotations

import pytest

from tests.e2e.api_client import admin, create_product, signup


@pytest.fixture(scope="module")
def shop(http):
    store = signup(http, "carts")
    product = create_product(http, store, "Sock", skus=["SOCK-1", "SOCK-2"], price=450)
    return store, [v["id"] for v in product["variants"]]


def _host(store) -> dict:
    return {"host": store.host}


def test_cart_prices_come_from_the_catalog(http, shop):
    store, variants = shop
    r = http.post(
        "/v1/carts",
        headers=_host(store),
        json={"lines": [{"variant_id": variants[0], "quantity": 3}]},
    )
    assert r.status_code == 200, r.text
    cart = r.json()
    assert cart["subtotal"] == {"amount_minor": "1350", "currency_code": "USD"}
    # A client-sent price is not even a field: the JSON guard refuses it.
    r = http.post(
        f"/v1/carts/{cart['id']}/lines",
        headers=_host(store),
        json={"variant_id": variants[1], "quantity": 1, "unit_price": 1},
    )
    assert r.status_code == 400 and "unit_price" in r.json()["message"]
    # The merchant changes the price: the cart follows.
    product_id = cart["lines"][0]["product_id"]
    r = http.patch(
        f"/v1/admin/variants/{variants[0]}",
        headers=admin(store),
        json={"price": {"amount_minor": 500}},
    )
    assert r.status_code == 200, r.text
    cart = http.get(f"/v1/carts/{cart['id']}", headers=_host(store)).json()
    assert cart["subtotal"]["amount_minor"] == "1500"
    assert product_id


def test_lines_add_update_remove_and_limits(http, shop):
    store, variants = shop
    cart = http.post("/v1/carts", headers=_host(store), json={}).json()
    path = f"/v1/carts/{cart['id']}/lines"
    r = http.post(path, headers=_host(store), json={"variant_id": variants[0], "quantity": 2})
    r = http.post(path, headers=_host(store), json={"variant_id": variants[0], "quantity": 3})
    [line] = r.json()["lines"]
    assert line["quantity"] == 5  # same variant: one line
    r = http.patch(f"{path}/{line['id']}", headers=_host(store), json={"quantity": 7})
    assert r.json()["lines"][0]["quantity"] == 7
    for quantity in (0, 1000):
        r = http.patch(f"{path}/{line['id']}", headers=_host(store), json={"quantity": quantity})
        assert r.status_code == 400 and "quantity" in r.json()["message"]
    r = http.post(path, headers=_host(store), json={"variant_id": variants[0], "quantity": 995})
    assert r.status_code == 400
    r = http.delete(f"{path}/{line['id']}", headers=_host(store))
    assert r.status_code == 200 and r.json()["lines"] == []
    r = http.delete(f"{path}/{line['id']}", headers=_host(store))
    assert r.status_code == 404


def test_availability_reflects_stock(http, shop):
    store, variants = shop
    cart = http.post(
        "/v1/carts",
        headers=_host(store),
        json={"lines": [{"variant_id": variants[1], "quantity": 6}]},
    ).json()
    # create_product() stocks 5 per variant: 6 cannot be bought, so it does not count.
    assert cart["lines"][0]["available"] is False
    assert cart["subtotal"]["amount_minor"] == "0"


def test_carts_and_variants_of_another_store_are_not_found(http, shop, store_a):
    store, variants = shop
    cart = http.post("/v1/carts", headers=_host(store), json={}).json()
    assert http.get(f"/v1/carts/{cart['id']}", headers=_host(store_a)).status_code == 404
    r = http.post(
        f"/v1/carts/{cart['id']}/lines",
        headers=_host(store_a),
        json={"variant_id": variants[0], "quantity": 1},
    )
    assert r.status_code == 404
    own = http.post("/v1/carts", headers=_host(store_a), json={}).json()
    r = http.post(
        f"/v1/carts/{own['id']}/lines",
        headers=_host(store_a),
        json={"variant_id": variants[0], "quantity": 1},
    )
    assert r.status_code == 404  # store A cannot put store B's variant in its cart
    assert http.get("/v1/carts/nope", headers=_host(store)).status_code == 404


def test_checkout_needs_a_valid_idempotency_key(http, shop):
    store, variants = shop
    cart = http.post(
        "/v1/carts",
        headers=_host(store),
        json={"lines": [{"variant_id": variants[0], "quantity": 1}]},
    ).json()
    body = {
        "email": "a@example.com",
        "payment_method": "pm_card_visa",
        "shipping_address": {
            "name": "A",
            "line1": "1 Main St",
            "city": "Town",
            "postal_code": "12345",
            "country": "US",
        },
    }
    for headers in ({}, {"idempotency-key": ""}, {"idempotency-key": "k" * 256}):
        r = http.post(
            f"/v1/carts/{cart['id']}/checkout", headers={**_host(store), **headers}, json=body
        )
        assert r.status_code == 400, r.text
        assert "idempotency-key" in r.json()["message"].lower()
    r = http.post(
        f"/v1/carts/{cart['id']}/checkout",
        headers={**_host(store), "idempotency-key": "bad-input-1"},
        json={**body, "email": "nope", "shipping_address": {}},
    )
    assert r.status_code == 400
    fields = [v["field"] for v in r.json()["details"][0]["field_violations"]]
    assert "email" in fields and "shipping_address.line1" in fields
