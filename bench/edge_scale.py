"""The edge by store count, on-demand virtual hosts (VHDS over delta ADS, the default) beside the
state-of-the-world fallback (EDGE_ROUTES=full, every store in every Envoy).

Per phase (a store count and a mode): stores seeded in SQL, every 5th with a verified custom
domain; then `--active` of them get a first request through Envoy (cold hosts: in on-demand
mode each one is a VHDS fetch; p99 reported) and stay held. Measured after that: Envoy RSS,
the Store service's RSS (the control plane) and its CPU per route change, time from a
committed domain change to live / gone at the edge (p50, p99), and storefront p50/p99 (wrk on
the measured store) steady and while a route change happens every second. The comparison
divides each phase's steady p99 by the smallest phase's of the same mode, and sets the modes
side by side.

Seeding bypasses the API: stores are inserted with generate_series as the superuser, triggers
off, before the services start (bench.seeding.insert_stores). The measured store signs up
through the API. Domain changes are committed straight to store_domains (the same trigger →
NOTIFY → xDS path VerifyDomain and RemoveDomain take, minus the DNS look-up).

Full mode above `--full-max-stores` is skipped: Envoy would need ~7 KB per store (7 GB at a
million) and each push carries every store. Sizes are a flag: the 1M phase seeds for minutes on
a shared machine (`--stores 1000 1000000 --modes on_demand`)."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

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

MODES = ("on_demand", "full")
OPTIONS = [
    cli.Option("--stores", int, [1000, 100_000], [50, 500], many=True),
    cli.Option("--modes", str, list(MODES), help="on_demand and/or full", many=True),
    cli.Option("--active", int, 10_000, 40, help="hosts given a first request (held)"),
    cli.Option("--full-max-stores", int, 100_000, help="skip full mode above this"),
    cli.Option("--seconds", int, 10, 1),
    cli.Option("--warmup", int, 3, 1),
    cli.Option("--connections", int, 32, 4),
    cli.Option("--domain-changes", int, 20, 2),
    cli.Option("--envoy-concurrency", int, 1),
]
DOMAIN_EVERY = 5
_ADD = """INSERT INTO store_domains (store_id, domain, verification_token, verified_at)
          VALUES ($1, $2, 'bench', now())"""
_REMOVE = "DELETE FROM store_domains WHERE domain = $1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary_ms(values: list[float]) -> dict:
    return {
        "p50_ms": round(1000 * statistics.median(values), 1),
        "p99_ms": round(1000 * percentile(values, 0.99), 1),
        "max_ms": round(1000 * max(values), 1),
    }


def activate(edge_url: str, hosts: list[str], workers: int = 8) -> list[float]:
    """One first request per host (seconds each), `workers` at a time."""
    local = threading.local()

    def first_request(host: str) -> float:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=edge_url, timeout=30)
        started = time.perf_counter()
        r = local.http.get("/v1/products", headers={"host": host})
        elapsed = time.perf_counter() - started
        if r.status_code != 200:
            raise RuntimeError(f"{host}: {r.status_code} {r.text[:200]}")
        return elapsed

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(first_request, hosts))


async def domain_changes(
    dsn: str, http: httpx.Client, store_id: int, repeats: int, control: psutil.Process
) -> dict:
    """Seconds from commit to live (added) and to 404 (removed), measured at the edge, and the
    control plane's CPU seconds per change."""
    added, removed = [], []
    cpu_before = sum(control.cpu_times()[:2])
    async with connect(dsn) as conn:
        for _ in range(repeats):
            domain = f"shop-{uuid.uuid4().hex[:8]}.example.net"
            await conn.execute(_ADD, store_id, domain)
            added.append(await asyncio.to_thread(wait_routed, http, domain, True))
            await conn.execute(_REMOVE, domain)
            removed.append(await asyncio.to_thread(wait_routed, http, domain, False))
    cpu = sum(control.cpu_times()[:2]) - cpu_before
    return {
        "domain_added_live": summary_ms(added),
        "domain_removed_gone": summary_ms(removed),
        "control_plane_cpu_ms_per_change": round(1000 * cpu / (2 * repeats), 2),
    }


def churn(dsn: str, store_id: int, stop: threading.Event, every: float) -> int:
    """Adds and removes a domain of the store every `every` seconds: one route change each."""

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
    """Steady, then with a route change every second."""
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
    return steady.row(), {**pushing.row(), "route_changes": sum(pushes)}


def active_hosts(stores: int, active: int) -> list[str]:
    """Seeded hosts spread over the whole id range; every 5th store's custom domain instead
    of its subdomain, as a real mix would be."""
    step = max(1, stores // active)
    hosts = []
    for n in range(1, stores + 1, step)[:active]:
        if n % DOMAIN_EVERY == 0:
            hosts.append(f"www.seed-{n}.example.com")
        else:
            hosts.append(f"seed-{n}.myshop.localhost")
    return hosts


def run_phase(stores: int, mode: str, args) -> dict:
    platform = bench_stack(
        f"edge_{mode}_{stores}",
        SHOPFRONT,
        start=False,
        envoy_concurrency=args.envoy_concurrency,
        smoke=args.smoke,
        env={"EDGE_ROUTES": mode},
    )
    with platform as stack:
        dsn = admin_db(stack)
        seeded_s = insert_stores(dsn, stores, domain_every=DOMAIN_EVERY)
        started = time.monotonic()
        start_services(stack, SHOPFRONT)
        startup_s = time.monotonic() - started
        control = psutil.Process(stack.procs["store"].pid)
        envoy_idle = settled_rss_mb(stack.procs["envoy"].pid)
        hosts = active_hosts(stores, min(args.active, stores))
        cold = activate(stack.edge_url, hosts)
        again = activate(stack.edge_url, hosts[: min(len(hosts), 500)])
        with httpx.Client(base_url=stack.edge_url, timeout=30) as http:
            store = seed_store(http)
            lift_rate_limit(stack.edge_url, dsn, store)
            envoy_rss = settled_rss_mb(stack.procs["envoy"].pid)
            control_rss = control.memory_info().rss / 2**20
            changes = asyncio.run(domain_changes(dsn, http, store.id, args.domain_changes, control))
        url = f"{stack.edge_url}/v1/products/{HANDLE}"
        steady, pushing = storefront_load(url, dsn, store, args)
        load = psutil.getloadavg()

    return {
        "mode": mode,
        "stores": stores,
        "custom_domains": stores // DOMAIN_EVERY,
        "active_hosts": len(hosts),
        "seed_s": round(seeded_s, 1),
        "startup_until_envoy_ready_s": round(startup_s, 1),
        "first_request_cold": summary_ms(cold),
        "request_held": summary_ms(again),
        "envoy_rss_mb_idle": round(envoy_idle, 1),
        "envoy_rss_mb": round(envoy_rss, 1),
        "control_plane_rss_mb": round(control_rss, 1),
        **changes,
        "storefront_steady": steady,
        "storefront_during_changes": pushing,
        "load_average": [round(x, 2) for x in load],
    }


def compare(phases: list[dict]) -> dict:
    """Per mode: the largest phase's steady p99 over the smallest's; per store count: on-demand
    over full."""
    out: dict = {}
    for mode in MODES:
        of_mode = sorted((p for p in phases if p["mode"] == mode), key=lambda p: p["stores"])
        if len(of_mode) > 1:
            small, large = of_mode[0], of_mode[-1]
            out[f"{mode}_steady_p99_{large['stores']}_vs_{small['stores']}"] = report.ratio(
                large["storefront_steady"]["p99_ms"], small["storefront_steady"]["p99_ms"]
            )
    for p in phases:
        if p["mode"] != "on_demand":
            continue
        full = next((f for f in phases if f["mode"] == "full" and f["stores"] == p["stores"]), None)
        if full is not None:
            out[f"envoy_rss_on_demand_vs_full_{p['stores']}"] = report.ratio(
                p["envoy_rss_mb"], full["envoy_rss_mb"]
            )
            out[f"live_p50_on_demand_vs_full_{p['stores']}"] = report.ratio(
                p["domain_added_live"]["p50_ms"], full["domain_added_live"]["p50_ms"]
            )
    return out


def main() -> None:
    args = cli.parse(__doc__, OPTIONS)
    setup()
    ensure_tools("wrk")
    phases = []
    for count in args.stores:
        for mode in args.modes:
            if mode == "full" and count > args.full_max_stores:
                print(f"skipping full mode at {count} stores (--full-max-stores)", flush=True)
                continue
            print(f"edge, {mode}, {count} stores ...", flush=True)
            phases.append(run_phase(count, mode, args))
            print(json.dumps(phases[-1], indent=2), flush=True)

    comparison = compare(phases)
    p50_p99 = "{0[p50_ms]:>8.0f}/{0[p99_ms]:<7.0f}".format
    report.print_table(
        "Edge by store count and mode",
        [
            report.Column("mode", report.key("mode"), "<10"),
            report.Column("stores", report.key("stores"), ">9"),
            report.Column("envoy MB", report.key("envoy_rss_mb"), ">10.0f"),
            report.Column("cp MB", report.key("control_plane_rss_mb"), ">8.0f"),
            report.Column("cold p99", report.key("first_request_cold", "p99_ms"), ">10.1f"),
            report.Column("live p50/p99", lambda p: p50_p99(p["domain_added_live"]), ">17"),
            report.Column("gone p50/p99", lambda p: p50_p99(p["domain_removed_gone"]), ">17"),
            report.Column("cpu ms/chg", report.key("control_plane_cpu_ms_per_change"), ">12.2f"),
            report.Column("p99 ms", report.key("storefront_steady", "p99_ms"), ">8.2f"),
            report.Column("p99 chg", report.key("storefront_during_changes", "p99_ms"), ">9.2f"),
        ],
        phases,
    )
    print(f"\n{json.dumps(comparison)}")
    report.write(
        "edge-scale",
        "edge_scale",
        args,
        seeding="generate_series as superuser, triggers off, before services start;"
        f" every {DOMAIN_EVERY}th store has a verified custom domain; measured store via API",
        phases=phases,
        comparison=comparison,
    )


if __name__ == "__main__":
    main()
