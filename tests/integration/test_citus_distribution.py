"""The distribution step (0020c) on plain PostgreSQL: its plan names every table keyed by
store (reference tables where uniqueness and lookups are platform-wide, everything else
co-located with products), it changes nothing without `shop.citus = on`, and with the setting
but no Citus it refuses loudly instead of leaving a half-distributed schema."""

from __future__ import annotations

import asyncpg
import pytest

REFERENCE = {"stores", "store_domains", "api_tokens"}


async def test_plan_covers_every_store_keyed_table(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        plan = await conn.fetch(
            "SELECT table_name::text AS t, kind, colocate_with FROM citus_distribution_plan()"
        )
        keyed = {
            r["relname"]
            for r in await conn.fetch(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                     AND (c.relname = 'stores' OR EXISTS (
                         SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                           AND a.attname = 'store_id' AND NOT a.attisdropped))"""
            )
        }
    finally:
        await conn.close()
    assert {r["t"] for r in plan} == keyed
    assert {r["t"] for r in plan if r["kind"] == "reference"} == REFERENCE
    assert [r["t"] for r in plan][:4] == ["stores", "api_tokens", "store_domains", "products"]
    for r in plan:
        if r["kind"] == "distributed" and r["t"] != "products":
            assert r["colocate_with"] == "products", r["t"]
    assert "operator_audit" not in keyed and "operator_credentials" not in keyed


async def _foreign_keys(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT conrelid::regclass::text || '.' || conname || ' ' || pg_get_constraintdef(oid)"
        " AS k FROM pg_constraint WHERE contype = 'f' ORDER BY 1"
    )
    return [r["k"] for r in rows]


async def test_step_is_a_no_op_without_the_setting(owner_dsn):
    conn = await asyncpg.connect(owner_dsn)
    try:
        before = await _foreign_keys(conn)
        triggers = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'outbox_notify'"
        )
        await conn.execute("SELECT distribute_for_citus()")
        assert await _foreign_keys(conn) == before
        assert len(before) > 20
        assert triggers == 1
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname = 'outbox_notify'")
            == 1
        )
    finally:
        await conn.close()


async def test_step_with_the_setting_but_no_citus_refuses_and_changes_nothing(owner_dsn):
    conn = await asyncpg.connect(owner_dsn)
    try:
        before = await _foreign_keys(conn)
        with pytest.raises(asyncpg.RaiseError, match="citus extension is not installed"):
            async with conn.transaction():
                await conn.execute("SET LOCAL shop.citus = 'on'")
                await conn.execute("SELECT distribute_for_citus()")
        assert await _foreign_keys(conn) == before
    finally:
        await conn.close()


async def test_functions_and_triggers_citus_could_not_run_are_replaced(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        # An SQL function with parameters could not be planned as a distributed statement.
        language = await conn.fetchval(
            """SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
               WHERE p.proname = 'refresh_product_summary'"""
        )
        # On a shard TG_TABLE_NAME is "stores_102008": the column is the trigger's argument.
        routes = await conn.fetch(
            """SELECT tgname, tgnargs, encode(tgargs, 'escape') AS args FROM pg_trigger
               WHERE tgfoid = 'notify_store_routes'::regproc ORDER BY tgname"""
        )
        # The cross-store claims are gone; the stores with work are listed instead.
        claims = await conn.fetchval(
            """SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'platform' AND p.proname LIKE 'claim\\_%'"""
        )
    finally:
        await conn.close()
    assert language == "plpgsql"
    assert [(r["tgname"], r["tgnargs"], r["args"]) for r in routes] == [
        ("store_domains_notify_routes", 1, "store_id\\000"),
        ("store_domains_notify_routes_update", 1, "store_id\\000"),
        ("stores_notify_routes", 1, "id\\000"),
    ]
    assert claims == 0
