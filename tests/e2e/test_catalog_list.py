"""The merchant's product list and SKU lookup through Envoy: every status in the admin list
(never on the storefront), filters by tag, type, vendor and text, SKU lookup per store."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.api_client import admin, signup


@pytest.fixture(scope="module")
def shop(http):
    store = signup(http, "lister")
    made = {}
    for title, status, tags, kind, vendor in (
        ("Linen Shirt", "ACTIVE", ["Summer", "sale"], "Shirts", "Acme"),
        ("Wool Coat", "DRAFT", ["winter"], "Coats", "Acme"),
        ("Old Hat", "ARCHIVED", ["sale"], "Hats", "Other Co"),
    ):
        sku = f"{title.split()[0].upper()}-{uuid.uuid4().hex[:6]}"
        r = http.post(
            "/v1/admin/products",
            headers=admin(store),
            json={
                "title": title,
                "status": f"PRODUCT_STATUS_{'ACTIVE' if status == 'ARCHIVED' else status}",
                "tags": tags,
                "product_type": kind,
                "vendor": vendor,
                "variants": [{"sku": sku, "price": {"amount_minor": 1500}}],
            },
        )
        assert r.status_code == 200, r.text
        made[title] = r.json()
        if status == "ARCHIVED":
            r = http.post(f"/v1/admin/products/{r.json()['id']}:archive", headers=admin(store))
            assert r.status_code == 200, r.text
    return store, made


def _admin_titles(http, store, **params) -> list[str]:
    r = http.get("/v1/admin/products", headers=admin(store), params=params)
    assert r.status_code == 200, r.text
    return [p["title"] for p in r.json()["products"]]


def test_drafts_and_archived_are_listed_for_the_merchant_but_never_on_the_storefront(http, shop):
    store, made = shop
    assert sorted(_admin_titles(http, store)) == ["Linen Shirt", "Old Hat", "Wool Coat"]
    assert _admin_titles(http, store, status="PRODUCT_STATUS_DRAFT") == ["Wool Coat"]
    assert _admin_titles(http, store, status="PRODUCT_STATUS_ARCHIVED") == ["Old Hat"]
    front = http.get("/v1/products", headers={"host": store.host}).json()["products"]
    assert [p["title"] for p in front] == ["Linen Shirt"]
    for title in ("Wool Coat", "Old Hat"):
        handle = made[title]["handle"]
        assert http.get(f"/v1/products/{handle}", headers={"host": store.host}).status_code == 404
        found = http.get("/v1/search", headers={"host": store.host}, params={"query": title})
        assert found.json().get("products", []) == [] or all(
            p["title"] != title for p in found.json()["products"]
        )


def test_filters_by_tag_type_vendor_and_text(http, shop):
    store, made = shop
    assert sorted(_admin_titles(http, store, tag="SALE")) == ["Linen Shirt", "Old Hat"]
    assert _admin_titles(http, store, product_type="coats") == ["Wool Coat"]
    assert sorted(_admin_titles(http, store, vendor="acme")) == ["Linen Shirt", "Wool Coat"]
    assert _admin_titles(http, store, query="coat") == ["Wool Coat"]
    sku = made["Old Hat"]["variants"][0]["sku"]
    assert _admin_titles(http, store, query=sku[:6]) == ["Old Hat"]
    assert _admin_titles(http, store, sort="ADMIN_PRODUCT_SORT_TITLE") == [
        "Linen Shirt",
        "Old Hat",
        "Wool Coat",
    ]
    listed = http.get("/v1/admin/products", headers=admin(store), params={"tag": "summer"})
    product = listed.json()["products"][0]
    assert product["tags"] == ["Summer", "sale"] and product["vendor"] == "Acme"


def test_tags_type_and_vendor_follow_the_field_mask(http, shop):
    store, made = shop
    pid = made["Linen Shirt"]["id"]
    r = http.patch(
        f"/v1/admin/products/{pid}",
        headers=admin(store),
        params={"update_mask": "tags,vendor"},
        json={"tags": ["Summer", "summer ", "new"], "vendor": "", "product_type": "ignored"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tags"] == ["Summer", "new"] and body.get("vendor", "") == ""
    assert body["product_type"] == "Shirts"
    bad = http.patch(f"/v1/admin/products/{pid}", headers=admin(store), json={"tags": ["x" * 256]})
    assert bad.status_code == 400
    assert bad.json()["details"][0]["field_violations"][0]["field"] == "tags[0]"
    http.patch(
        f"/v1/admin/products/{pid}",
        headers=admin(store),
        json={"tags": ["Summer", "sale"], "vendor": "Acme"},
    ).raise_for_status()


def test_sku_lookup_is_per_store(http, shop):
    store, made = shop
    sku = made["Wool Coat"]["variants"][0]["sku"]
    r = http.get("/v1/admin/variants:bySku", headers=admin(store), params={"sku": sku})
    assert r.status_code == 200, r.text
    assert r.json()["product_id"] == made["Wool Coat"]["id"] and r.json()["sku"] == sku
    other = signup(http, "other")
    r = http.get("/v1/admin/variants:bySku", headers=admin(other), params={"sku": sku})
    assert r.status_code == 404, r.text
    r = http.get("/v1/admin/variants:bySku", headers=admin(other), params={"sku": ""})
    assert r.status_code == 400
    assert r.json()["details"][0]["field_violations"][0]["field"] == "sku"
    # Another store's products are not in this store's admin list either.
    assert _admin_titles(http, other) == []
