"""Outbox → RabbitMQ → consumer: latency from commit to the consumer's effect under a steady
event rate, and the relay's throughput draining a backlog.

Steady: low-stock events committed at --rate per second (the checkout's order rate target is
300/s), one event per transaction, as AdjustInventory writes them. Latency =
inventory_alerts.created_at (the consumer's insert) - outbox.created_at (the producer's insert,
just before its commit). Backlog: --backlog events committed with the relay stopped, then the
relay started: events/s until the last one is published, and until the last one is consumed.
The 20 stores are seeded in SQL (bench.seeding). Run with `make bench`."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import asyncpg

from bench import cli, report
from bench.db import connect, fetchval
from bench.seeding import insert_stores
from bench.stacks import EVENTS, admin_db, bench_stack, setup, start_services
from devstack.stack import Stack
from services.common import outbox
from services.common.db import create_pool, tenant_transaction

OPTIONS = [
    cli.Option("--rate", float, 300, 100),
    cli.Option("--seconds", float, 20, 1),
    cli.Option("--backlog", int, 5000, 200),
    cli.Option("--stores", int, 20, 4),
    cli.Option("--writers", int, 16, 4, help="concurrent producers, each with a connection"),
]


def _event(store_id: int) -> outbox.Event:
    data = {"variant_id": str(uuid.uuid4()), "sku": "B-1", "quantity": 2, "threshold": 5}
    return outbox.inventory_event("low", store_id, data, uuid.uuid4().hex)


async def _produce(
    pool: asyncpg.Pool, stores: list[int], rate: float, seconds: float, writers: int
) -> int:
    """One event per transaction at `rate`/s, spread over the stores, from `writers`."""
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

    await asyncio.gather(*(writer() for _ in range(writers)))
    return total


async def _wait_alerts(dsn: str, expected: int, within: float) -> float:
    started = time.monotonic()
    count = "SELECT count(*) FROM inventory_alerts"
    while await fetchval(dsn, count) < expected:
        if time.monotonic() - started > within:
            raise SystemExit(f"only {await fetchval(dsn, count)}/{expected} events consumed")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _latencies(dsn: str) -> list[float]:
    async with connect(dsn) as conn:
        rows = await conn.fetch(
            """SELECT extract(epoch FROM a.created_at - o.created_at) * 1000 AS ms
               FROM inventory_alerts a
               JOIN outbox o ON o.store_id = a.store_id AND o.idempotency_key = a.event_key"""
        )
    return sorted(float(r["ms"]) for r in rows)


POLL_S = 0.01


async def _published_rate(dsn: str, total: int) -> float:
    """Events/s from the first published row seen to the last, watched every POLL_S. The rows'
    own published_at cannot tell: the relay stamps now(), its transaction's start, so one
    batch shares one instant."""
    async with connect(dsn) as conn:
        first = None
        while True:
            published = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
            )
            now = time.monotonic()
            if published and first is None:
                first = now - POLL_S  # it happened within the last interval
            if published >= total:
                return total / max(now - first, POLL_S)
            await asyncio.sleep(POLL_S)


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else float("nan")


async def run(stack: Stack, args) -> dict:
    dsn = admin_db(stack)
    async with connect(dsn) as conn:
        stores = [r["id"] for r in await conn.fetch("SELECT id FROM stores ORDER BY id")]
    pool = await create_pool(stack.app_dsn, args.writers)
    try:
        produced = await _produce(pool, stores, args.rate, args.seconds, args.writers)
        await _wait_alerts(dsn, produced, 120)
        latency = await _latencies(dsn)
        steady = {
            "rate_per_s": args.rate,
            "events": produced,
            "p50_ms": round(_pct(latency, 50), 1),
            "p99_ms": round(_pct(latency, 99), 1),
            "max_ms": round(latency[-1], 1),
        }

        async with connect(dsn) as conn:
            await conn.execute("TRUNCATE inventory_alerts, processed_events, outbox")
        await asyncio.to_thread(stack.stop, "relay")
        await _produce(pool, stores, 10_000, args.backlog / 10_000, args.writers)
        started = time.monotonic()
        watch = asyncio.create_task(_published_rate(dsn, args.backlog))
        await asyncio.to_thread(stack.start_service, "relay", "services.events.relay")
        consumed_after = await _wait_alerts(dsn, args.backlog, 300)
        backlog = {
            "events": args.backlog,
            "relay_publish_events_per_s": round(await asyncio.wait_for(watch, 60), 0),
            "end_to_end_events_per_s": round(args.backlog / (time.monotonic() - started), 0),
            "drained_in_s": round(consumed_after, 2),
        }
        return {"steady": steady, "backlog": backlog}
    finally:
        await pool.close()


def main() -> None:
    args = cli.parse(__doc__, OPTIONS)
    setup()
    with bench_stack("events", EVENTS, start=False, smoke=args.smoke) as stack:
        insert_stores(admin_db(stack), args.stores)
        start_services(stack, EVENTS)
        results = asyncio.run(run(stack, args))

    s, b = results["steady"], results["backlog"]
    print("\nOutbox → RabbitMQ → consumer")
    print(
        f"steady {s['rate_per_s']:.0f} events/s for {args.seconds:.0f}s ({s['events']} events):"
        f" commit→effect p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms"
    )
    print(
        f"backlog {b['events']} events: relay publishes {b['relay_publish_events_per_s']:.0f}/s,"
        f" end to end {b['end_to_end_events_per_s']:.0f}/s, drained in {b['drained_in_s']} s"
    )
    report.write("events", "events", args, results=results)


if __name__ == "__main__":
    main()
