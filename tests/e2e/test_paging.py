"""Paging is the same everywhere: every list walked one or two rows a page returns each row
exactly once, and a page token reused with other filters (or on another list) is
INVALID_ARGUMENT naming page_token."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.e2e.api_client import admin, signup

PRODUCTS = 5


@pytest.fixture(scope="module")
def shop(http, webhook_receiver):
    store = signup(http, "pager")
    ids = []
    for i in range(PRODUCTS):
        r = http.post(
            "/v1/admin/products",
            headers=admin(store),
            json={
                "title": f"Pager Lamp {i}",
                "status": "PRODUCT_STATUS_ACTIVE" if i % 2 == 0 else "PRODUCT_STATUS_DRAFT",
                "tags": ["lamp"],
                "variants": [
                    {
                        "sku": f"PG-{i}-{uuid.uuid4().hex[:6]}",
                        # Two products share a price: ties must not repeat or drop rows.
                        "price": {"amount_minor": 1000 + 100 * (i // 2)},
                        "inventory_quantity": 10,
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
        ids.append(r.json())
    for i in range(3):
        http.post(
            "/v1/admin/collections",
            headers=admin(store),
            json={
                "collection": {
                    "title": f"Pager Set {i}",
                    "kind": "COLLECTION_KIND_AUTOMATED",
                    "rules": [{"field": "tag", "relation": "equals", "value": "lamp"}],
                }
            },
        ).raise_for_status()
        http.post(
            "/v1/admin/domains", headers=admin(store), json={"domain": f"pager{i}-{store.id}.test"}
        ).raise_for_status()
        http.post(
            "/v1/admin/access_tokens",
            headers=admin(store),
            json={"name": f"t{i}", "scopes": ["read_products"]},
        ).raise_for_status()
        http.post(
            "/v1/admin/webhooks",
            headers=admin(store),
            json={"topic": "inventory/low", "url": f"{webhook_receiver.base_url}/pager{i}"},
        ).raise_for_status()
        # Three variants falling to the low-stock threshold: three alerts.
        v = ids[i]["variants"][0]
        http.post(
            f"/v1/admin/variants/{v['id']}/inventory:adjust",
            headers=admin(store),
            json={"delta": -8, "expected_version": v["version"]},
        ).raise_for_status()
    deadline = time.monotonic() + 20
    while len(_alerts(http, store)) < 3:
        assert time.monotonic() < deadline, "low-stock alerts did not arrive"
        time.sleep(0.1)
    return store


def _alerts(http, store) -> list:
    return http.get("/v1/admin/inventory-alerts", headers=admin(store)).json().get("alerts", [])


def walk(http, path: str, headers: dict, key: str, ident: str, **params) -> list[str]:
    """Every row of a list, one page of `page_size` at a time, by `ident`."""
    seen: list[str] = []
    token = ""
    for _ in range(100):
        r = http.get(path, headers=headers, params={**params, "page_token": token})
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        seen += [row[ident] for row in body.get(key, [])]
        token = body.get("next_page_token", "")
        if not token:
            return seen
    raise AssertionError(f"{path}: no last page")


def _lists(store) -> list[tuple[str, dict, str, str, dict, int]]:
    """(path, headers, items key, id field, params, rows expected)."""
    front = {"host": store.host}
    owner = admin(store)
    active = (PRODUCTS + 1) // 2
    cases = [
        ("/v1/products", front, "products", "id", {}, active),
        ("/v1/products", front, "products", "id", {"sort": "PRODUCT_SORT_PRICE_ASC"}, active),
        ("/v1/products", front, "products", "id", {"sort": "PRODUCT_SORT_PRICE_DESC"}, active),
        ("/v1/products", front, "products", "id", {"sort": "PRODUCT_SORT_TITLE"}, active),
        ("/v1/search", front, "products", "id", {"query": "pager lamp"}, active),
        ("/v1/search", front, "products", "id", {"query": "pagr"}, active),
        ("/v1/collections", front, "collections", "id", {}, 3),
        ("/v1/collections/pager-set-1", front, "products", "id", {}, active),
        (
            "/v1/collections/pager-set-1",
            front,
            "products",
            "id",
            {"sort": "PRODUCT_SORT_PRICE_ASC"},
            active,
        ),
        ("/v1/admin/products", owner, "products", "id", {}, PRODUCTS),
        ("/v1/admin/products", owner, "products", "id", {"sort": "ADMIN_PRODUCT_SORT_TITLE"}, 5),
        ("/v1/admin/products", owner, "products", "id", {"tag": "lamp"}, PRODUCTS),
        ("/v1/admin/collections", owner, "collections", "id", {}, 3),
        ("/v1/admin/inventory-alerts", owner, "alerts", "variant_id", {}, 3),
        ("/v1/admin/domains", owner, "domains", "domain", {}, 3),
        ("/v1/admin/access_tokens", owner, "access_tokens", "id", {}, 4),
        ("/v1/admin/webhooks", owner, "webhooks", "id", {}, 3),
    ]
    return cases


@pytest.mark.parametrize("page_size", [1, 2])
def test_walking_every_page_of_every_list_returns_each_row_once(http, shop, page_size):
    for path, headers, key, ident, params, expected in _lists(shop):
        rows = walk(http, path, headers, key, ident, page_size=page_size, **params)
        assert len(rows) == len(set(rows)) == expected, (path, params, rows)
        whole = http.get(path, headers=headers, params={**params, "page_size": 250}).json()
        assert sorted(rows) == sorted(r[ident] for r in whole[key]), (path, params)
    collection = http.get("/v1/admin/collections", headers=admin(shop)).json()["collections"][0]
    members = walk(
        http,
        f"/v1/admin/collections/{collection['id']}/products",
        admin(shop),
        "products",
        "id",
        page_size=page_size,
    )
    assert len(members) == len(set(members)) == PRODUCTS


def _first_token(http, path, headers, **params) -> str:
    r = http.get(path, headers=headers, params={**params, "page_size": 1})
    assert r.status_code == 200, r.text
    token = r.json()["next_page_token"]
    assert token
    return token


def _refused(http, path, headers, token, **params) -> None:
    r = http.get(path, headers=headers, params={**params, "page_size": 1, "page_token": token})
    assert r.status_code == 400, (path, params, r.text)
    assert r.json()["details"][0]["field_violations"][0]["field"] == "page_token"


def test_a_token_reused_with_other_filters_is_refused_naming_page_token(http, shop):
    front, owner = {"host": shop.host}, admin(shop)
    token = _first_token(http, "/v1/products", front, sort="PRODUCT_SORT_PRICE_ASC")
    _refused(http, "/v1/products", front, token, sort="PRODUCT_SORT_PRICE_ASC", min_price=1)
    _refused(http, "/v1/products", front, token, sort="PRODUCT_SORT_TITLE")
    _refused(http, "/v1/collections/pager-set-1", front, token, sort="PRODUCT_SORT_PRICE_ASC")
    token = _first_token(http, "/v1/collections/pager-set-1", front)
    _refused(http, "/v1/collections/pager-set-2", front, token)
    token = _first_token(http, "/v1/search", front, query="pager lamp")
    _refused(http, "/v1/search", front, token, query="pager")
    token = _first_token(http, "/v1/admin/products", owner, tag="lamp")
    _refused(http, "/v1/admin/products", owner, token, tag="lamp", status="PRODUCT_STATUS_DRAFT")
    _refused(http, "/v1/admin/products", owner, token, tag="other")
    token = _first_token(http, "/v1/admin/domains", owner)
    _refused(http, "/v1/admin/access_tokens", owner, token)
    _refused(http, "/v1/admin/webhooks", owner, "garbage")
    r = http.get("/v1/admin/webhooks", headers=owner, params={"page_size": -1})
    assert r.status_code == 400
    assert r.json()["details"][0]["field_violations"][0]["field"] == "page_size"
    # Larger than the maximum is clamped, not refused.
    assert (
        http.get("/v1/admin/domains", headers=owner, params={"page_size": 10**6}).status_code == 200
    )
