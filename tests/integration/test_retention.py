"""The retention reaper against real PostgreSQL, as its own role: it deletes exactly the rows
past their period (every kind, every store), leaves the rest, counts what it deleted per table,
works in bounded batches, and its role can do nothing else."""

from __future__ import annotations

import dataclasses
import uuid

import asyncpg
import pytest

from devstack.dsn import REAPER_ROLE, with_user
from services.common.db import create_pool
from services.common.metrics import RETENTION_DELETED
from services.events.retention import DAY, KINDS, Reaper, RetentionConfig
from tests.integration.conftest import make_store

HOUR = 3600


@pytest.fixture
async def reaper_pool(database):
    pool = await create_pool(with_user(database.pg_admin_dsn, REAPER_ROLE, database.database), 2)
    yield pool
    await pool.close()


def config(batch: int = 2) -> RetentionConfig:
    return dataclasses.replace(RetentionConfig.from_env(), batch=batch)


async def seed(admin: asyncpg.Connection, store: int) -> dict[str, set[str]]:
    """Rows just past and just inside each default period (and never-expiring kinds of old
    rows), written as the admin with backdated times. Returns the keys that must survive."""
    keep: dict[str, set[str]] = {k: set() for k in ("checkouts", "processed", "deliveries",
                                                    "webhooks", "alerts", "emails")}  # fmt: skip

    async def checkout(key: str, state: str, age_hours: float) -> None:
        await admin.execute(
            """INSERT INTO checkouts (store_id, idempotency_key, fingerprint, state, lease_until,
                                      request, created_at, updated_at)
               VALUES ($1, $2, '\\x00', $3, now(), '{}', now() - make_interval(hours => $4),
                       now() - make_interval(hours => $4))""",
            store,
            key,
            state,
            age_hours,
        )

    await checkout("done-old", "completed", 25)
    await checkout("declined-old", "declined", 25)
    await checkout("refunded-old", "refunded", 25)
    await checkout("done-fresh", "completed", 23)
    # Not finished, however old: the recovery worker's, never the reaper's.
    await checkout("stuck-old", "requires_action", 100)
    await checkout("refunding-old", "refunding", 100)
    keep["checkouts"] = {"done-fresh", "stuck-old", "refunding-old"}

    for key, days in (("p-old", 15), ("p-fresh", 13)):
        await admin.execute(
            "INSERT INTO processed_events (store_id, consumer, event_key, processed_at)"
            " VALUES ($1, 'email', $2, now() - make_interval(days => $3))",
            store,
            key,
            days,
        )
    keep["processed"] = {"p-fresh"}

    live = await admin.fetchval(
        "INSERT INTO webhooks (store_id, topic, url, secret) VALUES ($1, 'orders/create',"
        " 'https://hooks.example.com/live', 's') RETURNING id",
        store,
    )
    gone_old = await admin.fetchval(
        "INSERT INTO webhooks (store_id, topic, url, secret, deleted_at) VALUES ($1,"
        " 'orders/create', 'https://hooks.example.com/old', 's', now() - interval '31 days')"
        " RETURNING id",
        store,
    )
    gone_fresh = await admin.fetchval(
        "INSERT INTO webhooks (store_id, topic, url, secret, deleted_at) VALUES ($1,"
        " 'orders/create', 'https://hooks.example.com/fresh', 's', now() - interval '29 days')"
        " RETURNING id",
        store,
    )
    keep["webhooks"] = {str(live), str(gone_fresh)}
    for key, status, days, webhook in (
        ("d-delivered-old", "delivered", 31, live),
        ("d-failed-old", "failed", 31, live),
        ("d-cancelled-old", "cancelled", 31, gone_fresh),
        ("d-delivered-fresh", "delivered", 29, live),
        ("d-pending-old", "pending", 40, live),  # still to be sent: never pruned
        ("d-of-old-tombstone", "cancelled", 29, gone_old),  # goes with its webhook
    ):
        delivery = await admin.fetchval(
            """INSERT INTO webhook_deliveries (store_id, webhook_id, event_key, topic, payload,
                                               status, created_at)
               VALUES ($1, $2, $3, 'orders/create', '{}', $4, now() - make_interval(days => $5))
               RETURNING id""",
            store,
            webhook,
            key,
            status,
            days,
        )
        await admin.execute(
            "INSERT INTO webhook_attempts (store_id, delivery_id, attempt, started_at,"
            " duration_ms) VALUES ($1, $2, 1, now(), 5)",
            store,
            delivery,
        )
    keep["deliveries"] = {"d-delivered-fresh", "d-pending-old"}

    for key, days in (("a-old", 91), ("a-fresh", 89)):
        await admin.execute(
            "INSERT INTO inventory_alerts (store_id, event_key, variant_id, quantity, threshold,"
            " created_at) VALUES ($1, $2, $3, 1, 5, now() - make_interval(days => $4))",
            store,
            key,
            uuid.uuid4(),
            days,
        )
        await admin.execute(
            "INSERT INTO sent_emails (store_id, message_id, recipient, subject, sent_at)"
            " VALUES ($1, $2, 'a@example.com', 'Hi', now() - make_interval(days => $3))",
            store,
            "m" + key[1:],
            days,
        )
    keep["alerts"] = {"a-fresh"}
    keep["emails"] = {"m-fresh"}
    return keep


async def remaining(admin: asyncpg.Connection, store: int) -> dict[str, set[str]]:
    async def keys(sql: str) -> set[str]:
        return {str(r[0]) for r in await admin.fetch(sql, store)}

    return {
        "checkouts": await keys("SELECT idempotency_key FROM checkouts WHERE store_id = $1"),
        "processed": await keys("SELECT event_key FROM processed_events WHERE store_id = $1"),
        "deliveries": await keys("SELECT event_key FROM webhook_deliveries WHERE store_id = $1"),
        "webhooks": await keys("SELECT id FROM webhooks WHERE store_id = $1"),
        "alerts": await keys("SELECT event_key FROM inventory_alerts WHERE store_id = $1"),
        "emails": await keys("SELECT message_id FROM sent_emails WHERE store_id = $1"),
    }


def deleted_so_far() -> dict[str, float]:
    return {k: RETENTION_DELETED.labels(k)._value.get() for k in KINDS}


async def test_reaper_deletes_exactly_what_is_past_retention_in_every_store(
    app_pool, reaper_pool, db_admin_dsn
):
    stores = [await make_store(app_pool), await make_store(app_pool)]
    admin = await asyncpg.connect(db_admin_dsn)
    try:
        keep = {store: await seed(admin, store) for store in stores}
        before = deleted_so_far()
        # Batches of 2 rows: several transactions per store for the kinds with 3 expired rows.
        await Reaper(reaper_pool, config(batch=2)).run_once()
        for store in stores:
            assert await remaining(admin, store) == keep[store]
            # Attempts left only with the deliveries that stayed.
            orphans = await admin.fetchval(
                "SELECT count(*) FROM webhook_attempts a WHERE store_id = $1 AND NOT EXISTS"
                " (SELECT 1 FROM webhook_deliveries d WHERE d.store_id = a.store_id"
                "  AND d.id = a.delivery_id)",
                store,
            )
            assert orphans == 0
            assert await admin.fetchval(
                "SELECT count(*) FROM webhook_attempts WHERE store_id = $1", store
            ) == len(keep[store]["deliveries"])
        # Counted per table (when the whole platform runs in this session, its relay's reaper
        # passed once at start, before these rows; tests/conftest.py keeps it from passing
        # again). Deliveries of a deleted webhook's
        # tombstone go with it and are not counted as deliveries.
        counted = {k: v - before[k] for k, v in deleted_so_far().items()}
        per_store = {"checkouts": 3, "processed_events": 1, "webhook_deliveries": 3,
                     "webhooks": 1, "inventory_alerts": 1, "sent_emails": 1}  # fmt: skip
        assert counted == {k: 2 * n for k, n in per_store.items()}
        again = deleted_so_far()
        await Reaper(reaper_pool, config()).run_once()
        assert deleted_so_far() == again
    finally:
        await admin.close()


async def test_reaper_role_can_only_do_its_deletes(database):
    conn = await asyncpg.connect(with_user(database.pg_admin_dsn, REAPER_ROLE, database.database))
    try:
        # Inside a store's tenant transaction (the tenant policy names the reaper since 0020b,
        # and an unset store fails at planning, before any privilege check).
        for sql in (
            "SELECT * FROM products",
            "SELECT request FROM checkouts",  # personal data: not its business
            "SELECT payload FROM webhook_deliveries",
            "DELETE FROM orders",
            "UPDATE checkouts SET state = 'failed'",
            "INSERT INTO processed_events (store_id, consumer, event_key) VALUES (1, 'x', 'y')",
            "SELECT * FROM platform.store_routes(NULL)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute("SET LOCAL app.current_store_id = '1'")
                    await conn.execute(sql)
        # Outside a tenant transaction it sees no store's rows at all (fails closed).
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("DELETE FROM sent_emails")
        with pytest.raises(asyncpg.InvalidParameterValueError):
            await conn.fetch("SELECT * FROM platform.stores_with_expired_rows('orders', 0, 0, 10)")
    finally:
        await conn.close()


def test_default_periods_are_the_documented_ones():
    periods = RetentionConfig.from_env().periods
    assert periods == {
        "checkouts": DAY,
        "processed_events": 14 * DAY,
        "webhook_deliveries": 30 * DAY,
        "webhooks": 30 * DAY,
        "inventory_alerts": 90 * DAY,
        "sent_emails": 90 * DAY,
    }
    assert HOUR * 24 == DAY
