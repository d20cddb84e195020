"""The operator API on the Store service's own port (as a caller inside the network would reach
it, bypassing Envoy): it resolves the credential itself, so without a valid operator credential
nothing is served, and scopes hold there too."""

from __future__ import annotations

import re

import asyncpg
import grpc
import pytest
from shop.platform.v1 import operations_pb2, operations_pb2_grpc

from services.common.plans import PLANS
from tests.e2e.lifecycle_support import mint_operator
from tests.integration.conftest import make_store
from tests.support import direct


async def test_direct_calls_need_an_operator_credential_with_the_scope(stack, app_pool):
    store_id = await make_store(app_pool)
    reader = mint_operator(stack, "direct-reader", ("read_stores",))
    # An operator's own certificate: the credential, not the connection, grants access here.
    async with direct.aio_channel(stack, "store") as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        get = operations_pb2.GetStoreRequest(store_id=str(store_id))
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await stub.GetStore(get)
        with pytest.raises(grpc.aio.AioRpcError) as spoofed:
            await stub.GetStore(get, metadata=(("authorization", "Bearer shpop_forged"),))
        found = await stub.GetStore(get, metadata=(("authorization", f"Bearer {reader.token}"),))
        with pytest.raises(grpc.aio.AioRpcError) as beyond:
            await stub.SuspendStore(
                operations_pb2.SuspendStoreRequest(store_id=str(store_id), reason="x"),
                metadata=(("authorization", f"Bearer {reader.token}"),),
            )
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert spoofed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert found.id == str(store_id)
    assert beyond.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "suspend_stores" in beyond.value.details()


async def test_the_database_accepts_exactly_the_plans_of_services_common_plans(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        definition = await conn.fetchval(
            """SELECT pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = 'stores'::regclass AND conname = 'stores_plan_check'"""
        )
    finally:
        await conn.close()
    assert sorted(re.findall(r"'(\w+)'::text", definition)) == sorted(PLANS)
