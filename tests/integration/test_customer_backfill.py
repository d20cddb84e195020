"""Migration 0013 on a database that already has orders: each store's orders get one customer
per email (case-insensitive), with exact totals, as the owner role under FORCE RLS."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from devstack.dsn import OWNER_ROLE, with_database, with_user
from devstack.migrate import MIGRATIONS, bootstrap_database, drop_database

BEFORE = "0011a__refunds_disputes"


def _apply(owner_dsn: str, *, upto: str | None) -> None:
    backend = get_backend(owner_dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    migrations = read_migrations(str(MIGRATIONS))
    with backend.lock():
        pending = backend.to_apply(migrations)
        if upto is not None:
            ids = [m.id for m in pending]
            pending = pending[: ids.index(upto) + 1]
        backend.apply_migrations(pending)


def _order(conn, store: int, number: int, email: str, total: int, refunded: int, status: str):
    checkout = uuid.uuid4()
    conn.execute(
        """INSERT INTO checkouts (store_id, id, idempotency_key, fingerprint, state, lease_until,
                                  request)
           VALUES (%s, %s, %s, '\\x00', 'completed', now(), '{}')""",
        [store, checkout, f"k{number}"],
    )
    conn.execute(
        """INSERT INTO orders (store_id, number, checkout_id, status, email, currency, total,
                               refunded, shipping_address, billing_address, payment_intent_id)
           VALUES (%s, %s, %s, %s, %s, 'USD', %s, %s, %s, '{}', %s)""",
        [
            store,
            number,
            checkout,
            status,
            email,
            total,
            refunded,
            json.dumps({"name": f"Ada {number}", "city": "X"}),
            f"pi_{number}",
        ],
    )


@pytest.fixture
def old_database(pg_admin_dsn):
    database = f"shop_backfill_{uuid.uuid4().hex[:8]}"
    bootstrap_database(pg_admin_dsn, database)
    yield database
    drop_database(pg_admin_dsn, database)


def test_existing_orders_get_their_customers(pg_admin_dsn, old_database):
    owner = with_user(pg_admin_dsn, OWNER_ROLE, old_database)
    _apply(owner, upto=BEFORE)
    with psycopg.connect(with_database(pg_admin_dsn, old_database), autocommit=True) as conn:
        stores = [
            conn.execute(
                """INSERT INTO stores (name, subdomain, owner_email, currency)
                   VALUES ('S', %s, 'o@example.com', 'USD') RETURNING id""",
                [f"old-{uuid.uuid4().hex[:8]}"],
            ).fetchone()[0]
            for _ in range(2)
        ]
        a, b = stores
        _order(conn, a, 1001, "Ada@Example.com", 1000, 0, "paid")
        _order(conn, a, 1002, "ada@example.com", 2500, 500, "partially_refunded")
        _order(conn, a, 1003, "ada@example.com", 4000, 4000, "cancelled")
        _order(conn, a, 1004, "bob@example.com", 700, 0, "paid")
        _order(conn, a, 1005, "no-at-sign", 100, 0, "paid")
        _order(conn, b, 1001, "ada@example.com", 900, 0, "paid")

    _apply(owner, upto=None)

    with psycopg.connect(with_database(pg_admin_dsn, old_database)) as conn:
        rows = conn.execute(
            """SELECT store_id, lower(email), orders_count, total_spent, name,
                      default_address ->> 'city'
               FROM customers ORDER BY store_id, lower(email)"""
        ).fetchall()
        assert rows == [
            (a, "ada@example.com", 2, 3000, "Ada 1003", "X"),  # the latest order's name
            (a, "bob@example.com", 1, 700, "Ada 1004", "X"),
            (b, "ada@example.com", 1, 900, "Ada 1001", "X"),
        ]
        unlinked = conn.execute(
            "SELECT number FROM orders WHERE customer_id IS NULL ORDER BY number"
        ).fetchall()
        assert unlinked == [(1005,)]
        # Every link stays inside its store (the composite foreign key holds).
        crossed = conn.execute(
            """SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id
               WHERE c.store_id <> o.store_id"""
        ).fetchone()
        assert crossed == (0,)
        forced = conn.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE relname IN ('orders', 'customers')"
        ).fetchall()
        assert forced == [(True,), (True,)]
