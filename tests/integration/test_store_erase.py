"""The erase job against the real database: its role may empty every table with a store_id and
nothing else; it follows the schema's foreign keys; it deletes in bounded batches; a crash half
way is finished by the next pass; another store's rows are never touched."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
import redis.asyncio as redis

from devstack.dsn import ERASER_ROLE, OPS_ROLE, with_user
from services.common.db import create_pool, tenant_transaction
from services.common.store_keys import cart_key
from services.store.lifecycle.erase import StoreEraser
from services.store.lifecycle.erase_rules import PLATFORM_TABLES, erase_order
from tests.e2e.lifecycle_support import rows_of_store, tables_with_store_id
from tests.integration.conftest import make_store


@pytest.fixture
async def eraser_pool(database):
    pool = await create_pool(with_user(database.pg_admin_dsn, ERASER_ROLE, database.database), 2)
    yield pool
    await pool.close()


@pytest.fixture
async def cache(database):
    client = redis.from_url(database.redis_url)
    yield client
    await client.aclose()


async def test_eraser_may_empty_every_store_table_and_nothing_else(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        for table in [*await tables_with_store_id(conn), "stores"]:
            for privilege in ("SELECT", "DELETE"):
                assert await conn.fetchval(
                    "SELECT has_table_privilege($1, $2, $3)", ERASER_ROLE, table, privilege
                ), f"{ERASER_ROLE} lacks {privilege} on {table}: GRANT it in the migration"
        for table in ("operator_audit", "operator_credentials"):
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                assert not await conn.fetchval(
                    "SELECT has_table_privilege($1, $2, $3)", ERASER_ROLE, table, privilege
                )
        for role in (ERASER_ROLE, OPS_ROLE):
            row = await conn.fetchrow(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                " WHERE rolname = $1",
                role,
            )
            assert row is not None and not any(row.values()), role
        # The operator API's role changes stores only inside a tenant transaction.
        assert not await conn.fetchval(
            "SELECT has_table_privilege($1, 'stores', 'DELETE')", OPS_ROLE
        )
        assert not await conn.fetchval(
            "SELECT has_table_privilege($1, 'products', 'SELECT')", OPS_ROLE
        )
    finally:
        await conn.close()


async def test_erase_order_follows_the_foreign_keys(eraser_pool, cache, db_admin_dsn):
    eraser = StoreEraser(
        eraser_pool, cache, "myshop.localhost", interval=60, batch=2, redact_wait=0
    )
    ordered = [t.name for t in erase_order(await eraser.tables())]
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        assert set(ordered) == set(await tables_with_store_id(conn))
        references = await conn.fetch(
            """SELECT c.relname AS child, p.relname AS parent FROM pg_constraint f
               JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid
               WHERE f.contype = 'f' AND c.oid <> p.oid"""
        )
    finally:
        await conn.close()
    position = {name: i for i, name in enumerate(ordered)}
    checked = 0
    for ref in references:
        if ref["child"] in position and ref["parent"] in position:
            assert position[ref["child"]] < position[ref["parent"]], dict(ref)
            checked += 1
    assert checked >= 5
    assert set(ordered[-len(PLATFORM_TABLES) :]) == PLATFORM_TABLES


async def _fill(database, app_pool, cache, store_id: int) -> None:
    """Rows in many of the store's tables, written as the services write them."""
    async with tenant_transaction(app_pool, store_id=store_id) as conn:
        for i in range(5):
            product = await conn.fetchval(
                """INSERT INTO products (store_id, handle, title, status)
                   VALUES ($1, $2, 'P', 'active') RETURNING id""",
                store_id,
                f"p-{i}",
            )
            await conn.execute(
                """INSERT INTO variants (store_id, product_id, position, sku, title, price,
                                         currency)
                   VALUES ($1, $2, 1, $3, 'Default Title', 100, 'USD')""",
                store_id,
                product,
                f"SKU-{i}",
            )
        webhook = await conn.fetchval(
            """INSERT INTO webhooks (store_id, topic, url, secret)
               VALUES ($1, 'orders/create', 'https://hooks.example.com/x', 's') RETURNING id""",
            store_id,
        )
        delivery = await conn.fetchval(
            """INSERT INTO webhook_deliveries (store_id, webhook_id, event_key, topic, payload,
                                               status)
               VALUES ($1, $2, 'k', 'orders/create', '{}', 'delivered') RETURNING id""",
            store_id,
            webhook,
        )
        await conn.execute(
            """INSERT INTO webhook_attempts (store_id, delivery_id, attempt, started_at,
                                             duration_ms, response_code)
               VALUES ($1, $2, 1, now(), 5, 200)""",
            store_id,
            delivery,
        )
        await conn.execute(
            """INSERT INTO store_domains (store_id, domain, verification_token)
               VALUES ($1, $2, 't')""",
            store_id,
            f"shop-{store_id}.erase.example",
        )
        await conn.execute(
            """INSERT INTO store_confirmations (store_id, purpose, token_hash, requested_at,
                                                expires_at)
               VALUES ($1, 'close_store', '\\x00', now(), now())""",
            store_id,
        )
        # Already published, so the live relay and consumers leave them (and the counts) be.
        for key in ("a", "b", "c"):
            await conn.execute(
                """INSERT INTO outbox (store_id, event_type, exchange, routing_key,
                                       idempotency_key, payload, published_at)
                   VALUES ($1, 'inventory.low', 'inventory.events', 'inventory.low.x', $2,
                           '{}', now())""",
                store_id,
                key,
            )
        await conn.execute(
            """INSERT INTO processed_events (store_id, consumer, event_key)
               VALUES ($1, 'webhook', 'a')""",
            store_id,
        )
    await cache.set(cart_key(store_id, str(uuid.uuid4())), "{}", ex=600)


async def _close_for_erasure(db_admin_dsn, store_id: int) -> None:
    """Closed, erasure under way, grace not over: the service's own erase job leaves it be
    (not due), so this test drives the erasure itself."""
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        await conn.execute(
            """UPDATE stores SET status = 'closed', closed_at = now(),
                      erase_after = now() + interval '1 hour', erase_started_at = now()
               WHERE id = $1""",
            store_id,
        )
    finally:
        await conn.close()


class _Crash(Exception):
    pass


class CrashingEraser(StoreEraser):
    """Dies when it reaches one table, as a killed process would."""

    def __init__(self, *args, crash_at: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._crash_at = crash_at

    async def _drain(self, store_id, table):
        if table.name == self._crash_at:
            raise _Crash(table.name)
        return await super()._drain(store_id, table)


class CountingPool:
    """The eraser's pool, recording each DELETE batch: (table, rows)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.batches: list[tuple[str, int]] = []

    def __getattr__(self, name):
        return getattr(self._pool, name)

    def acquire(self):
        outer = self

        class _Acquired:
            async def __aenter__(self):
                self._cm = outer._pool.acquire()
                conn = await self._cm.__aenter__()
                return _Conn(conn, outer.batches)

            async def __aexit__(self, *exc):
                return await self._cm.__aexit__(*exc)

        return _Acquired()


class _Conn:
    def __init__(self, conn, batches) -> None:
        self._conn = conn
        self._batches = batches

    def __getattr__(self, name):
        return getattr(self._conn, name)

    async def fetch(self, query, *args):
        rows = await self._conn.fetch(query, *args)
        if query.startswith("DELETE FROM"):
            self._batches.append((query.split('"')[1], len(rows)))
        return rows


async def test_a_crashed_erase_is_finished_by_the_next_pass_and_spares_other_stores(
    database, app_pool, eraser_pool, cache, db_admin_dsn
):
    doomed, neighbour = await make_store(app_pool), await make_store(app_pool)
    for store in (doomed, neighbour):
        await _fill(database, app_pool, cache, store)
    neighbour_rows = await rows_of_store(database, neighbour)
    neighbour_carts = [k async for k in cache.scan_iter(match=f"cart:{neighbour}:*")]
    assert neighbour_carts
    await _close_for_erasure(db_admin_dsn, doomed)

    crashing = CrashingEraser(
        eraser_pool,
        cache,
        "myshop.localhost",
        interval=60,
        batch=2,
        redact_wait=0,
        crash_at="products",
    )
    with pytest.raises(_Crash):
        await crashing.erase(doomed)
    halfway = await rows_of_store(database, doomed)
    # The variants went before the crash (children first); products and the store did not.
    assert (halfway["variants"], halfway["products"], halfway["stores"]) == (0, 5, 1)

    counting = CountingPool(eraser_pool)
    eraser = StoreEraser(counting, cache, "myshop.localhost", interval=60, batch=2, redact_wait=0)
    assert await eraser.erase(doomed)
    assert not any((await rows_of_store(database, doomed)).values())
    assert [k async for k in cache.scan_iter(match=f"cart:{doomed}:*")] == []
    # Bounded batches: never more than the batch size per statement, several for 5 products.
    assert all(rows <= 2 for _, rows in counting.batches)
    assert [rows for table, rows in counting.batches if table == "products"] == [2, 2, 1]
    # The neighbour kept every row and key.
    assert await rows_of_store(database, neighbour) == neighbour_rows
    assert [k async for k in cache.scan_iter(match=f"cart:{neighbour}:*")] == neighbour_carts
    # Erasing what is gone is a no-op.
    assert await eraser.erase(doomed)
