"""What on-call relies on: reflection (grpcurl), health, and a graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from devstack.infra import free_port
from devstack.stack import ROOT, wait_serving
from tests.integration.conftest import make_store


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("store", {"shop.store.v1.Platform", "shop.store.v1.StoreAdmin", "grpc.health.v1.Health"}),
        ("catalog", {"shop.catalog.v1.CatalogAdmin", "shop.catalog.v1.Storefront"}),
    ],
)
def test_reflection_lists_services(stack, service, expected):
    with grpc.insecure_channel(f"127.0.0.1:{getattr(stack.ports, service)}") as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        assert expected <= services
        # grpcurl describe: method descriptors resolve without local proto files.
        for name in expected - {"grpc.health.v1.Health"}:
            assert db.FindFileContainingSymbol(name).name.startswith("shop/")


@pytest.mark.parametrize("service", ["store", "catalog"])
def test_health_reports_serving(stack, service):
    with grpc.insecure_channel(f"127.0.0.1:{getattr(stack.ports, service)}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert stub.Check(health_pb2.HealthCheckRequest()).status == (
            health_pb2.HealthCheckResponse.SERVING
        )


async def test_sigterm_drains_in_flight_calls(stack, app_pool, db_admin_dsn, tmp_path):
    store_id = await make_store(app_pool)
    port = free_port()
    log_path = tmp_path / "catalog.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.catalog"], cwd=ROOT,
                                env=stack.service_env("catalog", port), stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        await asyncio.to_thread(wait_serving, port, proc, log_path)
        locker = await asyncpg.connect(db_admin_dsn)
        tx = locker.transaction()
        await tx.start()
        # Every read of products now waits: the call below is in flight when SIGTERM lands.
        await locker.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = catalog_pb2_grpc.StorefrontStub(channel)
            metadata = (("x-store-id", str(store_id)),)
            in_flight = asyncio.ensure_future(
                stub.ListProducts(catalog_pb2.ListProductsRequest(), metadata=metadata))
            await asyncio.sleep(0.3)
            assert not in_flight.done()
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            # Draining: new calls are refused while the old one is still waiting.
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListProducts(catalog_pb2.ListProductsRequest(), metadata=metadata,
                                        timeout=2)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            await tx.rollback()
            await locker.close()
            reply = await asyncio.wait_for(in_flight, 5)
            assert list(reply.products) == []
        assert await asyncio.to_thread(proc.wait, 10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
