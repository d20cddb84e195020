"""The operator API through Envoy: only operator credentials pass on the platform host, store
tokens never do; operator credentials never pass a store's admin API; scopes hold; every call
(refused ones too) leaves a row in the append-only audit trail."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from shop.platform.v1 import operations_pb2, operations_pb2_grpc
from shop.store.v1 import store_pb2, store_pb2_grpc

from devstack.dsn import with_user
from tests.e2e.api_client import PLATFORM_HOST, admin, grpc_channel, signup
from tests.e2e.lifecycle_support import (
    admin_conn,
    mint_operator,
    operator_headers,
    operators_cli,
    ops_get,
    ops_post,
)


@pytest.fixture(scope="module")
def operator(stack):
    return mint_operator(stack, "ops-e2e")


@pytest.fixture(scope="module")
def reader(stack):
    return mint_operator(stack, "reader-e2e", ("read_stores",))


@pytest.fixture(scope="module")
def shop(http):
    return signup(http, "opsapi")


def audit_rows(http, operator, **params) -> list[dict]:
    r = ops_get(http, operator, "audit_events", **params)
    assert r.status_code == 200, r.text
    return r.json()["events"]


def test_store_token_cannot_call_the_operator_api(http, shop):
    r = http.get(f"/v1/operator/stores/{shop.id}", headers=operator_headers(shop.token))
    assert r.status_code == 403, r.text
    assert "store access tokens cannot call the operator API" in r.json()["message"]


def test_missing_and_unknown_operator_credentials_are_unauthenticated(http, shop):
    r = http.get(f"/v1/operator/stores/{shop.id}", headers={"host": PLATFORM_HOST})
    assert r.status_code == 401 and "operator credential" in r.json()["message"]
    r = http.get(f"/v1/operator/stores/{shop.id}", headers=operator_headers("shpop_made-up"))
    assert r.status_code == 401


def test_operator_credential_cannot_call_a_stores_admin_api(http, shop, operator):
    r = http.get(
        "/v1/admin/store",
        headers={"host": shop.host, "authorization": f"Bearer {operator.token}"},
    )
    assert r.status_code == 403, r.text
    assert "operator credentials cannot call a store's admin API" in r.json()["message"]
    # Nor can the operator API be reached through a store's host.
    r = http.get(
        f"/v1/operator/stores/{shop.id}",
        headers={"host": shop.host, "authorization": f"Bearer {operator.token}"},
    )
    assert r.status_code == 403
    assert "platform host only" in r.json()["message"]


async def test_grpc_statuses_on_both_sides(stack, shop, operator):
    async with grpc_channel(stack.ports.edge, PLATFORM_HOST) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        request = operations_pb2.GetStoreRequest(store_id=shop.id)
        with pytest.raises(grpc.aio.AioRpcError) as store_token:
            await stub.GetStore(request, metadata=(("authorization", f"Bearer {shop.token}"),))
        found = await stub.GetStore(
            request, metadata=(("authorization", f"Bearer {operator.token}"),)
        )
    assert store_token.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert found.subdomain == shop.subdomain
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as operator_on_store:
            await store_pb2_grpc.StoreAdminStub(channel).GetStore(
                store_pb2.GetStoreRequest(),
                metadata=(("authorization", f"Bearer {operator.token}"),),
            )
    assert operator_on_store.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_get_and_search_stores(http, operator, shop):
    r = ops_get(http, operator, f"stores/{shop.id}")
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["subdomain"] == shop.subdomain
    assert record["status"] == "STORE_STATUS_ACTIVE"
    assert record["owner_email"] == f"owner@{shop.subdomain}.example.com"

    by_prefix = ops_get(http, operator, "stores", subdomain_prefix=shop.subdomain[:-2]).json()
    assert shop.id in [s["id"] for s in by_prefix["stores"]]
    by_email = ops_get(
        http, operator, "stores", owner_email=f"OWNER@{shop.subdomain.upper()}.example.com"
    ).json()
    assert [s["id"] for s in by_email["stores"]] == [shop.id]

    domain = f"{shop.subdomain}.ops-search.example"
    assert (
        http.post("/v1/admin/domains", headers=admin(shop), json={"domain": domain}).status_code
        == 200
    )
    by_domain = ops_get(http, operator, "stores", domain=domain.upper()).json()
    assert [s["id"] for s in by_domain["stores"]] == [shop.id]


def test_list_pages_are_keyset_and_bound_to_their_filters(http, operator):
    stores = [signup(http, "opspage") for _ in range(3)]
    wanted = sorted(int(s.id) for s in stores)
    seen, token = [], ""
    while True:
        params = {"subdomain_prefix": "opspage-", "page_size": 2}
        if token:
            params["page_token"] = token
        r = ops_get(http, operator, "stores", **params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["stores"]) <= 2
        seen += [int(s["id"]) for s in body["stores"]]
        token = body["next_page_token"]
        if not token:
            break
    assert seen == sorted(seen)
    assert set(wanted) <= set(seen)
    first = ops_get(http, operator, "stores", subdomain_prefix="opspage-", page_size=1).json()
    r = ops_get(
        http,
        operator,
        "stores",
        subdomain_prefix="other-",
        page_size=1,
        page_token=first["next_page_token"],
    )
    assert r.status_code == 400
    assert r.json()["details"][0]["field_violations"][0]["field"] == "page_token"


def test_bad_input_is_invalid_argument_naming_the_field(http, operator, shop):
    r = ops_get(http, operator, "stores/not-a-number")
    assert r.status_code == 400
    assert r.json()["details"][0]["field_violations"][0]["field"] == "store_id"
    r = ops_post(http, operator, shop.id, "changePlan", plan="platinum")
    assert r.status_code == 400 and "plan" in r.json()["message"]
    r = ops_post(http, operator, shop.id, "suspend", reason="")
    assert r.status_code == 400 and "reason" in r.json()["message"]
    r = ops_post(http, operator, shop.id, "suspend", reason="x" * 501)
    assert r.status_code == 400
    r = ops_get(http, operator, "stores/999999999999999")
    assert r.status_code == 404
    r = http.post(
        f"/v1/operator/stores/{shop.id}:suspend",
        headers=operator_headers(operator),
        json={"reason": "typo", "reasn": "x"},
    )
    assert r.status_code == 400 and "reasn" in r.json()["message"]


def test_scopes_hold_and_the_refusal_is_audited(http, reader, operator, shop):
    assert ops_get(http, reader, f"stores/{shop.id}").status_code == 200
    r = ops_post(http, reader, shop.id, "suspend", reason="no scope for this")
    assert r.status_code == 403
    assert "suspend_stores" in r.json()["message"]
    trail = audit_rows(http, operator, operator_id=reader.id)
    [denied] = [e for e in trail if e["action"] == "SuspendStore"]
    assert denied["outcome"].startswith("PERMISSION_DENIED")
    assert denied["actor"] == "reader-e2e"


def test_every_operator_call_leaves_an_audit_row(http, operator, shop):
    before = {e["id"] for e in audit_rows(http, operator, operator_id=operator.id)}
    calls = [
        ("GetStore", ops_get(http, operator, f"stores/{shop.id}")),
        ("ListStores", ops_get(http, operator, "stores", subdomain_prefix="opsapi-")),
        ("ChangePlan", ops_post(http, operator, shop.id, "changePlan", plan="plus")),
        ("ChangePlan", ops_post(http, operator, shop.id, "changePlan", plan="nope")),
        ("GetStore", ops_get(http, operator, "stores/999999999999999")),
        ("ChangePlan", ops_post(http, operator, shop.id, "changePlan", plan="standard")),
    ]
    assert [r.status_code for _, r in calls] == [200, 200, 200, 400, 404, 200]
    rows = [
        e
        for e in audit_rows(http, operator, operator_id=operator.id, page_size=50)
        if e["id"] not in before
    ]
    # Newest first; ListAuditEvents calls are audited too (the first read above is one).
    ours = [e for e in reversed(rows) if e["action"] != "ListAuditEvents"]
    assert [e["action"] for e in ours] == [name for name, _ in calls]
    assert [e["outcome"].split(":")[0] for e in ours] == [
        "OK",
        "OK",
        "OK",
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "OK",
    ]
    plan_change = ours[2]
    assert plan_change["actor"] == "ops-e2e"
    assert plan_change["operator_id"] == operator.id
    assert plan_change["store_id"] == shop.id
    assert plan_change["request"]["plan"] == "plus"
    assert (plan_change["before"]["plan"], plan_change["after"]["plan"]) == ("standard", "plus")
    assert plan_change["at"]
    # Only platform-controlled fields are kept (the trail outlives the store).
    assert set(plan_change["after"]) == {
        "status",
        "plan",
        "status_reason",
        "suspended_at",
        "closed_at",
        "erase_after",
        "erase_started_at",
    }


async def test_the_audit_trail_is_append_only(stack, http, operator):
    ops_get(http, operator, "stores", page_size=1)
    conn = await admin_conn(stack)
    try:
        for statement in (
            "UPDATE operator_audit SET actor = 'someone else'",
            "DELETE FROM operator_audit",
            "TRUNCATE operator_audit",
        ):
            with pytest.raises(Exception, match="append-only"):
                await conn.execute(statement)
        ops = await asyncpg.connect(with_user(stack.pg_admin_dsn, "shop_ops", stack.database))
        try:
            with pytest.raises(Exception, match="permission denied"):
                await ops.execute("DELETE FROM operator_audit")
        finally:
            await ops.close()
    finally:
        await conn.close()


def test_revoked_credential_is_refused_at_once_and_the_cli_is_audited(stack, http, operator):
    temporary = mint_operator(stack, "short-lived", ("read_stores",))
    assert ops_get(http, temporary, "stores", page_size=1).status_code == 200
    done = operators_cli(stack, "revoke", temporary.id)
    assert done.returncode == 0, done.stderr
    assert ops_get(http, temporary, "stores", page_size=1).status_code == 401
    listed = operators_cli(stack, "list").stdout
    assert temporary.id in listed and "token" not in listed
    actions = [e["action"] for e in audit_rows(http, operator, page_size=200)]
    assert "credential.create" in actions and "credential.revoke" in actions


def test_cli_refuses_unknown_scopes(stack):
    done = operators_cli(stack, "create", "--name", "x", "--scopes", "read_stores,write_all")
    assert done.returncode == 2
    assert "write_all" in done.stderr
