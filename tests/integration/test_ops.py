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


def _start_catalog(stack, port: int, log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.catalog"],
            cwd=ROOT,
            env=stack.service_env("catalog", port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wait_serving(port, proc, log_path)
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
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
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


def _grpcurl(*args: str) -> subprocess.CompletedProcess:
    grpcurl = Path(sys.executable).parent / "grpcurl"
    return subprocess.run(
        [str(grpcurl), "-plaintext", *args], capture_output=True, text=True, timeout=30
    )


async def test_grpcurl_lists_describes_and_calls_by_reflection_alone(stack, app_pool):
    store_id = await make_store(app_pool)
    target = f"127.0.0.1:{stack.ports.catalog}"
    listed = await asyncio.to_thread(_grpcurl, target, "list")
    assert "shop.catalog.v1.Storefront" in listed.stdout.split(), listed.stderr
    described = await asyncio.to_thread(_grpcurl, target, "describe", "shop.catalog.v1.Storefront")
    assert "rpc ListProducts" in described.stdout, described.stderr
    called = await asyncio.to_thread(
        _grpcurl,
        "-H",
        f"x-store-id: {store_id}",
        "-d",
        '{"page_size": 5}',
        target,
        "shop.catalog.v1.Storefront/ListProducts",
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {}  # a new store: no products, no next page
