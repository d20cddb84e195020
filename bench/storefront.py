"""Storefront GetProductByHandle through Envoy, over REST (wrk) and gRPC (h2load), uncached and
from the edge cache, in the same run.

"rest" asks with `Cache-Control: no-cache`, so every request goes through the edge cache's
listener to the Catalog service (the uncached path, as a miss takes it); "rest_cached" is the
same anonymous read as shoppers send it, served by Envoy's cache (max-age=1: about one request
a second reaches the Catalog); "grpc" (POST) is never cached. Prints req/s, p50, p99 at 32
concurrent connections and the CPU time per request spent in Envoy and in the Catalog service,
the cached/uncached req/s ratio (target >= 5) and the cached p99 (target < 20 ms); writes JSON to
bench/results/. Run with `make bench`."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from shop.catalog.v1 import catalog_pb2

from bench import cli, report
from bench.cpu import CpuMeter, stack_processes
from bench.load import LoadResult, ensure_tools, h2load_grpc, wrk
from bench.seeding import HANDLE, lift_rate_limit, seed_store
from bench.stacks import SHOPFRONT, admin_db, bench_stack, setup
from devstack.stack import Stack

OPTIONS = [
    cli.Option("--seconds", int, 15, 1),
    cli.Option("--warmup", int, 3, 1),
    cli.Option("--connections", int, 32, 4),
    cli.Option("--envoy-concurrency", int, 1),
]
MEASURED = ("envoy", "catalog")


def measure(stack: Stack, run: Callable[[], LoadResult]) -> dict:
    meter = CpuMeter(stack_processes(stack, MEASURED))
    meter.start()
    result = run()
    cpu = meter.stop()
    return {
        **result.row(),
        "requests": result.requests,
        **{
            f"{name}_cpu_ms_per_req": round(1000 * cpu.get(name, 0.0) / max(result.requests, 1), 3)
            for name in MEASURED
        },
    }


def run(stack: Stack, args) -> dict[str, dict]:
    with httpx.Client(base_url=stack.edge_url, timeout=10) as http:
        store = seed_store(http)
    # The default plan's per-store rate limit would cap the run; lift it for this store.
    lift_rate_limit(stack.edge_url, admin_db(stack), store)
    rest_url = f"{stack.edge_url}/v1/products/{HANDLE}"
    grpc_url = f"{stack.edge_url}/shop.catalog.v1.Storefront/GetProductByHandle"
    body = catalog_pb2.GetProductByHandleRequest(handle=HANDLE).SerializeToString()
    c, s = args.connections, args.seconds
    uncached = {"cache-control": "no-cache"}
    wrk(rest_url, store.host, connections=c, seconds=args.warmup, headers=uncached)
    return {
        "rest": measure(
            stack,
            lambda: wrk(rest_url, store.host, connections=c, seconds=s, headers=uncached),
        ),
        "rest_cached": measure(stack, lambda: wrk(rest_url, store.host, connections=c, seconds=s)),
        "grpc": measure(
            stack, lambda: h2load_grpc(grpc_url, store.host, body, connections=c, seconds=s)
        ),
    }


def main() -> None:
    args = cli.parse(__doc__, OPTIONS)
    setup()
    ensure_tools("wrk", "h2load")
    with bench_stack(
        "storefront",
        SHOPFRONT,
        envoy_concurrency=args.envoy_concurrency,
        smoke=args.smoke,
        edge_cache=True,
    ) as stack:
        rows = run(stack, args)

    report.print_table(
        f"GetProductByHandle (5 variants) through Envoy, {args.connections} connections, "
        f"{args.seconds}s each, Envoy --concurrency {args.envoy_concurrency}",
        [
            report.Column("", lambda r: r["name"], "<12"),
            report.Column("req/s", report.key("rps"), ">10.0f"),
            report.Column("p50 ms", report.key("p50_ms"), ">9.2f"),
            report.Column("p99 ms", report.key("p99_ms"), ">9.2f"),
            report.Column("errors", report.key("errors"), ">8"),
            report.Column("envoy CPU ms/req", report.key("envoy_cpu_ms_per_req"), ">18.3f"),
            report.Column("catalog CPU ms/req", report.key("catalog_cpu_ms_per_req"), ">20.3f"),
        ],
        [{"name": name, **row} for name, row in rows.items()],
    )
    cached, uncached = rows["rest_cached"], rows["rest"]
    edge_cache = {
        "cached_over_uncached_rps": report.ratio(cached["rps"], uncached["rps"]),
        "cached_p99_ms": cached["p99_ms"],
        "targets": {"cached_over_uncached_rps": 5, "cached_p99_ms_below": 20},
    }
    print(
        f"edge cache: cached/uncached req/s = {edge_cache['cached_over_uncached_rps']}"
        f" (target >= 5), cached p99 {cached['p99_ms']:.2f} ms (target < 20)"
    )
    report.write(
        "storefront", "storefront.GetProductByHandle", args, results=rows, edge_cache=edge_cache
    )


if __name__ == "__main__":
    main()
