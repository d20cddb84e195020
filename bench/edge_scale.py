"""The edge with 1,000 vs 100,000 stores loaded: route configuration size and build time, Envoy
memory, time until a changed domain is live (and gone), and storefront p50/p99 with and without
route pushes going on.

Seeding bypasses the API: stores (and a verified custom domain for every 10th) are inserted with
generate_series as the superuser, triggers off, before the services start, so the control plane
loads them in its start-up resync. The measured store signs up through the API. Domain changes
are committed straight to store_domains (the same trigger → NOTIFY → xDS push path that
VerifyDomain and RemoveDomain take, minus the DNS look-up). Run with `make bench`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil

from bench.seeding import HANDLE, UNLIMITED_PLAN, seed_store, set_plan, wait_rate_limit
from bench.tools import ensure_tools, wrk
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis
from devstack.migrate import drop_database, migrate
from devstack.stack import STATE_DIR, Stack
from services.store.edge.rate_limits import PLANS
from services.store.edge.routes import RouteTable, StoreRoute, store_hosts

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench.edge_scale")


async def seed_stores(admin_db_dsn: str, count: int) -> None:
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        # Superuser: RLS does not apply; replica role: no NOTIFY per row (nobody listens yet).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            """INSERT INTO stores (name, subdomain, owner_email, currency)
               SELECT 'Seed ' || g, 'seed-' || g, 'owner@seed-' || g || '.example', 'USD'
               FROM generate_series(1, $1) g""",
            count,
        )
        await conn.execute(
            """INSERT INTO store_domains (store_id, domain, verification_token, verified_at)
               SELECT id, 'www.' || subdomain || '.example.com', 'seed', now()
               FROM stores WHERE id % 10 = 0"""
        )
    finally:
        await conn.close()


async def route_config(control_dsn: str, platform_domain: str) -> tuple[int, float]:
    """Bytes of the RouteConfiguration Envoy receives, and seconds to build it from scratch."""
    conn = await asyncpg.connect(control_dsn)
    try:
        rows = await conn.fetch(
            "SELECT store_id, subdomain, custom_domains, plan FROM platform.store_routes(NULL)"
        )
    finally:
        await conn.close()
    started = time.perf_counter()
    table = RouteTable(platform_domain)
    for r in rows:
        hosts = store_hosts(r["subdomain"], r["custom_domains"], platform_domain)
        table.upsert(StoreRoute(r["store_id"], hosts, r["plan"]))
    payload = table.serialize()
    return len(payload), time.perf_counter() - started


def wait_status(http: httpx.Client, host: str, live: bool, timeout: float = 30) -> float:
    started = time.monotonic()
    while (http.get("/v1/products", headers={"host": host}).status_code != 404) != live:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{host} not {'live' if live else 'gone'} after {timeout}s")
        time.sleep(0.005)
    return time.monotonic() - started


async def domain_change_times(
    admin_db_dsn: str, http: httpx.Client, store_id: int, repeats: int
) -> dict[str, list[float]]:
    """Seconds from commit to live (added) and to 404 (removed), measured at the edge."""
    conn = await asyncpg.connect(admin_db_dsn)
    added, removed = [], []
    try:
        for _ in range(repeats):
            domain = f"shop-{uuid.uuid4().hex[:8]}.example.net"
            await conn.execute(
                """INSERT INTO store_domains (store_id, domain, verification_token, verified_at)
                   VALUES ($1, $2, 'bench', now())""",
                store_id,
                domain,
            )
            added.append(await asyncio.to_thread(wait_status, http, domain, True))
            await conn.execute("DELETE FROM store_domains WHERE domain = $1", domain)
            removed.append(await asyncio.to_thread(wait_status, http, domain, False))
    finally:
        await conn.close()
    return {"added_s": added, "removed_s": removed}


def churn(admin_db_dsn: str, store_id: int, stop: threading.Event, every: float) -> int:
    """Adds and removes a domain of the store every `every` seconds: one route push each."""

    async def run() -> int:
        conn = await asyncpg.connect(admin_db_dsn)
        changes = 0
        try:
            while not stop.is_set():
                domain = f"churn-{uuid.uuid4().hex[:8]}.example.net"
                await conn.execute(
                    """INSERT INTO store_domains (store_id, domain, verification_token,
                       verified_at) VALUES ($1, $2, 'bench', now())""",
                    store_id,
                    domain,
                )
                await asyncio.sleep(every / 2)
                await conn.execute("DELETE FROM store_domains WHERE domain = $1", domain)
                await asyncio.sleep(every / 2)
                changes += 2
        finally:
            await conn.close()
        return changes

    return asyncio.run(run())


def settled_rss_mb(pid: int) -> float:
    """RSS once it stops moving (Envoy frees the previous configuration asynchronously)."""
    proc = psutil.Process(pid)
    last = proc.memory_info().rss
    for _ in range(20):
        time.sleep(0.5)
        now = proc.memory_info().rss
        if abs(now - last) < 1 << 20:
            break
        last = now
    return proc.memory_info().rss / 2**20


def run_phase(admin_dsn: str, redis_url: str, stores: int, args) -> dict:
    database = f"shop_edge_{stores}_{uuid.uuid4().hex[:6]}"
    admin_db = with_database(admin_dsn, database)
    stack = Stack(
        pg_admin_dsn=admin_dsn,
        redis_url=redis_url,
        database=database,
        envoy_concurrency=args.envoy_concurrency,
        log_level="WARNING",
        run_dir=STATE_DIR / "bench-edge",
    )
    try:
        migrate(admin_dsn, database)
        started = time.monotonic()
        asyncio.run(seed_stores(admin_db, stores))
        seeded_s = time.monotonic() - started
        started = time.monotonic()
        stack.start()  # Envoy is ready only once it has the first route configuration
        startup_s = time.monotonic() - started
        size, build_s = asyncio.run(route_config(stack.control_dsn, stack.platform_domain))
        with httpx.Client(base_url=stack.edge_url, timeout=30) as http:
            bench_store = seed_store(http, wait=lambda host: wait_status(http, host, True))
            asyncio.run(set_plan(admin_db, UNLIMITED_PLAN, store_id=bench_store.id))
            wait_rate_limit(stack.edge_url, bench_store.host, PLANS[UNLIMITED_PLAN].burst)
            envoy_rss = settled_rss_mb(stack.procs["envoy"].pid)
            store_rss = psutil.Process(stack.procs["store"].pid).memory_info().rss / 2**20
            changes = asyncio.run(
                domain_change_times(admin_db, http, bench_store.id, args.domain_changes)
            )
        url = f"{stack.edge_url}/v1/products/{HANDLE}"
        host = bench_store.host
        wrk(url, host, connections=args.connections, seconds=3)  # warm-up
        steady = wrk(url, host, connections=args.connections, seconds=args.seconds)
        stop = threading.Event()
        churner = threading.Thread(
            target=lambda: result.update(pushes=churn(admin_db, bench_store.id, stop, 2.0))
        )
        result: dict = {}
        churner.start()
        try:
            pushing = wrk(url, host, connections=args.connections, seconds=args.seconds)
        finally:
            stop.set()
            churner.join()
    finally:
        stack.stop()
        drop_database(admin_dsn, database)

    def summary(values: list[float]) -> dict:
        return {
            "median_ms": round(1000 * statistics.median(values), 1),
            "max_ms": round(1000 * max(values), 1),
        }

    return {
        "stores": stores,
        "custom_domains": stores // 10,
        "seed_s": round(seeded_s, 1),
        "startup_until_envoy_ready_s": round(startup_s, 1),
        "route_config_bytes": size,
        "route_config_full_build_s": round(build_s, 2),
        "envoy_rss_mb": round(envoy_rss, 1),
        "store_service_rss_mb": round(store_rss, 1),
        "domain_added_live": summary(changes["added_s"]),
        "domain_removed_gone": summary(changes["removed_s"]),
        "storefront_steady": _load(steady),
        "storefront_during_pushes": {**_load(pushing), "route_pushes": result.get("pushes", 0)},
    }


def _load(r) -> dict:
    return {
        "rps": round(r.rps, 1),
        "p50_ms": round(r.p50_ms, 2),
        "p99_ms": round(r.p99_ms, 2),
        "errors": r.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--domain-changes", type=int, default=5)
    parser.add_argument("--envoy-concurrency", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ensure_tools()
    admin_dsn = ensure_postgres(STATE_DIR)
    redis_url = ensure_redis(STATE_DIR / "redis")

    phases = []
    for count in args.stores:
        print(f"edge with {count} stores ...", flush=True)
        phases.append(run_phase(admin_dsn, redis_url, count, args))
        print(json.dumps(phases[-1], indent=2), flush=True)

    small, large = phases[0], phases[-1]
    comparison = {}
    if len(phases) > 1:
        per_thousand = (large["envoy_rss_mb"] - small["envoy_rss_mb"]) / (
            (large["stores"] - small["stores"]) / 1000
        )
        comparison = {
            "envoy_rss_mb_per_1000_stores": round(per_thousand, 2),
            "p50_ratio": round(
                large["storefront_steady"]["p50_ms"] / small["storefront_steady"]["p50_ms"], 3
            ),
            "p99_ratio": round(
                large["storefront_steady"]["p99_ms"] / small["storefront_steady"]["p99_ms"], 3
            ),
        }
        print(
            f"\n{'stores':>8}{'config MB':>11}{'envoy RSS MB':>14}{'live ms (med/max)':>20}"
            f"{'gone ms (med/max)':>20}{'p50 ms':>8}{'p99 ms':>8}{'p99 pushing':>13}"
        )
        for p in phases:
            print(
                f"{p['stores']:>8}{p['route_config_bytes'] / 2**20:>11.1f}"
                f"{p['envoy_rss_mb']:>14.0f}"
                f"{p['domain_added_live']['median_ms']:>11.0f}/{p['domain_added_live']['max_ms']:<8.0f}"
                f"{p['domain_removed_gone']['median_ms']:>11.0f}/{p['domain_removed_gone']['max_ms']:<8.0f}"
                f"{p['storefront_steady']['p50_ms']:>8.2f}{p['storefront_steady']['p99_ms']:>8.2f}"
                f"{p['storefront_during_pushes']['p99_ms']:>13.2f}"
            )
        print(f"\n{json.dumps(comparison)}")

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"edge-scale-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "edge_scale",
                "at": stamp,
                "machine": {"cpus": os.cpu_count()},
                "settings": vars(args),
                "seeding": "generate_series as superuser, triggers off, before services start;"
                " every 10th store has a verified custom domain; measured store via API",
                "phases": phases,
                "comparison": comparison,
            },
            indent=2,
        )
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
