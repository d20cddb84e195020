"""Migration 0012 on a database that already has orders: every row stays, the single `status`
becomes payment_status + fulfillment_status, and the itemised totals add up (subtotal =
total: old orders had no shipping, tax or discount)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from devstack.dsn import OWNER_ROLE, with_database, with_user
from devstack.migrate import bootstrap_database, drop_database
from tests.integration.test_customer_backfill import _apply, _order

BEFORE = "0021__store_lifecycle"


@pytest.fixture
def old_database(pg_admin_dsn):
    database = f"shop_status_{uuid.uuid4().hex[:8]}"
    bootstrap_database(pg_admin_dsn, database)
    yield database
    drop_database(pg_admin_dsn, database)


def test_every_order_keeps_its_row_and_gets_both_statuses(pg_admin_dsn, old_database):
    owner = with_user(pg_admin_dsn, OWNER_ROLE, old_database)
    _apply(owner, upto=BEFORE)
    admin = with_database(pg_admin_dsn, old_database)
    with psycopg.connect(admin, autocommit=True) as conn:
        store = conn.execute(
            """INSERT INTO stores (name, subdomain, owner_email, currency)
               VALUES ('S', %s, 'o@example.com', 'USD') RETURNING id""",
            [f"old-{uuid.uuid4().hex[:8]}"],
        ).fetchone()[0]
        _order(conn, store, 1001, "a@example.com", 1000, 0, "paid")
        _order(conn, store, 1002, "a@example.com", 1000, 400, "partially_refunded")
        _order(conn, store, 1003, "a@example.com", 1000, 1000, "refunded")
        _order(conn, store, 1004, "a@example.com", 1000, 1000, "cancelled")
        _order(conn, store, 1005, "a@example.com", 1000, 0, "cancelled")
    _apply(owner, upto=None)
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            """SELECT number, status, payment_status, fulfillment_status, subtotal, shipping,
                      tax, discount, total FROM orders ORDER BY number"""
        ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (1001, "paid", "paid", "unfulfilled"),
        (1002, "partially_refunded", "partially_refunded", "unfulfilled"),
        (1003, "refunded", "refunded", "unfulfilled"),
        (1004, "cancelled", "refunded", "unfulfilled"),
        (1005, "cancelled", "voided", "unfulfilled"),
    ]
    assert all(r[4:] == (1000, 0, 0, 0, 1000) for r in rows)
