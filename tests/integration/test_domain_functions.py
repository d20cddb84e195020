"""The re-check worker's only cross-store read: shop_control may call it, shop_app may not, and
it returns only verified domains whose last check is older than asked. Rows are written and
read in one uncommitted transaction, so the running Store service's own re-check worker never
sees (and re-checks) them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.integration.conftest import make_store

QUERY = "SELECT store_id, domain FROM platform.domains_to_recheck($1, 100)"


async def test_app_role_cannot_read_across_stores(database):
    conn = await asyncpg.connect(database.app_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(QUERY, datetime.now(UTC))
    finally:
        await conn.close()


async def test_due_verified_domains_of_every_store(app_pool, db_admin_dsn):
    a, b = await make_store(app_pool), await make_store(app_pool)
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    rows = [
        (a, f"due-{tag}.example.com", now - timedelta(hours=2), None),
        (
            b,
            f"due-{tag}.example.org",
            now - timedelta(hours=3),
            now - timedelta(hours=2, minutes=5),
        ),
        (a, f"fresh-{tag}.example.com", now - timedelta(hours=2), now),
        (b, f"pending-{tag}.example.com", None, None),
    ]
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.executemany(
            """INSERT INTO store_domains (store_id, domain, verification_token, verified_at,
                                          last_checked_at) VALUES ($1, $2, 't', $3, $4)""",
            rows,
        )
        await conn.execute("SET LOCAL ROLE shop_control")
        due = await conn.fetch(QUERY, now - timedelta(hours=1))
        await tx.rollback()
    finally:
        await conn.close()
    mine = [(r["store_id"], r["domain"]) for r in due if tag in r["domain"]]
    # Oldest check first, across stores.
    assert mine == [(b, f"due-{tag}.example.org"), (a, f"due-{tag}.example.com")]
