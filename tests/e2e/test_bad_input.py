"""Bad input gets the right status and a message naming the field; nothing is written."""

from __future__ import annotations

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.store.v1 import store_pb2, store_pb2_grpc

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
def own_store(http):
    """A store of this module's own, so a regression here cannot leak into isolation tests."""
    store = signup(http, "input")
    create_product(http, store, "Tee", skus=["TAKEN-1"], handle="tee")
    return store


def _signup(http, **overrides):
    body = {
        "name": "Shop",
        "subdomain": unique_subdomain(),
        "owner_email": "o@example.com",
        "currency": "USD",
        **overrides,
    }
    return http.post("/v1/stores", headers={"host": PLATFORM_HOST}, json=body)


def _fields(response) -> list[str]:
    details = response.json()["details"]
    return [v["field"] for d in details for v in d.get("field_violations", [])]


@pytest.mark.parametrize(
    "subdomain", ["ab", "Bad_Name", "-lead", "trail-", "a" * 64, "www", "xn--abc", "café"]
)
def test_malformed_subdomain(http, subdomain):
    r = _signup(http, subdomain=subdomain)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert _fields(r) == ["subdomain"]


def test_several_bad_fields_are_all_named(http):
    r = _signup(http, name="", owner_email="nope", currency="XYZ")
    assert r.status_code == 400
    assert _fields(r) == ["name", "owner_email", "currency"]


def test_duplicate_subdomain_conflicts(http, own_store):
    r = _signup(http, subdomain=own_store.subdomain)
    assert r.status_code == 409
    assert "subdomain" in r.json()["message"]


def test_unknown_field_is_rejected(http):
    r = _signup(http, plan="enterprise")
    assert r.status_code == 400, r.text
    assert "plan" in r.json()["message"]


def test_unknown_nested_field_in_product_is_rejected(http, own_store):
    body = product_body("Nested", skus=["NESTED-1"])
    body["variants"][0]["cost"] = 5
    r = http.post("/v1/admin/products", headers=admin(own_store), json=body)
    assert r.status_code == 400, r.text
    assert "variants[0].cost" in r.json()["message"]


def test_invalid_price(http, own_store):
    body = product_body("Cheap", skus=["CHEAP-1"], price=-5)
    r = http.post("/v1/admin/products", headers=admin(own_store), json=body)
    assert r.status_code == 400
    assert _fields(r) == ["variants[0].price.amount_minor"]


def test_compare_at_price_below_price(http, own_store):
    body = product_body("Odd", skus=["ODD-1"], price=1000)
    body["variants"][0]["compare_at_price"] = {"amount_minor": 900}
    r = http.post("/v1/admin/products", headers=admin(own_store), json=body)
    assert r.status_code == 400
    assert _fields(r) == ["variants[0].compare_at_price"]


def test_wrong_currency(http, own_store):
    body = product_body("Euro", skus=["EURO-1"])
    body["variants"][0]["price"]["currency_code"] = "EUR"
    r = http.post("/v1/admin/products", headers=admin(own_store), json=body)
    assert r.status_code == 400
    assert "USD" in r.json()["message"]


def test_too_many_variants(http, own_store):
    body = product_body("Huge", skus=[f"HUGE-{i}" for i in range(101)])
    r = http.post("/v1/admin/products", headers=admin(own_store), json=body)
    assert r.status_code == 400
    assert _fields(r) == ["variants"]
    assert "100" in r.json()["message"]


def test_duplicate_handle_and_sku_conflict(http, own_store):
    r = http.post(
        "/v1/admin/products",
        headers=admin(own_store),
        json=product_body("Again", skus=["NEW-SKU-1"], handle="tee"),
    )
    assert r.status_code == 409 and "handle" in r.json()["message"]
    r = http.post(
        "/v1/admin/products", headers=admin(own_store), json=product_body("Again", skus=["TAKEN-1"])
    )
    assert r.status_code == 409 and "variants[0].sku" in r.json()["message"]


def test_failed_create_writes_nothing(http, own_store):
    before = http.get("/v1/products", headers={"host": own_store.host}).json()["products"]
    body = product_body("Half", skus=["HALF-1", "HALF-2"])
    body["variants"][1]["price"]["amount_minor"] = -1
    assert http.post("/v1/admin/products", headers=admin(own_store), json=body).status_code == 400
    after = http.get("/v1/products", headers={"host": own_store.host}).json()["products"]
    assert after == before


def test_bad_page_token(http, own_store):
    r = http.get(
        "/v1/products", params={"page_token": "garbage!"}, headers={"host": own_store.host}
    )
    assert r.status_code == 400
    assert "page_token" in r.json()["message"]


def test_unknown_query_parameter_is_rejected(http, own_store):
    r = http.get("/v1/products", params={"pagesize": "5"}, headers={"host": own_store.host})
    assert r.status_code == 400


async def test_grpc_invalid_argument_carries_field_violations(stack, own_store):
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    async with grpc_channel(stack.ports.edge, own_store.host) as channel:
        stub = catalog_pb2_grpc.CatalogAdminStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateProduct(
                catalog_pb2.CreateProductRequest(title="x" * 300),
                metadata=(("authorization", f"Bearer {own_store.token}"),),
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err.value)
    bad = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["title", "variants"]


async def test_grpc_duplicate_subdomain_is_already_exists(stack, own_store):
    async with grpc_channel(stack.ports.edge, PLATFORM_HOST) as channel:
        stub = store_pb2_grpc.PlatformStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateStore(
                store_pb2.CreateStoreRequest(
                    name="Dup",
                    subdomain=own_store.subdomain,
                    owner_email="d@example.com",
                    currency="USD",
                )
            )
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
