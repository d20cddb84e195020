"""The per-product price range and availability that storefront sorts and filters read are kept
in step with the variants by the database itself, whichever path changes a variant."""

from __future__ import annotations

import asyncpg

from services.catalog.products.repository import CatalogRepository
from services.catalog.products.rules import MoneyInput, ProductDraft, VariantDraft
from services.common.db import tenant_transaction
from services.common.tenancy import current_store_id
from tests.integration.conftest import make_store


async def _summary(pool, store_id: int, product_id) -> tuple:
    async with tenant_transaction(pool, store_id=store_id) as conn:
        row = await conn.fetchrow(
            "SELECT min_price, max_price, available FROM products WHERE id = $1", product_id
        )
    return tuple(row)


async def test_summary_follows_variant_inserts_updates_and_deletes(app_pool):
    store_id = await make_store(app_pool)
    token = current_store_id.set(store_id)
    try:
        product = await CatalogRepository(app_pool).create_product(
            ProductDraft(
                title="Summary Tee",
                status="active",
                options=("Size",),
                variants=(
                    VariantDraft(price=MoneyInput(2500, ""), option_values=("S",)),
                    VariantDraft(
                        price=MoneyInput(1500, ""), inventory_quantity=4, option_values=("M",)
                    ),
                ),
            )
        )
    finally:
        current_store_id.reset(token)
    pid = product.id
    assert await _summary(app_pool, store_id, pid) == (1500, 2500, True)

    async def run(sql: str, *args) -> None:
        async with tenant_transaction(app_pool, store_id=store_id) as conn:
            await conn.execute(sql, *args)

    await run("UPDATE variants SET inventory_quantity = 0 WHERE product_id = $1", pid)
    assert await _summary(app_pool, store_id, pid) == (1500, 2500, False)
    await run(
        "UPDATE variants SET inventory_policy = 'continue' WHERE product_id = $1 AND price = 2500",
        pid,
    )
    assert await _summary(app_pool, store_id, pid) == (1500, 2500, True)
    await run("UPDATE variants SET price = 900 WHERE product_id = $1 AND price = 2500", pid)
    assert await _summary(app_pool, store_id, pid) == (900, 1500, True)
    await run("DELETE FROM variants WHERE product_id = $1 AND price = 900", pid)
    assert await _summary(app_pool, store_id, pid) == (1500, 1500, False)


async def test_stock_moves_that_keep_availability_do_not_rewrite_the_product(app_pool):
    """Checkout decrements must not lock or rewrite the product row on every sale."""
    store_id = await make_store(app_pool)
    token = current_store_id.set(store_id)
    try:
        product = await CatalogRepository(app_pool).create_product(
            ProductDraft(
                title="Busy Mug",
                status="active",
                variants=(VariantDraft(price=MoneyInput(900, ""), inventory_quantity=10),),
            )
        )
    finally:
        current_store_id.reset(token)
    async with tenant_transaction(app_pool, store_id=store_id) as conn:
        before = await conn.fetchval("SELECT xmin::text FROM products WHERE id = $1", product.id)
        await conn.execute(
            "UPDATE variants SET inventory_quantity = inventory_quantity - 1 WHERE product_id = $1",
            product.id,
        )
        after = await conn.fetchval("SELECT xmin::text FROM products WHERE id = $1", product.id)
    assert before == after


async def test_catalog_indexes_lead_with_store_id(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        rows = await conn.fetch(
            """SELECT i.indexrelid::regclass::text AS name, a.attname
               FROM pg_index i
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
               WHERE i.indrelid IN ('products'::regclass, 'variants'::regclass)"""
        )
    finally:
        await conn.close()
    names = {r["name"] for r in rows}
    assert {"products_storefront_price", "products_storefront_title"} <= names
    assert [r["name"] for r in rows if r["attname"] != "store_id"] == []
