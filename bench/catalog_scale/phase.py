"""One store count of catalog_scale: its own database and stack, seeded, up, and a sample of
its hosts to spread the load over."""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.catalog_scale.catalog import check_endpoints, store_catalog
from bench.db import connect
from bench.load import LoadResult, wrk
from bench.seeding import (
    copy_products,
    insert_stores,
    seeding_session,
    vacuum_analyze,
    wait_routed,
)
from bench.stacks import SHOPFRONT, admin_db, bench_stack, start_services
from devstack.stack import Stack


@dataclass
class Phase:
    stores: int
    stack: Stack
    info: dict = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    runs: dict[str, list[LoadResult]] = field(default_factory=dict)

    def measure(self, name: str, script: Path, args) -> LoadResult:
        def run(seconds: int) -> LoadResult:
            return wrk(
                f"{self.stack.edge_url}/",
                self.hosts[0],
                connections=args.connections,
                seconds=seconds,
                script=script,
            )

        run(args.warmup)
        result = run(args.seconds)
        self.runs.setdefault(name, []).append(result)
        return result

    def results(self) -> dict:
        return {
            "stores": self.stores,
            **self.info,
            "load": {name: summary(runs) for name, runs in self.runs.items()},
        }


def summary(runs: list[LoadResult]) -> dict:
    """Medians over the rounds (each round's own p50/p99), plus every round's figures."""
    return {
        "rps": round(statistics.median([r.rps for r in runs]), 1),
        "p50_ms": round(statistics.median([r.p50_ms for r in runs]), 2),
        "p99_ms": round(statistics.median([r.p99_ms for r in runs]), 2),
        "errors": sum(r.errors for r in runs),
        "rounds": [
            {"rps": round(r.rps, 1), "p50_ms": round(r.p50_ms, 2), "p99_ms": round(r.p99_ms, 2)}
            for r in runs
        ],
    }


async def seed_catalog(dsn: str, chunk: int = 2000) -> dict:
    """COPY every store's catalog; returns row counts and seconds (COPY, then VACUUM ANALYZE)."""
    async with seeding_session(dsn) as conn:
        store_ids = [r["id"] for r in await conn.fetch("SELECT id FROM stores ORDER BY id")]
        started = time.monotonic()
        counts = {"products": 0, "variants": 0}
        for i in range(0, len(store_ids), chunk):
            products = [p for store_id in store_ids[i : i + chunk] for p in store_catalog(store_id)]
            counts["variants"] += await copy_products(conn, products)
            counts["products"] += len(products)
            done = min(i + chunk, len(store_ids))
            if done == len(store_ids) or (i // chunk) % 10 == 9:
                print(
                    f"  catalog: {done}/{len(store_ids)} stores, {counts['variants']} variants,"
                    f" {time.monotonic() - started:.0f}s",
                    flush=True,
                )
        copy_s = time.monotonic() - started
        started = time.monotonic()
        await vacuum_analyze(conn)
        return {
            **counts,
            "copy_s": round(copy_s, 1),
            "vacuum_s": round(time.monotonic() - started, 1),
        }


async def sample_hosts(dsn: str, platform_domain: str, count: int) -> list[str]:
    async with connect(dsn) as conn:
        rows = await conn.fetch("SELECT subdomain FROM stores ORDER BY random() LIMIT $1", count)
    return [f"{r['subdomain']}.{platform_domain}" for r in rows]


def prepare(cleanup: ExitStack, stores: int, args) -> Phase:
    """Seeded and started; `cleanup` stops and drops it, also when seeding or starting fails."""
    stack = cleanup.enter_context(
        bench_stack(
            f"catalog_{stores}",
            SHOPFRONT,
            start=False,
            envoy_concurrency=args.envoy_concurrency,
            smoke=args.smoke,
        )
    )
    phase = Phase(stores, stack)
    seed_and_start(phase, args)
    return phase


def seed_and_start(phase: Phase, args) -> None:
    dsn, stores = admin_db(phase.stack), phase.stores
    print(f"storefront catalog with {stores} stores ...", flush=True)
    phase.info["seed_stores_s"] = round(insert_stores(dsn, stores, unlimited=True), 1)
    print(f"  {stores} stores in {phase.info['seed_stores_s']}s", flush=True)
    phase.info["seed_catalog"] = asyncio.run(seed_catalog(dsn))
    started = time.monotonic()
    # Envoy is ready only once it has the first route configuration.
    start_services(phase.stack, SHOPFRONT)
    phase.info["startup_until_envoy_ready_s"] = round(time.monotonic() - started, 1)
    print(f"  stack up in {phase.info['startup_until_envoy_ready_s']}s", flush=True)
    phase.hosts = asyncio.run(sample_hosts(dsn, phase.stack.platform_domain, args.sample))
    with httpx.Client(base_url=phase.stack.edge_url, timeout=30) as http:
        wait_routed(http, phase.hosts[0])
    check_endpoints(phase.stack.edge_url, phase.hosts[0])
