"""Per-store rate limits at the edge: one store's burst is refused (429 over REST,
RESOURCE_EXHAUSTED over gRPC) while another store's traffic passes untouched, and a route push
does not refill the buckets."""

from __future__ import annotations

import asyncio
import math
import time

import asyncpg
import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from devstack.dsn import with_database
from services.store.edge.rate_limits import PLANS
from tests.e2e.api_client import grpc_channel, signup, wait_routable
from tests.support.polling import eventually

DEV = PLANS["development"]
RATE_LIMITED = "this store's request rate limit is exceeded; retry after x-ratelimit-reset seconds"


async def set_plan(stack, store_id: str, plan: str) -> None:
    """Plans are billing's to change; there is no merchant API for it, so the test sets it."""
    conn = await asyncpg.connect(with_database(stack.pg_admin_dsn, stack.database))
    try:
        await conn.execute("UPDATE stores SET plan = $1 WHERE id = $2", plan, int(store_id))
    finally:
        await conn.close()


def wait_limit(http, host: str, limit: int, timeout: float = 2.0) -> None:
    eventually(
        lambda: (
            http.get("/v1/products", headers={"host": host}).headers.get("x-ratelimit-limit")
            == str(limit)
        ),
        within=timeout,
        what=f"{host} on a {limit}-request bucket",
    )


@pytest.fixture
async def limited(http, stack):
    """A fresh store on the development plan (DEV.burst requests, DEV.requests_per_second/s)."""
    store = signup(http, "limited")
    await set_plan(stack, store.id, "development")
    # The plan's bucket starts full; the probes take a token or two of it.
    wait_limit(http, store.host, DEV.burst)
    return store


@pytest.fixture(scope="module")
def neighbour(http):
    return signup(http, "neighbour")


def exhaust(http, host: str) -> None:
    for _ in range(DEV.burst * 3):
        if http.get("/v1/products", headers={"host": host}).status_code == 429:
            return
    raise AssertionError("never rate limited")


def test_burst_is_limited_for_that_store_only(http, limited, neighbour):
    mine, theirs = [], []
    for _ in range(DEV.burst * 3):
        mine.append(http.get("/v1/products", headers={"host": limited.host}))
        theirs.append(http.get("/v1/products", headers={"host": neighbour.host}).status_code)
    refused = [r for r in mine if r.status_code == 429]
    assert len(refused) >= DEV.burst // 2, [r.status_code for r in mine]
    assert {r.status_code for r in mine} == {200, 429}
    assert set(theirs) == {200}
    assert refused[-1].json() == {"code": 8, "message": RATE_LIMITED}
    assert refused[-1].headers["x-ratelimit-limit"] == str(DEV.burst)
    assert refused[-1].headers["x-ratelimit-remaining"] == "0"
    assert "x-ratelimit-reset" in refused[-1].headers


async def test_grpc_burst_is_resource_exhausted_for_that_store_only(
    http, stack, limited, neighbour
):
    messages: set[str] = set()

    async def burst(host: str) -> list[grpc.StatusCode]:
        async with grpc_channel(stack.ports.edge, host) as channel:
            stub = catalog_pb2_grpc.StorefrontStub(channel)

            async def one() -> grpc.StatusCode:
                try:
                    await stub.ListProducts(catalog_pb2.ListProductsRequest())
                    return grpc.StatusCode.OK
                except grpc.aio.AioRpcError as err:
                    messages.add(err.details())
                    return err.code()

            return await asyncio.gather(*(one() for _ in range(DEV.burst * 2)))

    mine, theirs = await asyncio.gather(burst(limited.host), burst(neighbour.host))
    assert messages == {RATE_LIMITED}
    assert set(mine) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, mine
    assert mine.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= DEV.burst // 2
    assert set(theirs) == {grpc.StatusCode.OK}


def test_route_push_does_not_refill_the_bucket(http, limited):
    exhaust(http, limited.host)
    emptied = time.monotonic()
    # A signup is a route push; wait until Envoy has applied it.
    wait_routable(http, signup(http, "pusher").host)
    passed = 0
    for _ in range(DEV.burst):
        passed += http.get("/v1/products", headers={"host": limited.host}).status_code == 200
    elapsed = time.monotonic() - emptied
    # A reset bucket would let the whole burst through; a kept one only what refilled since.
    assert passed < DEV.burst
    assert passed <= math.ceil(elapsed * DEV.requests_per_second) + 1, (passed, elapsed)
