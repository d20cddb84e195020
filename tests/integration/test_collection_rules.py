"""An automated collection's rules have two evaluations: collection_rules_match() (SQL, per
product, in the products trigger) and rules_condition() (one SQL condition, when rules change
and the whole store is re-sorted). Both must agree on every product."""

from __future__ import annotations

import itertools
import json

from services.catalog.collections.rules import Rule, rules_condition
from services.common.db import tenant_transaction
from tests.integration.conftest import make_store

PRODUCTS = [
    # title, tags, type, vendor, (min, max) price; None: no variants
    ("a", ["Sale", "new"], "Shirts", "Acme", (900, 1500)),
    ("b", ["sale"], "T-Shirts", "ACME Apparel", (5000, 5000)),
    ("c", [], "", "", None),
    ("d", ["winter"], "Coats", "Other", (100, 20000)),
    ("e", ["NEW"], "shirts", "acme", (4999, 5001)),
]
RULES = [
    Rule("tag", "equals", "sale"),
    Rule("tag", "not_equals", "new"),
    Rule("product_type", "equals", "shirts"),
    Rule("product_type", "not_equals", "coats"),
    Rule("product_type", "contains", "shirt"),
    Rule("vendor", "equals", "acme"),
    Rule("vendor", "contains", "acme"),
    Rule("vendor", "not_equals", ""),
    Rule("price", "greater_than", 4999),
    Rule("price", "less_than", 1000),
]


async def test_both_evaluations_of_the_rules_agree(app_pool):
    store = await make_store(app_pool)
    async with tenant_transaction(app_pool, store_id=store) as conn:
        for title, tags, kind, vendor, prices in PRODUCTS:
            await conn.execute(
                """INSERT INTO products (store_id, handle, title, status, tags, product_type,
                                         vendor, min_price, max_price)
                   VALUES ($1, $2, $2, 'active', $3, $4, $5, $6, $7)""",
                store,
                title,
                tags,
                kind,
                vendor,
                prices[0] if prices else None,
                prices[1] if prices else None,
            )
        checked = 0
        for size in (1, 2, 3):
            for combo in itertools.combinations(RULES, size):
                for disjunctive in (False, True):
                    condition, params = rules_condition(combo, disjunctive, 3)
                    by_condition = {
                        r["title"]
                        for r in await conn.fetch(
                            f"SELECT p.title FROM products p WHERE p.store_id = $1"
                            f" AND $2::int = 0 AND {condition}",
                            store,
                            0,
                            *params,
                        )
                    }
                    by_function = {
                        r["title"]
                        for r in await conn.fetch(
                            """SELECT p.title FROM products p WHERE p.store_id = $1
                               AND collection_rules_match($2::jsonb, $3, p.tags, p.product_type,
                                   p.vendor, p.min_price, p.max_price)""",
                            store,
                            json.dumps([r.as_json() for r in combo]),
                            disjunctive,
                        )
                    }
                    assert by_condition == by_function, (combo, disjunctive)
                    checked += 1
    assert checked > 300
