"""Merchant catalog edits through Envoy: partial updates with a field mask, handle redirects,
archive / unarchive / delete, variants, images."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from tests.e2e.api_client import admin, grpc_channel, signup


@pytest.fixture(scope="module")
def shop(http):
    return signup(http, "editor")


def _create(http, store, title: str, handle: str, **extra) -> dict:
    body = {
        "title": title,
        "handle": handle,
        "status": "PRODUCT_STATUS_ACTIVE",
        "options": ["Size"],
        "variants": [
            {
                "sku": f"{handle.upper()}-{uuid.uuid4().hex[:6]}",
                "price": {"amount_minor": 1000},
                "inventory_quantity": 3,
                "option_values": ["S"],
            }
        ],
        **extra,
    }
    r = http.post("/v1/admin/products", headers=admin(store), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _storefront(http, store, handle: str):
    return http.get(f"/v1/products/{handle}", headers={"host": store.host})


def test_partial_update_changes_only_masked_fields(http, shop):
    product = _create(http, shop, "Mug", "mug", description="Stoneware")
    r = http.patch(
        f"/v1/admin/products/{product['id']}",
        headers=admin(shop),
        params={"update_mask": "title"},
        json={"title": "Big Mug", "description": "ignored: not in the mask"},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["title"] == "Big Mug" and updated["description"] == "Stoneware"
    # Without a mask, the fields present in the body change.
    r = http.patch(
        f"/v1/admin/products/{product['id']}",
        headers=admin(shop),
        json={"description": "Porcelain"},
    )
    assert r.json()["description"] == "Porcelain" and r.json()["title"] == "Big Mug"


def test_bad_updates_name_the_field(http, shop):
    product = _create(http, shop, "Bowl", "bowl")
    cases = [
        ({"update_mask": "colour"}, {"title": "x"}, "update_mask"),
        ({}, {"title": ""}, "title"),
        ({}, {"handle": "Not A Slug"}, "handle"),
        ({}, {"options": ["Size", "Color"]}, "options"),
        ({}, {"images": [{"url": "javascript:alert(1)"}]}, "images[0].url"),
    ]
    for params, body, field in cases:
        r = http.patch(
            f"/v1/admin/products/{product['id']}", headers=admin(shop), params=params, json=body
        )
        assert r.status_code == 400, (body, r.text)
        assert r.json()["details"][0]["field_violations"][0]["field"] == field


def test_handle_change_keeps_the_old_handle_resolving(http, shop):
    product = _create(http, shop, "Lamp", "lamp")
    r = http.patch(
        f"/v1/admin/products/{product['id']}", headers=admin(shop), json={"handle": "desk-lamp"}
    )
    assert r.status_code == 200 and r.json()["handle"] == "desk-lamp"
    old = _storefront(http, shop, "lamp")
    assert old.status_code == 200 and old.json()["handle"] == "desk-lamp"  # redirect target
    assert _storefront(http, shop, "desk-lamp").json()["id"] == product["id"]
    # A new product may take the freed handle; the live handle then wins.
    newer = _create(http, shop, "New Lamp", "lamp")
    assert _storefront(http, shop, "lamp").json()["id"] == newer["id"]
    # Renaming onto a live handle is a conflict.
    r = http.patch(
        f"/v1/admin/products/{product['id']}", headers=admin(shop), json={"handle": "lamp"}
    )
    assert r.status_code == 409


def test_archive_unarchive_delete(http, shop):
    product = _create(http, shop, "Vase", "vase")
    assert _storefront(http, shop, "vase").status_code == 200
    r = http.post(f"/v1/admin/products/{product['id']}:archive", headers=admin(shop), json={})
    assert r.json()["status"] == "PRODUCT_STATUS_ARCHIVED"
    assert _storefront(http, shop, "vase").status_code == 404
    r = http.post(f"/v1/admin/products/{product['id']}:unarchive", headers=admin(shop), json={})
    assert r.json()["status"] == "PRODUCT_STATUS_DRAFT"
    assert _storefront(http, shop, "vase").status_code == 404  # drafts stay hidden
    r = http.post(f"/v1/admin/products/{product['id']}:unarchive", headers=admin(shop), json={})
    assert r.status_code == 400  # only archived products unarchive (FAILED_PRECONDITION)
    assert (
        http.delete(f"/v1/admin/products/{product['id']}", headers=admin(shop)).status_code == 200
    )
    assert http.get(f"/v1/admin/products/{product['id']}", headers=admin(shop)).status_code == 404


def test_variants_create_update_delete(http, shop):
    product = _create(http, shop, "Shirt", "shirt")
    r = http.post(
        f"/v1/admin/products/{product['id']}/variants",
        headers=admin(shop),
        json={"sku": "SHIRT-M", "price": {"amount_minor": 1200}, "option_values": ["M"]},
    )
    assert r.status_code == 200, r.text
    medium = r.json()
    assert medium["position"] == 2 and medium["title"] == "M"
    # Same option values as an existing variant, or the wrong number of them.
    r = http.post(
        f"/v1/admin/products/{product['id']}/variants",
        headers=admin(shop),
        json={"sku": "SHIRT-S2", "price": {"amount_minor": 1}, "option_values": ["s"]},
    )
    assert r.status_code == 409
    r = http.post(
        f"/v1/admin/products/{product['id']}/variants",
        headers=admin(shop),
        json={"sku": "SHIRT-X", "price": {"amount_minor": 1}, "option_values": ["L", "Red"]},
    )
    assert r.status_code == 400 and "variant.option_values" in r.json()["message"]

    r = http.patch(
        f"/v1/admin/variants/{medium['id']}",
        headers=admin(shop),
        json={"price": {"amount_minor": 1500}, "compare_at_price": {"amount_minor": 1800}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["price"]["amount_minor"] == "1500"
    assert r.json()["version"] == medium["version"] + 1
    r = http.patch(
        f"/v1/admin/variants/{medium['id']}",
        headers=admin(shop),
        json={"compare_at_price": {"amount_minor": 100}},
    )
    assert r.status_code == 400 and "compare_at_price" in r.json()["message"]
    r = http.patch(
        f"/v1/admin/variants/{medium['id']}",
        headers=admin(shop),
        params={"update_mask": "compare_at_price"},
        json={},
    )
    assert r.status_code == 200 and "compare_at_price" not in r.json()  # removed

    assert http.delete(f"/v1/admin/variants/{medium['id']}", headers=admin(shop)).status_code == 200
    last = product["variants"][0]["id"]
    r = http.delete(f"/v1/admin/variants/{last}", headers=admin(shop))
    assert r.status_code == 400 and "at least one variant" in r.json()["message"]


def test_images_are_ordered_and_shown_on_the_storefront(http, shop):
    product = _create(
        http,
        shop,
        "Print",
        "print",
        images=[
            {"url": "https://cdn.example.com/b.jpg", "alt_text": "back", "position": 2},
            {"url": "https://cdn.example.com/a.jpg", "alt_text": "front", "position": 1},
            {"url": "https://cdn.example.com/c.jpg"},
        ],
    )
    assert [i["alt_text"] for i in product["images"]] == ["front", "back", ""]
    assert [i["position"] for i in product["images"]] == [1, 2, 3]
    shown = _storefront(http, shop, "print").json()["images"]
    assert [i["url"] for i in shown] == [f"https://cdn.example.com/{x}.jpg" for x in "abc"]
    r = http.patch(
        f"/v1/admin/products/{product['id']}",
        headers=admin(shop),
        params={"update_mask": "images"},
        json={},
    )
    assert r.json()["images"] == []


async def test_grpc_update_with_field_mask(stack, http, shop):
    product = _create(http, shop, "Cap", "cap")
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        stub = catalog_pb2_grpc.CatalogAdminStub(channel)
        metadata = (("authorization", f"Bearer {shop.token}"),)
        updated = await stub.UpdateProduct(
            catalog_pb2.UpdateProductRequest(
                id=product["id"],
                product=catalog_pb2.ProductUpdate(title="Cap v2", description="not masked"),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=metadata,
        )
        assert updated.title == "Cap v2" and updated.description == ""
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.DeleteVariant(
                catalog_pb2.DeleteVariantRequest(id=product["variants"][0]["id"]),
                metadata=metadata,
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
