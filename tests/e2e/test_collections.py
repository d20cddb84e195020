"""Collections through Envoy: a manual collection keeps the merchant's order; an automated one
follows its products as tags and prices change, with nothing to rebuild; handles redirect; one
store's collections do not exist for another."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.api_client import admin, create_product, signup


def _product(http, store, title: str, price: int, tags: list[str], status: str = "ACTIVE"):
    return create_product(http, store, title, price=price, tags=tags, status=status, quantity=3)


def _collection(http, store, body: dict) -> dict:
    r = http.post("/v1/admin/collections", headers=admin(store), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _front(http, store, handle: str, **params) -> list[str]:
    r = http.get(f"/v1/collections/{handle}", headers={"host": store.host}, params=params)
    assert r.status_code == 200, r.text
    return [p["title"] for p in r.json().get("products", [])]


@pytest.fixture(scope="module")
def shop(http):
    return signup(http, "curator")


def test_manual_collection_keeps_the_merchants_order(http, shop):
    a, b, c = (_product(http, shop, t, 1000, []) for t in ("Alpha", "Bravo", "Charlie"))
    hidden = _product(http, shop, "Hidden", 1000, [], status="DRAFT")
    ids = [c["id"], a["id"], hidden["id"], b["id"]]
    made = _collection(
        http,
        shop,
        {
            "collection": {
                "title": "Staff Picks",
                "kind": "COLLECTION_KIND_MANUAL",
                "product_ids": ids,
            }
        },
    )
    assert made["handle"] == "staff-picks" and made["sort"] == "PRODUCT_SORT_MANUAL"
    assert _front(http, shop, "staff-picks") == ["Charlie", "Alpha", "Bravo"]
    # Page by page, still in order; then another sort on request.
    first = http.get(
        "/v1/collections/staff-picks", headers={"host": shop.host}, params={"page_size": 2}
    ).json()
    rest = http.get(
        "/v1/collections/staff-picks",
        headers={"host": shop.host},
        params={"page_size": 2, "page_token": first["next_page_token"]},
    ).json()
    assert [p["title"] for p in first["products"] + rest["products"]] == [
        "Charlie",
        "Alpha",
        "Bravo",
    ]
    assert _front(http, shop, "staff-picks", sort="PRODUCT_SORT_TITLE") == [
        "Alpha",
        "Bravo",
        "Charlie",
    ]
    # The admin sees every member, drafts too, in order; a reorder replaces the list.
    members = http.get(f"/v1/admin/collections/{made['id']}/products", headers=admin(shop))
    assert [p["title"] for p in members.json()["products"]] == [
        "Charlie",
        "Alpha",
        "Hidden",
        "Bravo",
    ]
    r = http.patch(
        f"/v1/admin/collections/{made['id']}",
        headers=admin(shop),
        json={"product_ids": [b["id"], c["id"]], "handle": "picks"},
    )
    assert r.status_code == 200, r.text
    assert _front(http, shop, "picks") == ["Bravo", "Charlie"]
    # The old handle still finds the collection, which names its new handle.
    old = http.get("/v1/collections/staff-picks", headers={"host": shop.host}).json()
    assert old["collection"]["handle"] == "picks"
    bad = http.patch(
        f"/v1/admin/collections/{made['id']}",
        headers=admin(shop),
        json={"product_ids": [a["id"], str(uuid.uuid4())]},
    )
    assert bad.status_code == 400
    assert bad.json()["details"][0]["field_violations"][0]["field"] == "product_ids[1]"


def test_automated_collection_follows_tags_and_prices(http):
    shop = signup(http, "rules")
    cheap = _product(http, shop, "Cheap Sale Tee", 900, ["Sale"])
    dear = _product(http, shop, "Dear Sale Coat", 9000, ["sale"])
    plain = _product(http, shop, "Plain Mug", 500, [])
    made = _collection(
        http,
        shop,
        {
            "collection": {
                "title": "Sale under 50",
                "kind": "COLLECTION_KIND_AUTOMATED",
                "rules": [
                    {"field": "tag", "relation": "equals", "value": "SALE"},
                    {"field": "price", "relation": "less_than", "value": "5000"},
                ],
            }
        },
    )
    handle = made["handle"]
    assert _front(http, shop, handle) == ["Cheap Sale Tee"]
    # Tagging a product brings it in; a price change moves another in and out.
    http.patch(
        f"/v1/admin/products/{plain['id']}", headers=admin(shop), json={"tags": ["sale"]}
    ).raise_for_status()
    assert sorted(_front(http, shop, handle)) == ["Cheap Sale Tee", "Plain Mug"]
    dear_variant = dear["variants"][0]["id"]
    http.patch(
        f"/v1/admin/variants/{dear_variant}",
        headers=admin(shop),
        json={"price": {"amount_minor": 4000}},
    ).raise_for_status()
    assert sorted(_front(http, shop, handle)) == ["Cheap Sale Tee", "Dear Sale Coat", "Plain Mug"]
    http.patch(
        f"/v1/admin/products/{cheap['id']}",
        headers=admin(shop),
        params={"update_mask": "tags"},
        json={"tags": []},
    ).raise_for_status()
    http.patch(
        f"/v1/admin/variants/{dear_variant}",
        headers=admin(shop),
        json={"price": {"amount_minor": 6000}},
    ).raise_for_status()
    assert _front(http, shop, handle) == ["Plain Mug"]
    # Archived members drop out of the storefront page; any-rule matching widens the set.
    http.post(f"/v1/admin/products/{plain['id']}:archive", headers=admin(shop)).raise_for_status()
    assert _front(http, shop, handle) == []
    r = http.patch(
        f"/v1/admin/collections/{made['id']}", headers=admin(shop), json={"disjunctive": True}
    )
    assert r.status_code == 200, r.text
    assert sorted(_front(http, shop, handle)) == ["Cheap Sale Tee", "Dear Sale Coat"]
    assert _front(http, shop, handle, sort="PRODUCT_SORT_PRICE_ASC") == [
        "Cheap Sale Tee",
        "Dear Sale Coat",
    ]
    # A new product that matches joins at once.
    _product(http, shop, "Fresh Sale Cap", 100, ["sale"])
    assert "Fresh Sale Cap" in _front(http, shop, handle)


def test_bad_collections_name_the_field(http, shop):
    cases = [
        ({"title": "X", "kind": "COLLECTION_KIND_AUTOMATED"}, "rules"),
        (
            {
                "title": "X",
                "kind": "COLLECTION_KIND_AUTOMATED",
                "rules": [{"field": "colour", "relation": "equals", "value": "red"}],
            },
            "rules[0].field",
        ),
        (
            {
                "title": "X",
                "kind": "COLLECTION_KIND_AUTOMATED",
                "rules": [{"field": "price", "relation": "less_than", "value": "cheap"}],
            },
            "rules[0].value",
        ),
        ({"title": "X"}, "kind"),
        (
            {"title": "X", "kind": "COLLECTION_KIND_MANUAL", "product_ids": ["nope"]},
            "product_ids[0]",
        ),
    ]
    for body, field in cases:
        r = http.post("/v1/admin/collections", headers=admin(shop), json={"collection": body})
        assert r.status_code == 400, (body, r.text)
        assert r.json()["details"][0]["field_violations"][0]["field"] == field
    r = http.get(
        "/v1/products", headers={"host": shop.host}, params={"sort": "PRODUCT_SORT_MANUAL"}
    )
    assert r.status_code == 400


def test_one_stores_collections_are_invisible_from_another(http, shop):
    other = signup(http, "rival")
    mine = _collection(
        http,
        shop,
        {"collection": {"title": "Secret Drop", "kind": "COLLECTION_KIND_MANUAL"}},
    )
    assert http.get("/v1/collections/secret-drop", headers={"host": other.host}).status_code == 404
    listed = http.get("/v1/collections", headers={"host": other.host}).json()
    assert listed.get("collections", []) == []
    for method, path in (
        ("GET", f"/v1/admin/collections/{mine['id']}"),
        ("GET", f"/v1/admin/collections/{mine['id']}/products"),
        ("DELETE", f"/v1/admin/collections/{mine['id']}"),
    ):
        r = http.request(method, path, headers=admin(other))
        assert r.status_code == 404, (path, r.text)
    r = http.patch(
        f"/v1/admin/collections/{mine['id']}", headers=admin(other), json={"title": "Mine now"}
    )
    assert r.status_code == 404
    # The other store cannot put this store's products into its own collection.
    theirs = _product(http, shop, "Not Yours", 100, [])
    r = http.post(
        "/v1/admin/collections",
        headers=admin(other),
        json={
            "collection": {
                "title": "Stolen",
                "kind": "COLLECTION_KIND_MANUAL",
                "product_ids": [theirs["id"]],
            }
        },
    )
    assert r.status_code == 400
    # Same handle in both stores: uniqueness is per store.
    _collection(
        http, other, {"collection": {"title": "Secret Drop", "kind": "COLLECTION_KIND_MANUAL"}}
    )
    assert (
        http.get("/v1/admin/collections", headers=admin(shop)).json()["collections"][0]["id"]
        != http.get("/v1/admin/collections", headers=admin(other)).json()["collections"][0]["id"]
    )
