"""The edge with 1,000 vs 100,000 stores loaded: route configuration size and build time, Envoy
memory, time until a changed domain is live (and gone), and storefront p50/p99 with and without
route pushes going on.

Seeding bypasses the API: stores (and a verified custom domain for every 10th) are inserted with
generate_series as the superuser, triggers off, before the services start, so the control plane
loads them in its start-up resync (bench.seeding.insert_stores). The measured store signs up
through the API. Domain changes are committed straight to store_domains (the same trigger →
NOTIFY → xDS push path that VerifyDomain and RemoveDomain take, minus the DNS look-up). Run with
`make bench`."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import uuid

import httpx
import psutil

from bench import cli, report
from bench.db import connect
from bench.load import ensure_tools, wrk
from bench.seeding import (
    HANDLE,
    BenchStore,
    insert_stores,
    lift_rate_limit,
    seed_store,
    wait_routed,
)
from bench.stacks import SHOPFRONT, admin_db, bench_stack, setup, start_services
from services.store.edge.routes import RouteTable, StoreRoute, store_hosts

OPTIONS = [
    cli.Option("--stores", int, [1000, 100_000], [50, 500], many=True),
    cli.Option("--seconds", int, 10, 1),
    cli.Option("--warmup", int, 3, 1),
    cli.Option("--connections", int, 32, 4),
    cli.Option("--domain-changes", int, 5, 1),
    cli.Option("--envoy-concurrency", int, 1),
]
_ADD = """INSERT INTO store_domains (store_id, domain, verification_token, verified_at)
          VALUES ($1, $2, 'bench', now())"""
_REMOVE = "DELETE FROM store_domains WHERE domain = $1"


async def route_config(control_dsn: str, platform_domain: str) -> tuple[int, float]:
    """Bytes of the RouteConfiguration Envoy receives, and seconds to build it from scratch."""
    async with connect(control_dsn) as conn:
        rows = await conn.fetch(
            "SELECT store_id, subdomain, custom_domains, plan FROM platform.store_routes(NULL)"
        )
    started = time.perf_counter()
    table = RouteTable(platform_domain)
    for r in rows:
        hosts = store_hosts(r["subdomain"], r["custom_domains"], platform_domain)
        table.upsert(StoreRoute(r["store_id"], hosts, r["plan"]))
    payload = table.serialize()
    return len(payload), time.perf_counter() - started


async def domain_change_times(
    dsn: str, http: httpx.Client, store_id: int, repeats: int
) -> dict[str, list[float]]:
    """Seconds from commit to live (added) and to 404 (removed), measured at the edge."""
    added, removed = [], []
    async with connect(dsn) as conn:
        for _ in range(repeats):
            domain = f"shop-{uuid.uuid4().hex[:8]}.example.net"
            await conn.execute(_ADD, store_id, domain)
            added.append(await asyncio.to_thread(wait_routed, http, domain, True))
            await conn.execute(_REMOVE, domain)
            removed.append(await asyncio.to_thread(wait_routed, http, domain, False))
    return {"added_s": added, "removed_s": removed}


def churn(dsn: str, store_id: int, stop: threading.Event, every: float) -> int:
    """Adds and removes a domain of the store every `every` seconds: one route push each."""

    async def run() -> int:
        changes = 0
        async with connect(dsn) as conn:
            while not stop.is_set():
                domain = f"churn-{uuid.uuid4().hex[:8]}.example.net"
                await conn.execute(_ADD, store_id, domain)
                await asyncio.sleep(every / 2)
                await conn.execute(_REMOVE, domain)
                await asyncio.sleep(every / 2)
                changes += 2
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


def storefront_load(url: str, dsn: str, store: BenchStore, args) -> tuple[dict, dict]:
    """Steady, then with a route push every second."""
    wrk(url, store.host, connections=args.connections, seconds=args.warmup)
    steady = wrk(url, store.host, connections=args.connections, seconds=args.seconds)
    stop, pushes = threading.Event(), []
    churner = threading.Thread(target=lambda: pushes.append(churn(dsn, store.id, stop, 2.0)))
    churner.start()
    try:
        pushing = wrk(url, store.host, connections=args.connections, seconds=args.seconds)
    finally:
        stop.set()
        churner.join()
    return steady.row(), {**pushing.row(), "route_pushes": sum(pushes)}


def run_phase(stores: int, args) -> dict:
    concurrency = args.envoy_concurrency
    platform = bench_stack(
        f"edge_{stores}", SHOPFRONT, start=False, envoy_concurrency=concurrency, smoke=args.smoke
    )
    with platform as stack:
        dsn = admin_db(stack)
        seeded_s = insert_stores(dsn, stores)
        started = time.monotonic()
        # Envoy is ready only once it has the first route configuration.
        start_services(stack, SHOPFRONT)
        startup_s = time.monotonic() - started
        size, build_s = asyncio.run(route_config(stack.control_dsn, stack.platform_domain))
        with httpx.Client(base_url=stack.edge_url, timeout=30) as http:
            store = seed_store(http)
            lift_rate_limit(stack.edge_url, dsn, store)
            envoy_rss = settled_rss_mb(stack.procs["envoy"].pid)
            store_rss = psutil.Process(stack.procs["store"].pid).memory_info().rss / 2**20
            changes = asyncio.run(domain_change_times(dsn, http, store.id, args.domain_changes))
        url = f"{stack.edge_url}/v1/products/{HANDLE}"
        steady, pushing = storefront_load(url, dsn, store, args)

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
        "storefront_steady": steady,
        "storefront_during_pushes": pushing,
    }


def compare(small: dict, large: dict) -> dict:
    per_thousand = (large["envoy_rss_mb"] - small["envoy_rss_mb"]) / (
        (large["stores"] - small["stores"]) / 1000
    )
    steady = report.ratios(
        large["storefront_steady"],
        small["storefront_steady"],
        {"p50_ratio": "p50_ms", "p99_ratio": "p99_ms"},
    )
    return {"envoy_rss_mb_per_1000_stores": round(per_thousand, 2), **steady}


def main() -> None:
    args = cli.parse(__doc__, OPTIONS)
    setup()
    ensure_tools("wrk")
    phases = []
    for count in args.stores:
        print(f"edge with {count} stores ...", flush=True)
        phases.append(run_phase(count, args))
        print(json.dumps(phases[-1], indent=2), flush=True)

    comparison = {}
    if len(phases) > 1:
        comparison = compare(phases[0], phases[-1])
        med_max = "{0[median_ms]:>11.0f}/{0[max_ms]:<8.0f}".format
        report.print_table(
            "Edge by store count",
            [
                report.Column("stores", report.key("stores"), ">8"),
                report.Column("config MB", lambda p: p["route_config_bytes"] / 2**20, ">11.1f"),
                report.Column("envoy RSS MB", report.key("envoy_rss_mb"), ">14.0f"),
                report.Column(
                    "live ms (med/max)", lambda p: med_max(p["domain_added_live"]), ">20"
                ),
                report.Column(
                    "gone ms (med/max)", lambda p: med_max(p["domain_removed_gone"]), ">20"
                ),
                report.Column("p50 ms", report.key("storefront_steady", "p50_ms"), ">8.2f"),
                report.Column("p99 ms", report.key("storefront_steady", "p99_ms"), ">8.2f"),
                report.Column(
                    "p99 pushing", report.key("storefront_during_pushes", "p99_ms"), ">13.2f"
                ),
            ],
            phases,
        )
        print(f"\n{json.dumps(comparison)}")
    report.write(
        "edge-scale",
        "edge_scale",
        args,
        seeding="generate_series as superuser, triggers off, before services start;"
        " every 10th store has a verified custom domain; measured store via API",
        phases=phases,
        comparison=comparison,
    )


if __name__ == "__main__":
    main()
