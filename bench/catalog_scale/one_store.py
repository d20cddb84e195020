"""One store with 1,000 vs 100,000 products: storefront search and collection pages through
Envoy (REST, wrk) at 4 and 32 connections, p50/p99, plus the search SQL of before and after
migration 0014 on the same data (asyncpg, 4 concurrent tenant transactions).

Part of bench.catalog_scale: `python -m bench.catalog_scale.one_store` (in `make bench`;
`--smoke` for a tiny run, as tests/bench does).

The catalog is realistic in one way that matters for search: its vocabulary grows with it.
Titles are "<color> <material> <noun> <model>", the model a made-up word shared by about eight
products whatever the catalog size, so a model search matches the same few products in both
stores (`specific`), while color and material words match a fixed share of the catalog
(`broad`: 1/8 for "blue", ~1% for "leather jacket"), and `fuzzy` takes the typo fallback.
Seeding bypasses the API (COPY as the superuser, session_replication_role = replica, the
summary columns computed here), then the collections are created through the admin API, which
sorts the store's products into the automated one (its time is reported)."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from bench import cli, report
from bench.load import LoadResult, ensure_tools, wrk
from bench.seeding import insert_stores
from bench.stacks import SHOPFRONT, admin_db, bench_stack, setup, start_services

COLORS = ("Blue", "Red", "Green", "Black", "White", "Grey", "Navy", "Olive")
MATERIALS = ("Cotton", "Wool", "Linen", "Leather", "Denim", "Silk", "Canvas", "Ceramic")
NOUNS = ("Shirt", "Sweater", "Jacket", "Tee", "Hoodie", "Scarf", "Cap", "Bag", "Mug", "Socks")
NOUNS += ("Dress", "Boots")
TAGS = ("summer", "sale", "new", "basics", "gift")
SYLLABLES = "ka lo mi ra ve no ti sa du pe ro zi ba ne fu go li ma xo ye".split()


def model_name(i: int) -> str:
    """A made-up word per model number: 'Lomiq', 'Raveq', ... The final q appears nowhere
    else, so no model name is a prefix of another (the search's last word matches as a prefix:
    'lomi' would find every 'lomi...' model of a large catalog)."""
    parts, i = [], i + 21
    while i:
        parts.append(SYLLABLES[i % len(SYLLABLES)])
        i //= len(SYLLABLES)
    return "".join(parts).capitalize() + "q"


# Models 0..99 exist in both catalogs (1k products: 125 models; 100k: 12,500).
SPECIFIC = tuple(model_name(i) for i in (3, 17, 42, 64, 99))
QUERIES = {
    "specific": tuple(q.lower() for q in SPECIFIC),
    "broad": ("blue", "leather jacket", "wool sw", "canvas b"),
    "fuzzy": ("sweter", "jaket"),
}
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
    "tags",
    "product_type",
    "vendor",
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


def catalog(store_id: int, count: int) -> tuple[list[tuple], list[tuple]]:
    rng = random.Random(count)
    models = max(count // 8, 1)
    products, variants = [], []
    for j in range(count):
        color, material, noun = rng.choice(COLORS), rng.choice(MATERIALS), rng.choice(NOUNS)
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        base = rng.randrange(500, 20_000, 100)
        prices = [base, base + 500]
        stock = [rng.choice((0, 3, 10)) for _ in prices]
        products.append(
            (
                store_id,
                product_id,
                f"item-{j}",
                f"{color} {material} {noun} {model_name(rng.randrange(models))}",
                f"A {material.lower()} {noun.lower()} in {color.lower()}, made to last.",
                "active",
                ["Size"],
                min(prices),
                max(prices),
                any(q > 0 for q in stock),
                [rng.choice(TAGS)],
                noun,
                f"Vendor {j % 50}",
            )
        )
        for position, (size, price, qty) in enumerate(zip("SM", prices, stock, strict=True), 1):
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


async def seed(database: str, count: int) -> dict:
    """`count` products in the one store insert_stores made (COPY, no per-row triggers)."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("SET session_replication_role = replica")
        store_id = await conn.fetchval("SELECT id FROM stores")
        started = time.monotonic()
        products, variants = catalog(store_id, count)
        for i in range(0, len(products), 20_000):
            await conn.copy_records_to_table(
                "products", records=products[i : i + 20_000], columns=PRODUCT_COLUMNS
            )
        for i in range(0, len(variants), 40_000):
            await conn.copy_records_to_table(
                "variants", records=variants[i : i + 40_000], columns=VARIANT_COLUMNS
            )
        await conn.execute("VACUUM ANALYZE products")
        await conn.execute("VACUUM ANALYZE variants")
        subdomain = await conn.fetchval("SELECT subdomain FROM stores")
        return {"store_id": store_id, "subdomain": subdomain, "seed_s": time.monotonic() - started}
    finally:
        await conn.close()


def admin_token(database: str) -> str:
    """A token for the seeded store, inserted as the superuser (the seeder makes none)."""

    async def make() -> str:
        from services.store.tokens.rules import FIRST_TOKEN_SCOPES, hash_token, new_access_token

        token = new_access_token()
        conn = await asyncpg.connect(database)
        try:
            await conn.execute(
                """INSERT INTO api_tokens (store_id, name, token_hash, scopes)
                   SELECT id, 'bench', $1, $2 FROM stores""",
                hash_token(token),
                list(FIRST_TOKEN_SCOPES),
            )
        finally:
            await conn.close()
        return token

    return asyncio.run(make())


def make_collections(edge_url: str, host: str, token: str) -> dict:
    headers = {"host": host, "authorization": f"Bearer {token}"}
    with httpx.Client(base_url=edge_url, timeout=600) as http:
        started = time.monotonic()
        r = http.post(
            "/v1/admin/collections",
            headers=headers,
            json={
                "collection": {
                    "title": "On Sale",
                    "handle": "sale",
                    "kind": "COLLECTION_KIND_AUTOMATED",
                    "rules": [{"field": "tag", "relation": "equals", "value": "sale"}],
                }
            },
        )
        r.raise_for_status()
        automated_s = time.monotonic() - started
        ids = [
            p["id"]
            for p in http.get(
                "/v1/admin/products", headers=headers, params={"page_size": 100}
            ).json()["products"]
        ]
        http.post(
            "/v1/admin/collections",
            headers=headers,
            json={
                "collection": {
                    "title": "Staff Picks",
                    "handle": "picks",
                    "kind": "COLLECTION_KIND_MANUAL",
                    "product_ids": ids,
                }
            },
        ).raise_for_status()
    return {"create_automated_collection_s": round(automated_s, 2)}


ENDPOINTS = {
    **{
        f"search_{kind}": tuple(f"/v1/search?query={q.replace(' ', '%20')}" for q in queries)
        for kind, queries in QUERIES.items()
    },
    "collection": (
        "/v1/collections/sale?page_size=24",
        "/v1/collections/sale?page_size=24&sort=PRODUCT_SORT_PRICE_ASC",
        "/v1/collections/sale?page_size=24&sort=PRODUCT_SORT_TITLE&available_only=true",
        "/v1/collections/picks?page_size=24",
    ),
}


def lua(directory: Path, name: str, paths: tuple[str, ...]) -> Path:
    script = directory / f"{name}.lua"
    table = "{" + ", ".join(json.dumps(p) for p in paths) + "}"
    script.write_text(
        f"local paths = {table}\nlocal n = 0\n"
        "function request()\n  n = n + 1\n"
        "  return wrk.format('GET', paths[(n % #paths) + 1])\nend\n"
    )
    return script


# Today's search (before migration 0014), as services/catalog/storefront/queries.py ran it:
# every active product of the store tested and ranked. And the one this branch runs.
BEFORE_SQL = """
SELECT h.id, h.score FROM (
    SELECT p.id, ts_rank_cd('{0.1, 0.1, 0.4, 1.0}', p.search_vector, q.q)
                 + 0.3 * similarity(p.title, $2) AS score
    FROM products p, to_tsquery('simple', $1) AS q(q)
    WHERE p.status = 'active' AND p.search_vector @@ q.q) h
ORDER BY h.score DESC, h.id LIMIT 51"""
AFTER_SQL = """
SELECT h.id, h.score FROM search.product_matches(to_tsquery('simple', $1), $2, 500) h
ORDER BY h.score DESC, h.id LIMIT 51"""


def tsquery(text: str) -> str:
    words = [f"'{w}'" for w in text.split()]
    words[-1] += ":*"
    return " & ".join(words)


async def sql_latency(app_dsn: str, store_id: int, sql: str, queries: tuple[str, ...]) -> dict:
    from services.common.db import create_pool, tenant_transaction

    pool = await create_pool(app_dsn, 4)
    times: list[float] = []
    try:

        async def worker(offset: int) -> None:
            for i in range(60):
                q = queries[(i + offset) % len(queries)]
                started = time.perf_counter()
                async with tenant_transaction(pool, store_id=store_id, readonly=True) as conn:
                    await conn.fetch(sql, tsquery(q), q)
                times.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker(i) for i in range(4)))
    finally:
        await pool.close()
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
    }


OPTIONS = [
    cli.Option("--products", int, [1000, 100_000], [200, 2000], many=True),
    cli.Option("--connections", int, [4, 32], [4], many=True),
    cli.Option("--seconds", int, 8, 1),
    cli.Option("--warmup", int, 2, 1),
    cli.Option("--rounds", int, 1),
]


def measure(edge_url: str, host: str, script: Path, connections: int, args) -> dict:
    wrk(f"{edge_url}/", host, connections=connections, seconds=args.warmup, script=script)
    runs: list[LoadResult] = [
        wrk(f"{edge_url}/", host, connections=connections, seconds=args.seconds, script=script)
        for _ in range(args.rounds)
    ]
    return {
        "rps": round(statistics.median(r.rps for r in runs), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in runs), 2),
        "p99_ms": round(statistics.median(r.p99_ms for r in runs), 2),
        "errors": sum(r.errors for r in runs),
    }


def run_phase(count: int, args) -> dict:
    result: dict = {"products": count}
    with bench_stack(f"onestore{count}", SHOPFRONT, start=False, smoke=args.smoke) as stack:
        database = admin_db(stack)
        insert_stores(database, 1, unlimited=True)
        info = asyncio.run(seed(database, count))
        result["seed_s"] = round(info["seed_s"], 1)
        token = admin_token(database)
        start_services(stack, SHOPFRONT)
        host = f"{info['subdomain']}.{stack.platform_domain}"
        with httpx.Client(base_url=stack.edge_url, timeout=30) as http:
            deadline = time.monotonic() + 30
            while http.get("/v1/products", headers={"host": host}).status_code == 404:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{host} never became routable")
                time.sleep(0.1)
        result.update(make_collections(stack.edge_url, host, token))
        result["sql_search"] = {
            kind: {
                name: asyncio.run(sql_latency(stack.app_dsn, info["store_id"], sql, queries))
                for name, sql in (("before", BEFORE_SQL), ("after", AFTER_SQL))
            }
            for kind, queries in QUERIES.items()
            if kind != "fuzzy"
        }
        result["load"] = {}
        with (
            tempfile.TemporaryDirectory() as tmp,
            httpx.Client(base_url=stack.edge_url, timeout=30) as http,
        ):
            for name, paths in ENDPOINTS.items():
                for path in paths:
                    r = http.get(path, headers={"host": host})
                    if r.status_code != 200:
                        raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
                script = lua(Path(tmp), name, paths)
                for connections in args.connections:
                    row = measure(stack.edge_url, host, script, connections, args)
                    result["load"][f"{name}@{connections}"] = row
                    print(f"  {count} products, {name}@{connections}: {row}", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    args = cli.parse(__doc__, OPTIONS, argv)
    setup()
    ensure_tools("wrk")
    phases = [run_phase(n, args) for n in args.products]
    comparison = {}
    if len(phases) > 1:
        small, large = phases[0]["load"], phases[-1]["load"]
        keys = {"p50_ratio": "p50_ms", "p99_ratio": "p99_ms"}
        comparison = {name: report.ratios(large[name], small[name], keys) for name in small}
    rows = [
        {"products": p["products"], "endpoint": k, **r}
        for p in phases
        for k, r in p["load"].items()
    ]
    report.print_table(
        f"One store's storefront through Envoy (REST, wrk), {args.seconds}s per endpoint",
        [
            report.Column("products", report.key("products"), ">9"),
            report.Column("  endpoint@conns", lambda r: f"  {r['endpoint']:22}", "<24"),
            report.Column("req/s", report.key("rps"), ">8.0f"),
            report.Column("p50 ms", report.key("p50_ms"), ">9.2f"),
            report.Column("p99 ms", report.key("p99_ms"), ">9.2f"),
        ],
        rows,
    )
    print(f"\nlarge/small: {json.dumps(comparison)}")
    for p in phases:
        print(f"{p['products']} products, search SQL before/after: {json.dumps(p['sql_search'])}")
    report.write(
        "catalog-one-store",
        "catalog_one_store",
        args,
        requests={name: list(paths) for name, paths in ENDPOINTS.items()},
        phases=phases,
        comparison=comparison,
    )


if __name__ == "__main__":
    main()
