"""Outbox → RabbitMQ → consumer: latency from commit to the consumer's effect under a steady
event rate, and the relay's throughput draining a backlog.

Steady: low-stock events committed at --rate per second (the checkout's order rate target is
300/s; the checkout does not exist yet, so the load is inventory changes, one event per
transaction, as AdjustInventory writes them). Latency = inventory_alerts.created_at (the
consumer's insert) - outbox.created_at (the producer's insert, just before its commit).
Backlog: --backlog events committed with the relay stopped, then the relay started: events/s
until the last one is published, and until the last one is consumed. Run with `make bench`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from devstack.amqp import create_vhost, delete_vhost, ensure_rabbitmq, with_vhost
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis
from devstack.migrate import drop_database
from devstack.stack import STATE_DIR, Stack
from services.common import outbox
from services.common.db import create_pool, tenant_transaction
from services.store.stores.repository import StoreRepository
from services.store.stores.rules import validate_new_store
from services.store.tokens.rules import FIRST_TOKEN_SCOPES

RESULTS = Path(__file__).resolve().parent / "results"


def _event(store_id: int) -> outbox.Event:
    data = {"variant_id": str(uuid.uuid4()), "sku": "B-1", "quantity": 2, "threshold": 5}
    return outbox.inventory_event("low", store_id, data, uuid.uuid4().hex)


async def _produce(pool: asyncpg.Pool, stores: list[int], rate: float, seconds: float) -> int:
    """One event per transaction at `rate`/s, spread over the stores, from 16 writers."""
    total = int(rate * seconds)
    started = time.monotonic()
    next_index = 0

    async def writer() -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            store = stores[i % len(stores)]
            async with tenant_transaction(pool, store_id=store) as conn:
                await outbox.record(conn, _event(store))

    await asyncio.gather(*(writer() for _ in range(16)))
    return total


async def _alerts(admin_dsn: str) -> int:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM inventory_alerts")
    finally:
        await conn.close()


async def _wait_alerts(admin_dsn: str, expected: int, within: float) -> float:
    started = time.monotonic()
    while await _alerts(admin_dsn) < expected:
        if time.monotonic() - started > within:
            raise SystemExit(f"only {await _alerts(admin_dsn)}/{expected} events consumed")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _latencies(admin_dsn: str) -> list[float]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            """SELECT extract(epoch FROM a.created_at - o.created_at) * 1000 AS ms
               FROM inventory_alerts a
               JOIN outbox o ON o.store_id = a.store_id AND o.idempotency_key = a.event_key"""
        )
        return sorted(float(r["ms"]) for r in rows)
    finally:
        await conn.close()


async def _reset(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("TRUNCATE inventory_alerts, processed_events, outbox")
    finally:
        await conn.close()


async def _published_rate(admin_dsn: str) -> float:
    conn = await asyncpg.connect(admin_dsn)
    try:
        span = await conn.fetchval(
            "SELECT extract(epoch FROM max(published_at) - min(published_at)) FROM outbox"
        )
        count = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
        return count / float(span) if span else float("nan")
    finally:
        await conn.close()


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else float("nan")


async def run(stack: Stack, args: argparse.Namespace) -> dict:
    admin_dsn = with_database(stack.pg_admin_dsn, stack.database)
    pool = await create_pool(stack.app_dsn, 16)
    try:
        stores = []
        for _ in range(20):
            new = validate_new_store("Bench", f"ev-{uuid.uuid4().hex[:10]}", "b@example.com", "USD")
            store, _ = await StoreRepository(pool).create(new, FIRST_TOKEN_SCOPES)
            stores.append(store.id)

        produced = await _produce(pool, stores, args.rate, args.seconds)
        await _wait_alerts(admin_dsn, produced, 120)
        latency = await _latencies(admin_dsn)
        steady = {
            "rate_per_s": args.rate,
            "events": produced,
            "p50_ms": round(_pct(latency, 50), 1),
            "p99_ms": round(_pct(latency, 99), 1),
            "max_ms": round(latency[-1], 1),
        }

        await _reset(admin_dsn)
        await asyncio.to_thread(stack.stop, "relay")
        await _produce(pool, stores, rate=10_000, seconds=args.backlog / 10_000)
        started = time.monotonic()
        await asyncio.to_thread(stack.start_service, "relay", "services.events.relay")
        consumed_after = await _wait_alerts(admin_dsn, args.backlog, 300)
        backlog = {
            "events": args.backlog,
            "relay_publish_events_per_s": round(await _published_rate(admin_dsn), 0),
            "end_to_end_events_per_s": round(args.backlog / (time.monotonic() - started), 0),
            "drained_in_s": round(consumed_after, 2),
        }
        return {"steady": steady, "backlog": backlog}
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--backlog", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    admin_dsn = ensure_postgres(STATE_DIR)
    database = f"shop_bench_{uuid.uuid4().hex[:6]}"
    vhost = f"bench_{uuid.uuid4().hex[:6]}"
    amqp = ensure_rabbitmq()
    amqp_url = with_vhost(amqp, vhost) if create_vhost(vhost) else amqp
    stack = Stack(
        pg_admin_dsn=admin_dsn,
        redis_url=ensure_redis(STATE_DIR / "redis"),
        database=database,
        amqp_url=amqp_url,
        log_level="WARNING",
        run_dir=STATE_DIR / "bench-events",
    )
    try:
        stack.start()
        results = asyncio.run(run(stack, args))
    finally:
        stack.stop()
        drop_database(admin_dsn, database)
        delete_vhost(vhost)

    s, b = results["steady"], results["backlog"]
    print(f"\nOutbox → RabbitMQ → consumer ({os.cpu_count()} cores)")
    print(
        f"steady {s['rate_per_s']:.0f} events/s for {args.seconds:.0f}s ({s['events']} events):"
        f" commit→effect p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms"
    )
    print(
        f"backlog {b['events']} events: relay publishes {b['relay_publish_events_per_s']:.0f}/s,"
        f" end to end {b['end_to_end_events_per_s']:.0f}/s, drained in {b['drained_in_s']} s"
    )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"events-{stamp}.json"
    out.write_text(
        json.dumps(
            {"benchmark": "events", "at": stamp, "settings": vars(args), "results": results},
            indent=2,
        )
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
