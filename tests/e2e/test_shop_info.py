"""Shop.GetShop through Envoy: what any storefront may show, without a token."""

from __future__ import annotations

from tests.e2e.api_client import admin, signup


def test_get_shop_without_a_token_shows_only_public_settings(http):
    store = signup(http, "public", currency="EUR")
    settings = {
        "announcement": "Free shipping over 50",
        "colors": {"primary": "#112233"},
        "contact_email": "hello@example.com",
        "staff_notification_emails": ["staff@example.com"],
    }
    r = http.patch(
        "/v1/admin/store",
        headers=admin(store),
        json={"name": "Public Shop", "theme_id": "dawn", "settings": settings},
    )
    assert r.status_code == 200, r.text
    r = http.get("/v1/shop", headers={"host": store.host})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "name": "Public Shop",
        "currency": "EUR",
        "primary_domain": store.host,
        "theme_id": "dawn",
        "settings": {
            "announcement": "Free shipping over 50",
            "colors": {"primary": "#112233"},
            "contact_email": "hello@example.com",
        },
    }
    # The admin view still has everything; an unknown host has no shop at all.
    full = http.get("/v1/admin/store", headers=admin(store)).json()
    assert full["settings"]["staff_notification_emails"] == ["staff@example.com"]
    assert http.get("/v1/shop", headers={"host": "nobody.myshop.localhost"}).status_code == 404


def test_each_host_gets_its_own_shop(http, store_a, store_b):
    a = http.get("/v1/shop", headers={"host": store_a.host}).json()
    b = http.get("/v1/shop", headers={"host": store_b.host}).json()
    assert a["name"] != b["name"] and a["primary_domain"] == store_a.host
