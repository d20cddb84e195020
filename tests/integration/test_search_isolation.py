"""The search functions (SECURITY DEFINER, migration 0014) read across the RLS policy, so
they must confine themselves: only the transaction's store, only active products, and
nothing at all without a store."""

from __future__ import annotations

import asyncpg
import pytest

from services.common.db import tenant_transaction
from tests.integration.conftest import make_store


async def _add(conn: asyncpg.Connection, store_id: int, title: str, status: str = "active"):
    await conn.execute(
        """INSERT INTO products (store_id, handle, title, status)
           VALUES ($1, lower(replace($2, ' ', '-')), $2, $3)""",
        store_id,
        title,
        status,
    )


async def _hits(pool, store_id: int, query: str) -> set[str]:
    async with tenant_transaction(pool, store_id=store_id, readonly=True) as conn:
        exact = await conn.fetch(
            """SELECT p.title FROM search.product_matches(to_tsquery('simple', $1), $2, 500) m
               JOIN products p ON p.store_id = $3 AND p.id = m.id""",
            f"'{query}'",
            query,
            store_id,
        )
        fuzzy = await conn.fetch(
            """SELECT m.id FROM search.similar_titles($1, 500) m""",
            query + "x",
        )
        # Ids only (no join): what the function itself returns must already be this store's.
        raw = await conn.fetch(
            "SELECT m.id FROM search.product_matches(to_tsquery('simple', $1), $2, 500) m",
            f"'{query}'",
            query,
        )
        own = {
            r["id"]
            for r in await conn.fetch("SELECT id FROM products WHERE store_id = $1", store_id)
        }
    assert {r["id"] for r in raw} <= own
    assert {r["id"] for r in fuzzy} <= own
    return {r["title"] for r in exact}


async def test_search_functions_return_only_the_transactions_store(app_pool):
    a, b = await make_store(app_pool), await make_store(app_pool)
    async with tenant_transaction(app_pool, store_id=b) as conn:
        await _add(conn, b, "Zebrawood Chair")
        await _add(conn, b, "Zebrawood Table")
    async with tenant_transaction(app_pool, store_id=a) as conn:
        await _add(conn, a, "Oak Chair")
        await _add(conn, a, "Zebrawood Draft", status="draft")
    assert await _hits(app_pool, a, "zebrawood") == set()
    assert await _hits(app_pool, a, "chair") == {"Oak Chair"}
    assert await _hits(app_pool, b, "zebrawood") == {"Zebrawood Chair", "Zebrawood Table"}


async def test_search_functions_fail_closed_without_a_store(app_pool):
    async with app_pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError):
            await conn.fetch(
                "SELECT * FROM search.product_matches(to_tsquery('simple', 'chair'), 'chair', 5)"
            )


async def test_only_the_service_role_may_call_them_and_the_owner_role_only_reads(db_admin_dsn):
    # The owner may log in since 0020: on Citus the functions' statements run on the workers
    # as their owner, over a connection of its own. It still cannot bypass RLS or write.
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        row = await conn.fetchrow(
            """SELECT r.rolcanlogin, r.rolbypassrls, r.rolsuper,
                      has_function_privilege('shop_control',
                          'search.product_matches(tsquery, text, integer)', 'EXECUTE') AS control,
                      has_function_privilege('shop_app',
                          'search.product_matches(tsquery, text, integer)', 'EXECUTE') AS app,
                      has_table_privilege('shop_search', 'products', 'UPDATE') AS writes,
                      has_column_privilege('shop_search', 'products', 'description', 'SELECT')
                          AS reads_description
               FROM pg_roles r WHERE r.rolname = 'shop_search'"""
        )
    finally:
        await conn.close()
    assert dict(row) == {
        "rolcanlogin": True,
        "rolbypassrls": False,
        "rolsuper": False,
        "control": False,
        "app": True,
        "writes": False,
        "reads_description": False,
    }
