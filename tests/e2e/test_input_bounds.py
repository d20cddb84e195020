"""Every input bounded, every bad input a 4xx naming its field (issue 19's cases, through
Envoy): oversized messages and fields, deep JSON, NUL and invalid UTF-8, http image URLs.
After each, the services still answer."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.store.v1 import store_pb2, store_pb2_grpc

from services.common import limits
from tests.e2e.api_client import (
    PLATFORM_HOST,
    admin,
    create_product,
    grpc_channel,
    product_body,
    signup,
    unique_subdomain,
)


@pytest.fixture(scope="module")
def shop(http):
    store = signup(http, "bounds")
    create_product(http, store, "Plain", skus=["PLAIN-1"])
    return store


def _fields(response) -> list[str]:
    return [v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])]


def _healthy(http, store) -> None:
    r = http.get("/v1/products", headers={"host": store.host})
    assert r.status_code == 200, r.text


def _no_internals(text: str) -> None:
    for word in ("<class", "Error:", "Traceback", "Exception", "DecodeError", "RecursionError"):
        assert word not in text


def _violations(err: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(err)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad)
    return [v.field for v in bad.field_violations]


def _product(title: str = "Tee", **fields) -> catalog_pb2.CreateProductRequest:
    return catalog_pb2.CreateProductRequest(
        title=title,
        variants=[
            catalog_pb2.VariantInput(
                sku=fields.pop("sku", "G-1"), price={"amount_minor": 100}, inventory_quantity=1
            )
        ],
        **fields,
    )


async def _create_over_grpc(stack, store, request) -> grpc.aio.AioRpcError:
    async with grpc_channel(stack.ports.edge, store.host) as channel:
        stub = catalog_pb2_grpc.CatalogAdminStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateProduct(
                request, metadata=(("authorization", f"Bearer {store.token}"),)
            )
    return err.value


async def _raw_create(stack, store, raw: bytes) -> grpc.aio.AioRpcError:
    """CreateProduct with request bytes as given (a real client could send any)."""
    async with grpc_channel(stack.ports.edge, store.host) as channel:
        call = channel.unary_unary(
            "/shop.catalog.v1.CatalogAdmin/CreateProduct",
            request_serializer=lambda b: b,
            response_deserializer=catalog_pb2.Product.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(raw, metadata=(("authorization", f"Bearer {store.token}"),))
    return err.value


# --- sizes -------------------------------------------------------------------------------


async def test_a_5_mib_description_is_refused_by_the_message_limit(stack, http, shop):
    err = await _create_over_grpc(stack, shop, _product(description="d" * (5 * 1024 * 1024)))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    _healthy(http, shop)


async def test_a_description_over_its_length_is_invalid_argument(stack, http, shop):
    err = await _create_over_grpc(stack, shop, _product(description="d" * (limits.DESCRIPTION + 1)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err) == ["description"]
    assert str(limits.DESCRIPTION) in err.details()


def test_the_product_list_survives_many_maximal_descriptions(http):
    """Each description at its maximum, in four-byte characters (256 KiB of UTF-8 each): the
    list pages them under the message cap instead of failing, and every product is listed."""
    store = signup(http, "bigdesc")
    for i in range(18):
        body = product_body(f"Big {i}", skus=[f"BIG-{i}"])
        body["description"] = "😀" * limits.DESCRIPTION
        r = http.post("/v1/admin/products", headers=admin(store), json=body)
        assert r.status_code == 200, r.text[:300]
    for path, headers in (
        ("/v1/products", {"host": store.host}),
        ("/v1/admin/products", admin(store)),
    ):
        seen, token = [], ""
        while True:
            params = {"page_size": "250", **({"page_token": token} if token else {})}
            r = http.get(path, headers=headers, params=params)
            assert r.status_code == 200, r.text[:300]
            page = r.json()
            assert page["products"]
            seen += [p["title"] for p in page["products"]]
            token = page.get("next_page_token", "")
            if not token:
                break
        assert sorted(seen) == sorted(f"Big {i}" for i in range(18))


# --- deep JSON ---------------------------------------------------------------------------


def test_json_nested_10000_levels_is_400(http, shop):
    body = b'{"title":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    r = http.post(
        "/v1/admin/products",
        headers={**admin(shop), "content-type": "application/json"},
        content=body,
    )
    assert r.status_code == 400, r.text
    assert "nest at most" in r.json()["message"]
    _no_internals(r.text)
    _healthy(http, shop)


@pytest.mark.parametrize("depth", [10, 40, 64])
def test_deep_settings_are_400_without_class_names(http, shop, depth):
    nested: object = "x"
    for _ in range(depth):
        nested = {"a": nested}
    r = http.patch(
        "/v1/admin/store", headers=admin(shop), json={"settings": {"social_links": nested}}
    )
    assert r.status_code == 400, r.text
    assert "settings" in r.json()["message"] or "body" in r.json()["message"]
    _no_internals(r.text)
    _healthy(http, shop)


async def test_deep_settings_over_grpc_name_the_field(stack, shop):
    value = struct_pb2.Value(string_value="x").SerializeToString()
    struct = b""
    for _ in range(40):  # three protobuf levels each: past protobuf's parse limit
        entry = b"\x0a\x01a\x12" + _varint(len(value)) + value
        struct = b"\x0a" + _varint(len(entry)) + entry
        value = b"\x2a" + _varint(len(struct)) + struct
    raw = b"\x22" + _varint(len(struct)) + struct
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        call = channel.unary_unary(
            "/shop.store.v1.StoreAdmin/UpdateStoreSettings",
            request_serializer=lambda b: b,
            response_deserializer=store_pb2.Store.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(raw, metadata=(("authorization", f"Bearer {shop.token}"),))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err.value) == ["settings"]
    _no_internals(err.value.details() or "")


# --- NUL and invalid UTF-8 ---------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "description", "tags", "vendor"])
def test_nul_in_product_text_is_400_naming_the_field(http, shop, field):
    body = product_body("Nul", skus=[f"NUL-{field}"])
    body[field] = ["a\u0000b"] if field == "tags" else "a\u0000b"
    r = http.post("/v1/admin/products", headers=admin(shop), json=body)
    assert r.status_code == 400, r.text
    assert _fields(r) == ([f"{field}[0]"] if field == "tags" else [field])


def test_nul_in_a_store_name_is_400(http):
    r = http.post(
        "/v1/stores",
        headers={"host": PLATFORM_HOST},
        json={
            "name": "Bad\u0000Name",
            "subdomain": unique_subdomain(),
            "owner_email": "o@example.com",
            "currency": "USD",
        },
    )
    assert r.status_code == 400, r.text
    assert _fields(r) == ["name"]


def test_nul_in_a_token_name_and_settings_is_400(http, shop):
    r = http.post(
        "/v1/admin/access_tokens",
        headers=admin(shop),
        json={"name": "sync\u0000", "scopes": ["read_products"]},
    )
    assert r.status_code == 400, r.text
    assert _fields(r) == ["name"]
    r = http.patch("/v1/admin/store", headers=admin(shop), json={"name": "x\u0000"})
    assert r.status_code == 400, r.text
    assert _fields(r) == ["name"]


def test_nul_in_a_synced_sku_is_400(http, shop):
    r = http.post(
        "/v1/admin/inventory:sync",
        headers=admin(shop),
        json={"lines": [{"sku": "PLAIN-1", "quantity": 3}, {"sku": "PL\u0000AIN", "quantity": 1}]},
    )
    assert r.status_code == 400, r.text
    assert _fields(r) == ["lines[1].sku"]
    _healthy(http, shop)


async def test_invalid_utf8_over_grpc_names_the_field(stack, http, shop):
    raw = _product(title="MARKER", sku="UTF-1").SerializeToString()
    err = await _raw_create(stack, shop, raw.replace(b"MARKER", b"\xff\xfeXXXX"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err) == ["title"]
    _no_internals(err.details() or "")
    raw = _product(title="Fine", sku="MARKER").SerializeToString()
    err = await _raw_create(stack, shop, raw.replace(b"MARKER", b"\xc3(XXXX"))
    assert _violations(err) == ["variants[0].sku"]
    _healthy(http, shop)


async def test_undecodable_bytes_are_invalid_argument_without_class_names(stack, shop):
    err = await _raw_create(stack, shop, b"\x0a\xff\xff\xff\x0f")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err) == ["request"]
    _no_internals(err.details() or "")


def test_invalid_utf8_json_is_400(http, shop):
    body = json.dumps(product_body("AZZ", skus=["UTF-2"])).encode().replace(b"AZZ", b"A\xff")
    r = http.post(
        "/v1/admin/products",
        headers={**admin(shop), "content-type": "application/json"},
        content=body,
    )
    assert r.status_code == 400
    _no_internals(r.text)


# --- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://cdn.example.com/a.png", "ftp://x/a.png", "https://"])
def test_image_urls_must_be_https(http, shop, url):
    body = product_body("Pic", skus=["PIC-1"])
    body["images"] = [{"url": url}]
    r = http.post("/v1/admin/products", headers=admin(shop), json=body)
    assert r.status_code == 400, r.text
    assert _fields(r) == ["images[0].url"]
    assert "https://" in r.json()["message"]


def test_https_image_urls_are_kept(http, shop):
    body = product_body("Pic ok", skus=["PIC-2"])
    body["images"] = [{"url": "https://cdn.example.com/a.png"}]
    r = http.post("/v1/admin/products", headers=admin(shop), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["images"][0]["url"] == "https://cdn.example.com/a.png"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


async def test_store_settings_still_work(stack, shop):
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        stub = store_pb2_grpc.StoreAdminStub(channel)
        settings = struct_pb2.Struct()
        settings.update({"announcement": "Sale"})
        store = await stub.UpdateStoreSettings(
            store_pb2.UpdateStoreSettingsRequest(settings=settings),
            metadata=(("authorization", f"Bearer {shop.token}"),),
        )
    assert store.settings["announcement"] == "Sale"
