"""Scoped admin access tokens: least privilege per method, shown once, hashed at rest, and
revocation that takes effect at the edge at once."""

from __future__ import annotations

import hashlib

import asyncpg
import grpc
import pytest

from devstack.dsn import with_database
from services.store.edge.scopes import admin_method_scopes
from services.store.tokens.rules import ALL_SCOPES
from tests.e2e.api_client import admin, grpc_channel, signup

METHOD_SCOPES = admin_method_scopes()


@pytest.fixture(scope="module")
def owner(http):
    return signup(http, "tokens")


def create_token(http, store, scopes, name="staff") -> dict:
    r = http.post(
        "/v1/admin/access_tokens", headers=admin(store), json={"name": name, "scopes": scopes}
    )
    assert r.status_code == 200, r.text
    return r.json()


def bearer(store, token: str) -> dict[str, str]:
    return {"host": store.host, "authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tokens_without(http, owner) -> dict[str, str]:
    """For each scope some method needs: a token with every scope but that one."""
    return {
        scope: create_token(http, owner, sorted(ALL_SCOPES - {scope}), f"no {scope}")["token"]
        for scope in sorted(set(METHOD_SCOPES.values()))
    }


@pytest.mark.parametrize("method", sorted(METHOD_SCOPES))
async def test_token_without_the_methods_scope_gets_403_naming_it(
    stack, owner, tokens_without, method
):
    scope = METHOD_SCOPES[method]
    async with grpc_channel(stack.ports.edge, owner.host) as channel:
        # Any bytes do: the authorizer answers before the service parses the request.
        call = channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(b"", metadata=(("authorization", f"Bearer {tokens_without[scope]}"),))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"'{scope}'" in err.value.details()


def test_rest_403_names_the_missing_scope(http, owner, tokens_without):
    r = http.get("/v1/admin/domains", headers=bearer(owner, tokens_without["manage_domains"]))
    assert r.status_code == 403
    assert "'manage_domains'" in r.json()["message"]
    # The same token passes where it has the scope.
    r = http.get("/v1/admin/store", headers=bearer(owner, tokens_without["manage_domains"]))
    assert r.status_code == 200


async def test_token_is_shown_once_listed_without_secret_and_hashed_at_rest(http, stack, owner):
    created = create_token(http, owner, ["read_products", "read_store"], "inventory app")
    assert created["token"].startswith("shpat_")
    assert created["scopes"] == ["read_products", "read_store"]
    listed = {
        t["id"]: t
        for t in http.get("/v1/admin/access_tokens", headers=admin(owner)).json()["access_tokens"]
    }
    assert listed[created["id"]]["name"] == "inventory app"
    assert listed[created["id"]]["token"] == ""

    async def stored() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(with_database(stack.pg_admin_dsn, stack.database))
        try:
            return await conn.fetch(
                "SELECT token_hash, (SELECT count(*) FROM api_tokens t WHERE"
                " position($1::bytea IN convert_to(t::text, 'UTF8')) > 0) AS plain"
                " FROM api_tokens WHERE id = $2::uuid",
                created["token"].encode(),
                created["id"],
            )
        finally:
            await conn.close()

    [row] = await stored()
    assert bytes(row["token_hash"]) == hashlib.sha256(created["token"].encode()).digest()
    assert row["plain"] == 0


def test_revoked_token_is_refused_at_once(http, owner):
    token = create_token(http, owner, ["read_store"])
    headers = bearer(owner, token["token"])
    # Used once, so the authorizer has the grant cached.
    assert http.get("/v1/admin/store", headers=headers).status_code == 200
    r = http.delete(f"/v1/admin/access_tokens/{token['id']}", headers=admin(owner))
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"]
    r = http.get("/v1/admin/store", headers=headers)
    assert r.status_code == 401, r.text
    # Revoking again is harmless.
    assert http.delete(f"/v1/admin/access_tokens/{token['id']}", headers=admin(owner)).is_success


def test_a_token_cannot_grant_more_than_it_has(http, owner):
    narrow = create_token(http, owner, ["manage_access_tokens", "read_store"])
    r = http.post(
        "/v1/admin/access_tokens",
        headers=bearer(owner, narrow["token"]),
        json={"name": "escalate", "scopes": ["read_store", "write_products"]},
    )
    assert r.status_code == 403
    assert "write_products" in r.json()["message"]
    r = http.post(
        "/v1/admin/access_tokens",
        headers=bearer(owner, narrow["token"]),
        json={"name": "same", "scopes": ["read_store"]},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["read_store"]}, "name"),
    ],
)
def test_bad_token_requests_name_the_field(http, owner, body, field):
    r = http.post("/v1/admin/access_tokens", headers=admin(owner), json=body)
    assert r.status_code == 400, r.text
    assert [v["field"] for d in r.json()["details"] for v in d["field_violations"]] == [field]


def test_other_stores_token_id_is_not_found(http, owner, store_a):
    theirs = create_token(http, store_a, ["read_store"])
    r = http.delete(f"/v1/admin/access_tokens/{theirs['id']}", headers=admin(owner))
    assert r.status_code == 404
    assert http.get("/v1/admin/store", headers=bearer(store_a, theirs["token"])).status_code == 200


@pytest.mark.parametrize(
    "method",
    [
        "/envoy.service.auth.v3.Authorization/Check",
        "/grpc.health.v1.Health/Check",
        "/shop.store.v1.NoSuchService/Anything",
    ],
)
async def test_internal_and_unknown_services_are_refused_even_with_a_full_token(
    stack, owner, method
):
    """A store's host routes every path (one route per store); the listener's ext_authz runs for
    anything that is not a public service, and only admin methods pass it."""
    async with grpc_channel(stack.ports.edge, owner.host) as channel:
        call = channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(b"", metadata=(("authorization", f"Bearer {owner.token}"),))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "not an admin API method" in err.value.details()
