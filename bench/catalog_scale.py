"""Storefront list / search / get-by-handle through Envoy with 1,000 vs 100,000 stores, every
store with the same catalog size (12 products x 2 variants: 2.4 million variants at 100k).

Does a shopper's request get slower because other tenants have data? Each store count gets
its own database and stack; REST calls (wrk) go to a random sample of 1,000 of its stores,
rotating requests: four list variants (sorts, price range, availability), seven searches (one a
typo that takes the similar-title fallback) and twelve handles. The stacks stay up side by side
and take turns for several rounds, so whatever else runs on the machine weighs on both alike;
the report gives the median of the rounds' req/s, p50 and p99 per endpoint, and large/small.

Seeding bypasses the API, as the admin (superuser) role: stores with bench.edge_scale's
generate_series helper, then products and variants with COPY, with session_replication_role =
replica (no per-row triggers or FK checks), so the per-product price range and availability
that the variants trigger would maintain are computed here; then VACUUM ANALYZE. It runs
before the services start, so the control plane loads every store in its start-up resync.
Every store is on the unlimited plan, so the per-store rate limit does not cap the run.
Run with `make bench` (or `python -m bench.catalog_scale --stores 1000`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench import catalog_one_store
from bench.edge_scale import seed_stores, wait_status
from bench.seeding import UNLIMITED_PLAN
from bench.tools import LoadResult, ensure_tools, wrk
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis
from devstack.migrate import drop_database, migrate
from devstack.stack import STATE_DIR, Stack

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench.catalog_scale")

PRODUCTS_PER_STORE = 12
SIZES = ("S", "M")  # one variant per size
COLORS = ("Blue", "Red", "Green", "Black", "White", "Grey", "Navy", "Olive")
MATERIALS = ("Cotton", "Wool", "Linen", "Leather", "Denim", "Silk", "Canvas", "Ceramic")
NOUNS = ("Shirt", "Sweater", "Jacket", "Tee", "Hoodie", "Scarf", "Cap", "Bag", "Mug", "Socks")
NOUNS += ("Dress", "Boots")
assert len(NOUNS) == PRODUCTS_PER_STORE

LIST_PATHS = (
    "/v1/products?page_size=12",
    "/v1/products?page_size=12&sort=PRODUCT_SORT_PRICE_ASC",
    "/v1/products?page_size=12&sort=PRODUCT_SORT_TITLE&available_only=true",
    "/v1/products?page_size=12&sort=PRODUCT_SORT_PRICE_DESC&min_price=1000&max_price=8000",
)
SEARCH_QUERIES = ("shirt", "blue", "wool sw", "leather jacket", "mug", "canvas b", "sweter")
SEARCH_PATHS = tuple(f"/v1/search?query={q.replace(' ', '%20')}" for q in SEARCH_QUERIES)
GET_PATHS = tuple(f"/v1/products/item-{j}" for j in range(1, PRODUCTS_PER_STORE + 1))
ENDPOINTS = {"list": LIST_PATHS, "search": SEARCH_PATHS, "get": GET_PATHS}

PRODUCT_COLUMNS = (
    "store_id",
    "id",
    "handle",
    "title",
    "description",
    "status",
    "options",
    "min_price",
    "max_price",
    "available",
)
VARIANT_COLUMNS = (
    "store_id",
    "id",
    "product_id",
    "position",
    "sku",
    "title",
    "price",
    "currency",
    "inventory_quantity",
    "inventory_policy",
    "options",
)


def store_catalog(store_id: int) -> tuple[list[tuple], list[tuple]]:
    """One store's products and variants (deterministic per store, different across stores)."""
    rng = random.Random(store_id)
    products, variants = [], []
    for j, noun in enumerate(NOUNS, 1):
        color, material = rng.choice(COLORS), rng.choice(MATERIALS)
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        base = rng.randrange(500, 20_000, 100)
        stock = [rng.choice((0, 0, 3, 10, 50)) for _ in SIZES]
        prices = [base + 500 * i for i in range(len(SIZES))]
        products.append(
            (
                store_id,
                product_id,
                f"item-{j}",
                f"{color} {material} {noun}",
                f"A {material.lower()} {noun.lower()} in {color.lower()}, made to last."
                " Machine wash cold.",
                "active",
                ["Size"],
                min(prices),
                max(prices),
                any(q > 0 for q in stock),
            )
        )
        for position, (size, price, qty) in enumerate(zip(SIZES, prices, stock, strict=True), 1):
            variants.append(
                (
                    store_id,
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    product_id,
                    position,
                    f"I{j}-{size}",
                    size,
                    price,
                    "USD",
                    qty,
                    "deny",
                    json.dumps([size]),
                )
            )
    return products, variants


async def seed_catalog(admin_db_dsn: str, chunk: int = 2000) -> dict:
    """COPY every store's catalog; returns row counts and seconds (COPY, then VACUUM ANALYZE)."""
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        # Superuser: RLS does not apply; replica: no per-row triggers and FK checks (the
        # summary columns the variants trigger maintains are in the rows already).
        await conn.execute("SET session_replication_role = replica")
        store_ids = [r["id"] for r in await conn.fetch("SELECT id FROM stores ORDER BY id")]
        started = time.monotonic()
        counts = {"products": 0, "variants": 0}
        for i in range(0, len(store_ids), chunk):
            products, variants = [], []
            for store_id in store_ids[i : i + chunk]:
                p, v = store_catalog(store_id)
                products += p
                variants += v
            await conn.copy_records_to_table("products", records=products, columns=PRODUCT_COLUMNS)
            await conn.copy_records_to_table("variants", records=variants, columns=VARIANT_COLUMNS)
            counts["products"] += len(products)
            counts["variants"] += len(variants)
            done = min(i + chunk, len(store_ids))
            if done == len(store_ids) or (i // chunk) % 10 == 9:
                print(
                    f"  catalog: {done}/{len(store_ids)} stores, {counts['variants']} variants,"
                    f" {time.monotonic() - started:.0f}s",
                    flush=True,
                )
        copy_s = time.monotonic() - started
        started = time.monotonic()
        # Statistics for the planner and a visibility map for index-only scans.
        await conn.execute("VACUUM ANALYZE products")
        await conn.execute("VACUUM ANALYZE variants")
        return {
            **counts,
            "copy_s": round(copy_s, 1),
            "vacuum_s": round(time.monotonic() - started, 1),
        }
    finally:
        await conn.close()


async def unlimited_plans(admin_db_dsn: str) -> None:
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        # Before the services start: no route push is needed (replica role: no NOTIFY per row).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE stores SET plan = $1", UNLIMITED_PLAN)
    finally:
        await conn.close()


async def sample_hosts(admin_db_dsn: str, platform_domain: str, count: int) -> list[str]:
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        rows = await conn.fetch("SELECT subdomain FROM stores ORDER BY random() LIMIT $1", count)
    finally:
        await conn.close()
    return [f"{r['subdomain']}.{platform_domain}" for r in rows]


def lua_script(directory: Path, name: str, hosts: list[str], paths: tuple[str, ...]) -> Path:
    """A wrk script whose requests rotate over the paths, each to a random sampled store."""

    def table(values) -> str:
        return "{" + ", ".join(json.dumps(v) for v in values) + "}"

    script = directory / f"{name}.lua"
    script.write_text(
        f"local hosts = {table(hosts)}\n"
        f"local paths = {table(paths)}\n"
        "local n = 0\n"
        # init() runs in each thread's own Lua state: seed each differently.
        "function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end\n"
        "function request()\n"
        "  n = n + 1\n"
        "  return wrk.format('GET', paths[(n % #paths) + 1],"
        " {['Host'] = hosts[math.random(#hosts)]})\n"
        "end\n"
    )
    return script


def check_endpoints(edge_url: str, host: str) -> None:
    """Each endpoint answers as expected before it is loaded."""
    with httpx.Client(base_url=edge_url, timeout=30) as http:
        for path in (*LIST_PATHS, *SEARCH_PATHS, *GET_PATHS):
            r = http.get(path, headers={"host": host})
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        listed = http.get(LIST_PATHS[0], headers={"host": host}).json()["products"]
        assert len(listed) == PRODUCTS_PER_STORE, listed
        found = http.get("/v1/search?query=sweter", headers={"host": host}).json()
        assert found.get("approximate") and found["products"], found


@dataclass
class Phase:
    """One store count: its own database and stack, seeded, up, and a sample of its hosts."""

    stores: int
    database: str
    stack: Stack
    info: dict = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    runs: dict[str, list[LoadResult]] = field(default_factory=dict)


def prepare(admin_dsn: str, redis_url: str, stores: int, args) -> Phase:
    database = f"shop_catalog_{stores}_{uuid.uuid4().hex[:6]}"
    phase = Phase(
        stores,
        database,
        Stack(
            pg_admin_dsn=admin_dsn,
            redis_url=redis_url,
            database=database,
            envoy_concurrency=args.envoy_concurrency,
            log_level="WARNING",
            run_dir=STATE_DIR / f"bench-catalog-{stores}",
        ),
    )
    try:
        _seed_and_start(phase, admin_dsn, args)
    except BaseException:
        # Nothing of a phase that never got going may outlive the run.
        phase.stack.stop()
        drop_database(admin_dsn, database)
        raise
    return phase


def _seed_and_start(phase: Phase, admin_dsn: str, args) -> None:
    stores, database = phase.stores, phase.database
    admin_db = with_database(admin_dsn, database)
    print(f"storefront catalog with {stores} stores ...", flush=True)
    migrate(admin_dsn, database)
    started = time.monotonic()
    asyncio.run(seed_stores(admin_db, stores))
    asyncio.run(unlimited_plans(admin_db))
    phase.info["seed_stores_s"] = round(time.monotonic() - started, 1)
    print(f"  {stores} stores in {phase.info['seed_stores_s']}s", flush=True)
    phase.info["seed_catalog"] = asyncio.run(seed_catalog(admin_db))
    started = time.monotonic()
    phase.stack.start()  # Envoy is ready only once it has the first route configuration
    phase.info["startup_until_envoy_ready_s"] = round(time.monotonic() - started, 1)
    print(f"  stack up in {phase.info['startup_until_envoy_ready_s']}s", flush=True)
    phase.hosts = asyncio.run(sample_hosts(admin_db, phase.stack.platform_domain, args.sample))
    with httpx.Client(base_url=phase.stack.edge_url, timeout=30) as http:
        wait_status(http, phase.hosts[0], True)
    check_endpoints(phase.stack.edge_url, phase.hosts[0])


def measure(phase: Phase, name: str, script: Path, args) -> LoadResult:
    def run(seconds: int) -> LoadResult:
        return wrk(
            f"{phase.stack.edge_url}/",
            phase.hosts[0],
            connections=args.connections,
            seconds=seconds,
            script=script,
        )

    run(args.warmup)
    result = run(args.seconds)
    phase.runs.setdefault(name, []).append(result)
    return result


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sample", type=int, default=1000, help="stores the load is spread over")
    parser.add_argument("--envoy-concurrency", type=int, default=1)
    parser.add_argument(
        "--one-store-products",
        type=int,
        nargs="*",
        default=[1000, 100_000],
        help="then one store of each size: search and collection pages (none: skip)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ensure_tools()
    admin_dsn = ensure_postgres(STATE_DIR)
    redis_url = ensure_redis(STATE_DIR / "redis")

    phases: list[Phase] = []
    try:
        for count in args.stores:
            phases.append(prepare(admin_dsn, redis_url, count, args))
        # Every stack stays up and the phases take turns, round after round: load from
        # elsewhere on the machine then falls on every store count alike.
        with tempfile.TemporaryDirectory() as tmp:
            for round_ in range(1, args.rounds + 1):
                for phase in phases:
                    for name, paths in ENDPOINTS.items():
                        script = lua_script(Path(tmp), f"{phase.stores}-{name}", phase.hosts, paths)
                        r = measure(phase, name, script, args)
                        print(
                            f"  round {round_}, {phase.stores} stores, {name}: {r.rps:.0f} req/s,"
                            f" p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, {r.errors} errors",
                            flush=True,
                        )
    finally:
        for phase in phases:
            phase.stack.stop()
            drop_database(admin_dsn, phase.database)

    results = [
        {
            "stores": p.stores,
            **p.info,
            "load": {name: summary(runs) for name, runs in p.runs.items()},
        }
        for p in phases
    ]
    print(
        f"\nStorefront through Envoy (REST, wrk), {args.connections} connections, {args.seconds}s"
        f" per endpoint and round, medians of {args.rounds} rounds, load spread over"
        f" {args.sample} random stores"
    )
    print(
        f"{'stores':>8}{'variants':>10}{'seed s':>8}  endpoint"
        f"{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    )
    for p in results:
        seed = p["seed_catalog"]
        seed_s = p["seed_stores_s"] + seed["copy_s"] + seed["vacuum_s"]
        for name, r in p["load"].items():
            print(
                f"{p['stores']:>8}{seed['variants']:>10}{seed_s:>8.0f}  {name:8}"
                f"{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            )
    comparison = {}
    if len(results) > 1:
        small, large = results[0]["load"], results[-1]["load"]
        comparison = {
            name: {
                "rps_ratio": round(large[name]["rps"] / small[name]["rps"], 3),
                "p50_ratio": round(large[name]["p50_ms"] / small[name]["p50_ms"], 3),
                "p99_ratio": round(large[name]["p99_ms"] / small[name]["p99_ms"], 3),
            }
            for name in ENDPOINTS
        }
        print(f"\nlarge/small: {json.dumps(comparison)}")

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"catalog-scale-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "catalog_scale",
                "at": stamp,
                "machine": {"cpus": os.cpu_count()},
                "settings": vars(args),
                "catalog": {
                    "products_per_store": PRODUCTS_PER_STORE,
                    "variants_per_product": len(SIZES),
                },
                "requests": {name: list(paths) for name, paths in ENDPOINTS.items()},
                "phases": results,
                "comparison": comparison,
            },
            indent=2,
        )
    )
    print(f"written {out}")
    if args.one_store_products:
        # One store growing instead of many stores: bench/catalog_one_store.py.
        catalog_one_store.main(["--products", *map(str, args.one_store_products)])


if __name__ == "__main__":
    main()
