"""The operator side of the edge, without servers: credential rules, page tokens bound to their
filters, the authorizer's decisions on both kinds of host, and the virtual hosts that carry
them (platform host context, a suspended store's branch)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from envoy.service.auth.v3 import external_auth_pb2
from google.rpc import code_pb2

from services.common.errors import InvalidArgument
from services.store.edge.api import ADMIN_SERVICES, OPERATOR_SERVICES, STOREFRONT_SERVICES
from services.store.edge.authz import (
    HOST_CONTEXT_KEY,
    PLATFORM_HOST,
    STORE_ID_CONTEXT_KEY,
    STORE_STATUS_CONTEXT_KEY,
    AuthorizationServicer,
    EdgeAccess,
)
from services.store.edge.json_guard import JsonBodyGuard
from services.store.edge.routes import (
    STORE_UNAVAILABLE,
    StoreRoute,
    platform_virtual_host,
    store_virtual_host,
)
from services.store.edge.scopes import (
    admin_method_scopes,
    admin_read_methods,
    operator_method_scopes,
)
from services.store.operators.rules import (
    OPERATOR_SCOPES,
    Operator,
    decode_page_token,
    encode_page_token,
    new_operator_token,
    validate_new_credential,
    validate_store_query,
)
from services.store.tokens.resolver import TokenGrant

STORE_TOKEN = "shpat_store-secret"
OPERATOR_TOKEN = "shpop_operator-secret"


class Tokens:
    async def resolve(self, token: str):
        return (
            TokenGrant(7, frozenset({"read_store", "manage_settings"}))
            if token == (STORE_TOKEN)
            else None
        )


class Operators:
    async def resolve(self, token: str):
        if token != OPERATOR_TOKEN:
            return None
        return Operator(uuid.uuid4(), "alice", frozenset({"read_stores"}))


class Audit:
    def __init__(self) -> None:
        self.entries = []

    async def record(self, entry) -> None:
        self.entries.append(entry)


def _authorizer(audit: Audit | None = None) -> AuthorizationServicer:
    access = EdgeAccess(admin_method_scopes(), operator_method_scopes(), admin_read_methods())
    return AuthorizationServicer(Tokens(), access, JsonBodyGuard(), Operators(), audit)


async def _check(path: str, token: str | None, context: dict[str, str]) -> int:
    request = external_auth_pb2.CheckRequest()
    http = request.attributes.request.http
    http.path = path
    if token:
        http.headers["authorization"] = f"Bearer {token}"
    request.attributes.context_extensions.update(context)
    reply = await _authorizer().Check(request, SimpleNamespace(invocation_metadata=lambda: ()))
    return reply.status.code


STORE = {STORE_ID_CONTEXT_KEY: "7"}
PLATFORM = {HOST_CONTEXT_KEY: PLATFORM_HOST}
GET_STORE = "/shop.store.v1.StoreAdmin/GetStore"
UPDATE_STORE = "/shop.store.v1.StoreAdmin/UpdateStoreSettings"
OPS_GET = "/shop.platform.v1.Operations/GetStore"
OPS_SUSPEND = "/shop.platform.v1.Operations/SuspendStore"


async def test_each_credential_passes_only_on_its_own_host():
    assert await _check(GET_STORE, STORE_TOKEN, STORE) == code_pb2.OK
    assert await _check(OPS_GET, OPERATOR_TOKEN, PLATFORM) == code_pb2.OK
    assert await _check(OPS_GET, STORE_TOKEN, PLATFORM) == code_pb2.PERMISSION_DENIED
    assert await _check(GET_STORE, OPERATOR_TOKEN, STORE) == code_pb2.PERMISSION_DENIED
    assert await _check(OPS_GET, OPERATOR_TOKEN, STORE) == code_pb2.PERMISSION_DENIED
    # The platform host serves no store admin API, whatever the credential.
    assert await _check(GET_STORE, STORE_TOKEN, PLATFORM) == code_pb2.PERMISSION_DENIED
    assert await _check(OPS_GET, None, PLATFORM) == code_pb2.UNAUTHENTICATED
    assert await _check(OPS_GET, "shpop_unknown", PLATFORM) == code_pb2.UNAUTHENTICATED


async def test_missing_operator_scope_is_refused_and_audited():
    audit = Audit()
    request = external_auth_pb2.CheckRequest()
    request.attributes.request.http.path = OPS_SUSPEND
    request.attributes.request.http.headers["authorization"] = f"Bearer {OPERATOR_TOKEN}"
    request.attributes.context_extensions.update(PLATFORM)
    reply = await _authorizer(audit).Check(request, SimpleNamespace(invocation_metadata=lambda: ()))
    assert reply.status.code == code_pb2.PERMISSION_DENIED
    [entry] = audit.entries
    assert (entry.actor, entry.action) == ("alice", "SuspendStore")
    assert entry.outcome.startswith("PERMISSION_DENIED")


async def test_a_suspended_stores_admin_api_answers_reads_only():
    suspended = {**STORE, STORE_STATUS_CONTEXT_KEY: "suspended"}
    assert await _check(GET_STORE, STORE_TOKEN, suspended) == code_pb2.OK
    assert await _check(UPDATE_STORE, STORE_TOKEN, suspended) == code_pb2.PERMISSION_DENIED
    assert await _check(UPDATE_STORE, STORE_TOKEN, STORE) == code_pb2.OK


def test_read_methods_are_exactly_the_admin_gets():
    reads = admin_read_methods()
    assert GET_STORE in reads and "/shop.checkout.v1.OrdersAdmin/ListOrders" in reads
    assert UPDATE_STORE not in reads
    assert "/shop.store.v1.StoreAdmin/CloseStore" not in reads
    assert reads <= set(admin_method_scopes())
    assert {m.split("/")[1] for m in reads} <= set(ADMIN_SERVICES)


def test_every_operator_method_declares_a_known_operator_scope():
    table = operator_method_scopes()
    assert {m.split("/")[1] for m in table} == set(OPERATOR_SERVICES)
    assert set(table.values()) <= OPERATOR_SCOPES and "" not in table.values()
    assert not set(table) & set(admin_method_scopes())


def test_credential_rules():
    new = validate_new_credential(" alice ", ["read_stores", "read_stores", " close_stores "])
    assert new.name == "alice" and new.scopes == ("close_stores", "read_stores")
    for name, scopes in (("", ["read_stores"]), ("a", []), ("a", ["read_store"])):
        with pytest.raises(InvalidArgument):
            validate_new_credential(name, scopes)
    token = new_operator_token()
    assert token.startswith("shpop_") and len(token) > 40


def test_page_tokens_are_bound_to_their_filters():
    query = validate_store_query(
        size=0, token="", subdomain_prefix="Acme", domain="", owner_email="", status=None, plan=""
    )
    assert query.page_size == 50 and query.subdomain_prefix == "acme"
    token = encode_page_token(42, query.filters())
    assert decode_page_token(token, query.filters()) == 42
    assert decode_page_token("", query.filters()) is None
    other = validate_store_query(
        size=500, token="", subdomain_prefix="", domain="", owner_email="", status=None, plan=""
    )
    assert other.page_size == 200
    for bad in (token[:-3], "not-a-token"):
        with pytest.raises(InvalidArgument, match="page_token"):
            decode_page_token(bad, query.filters())
    with pytest.raises(InvalidArgument, match="other filters"):
        decode_page_token(token, other.filters())
    for field, kwargs in (
        ("subdomain_prefix", {"subdomain_prefix": "a%b"}),
        ("plan", {"plan": "gold"}),
        ("owner_email", {"owner_email": "x" * 300}),
    ):
        with pytest.raises(InvalidArgument, match=field):
            validate_store_query(
                **{
                    "size": 1,
                    "token": "",
                    "subdomain_prefix": "",
                    "domain": "",
                    "owner_email": "",
                    "status": None,
                    "plan": "",
                    **kwargs,
                }
            )


def test_platform_host_tells_the_authorizer_and_routes_the_operator_api():
    vhost = platform_virtual_host("myshop.localhost")
    prefixes = [r.match.prefix for r in vhost.routes]
    assert "/shop.platform.v1.Operations/" in prefixes
    assert "/shop.store.v1.StoreAdmin/" not in prefixes
    config = vhost.typed_per_filter_config["envoy.filters.http.ext_authz"]
    assert b"platform" in config.value


def test_suspended_store_answers_its_storefront_from_the_edge():
    active = store_virtual_host(StoreRoute(9, ("s.myshop.localhost",)))
    suspended = store_virtual_host(StoreRoute(9, ("s.myshop.localhost",), suspended=True))
    assert not any(r.HasField("direct_response") for r in active.routes)
    direct = [r for r in suspended.routes if r.HasField("direct_response")]
    assert {r.match.prefix for r in direct} == {f"/{s}/" for s in STOREFRONT_SERVICES}
    assert "/shop.checkout.v1.Checkout/" in {r.match.prefix for r in direct}
    assert all(r.direct_response.status == 503 for r in direct)
    assert all(STORE_UNAVAILABLE in r.direct_response.body.inline_string for r in direct)
    # Everything else still routes (the admin API), and ext_authz learns the status.
    assert suspended.routes[-1] == active.routes[-1]
    config = suspended.typed_per_filter_config["envoy.filters.http.ext_authz"]
    assert b"suspended" in config.value
