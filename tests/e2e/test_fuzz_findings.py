"""What contract fuzzing (tests/e2e/test_contract_fuzzing.py, schemathesis) found, each kept as
a plain reproducer through Envoy: every answer is a documented one, in the google.rpc.Status
JSON shape, and a caller's mistake is never a 5xx."""

from __future__ import annotations

import pytest

from tests.e2e.api_client import PLATFORM_HOST, admin, create_product, signup


@pytest.fixture(scope="module")
def shop(http):
    store = signup(http, "finding")
    create_product(http, store, "Found Tee", skus=["FOUND-1"], handle="found-tee")
    return store


def status_body(response, code: int) -> dict:
    """The documented error shape: application/json google.rpc.Status with this code."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    return body


def test_header_name_grpc_cannot_carry_is_dropped_not_a_500(http, shop):
    # Was: 500 {"code":13,"message":"Illegal header key: &1mgaob6"}.
    r = http.get("/v1/products", headers={"host": shop.host, "&1MGaOb6": "7R|", "p3olue": "@c}V"})
    assert r.status_code == 200, r.text
    assert [p["handle"] for p in r.json()["products"]] == ["found-tee"]


def test_header_name_grpc_cannot_carry_on_an_admin_call(http, shop):
    r = http.get("/v1/admin/store", headers={**admin(shop), "x&y~": "1"})
    assert r.status_code == 200, r.text


def test_header_name_with_an_underscore_is_a_json_400(http, shop):
    # Was: text/plain "Bad Request" (the edge refuses x_store_id lookalikes).
    r = http.get("/v1/account", headers={"host": shop.host, "J2_": "$?<"})
    assert r.status_code == 400
    assert "underscore" in status_body(r, 3)["message"]


def test_nul_in_the_path_is_a_json_400(http, shop):
    # Was: 400 with an empty body and no content type.
    r = http.get("/v1/products/%00", headers={"host": shop.host})
    assert r.status_code == 400
    status_body(r, 3)


def test_unknown_query_parameter_is_a_json_400_naming_it(http, shop):
    # Was: text/plain 'Could not find field "x-unknown" in the type ...'.
    r = http.get("/v1/products", headers={"host": shop.host}, params={"x-unknown": "42"})
    assert r.status_code == 400
    assert "x-unknown" in status_body(r, 3)["message"]


def test_unknown_enum_name_in_a_query_is_a_json_400_naming_the_field(http, shop):
    r = http.get("/v1/products", headers={"host": shop.host}, params={"sort": "AAA"})
    assert r.status_code == 400
    assert "sort" in status_body(r, 3)["message"]


def test_out_of_range_int32_in_a_body_is_a_json_400_naming_the_field(http, shop):
    cart = http.post("/v1/carts", headers={"host": shop.host}, json={})
    assert cart.status_code == 200, cart.text
    r = http.post(
        f"/v1/carts/{cart.json()['id']}/lines",
        headers={"host": shop.host},
        json={"variant_id": "0", "quantity": 2147483648},
    )
    assert r.status_code == 400
    assert "quantity" in status_body(r, 3)["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"[null, null]",  # not an object
        b'{"email": {}}',  # an object for a string
        b'{"email": "a@b.c"',  # cut short
    ],
)
def test_malformed_json_bodies_are_json_400s(http, shop, body):
    r = http.post(
        "/v1/account:signIn",
        headers={"host": shop.host, "content-type": "application/json"},
        content=body,
    )
    assert r.status_code == 400, r.text
    status_body(r, 3)


def test_unknown_rest_path_is_a_json_404(http, shop):
    # Was: text/plain "Could not resolve /v1/carts/… to a method."
    r = http.delete("/v1/carts/a/b/lines/c", headers={"host": shop.host})
    assert r.status_code == 404
    status_body(r, 5)


def test_unknown_rest_path_on_the_platform_host_is_a_json_404(http):
    r = http.get("/v1/nothing-here", headers={"host": PLATFORM_HOST})
    assert r.status_code == 404
    status_body(r, 5)
