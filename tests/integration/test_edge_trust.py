"""The tenant header is trusted only from Envoy (issue 19). A process that reaches a service's
port directly — with any headers, with or without a client certificate — cannot act as a store:
services listen on loopback only, demand a client certificate of the mesh CA, and accept
`x-store-id` only from the edge's identity. Envoy's own traffic is the rest of the e2e suite."""

from __future__ import annotations

import asyncio

import asyncpg
import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.store.v1 import store_pb2, store_pb2_grpc

from devstack.pki import write_mesh
from services.common.identities import EDGE_IDENTITY, OPERATOR_IDENTITY
from tests.integration.conftest import make_store
from tests.support import direct


async def test_a_forged_store_header_from_a_direct_caller_is_unauthenticated(
    stack, app_pool, db_admin_dsn
):
    victim = await make_store(app_pool)
    forged = (("x-store-id", str(victim)),)
    async with direct.aio_channel(stack, "store") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as read:
            await store_pb2_grpc.StoreAdminStub(channel).GetStore(
                store_pb2.GetStoreRequest(), metadata=forged
            )
    async with direct.aio_channel(stack, "catalog") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as write:
            await catalog_pb2_grpc.CatalogAdminStub(channel).CreateProduct(
                catalog_pb2.CreateProductRequest(title="planted"), metadata=forged
            )
    for refused in (read.value, write.value):
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
        # Says what is refused, whom it is trusted from, and who called.
        assert "x-store-id is accepted only from the edge" in refused.details()
        assert EDGE_IDENTITY in refused.details() and OPERATOR_IDENTITY in refused.details()
    # Nothing was written into the victim's store.
    admin = await asyncpg.connect(db_admin_dsn)
    try:
        assert (
            await admin.fetchval("SELECT count(*) FROM products WHERE store_id = $1", victim) == 0
        )
    finally:
        await admin.close()


async def test_the_same_call_from_the_edge_identity_is_served(stack, app_pool):
    store_id = await make_store(app_pool)
    async with direct.aio_channel(stack, "catalog", identity="edge") as channel:
        reply = await catalog_pb2_grpc.StorefrontStub(channel).ListProducts(
            catalog_pb2.ListProductsRequest(), metadata=(("x-store-id", str(store_id)),)
        )
    assert list(reply.products) == []


@pytest.mark.parametrize("service", ["store", "catalog", "checkout"])
async def test_without_a_client_certificate_nothing_is_served(stack, service):
    ca, _key, _chain = stack.mesh.client()
    anonymous_tls = grpc.ssl_channel_credentials(ca)
    async with grpc.aio.secure_channel(stack.service_target(service), anonymous_tls) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as tls:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=3
            )
    async with grpc.aio.insecure_channel(stack.service_target(service)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as plaintext:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=3
            )
    # The handshake fails: the call never reaches a servicer.
    assert tls.value.code() == grpc.StatusCode.UNAVAILABLE
    assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_edge_identity_signed_by_another_ca_is_refused(stack, app_pool, tmp_path):
    store_id = await make_store(app_pool)
    impostor = write_mesh(tmp_path / "impostor")
    ca, _, _ = stack.mesh.client()
    _, key, chain = impostor.client("edge")
    credentials = grpc.ssl_channel_credentials(ca, key, chain)
    async with grpc.aio.secure_channel(stack.service_target("catalog"), credentials) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog_pb2_grpc.StorefrontStub(channel).ListProducts(
                catalog_pb2.ListProductsRequest(),
                metadata=(("x-store-id", str(store_id)),),
                timeout=3,
            )
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_envoy_facing_services_answer_the_edge_only(stack):
    async with direct.aio_channel(stack, "store") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as authz:
            await external_auth_pb2_grpc.AuthorizationStub(channel).Check(
                external_auth_pb2.CheckRequest()
            )
        stream = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel).StreamAggregatedResources()

        async def first_reply() -> object:
            # The refusal may already end the stream while the request is being written.
            await stream.write(discovery_pb2.DiscoveryRequest())
            return await stream.read()

        with pytest.raises(grpc.aio.AioRpcError) as xds:
            await asyncio.wait_for(first_reply(), 5)
    for refused in (authz.value, xds.value):
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "accepted only from the edge" in refused.details()


@pytest.mark.parametrize("service", ["store", "catalog", "checkout", "relay", "consumers"])
def test_service_and_metrics_ports_listen_on_loopback_only(stack, service):
    ports = [getattr(stack.ports, service), stack.metrics_ports[service]]
    for port in ports:
        assert direct.listening_addresses(port) == {"127.0.0.1"}, (service, port)
