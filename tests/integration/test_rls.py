"""The database enforces tenancy on its own: roles, FORCE'd RLS on every tenant table, and
transaction-local store settings that never leak between pooled requests."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from services.catalog.products.repository import CatalogRepository
from services.catalog.products.rules import MoneyInput, ProductDraft, VariantDraft
from services.common.db import create_pool, tenant_transaction
from services.common.errors import NotFound
from services.common.tenancy import current_store_id
from tests.integration.conftest import make_store

SERVICE_ROLES = ("shop_app", "shop_control")


async def test_service_roles_are_not_superuser_owner_or_bypassrls(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        for role in (*SERVICE_ROLES, "shop_platform"):
            row = await conn.fetchrow(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                " WHERE rolname = $1",
                role,
            )
            assert row is not None, role
            assert not any(row.values()), f"{role}: {dict(row)}"
        owned = await conn.fetch(
            """SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"""
        )
        assert owned
        assert not [r for r in owned if r["owner"] in SERVICE_ROLES]
    finally:
        await conn.close()


async def test_every_tenant_table_forces_rls_with_a_policy(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        tables = await conn.fetch(
            """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                      (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                 AND (c.relname = 'stores' OR EXISTS (
                     SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                       AND a.attname = 'store_id' AND NOT a.attisdropped))"""
        )
        names = {t["relname"] for t in tables}
        assert {"stores", "store_domains", "api_tokens", "products", "variants"} <= names
        for t in tables:
            assert t["relrowsecurity"] and t["relforcerowsecurity"], t["relname"]
            assert t["policies"] >= 1, t["relname"]
        # store_id leads every primary key and unique constraint of tenant tables.
        keys = await conn.fetch(
            """SELECT conrelid::regclass::text AS tbl, conname,
                      (SELECT attname FROM pg_attribute WHERE attrelid = conrelid
                         AND attnum = conkey[1]) AS first_column
               FROM pg_constraint
               WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY($1::text[])""",
            sorted(names - {"stores", "store_domains", "api_tokens"}),
        )
        assert keys
        for k in keys:
            assert k["first_column"] == "store_id", dict(k)
    finally:
        await conn.close()


async def test_query_without_tenant_fails_closed(database):
    conn = await asyncpg.connect(database.app_dsn)
    try:
        with pytest.raises(asyncpg.PostgresError):
            await conn.fetch("SELECT * FROM products")
        # After a tenant transaction ends, the setting is empty, not the old store.
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_store_id', '1', true)")
        with pytest.raises(asyncpg.PostgresError):
            await conn.fetch("SELECT * FROM variants")
    finally:
        await conn.close()


async def test_service_roles_cannot_reach_around_their_grants(database):
    app = await asyncpg.connect(database.app_dsn)
    control = await asyncpg.connect(database.control_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.fetch("SELECT * FROM platform.store_routes(NULL)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await control.fetch("SELECT * FROM products")
        assert await control.fetchval("SELECT count(*) FROM platform.store_routes(NULL)") >= 0
    finally:
        await app.close()
        await control.close()


async def test_tenant_cannot_write_rows_for_another_store(app_pool):
    a, b = await make_store(app_pool), await make_store(app_pool)
    with pytest.raises(asyncpg.PostgresError):  # WITH CHECK refuses a foreign store_id
        async with tenant_transaction(app_pool, store_id=a) as conn:
            await conn.execute(
                "INSERT INTO products (store_id, handle, title) VALUES ($1, 'x', 'x')", b
            )


def _draft(title: str, handle: str) -> ProductDraft:
    return ProductDraft(
        title=title,
        handle=handle,
        status="active",
        variants=(VariantDraft(sku=f"{handle}-1", price=MoneyInput(100, "")),),
    )


async def test_pool_of_one_never_leaks_across_interleaved_cancelled_requests(database, app_pool):
    a, b = await make_store(app_pool), await make_store(app_pool)
    catalog_setup = CatalogRepository(app_pool)
    for store, title in ((a, "A-only"), (b, "B-only")):
        token = current_store_id.set(store)
        try:
            await catalog_setup.create_product(_draft(title, "same-handle"))
        finally:
            current_store_id.reset(token)

    pool = await create_pool(database.app_dsn, 1)
    catalog = CatalogRepository(pool)
    expected = {a: "A-only", b: "B-only"}
    rng = random.Random(1234)

    async def one(store: int) -> str:
        current_store_id.set(store)  # task-local: each task has its own context
        product = await catalog.active_product_by_handle("same-handle")
        return product.title

    try:
        served = cancelled = 0
        for batch in range(50):
            stores = [rng.choice((a, b)) for _ in range(20)]
            tasks = [asyncio.create_task(one(s)) for s in stores]
            await asyncio.sleep(0)
            for task in tasks:
                if rng.random() < 0.25:
                    # Cancel at varying points: waiting for the pool, mid-query, mid-commit.
                    asyncio.get_running_loop().call_later(rng.random() * 0.003, task.cancel)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for store, result in zip(stores, results, strict=True):
                if isinstance(result, asyncio.CancelledError):
                    cancelled += 1
                    continue
                assert not isinstance(result, BaseException), result
                assert result == expected[store], f"batch {batch}: store {store} saw {result}"
                served += 1
        assert served + cancelled == 1000
        assert served > 500 and cancelled > 0
    finally:
        await pool.close()


async def test_same_handle_and_sku_allowed_in_two_stores_but_not_visible_across(app_pool):
    a, b = await make_store(app_pool), await make_store(app_pool)
    catalog = CatalogRepository(app_pool)
    ids = {}
    for store in (a, b):
        token = current_store_id.set(store)
        try:
            ids[store] = (await catalog.create_product(_draft("Twin", "twin"))).id
        finally:
            current_store_id.reset(token)
    token = current_store_id.set(a)
    try:
        with pytest.raises(NotFound):
            await catalog.get_product(str(ids[b]))
        assert (await catalog.get_product(str(ids[a]))).variants[0].sku == "twin-1"
    finally:
        current_store_id.reset(token)


async def test_tenant_setting_rides_with_begin_and_dies_with_the_transaction(database):
    pool = await create_pool(database.app_dsn, 1)
    try:
        async with tenant_transaction(pool, store_id=42, isolation="serializable") as conn:
            assert await conn.fetchval("SELECT current_setting('app.current_store_id')") == "42"
            assert await conn.fetchval("SHOW transaction_isolation") == "serializable"
            async with conn.transaction():  # a savepoint inside still works
                assert await conn.fetchval("SELECT current_setting('app.current_store_id')") == "42"
        async with pool.acquire() as conn:  # same pooled connection, no transaction
            assert await conn.fetchval("SELECT current_setting('app.current_store_id', true)") == ""
        with pytest.raises(RuntimeError):
            async with tenant_transaction(pool, store_id=43) as conn:
                raise RuntimeError("rolled back")
        async with tenant_transaction(pool, store_id=44) as conn:
            assert await conn.fetchval("SELECT current_setting('app.current_store_id')") == "44"
    finally:
        await pool.close()


async def test_policies_have_no_subselects_and_name_their_roles(db_admin_dsn):
    """Citus refuses sub-selects in policies on distributed tables, and a policy for PUBLIC
    binds roles it was never meant for (the relay evaluated the tenant qual on the workers)."""
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        policies = await conn.fetch(
            """SELECT schemaname, tablename, policyname, roles::text[] AS roles,
                      coalesce(qual, '') AS qual, coalesce(with_check, '') AS with_check
               FROM pg_policies"""
        )
        assert len(policies) > 20
        for p in policies:
            where = f"{p['tablename']}.{p['policyname']}"
            assert "public" not in p["roles"], f"{where} applies to every role"
            for expr in (p["qual"], p["with_check"]):
                assert "select" not in expr.lower(), f"{where} has a sub-select: {expr}"
        tenant = [p for p in policies if p["policyname"] == "tenant_isolation"]
        tables = await conn.fetch(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                 AND (c.relname = 'stores' OR EXISTS (
                     SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                       AND a.attname = 'store_id' AND NOT a.attisdropped))"""
        )
        assert {p["tablename"] for p in tenant} == {t["relname"] for t in tables}
        for p in tenant:
            assert sorted(p["roles"]) == ["shop_app", "shop_eraser", "shop_reaper"], p["tablename"]
            column = "id" if p["tablename"] == "stores" else "store_id"
            expected = f"({column} = (current_setting('app.current_store_id'::text))::bigint)"
            assert p["qual"] == expected == p["with_check"], p["tablename"]
    finally:
        await conn.close()


async def test_security_definer_owners_can_log_in(db_admin_dsn):
    """On Citus a SECURITY DEFINER function's distributed statements run on the workers as
    its owner, over a new connection: an owner that cannot log in makes them fail there."""
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        owners = await conn.fetch(
            """SELECT p.oid::regprocedure::text AS fn, r.rolname, r.rolcanlogin
               FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
               JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')"""
        )
        assert owners
        assert not [dict(o) for o in owners if not o["rolcanlogin"]]
    finally:
        await conn.close()


async def test_tenant_setting_is_a_set_local_sent_with_begin(stack):
    """SET LOCAL (which Citus propagates to the workers), in the same round trip as BEGIN."""
    pool = await create_pool(stack.app_dsn, 1)
    sent: list[str] = []
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
        async with tenant_transaction(pool, store_id=42) as conn:
            await conn.fetchval("SELECT current_setting('app.current_store_id')")
        begins = [q for q in sent if q.startswith("BEGIN")]
        expected = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL app.current_store_id = '42';"
        assert begins == [expected], sent
        assert sent.index(begins[0]) == 0  # nothing before it: one round trip opens the store
        with pytest.raises(ValueError):
            async with tenant_transaction(pool, store_id=0):
                pass
    finally:
        await pool.close()
