"""What every store of the catalog_scale benchmark sells, and what shoppers ask of it."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import httpx

from bench.seeding import SeedProduct, SeedVariant

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


def store_catalog(store_id: int) -> list[SeedProduct]:
    """One store's products (deterministic per store, different across stores)."""
    rng = random.Random(store_id)
    products = []
    for j, noun in enumerate(NOUNS, 1):
        color, material = rng.choice(COLORS), rng.choice(MATERIALS)
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        base = rng.randrange(500, 20_000, 100)
        stock = [rng.choice((0, 0, 3, 10, 50)) for _ in SIZES]
        prices = [base + 500 * i for i in range(len(SIZES))]
        variants = [
            SeedVariant(uuid.UUID(int=rng.getrandbits(128), version=4), f"I{j}-{size}", size, p, q)
            for size, p, q in zip(SIZES, prices, stock, strict=True)
        ]
        products.append(
            SeedProduct(
                store_id,
                product_id,
                f"item-{j}",
                f"{color} {material} {noun}",
                f"A {material.lower()} {noun.lower()} in {color.lower()}, made to last."
                " Machine wash cold.",
                variants,
            )
        )
    return products


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
