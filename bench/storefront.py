"""Storefront GetProductByHandle through Envoy, over REST (wrk) and gRPC (h2load).

Prints req/s, p50, p99 at 32 concurrent connections and the CPU time per request spent in
Envoy and in the Catalog service; writes JSON to bench/results/. Run with `make bench`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from shop.catalog.v1 import catalog_pb2

from bench.seeding import UNLIMITED_PLAN, set_plan, wait_rate_limit
from bench.tools import CpuMeter, LoadResult, ensure_tools, h2load_grpc, wrk
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis
from devstack.migrate import drop_database
from devstack.stack import STATE_DIR, Stack
from services.store.edge.rate_limits import PLANS

RESULTS = Path(__file__).resolve().parent / "results"
HANDLE = "bench-tee"


def seed(edge_url: str) -> str:
    subdomain = f"bench-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=edge_url, timeout=10) as http:
        r = http.post(
            "/v1/stores",
            headers={"host": "api.myshop.localhost"},
            json={
                "name": "Bench",
                "subdomain": subdomain,
                "owner_email": "bench@example.com",
                "currency": "USD",
            },
        )
        r.raise_for_status()
        host, token = r.json()["store"]["primary_domain"], r.json()["admin_token"]["token"]
        while http.get("/v1/products", headers={"host": host}).status_code == 404:
            time.sleep(0.05)
        r = http.post(
            "/v1/admin/products",
            headers={"host": host, "authorization": f"Bearer {token}"},
            json={
                "title": "Bench Tee",
                "handle": HANDLE,
                "status": "PRODUCT_STATUS_ACTIVE",
                "options": ["Size"],
                "variants": [
                    {
                        "sku": f"BT-{s}",
                        "price": {"amount_minor": 2500},
                        "inventory_quantity": 100,
                        "option_values": [s],
                    }
                    for s in ("XS", "S", "M", "L", "XL")
                ],
            },
        )
        r.raise_for_status()
        check = http.get(f"/v1/products/{HANDLE}", headers={"host": host})
        assert check.status_code == 200 and len(check.json()["variants"]) == 5, check.text
    return host


def measure(stack: Stack, run) -> tuple[LoadResult, dict[str, float]]:
    meters = {name: CpuMeter(stack.procs[name].pid) for name in ("envoy", "catalog")}
    for m in meters.values():
        m.start()
    result = run()
    cpu = {name: m.stop() for name, m in meters.items()}
    per_request = {
        f"{name}_cpu_ms_per_req": 1000 * s / max(result.requests, 1) for name, s in cpu.items()
    }
    return result, per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--envoy-concurrency", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ensure_tools()

    admin_dsn = ensure_postgres(STATE_DIR)
    database = f"shop_bench_{uuid.uuid4().hex[:6]}"
    stack = Stack(
        pg_admin_dsn=admin_dsn,
        redis_url=ensure_redis(STATE_DIR / "redis"),
        database=database,
        envoy_concurrency=args.envoy_concurrency,
        log_level="WARNING",
        run_dir=STATE_DIR / "bench",
    )
    rows = {}
    try:
        stack.start()
        host = seed(stack.edge_url)
        # The default plan's per-store rate limit would cap the run; lift it for this store.
        asyncio.run(
            set_plan(
                with_database(admin_dsn, database), UNLIMITED_PLAN, subdomain=host.split(".")[0]
            )
        )
        wait_rate_limit(stack.edge_url, host, PLANS[UNLIMITED_PLAN].burst)
        rest_url = f"{stack.edge_url}/v1/products/{HANDLE}"
        grpc_url = f"{stack.edge_url}/shop.catalog.v1.Storefront/GetProductByHandle"
        body = catalog_pb2.GetProductByHandleRequest(handle=HANDLE).SerializeToString()
        wrk(rest_url, host, connections=args.connections, seconds=3)  # warm-up
        runs = {
            "rest": lambda: wrk(rest_url, host, connections=args.connections, seconds=args.seconds),
            "grpc": lambda: h2load_grpc(
                grpc_url, host, body, connections=args.connections, seconds=args.seconds
            ),
        }
        for name, run in runs.items():
            result, cpu = measure(stack, run)
            rows[name] = {
                "rps": round(result.rps, 1),
                "p50_ms": round(result.p50_ms, 2),
                "p99_ms": round(result.p99_ms, 2),
                "requests": result.requests,
                "errors": result.errors,
                **{k: round(v, 3) for k, v in cpu.items()},
            }
    finally:
        stack.stop()
        drop_database(admin_dsn, database)

    print(
        f"\nGetProductByHandle (5 variants) through Envoy, {args.connections} connections, "
        f"{args.seconds}s each, Envoy --concurrency {args.envoy_concurrency}"
    )
    print(
        f"{'':6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'envoy CPU ms/req':>18}{'catalog CPU ms/req':>20}"
    )
    for name, r in rows.items():
        print(
            f"{name:6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['errors']:>8}"
            f"{r['envoy_cpu_ms_per_req']:>18.3f}{r['catalog_cpu_ms_per_req']:>20.3f}"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"storefront-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "storefront.GetProductByHandle",
                "at": stamp,
                "machine": {
                    "cpus": __import__("os").cpu_count(),
                    "python": platform.python_version(),
                },
                "settings": vars(args),
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
