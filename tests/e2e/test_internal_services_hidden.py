"""Envoy-facing services (ext_authz, xDS) and health live on the service ports only: through
the edge they are refused even with a valid admin token."""

from __future__ import annotations

import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.api_client import grpc_channel


@pytest.mark.parametrize("with_token", [False, True])
async def test_ext_authz_check_is_not_callable_through_the_edge(stack, store_a, with_token):
    metadata = (("authorization", f"Bearer {store_a.token}"),) if with_token else ()
    async with grpc_channel(stack.ports.edge, store_a.host) as channel:
        stub = external_auth_pb2_grpc.AuthorizationStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Check(external_auth_pb2.CheckRequest(), metadata=metadata, timeout=5)
    assert err.value.code() in (
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNIMPLEMENTED,
    )


async def test_health_is_not_served_at_the_edge(stack, store_a):
    async with grpc_channel(stack.ports.edge, store_a.host) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Check(
                health_pb2.HealthCheckRequest(),
                metadata=(("authorization", f"Bearer {store_a.token}"),),
                timeout=5,
            )
    assert err.value.code() != grpc.StatusCode.OK
