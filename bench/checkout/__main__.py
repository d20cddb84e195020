"""python -m bench.checkout: the phases in order, on one stack (see bench/checkout/__init__)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx

import bench.checkout
from bench import cli, report
from bench.checkout.carts import Carts
from bench.checkout.hot_sku import hot_sku
from bench.checkout.opposite import opposite_carts
from bench.checkout.pgbench import pgbench_phase
from bench.checkout.platform import Platform
from bench.checkout.reference_sql import REFERENCE
from bench.checkout.shipping_tax import shipping_tax
from bench.checkout.shopping import spread_catalog
from bench.checkout.spread import Spread
from bench.cpu import CpuMeter, database_backends, shared_brokers, stack_processes
from bench.db import execute, server_major
from bench.load import ensure_tools
from bench.seeding import (
    copy_products,
    lift_rate_limit,
    seeding_session,
    signup,
    vacuum_analyze,
    wait_routed,
)
from bench.stacks import EVERYTHING, admin_db, bench_stack, setup
from devstack.infra import ensure_postgres
from devstack.payments import onboard
from devstack.stack import STATE_DIR, Stack

OPTIONS = [
    cli.Option("--seconds", int, 20, 2, help="per measured spread run"),
    cli.Option("--warmup", int, 5, 1),
    cli.Option("--idle-seconds", float, 5, 0.5),
    cli.Option("--variants", int, 10_000, 100),
    cli.Option("--connections", int, 32, 4),
    cli.Option("--high-connections", int, 256, 16),
    cli.Option("--latency-ms", int, 100, 20),
    cli.Option("--max-rate", int, 800, 100, help="carts provisioned per second of a run"),
    cli.Option("--hot-stock", int, 50, 5),
    cli.Option("--hot-buyers", int, 200, 20),
    cli.Option("--opposite-buyers", int, 200, 20),
    cli.Option("--pgbench-clients", int, 8, 2),
    cli.Option("--pgbench-seconds", int, 15, 2),
    cli.Option("--envoy-concurrency", int, 1),
    cli.Option(
        "--runs", str, "all", "all", help="spread runs: all, or base (32c 0 ms only: one lever)"
    ),
    cli.Option(
        "--shipping-only", int, 0, help="1: only the warm-up and the shipping/tax comparison"
    ),
]
# Checkout orders/s over the reference's TPS that issue 15 asks for.
TARGET_RATIO = 0.15


async def seed_variants(dsn: str, store_id: int, variants: int) -> None:
    async with seeding_session(dsn) as conn:
        await copy_products(conn, spread_catalog(store_id, variants))
        await conn.execute("RESET session_replication_role")
        await vacuum_analyze(conn)


def run(stack: Stack, args, results: dict) -> None:
    dsn = admin_db(stack)
    with httpx.Client(base_url=stack.edge_url, timeout=10) as http:
        store = signup(http, prefix="ck", name="Bench Checkout")
        wait_routed(http, store.host)
        # A store takes payments only once onboarded to Stripe Connect (on the emulator).
        onboard(http, store.host, store.token, stack.stripe_url)
    lift_rate_limit(stack.edge_url, dsn, store)
    print(f"seeding {args.variants} variants (COPY as admin) ...", flush=True)
    started = time.monotonic()
    asyncio.run(seed_variants(dsn, store.id, args.variants))
    results["seed_variants_s"] = round(time.monotonic() - started, 2)
    carts = Carts(stack.redis_url, store.id)
    try:
        redis_port = httpx.URL(stack.redis_url).port or 6379
        meter = CpuMeter(
            stack_processes(stack),
            database_backends(stack.database),
            shared_brokers(redis_port),
            machine=True,
        )
        platform = Platform(stack, dsn, store, carts, meter)
        platform.check_checkout()
        results["idle_cores_by_process"] = platform.idle(args.idle_seconds)
        print("spread ...", flush=True)
        spread = Spread(platform, args)
        results["warmup_cold_stats"] = spread.run("warm-up", args.connections, 0, args.warmup)
        # The checkout tables were created empty and have no statistics yet; until autovacuum
        # analyzes them (a minute or more), the planner under RLS may read a checkout by id
        # through the (store_id, idempotency_key) index, scanning the store's every checkout
        # and taking SIREAD locks on all of them: nearly every SERIALIZABLE reservation then
        # fails and retries. Measure the steady state a running platform is in.
        execute(dsn, "ANALYZE")
        low, high, ms = args.connections, args.high_connections, args.latency_ms
        if args.shipping_only or args.runs == "all":
            print("shipping and tax ...", flush=True)
            results["shipping_tax"] = shipping_tax(spread, low, args.seconds)
        if args.shipping_only:
            return
        runs = {}
        plan = [
            (f"{low}c, 0 ms", low, 0),
            (f"{low}c, {ms} ms", low, ms),
            (f"{high}c, {ms} ms", high, ms),
        ]
        for name, connections, latency in plan[:1] if args.runs == "base" else plan:
            runs[name] = spread.run(name, connections, latency, args.seconds)
        results["spread"] = runs
        base = runs[f"{low}c, 0 ms"]["orders_per_s"]
        slow = runs.get(f"{high}c, {ms} ms")
        results["latency_tolerance_pct"] = (
            round(100 * slow["orders_per_s"] / base, 1) if base and slow else None
        )
        print("hot SKU ...", flush=True)
        results["hot_sku"] = hot_sku(platform, args.hot_stock, args.hot_buyers)
        print("opposite-order carts ...", flush=True)
        results["opposite_carts"] = opposite_carts(platform, args.opposite_buyers)
    finally:
        carts.delete_all()

    # The database alone: the services are stopped so only PostgreSQL and pgbench run.
    stack.stop()
    print("pgbench ...", flush=True)
    results["pgbench"] = pgbench_phase(stack, store.id, args)
    results["ratio"] = {
        mode: report.ratio(base, r["tps"]) for mode, r in results["pgbench"].items()
    }
    # The fixed physical reference: checkout orders/s (32c, 0 ms) / the minimal order
    # transaction's TPS, both measured in this run.
    results["reference"] = {
        "mode": REFERENCE,
        "tps": results["pgbench"][REFERENCE]["tps"],
        "checkout_orders_per_s": base,
        "ratio": results["ratio"][REFERENCE],
        "target": TARGET_RATIO,
    }


def print_shipping(results: dict, args) -> None:
    st = results["shipping_tax"]
    met = "met" if (st["ratio"] or 0) >= st["target"] else "MISSED"
    print(
        f"shipping + tax ({args.connections}c, 0 ms, interleaved x2): with"
        f" {st['with_orders_per_s']} orders/s, without {st['without_orders_per_s']} orders/s,"
        f" ratio {st['ratio']} (target >= {st['target']}: {met});"
        f" load average before {results['loadavg_1m_before']}"
    )


def print_report(results: dict, args) -> None:
    if "shipping_tax" in results:
        print_shipping(results, args)
    if "spread" not in results:
        return
    spread = results["spread"]
    report.print_table(
        f"Checkout through Envoy (REST), {args.variants} variants, 2 per cart,"
        f" {args.seconds}s per run, {os.cpu_count()} cores",
        [
            report.Column("run", report.key("name"), "<24"),
            report.Column("orders/s", report.key("orders_per_s"), ">10.1f"),
            report.Column("p50 ms", report.key("p50_ms"), ">9.1f"),
            report.Column("p99 ms", report.key("p99_ms"), ">9.1f"),
            report.Column("retries", report.key("serialization_retries"), ">9"),
            report.Column("CPU ms/order", report.key("cpu_ms_per_order"), ">14.2f"),
            report.Column("non-2xx", lambda r: sum(r["non_2xx"].values()), ">9"),
        ],
        [{"name": name, **r} for name, r in spread.items()],
    )
    base = spread[f"{args.connections}c, 0 ms"]
    print(
        f"CPU ms/order by process (0 ms, {args.connections}c): "
        + ", ".join(f"{k} {v}" for k, v in base["cpu_ms_per_order_by_process"].items())
    )
    print(
        f"{args.latency_ms} ms at {args.high_connections}c vs 0 ms at {args.connections}c:"
        f" {results['latency_tolerance_pct']}% (target >= 80%);"
        f" spread target >= 300 orders/s: {'met' if base['orders_per_s'] >= 300 else 'MISSED'}"
    )
    hot = results["hot_sku"]
    print(
        f"hot SKU (stock {hot['stock']}, {hot['buyers']} buyers): {hot['orders']} orders"
        f" ({'exactly the stock' if hot['exactly_stock_sold'] else 'NOT the stock'}),"
        f" sold out in {hot['sell_out_ms']} ms, all answered in {hot['all_answered_ms']} ms,"
        f" 400: {hot['status_400']}, 409: {hot['status_409']},"
        f" serialization retries {hot['serialization_retries']}"
    )
    print(
        "idle cores by process (background in every figure): "
        + ", ".join(f"{k} {v}" for k, v in results["idle_cores_by_process"].items())
    )
    opp = results["opposite_carts"]
    print(
        f"opposite-order carts ({opp['buyers']} buyers, stock for all): {opp['orders']} orders,"
        f" 409: {opp['status_409']}, 400: {opp['status_400']}, all answered in"
        f" {opp['all_answered_ms']} ms, stock exact: {opp['exact_stock']}"
    )
    ref = results["reference"]
    met = "met" if (ref["ratio"] or 0) >= ref["target"] else "MISSED"
    print(
        f"checkout / reference ({ref['mode']} order transaction, {ref['tps']} TPS):"
        f" {ref['checkout_orders_per_s']} / {ref['tps']} = {ref['ratio']}"
        f" (target >= {ref['target']}: {met})"
    )
    for mode, r in results["pgbench"].items():
        print(
            f"pgbench {mode} ({args.pgbench_clients} clients): {r['tps']} TPS,"
            f" {r['retried_transactions']} retried / {r['transactions']},"
            f" checkout/pgbench = {results['ratio'][mode]}"
        )


def main() -> None:
    args = cli.parse(bench.checkout.__doc__, OPTIONS)
    setup()
    pg_major = asyncio.run(server_major(ensure_postgres(STATE_DIR)))
    ensure_tools("wrk", "pgbench", pg_major=pg_major)
    with bench_stack("checkout", EVERYTHING, mail=True, smoke=args.smoke) as stack:
        results: dict = {"loadavg_1m_before": round(os.getloadavg()[0], 2)}
        run(stack, args, results)
    print_report(results, args)
    report.write("checkout", "checkout", args, results=results)


if __name__ == "__main__":
    main()
