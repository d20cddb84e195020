"""What on-call relies on: reflection (grpcurl), health, and a graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

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
from tests.support import direct


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("store", {"shop.store.v1.Platform", "shop.store.v1.StoreAdmin", "grpc.health.v1.Health"}),
        ("catalog", {"shop.catalog.v1.CatalogAdmin", "shop.catalog.v1.Storefront"}),
    ],
)
def test_reflection_lists_services(stack, service, expected):
    with direct.channel(stack, service) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        assert expected <= services
        # grpcurl describe: method descriptors resolve without local proto files.
        for name in expected - {"grpc.health.v1.Health"}:
            assert db.FindFileContainingSymbol(name).name.startswith("shop/")


@pytest.mark.parametrize("service", ["store", "catalog"])
def test_health_reports_serving(stack, service):
    with direct.channel(stack, service) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert stub.Check(health_pb2.HealthCheckRequest()).status == (
            health_pb2.HealthCheckResponse.SERVING
        )


def _start_catalog(stack, port: int, log_path, **env: str) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.catalog"],
            cwd=ROOT,
            env={**stack.service_env("catalog", port), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wait_serving(port, proc, log_path, credentials=stack.credentials())
    return proc


async def test_sigterm_drains_in_flight_calls(stack, app_pool, db_admin_dsn, tmp_path):
    store_id = await make_store(app_pool)
    port = free_port()
    proc = await asyncio.to_thread(_start_catalog, stack, port, tmp_path / "catalog.log")
    try:
        locker = await asyncpg.connect(db_admin_dsn)
        tx = locker.transaction()
        await tx.start()
        # Every read of products now waits: the call below is in flight when SIGTERM lands.
        await locker.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        # Standing in for Envoy: only the edge identity may name a store.
        async with direct.aio_channel(stack, port, identity="edge") as channel:
            stub = catalog_pb2_grpc.StorefrontStub(channel)
            metadata = (("x-store-id", str(store_id)),)
            in_flight = asyncio.ensure_future(
                stub.ListProducts(catalog_pb2.ListProductsRequest(), metadata=metadata)
            )
            await asyncio.sleep(0.3)
            assert not in_flight.done()
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            # Draining: new calls are refused while the old one is still waiting.
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListProducts(
                    catalog_pb2.ListProductsRequest(), metadata=metadata, timeout=2
                )
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            await tx.rollback()
            await locker.close()
            reply = await asyncio.wait_for(in_flight, 5)
            assert list(reply.products) == []
        assert await asyncio.to_thread(proc.wait, 10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_the_plaintext_health_port_answers_health_and_nothing_else(stack, tmp_path):
    """Kubelet's native gRPC probes cannot present a certificate: HEALTH_PORT serves
    grpc.health.v1 alone in plaintext; the API, reflection and any store stay behind mTLS."""
    port, health_port = free_port(), free_port()
    proc = await asyncio.to_thread(
        _start_catalog, stack, port, tmp_path / "catalog.log", HEALTH_PORT=str(health_port)
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as channel:
            status = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="shop.catalog.v1.Storefront")
            )
            with pytest.raises(grpc.aio.AioRpcError) as api:
                await catalog_pb2_grpc.StorefrontStub(channel).ListProducts(
                    catalog_pb2.ListProductsRequest(), metadata=(("x-store-id", "1"),)
                )
        with grpc.insecure_channel(f"127.0.0.1:{health_port}") as sync_channel:
            with pytest.raises(grpc.RpcError) as reflection:
                ProtoReflectionDescriptorDatabase(sync_channel).get_services()
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        assert api.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert reflection.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 15)


def _grpcurl(tls: list[str], *args: str) -> subprocess.CompletedProcess:
    grpcurl = Path(sys.executable).parent / "grpcurl"
    return subprocess.run([str(grpcurl), *tls, *args], capture_output=True, text=True, timeout=30)


async def test_grpcurl_lists_describes_and_calls_by_reflection_alone(stack, app_pool):
    """An operator's certificate (devstack's .run/pki/operator.pem) lists and describes; a call
    naming a store needs the edge's identity, which only Envoy (or a test standing in for it)
    holds."""
    store_id = await make_store(app_pool)
    target = f"127.0.0.1:{stack.ports.catalog}"
    operator = direct.grpcurl_tls_args(stack)
    listed = await asyncio.to_thread(_grpcurl, operator, target, "list")
    assert "shop.catalog.v1.Storefront" in listed.stdout.split(), listed.stderr
    described = await asyncio.to_thread(
        _grpcurl, operator, target, "describe", "shop.catalog.v1.Storefront"
    )
    assert "rpc ListProducts" in described.stdout, described.stderr
    call = ["-H", f"x-store-id: {store_id}", "-d", '{"page_size": 5}', target]
    method = "shop.catalog.v1.Storefront/ListProducts"
    refused = await asyncio.to_thread(_grpcurl, operator, *call, method)
    assert refused.returncode != 0
    assert "Unauthenticated" in refused.stderr and "only from the edge" in refused.stderr
    called = await asyncio.to_thread(
        _grpcurl, direct.grpcurl_tls_args(stack, "edge"), *call, method
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {}  # a new store: no products, no next page
