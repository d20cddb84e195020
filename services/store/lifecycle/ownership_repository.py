"""The merchant's own changes to the store in PostgreSQL, in the store's tenant transaction:
pending confirmations, the owner email (with the emails it sends, through the outbox) and the
currency (guarded against orders and checkouts in flight)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from services.common import outbox
from services.common.db import fetch_one, tenant_transaction
from services.common.errors import NotFound
from services.store.lifecycle.ownership_rules import Confirmation, Purpose, currency_refusal

# Checkouts that may still turn into an order (or are paying in the store's currency now).
_OPEN_CHECKOUT_STATES = ["processing", "reserved", "requires_action", "refunding"]


def _confirmation(row: asyncpg.Record | None) -> Confirmation | None:
    if row is None:
        return None
    return Confirmation(
        purpose=Purpose(row["purpose"]),
        token_hash=bytes(row["token_hash"]),
        requested_at=row["requested_at"],
        expires_at=row["expires_at"],
        new_email=row["new_email"],
    )


class OwnershipRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def facts(self, store_id: int) -> asyncpg.Record:
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            row = await conn.fetchrow(
                "SELECT name, subdomain, owner_email, status FROM stores WHERE id = $1", store_id
            )
        if row is None:
            raise NotFound("store not found")
        return row

    async def pending_email(self, store_id: int) -> str | None:
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            return await conn.fetchval(
                """SELECT new_email FROM store_confirmations
                   WHERE store_id = $1 AND purpose = 'owner_email'
                     AND expires_at > now()""",
                store_id,
            )

    async def save_confirmation(
        self, store_id: int, confirmation: Confirmation, *events: outbox.Event
    ) -> None:
        """Replaces any pending confirmation of the same purpose; the events (the email with
        the code) are written in the same transaction."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                """INSERT INTO store_confirmations
                       (store_id, purpose, token_hash, new_email, requested_at, expires_at)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (store_id, purpose) DO UPDATE
                   SET token_hash = EXCLUDED.token_hash, new_email = EXCLUDED.new_email,
                       requested_at = EXCLUDED.requested_at, expires_at = EXCLUDED.expires_at""",
                store_id,
                confirmation.purpose.value,
                confirmation.token_hash,
                confirmation.new_email,
                confirmation.requested_at,
                confirmation.expires_at,
            )
            await outbox.record(conn, *events)

    async def confirm_owner_email(
        self,
        store_id: int,
        accept: Callable[[Confirmation | None], str],
        notice: Callable[[str, str], outbox.Event],
    ) -> None:
        """Locks the pending owner email change, lets `accept` check it (it returns the new
        email or raises), sets the email, drops the confirmation and writes `notice(old, new)`
        (the email to the old address), all in one transaction."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            pending = await self.pending(conn, store_id, Purpose.OWNER_EMAIL)
            email = accept(pending)
            old = await fetch_one(
                conn, "SELECT owner_email FROM stores WHERE id = $1 FOR UPDATE", store_id
            )
            await conn.execute(
                """UPDATE stores SET owner_email = $2, updated_at = now()
                   WHERE id = $1""",
                store_id,
                email,
            )
            await self.consume(conn, store_id, Purpose.OWNER_EMAIL)
            await outbox.record(conn, notice(str(old["owner_email"]), email))

    async def pending(
        self, conn: asyncpg.Connection, store_id: int, purpose: Purpose
    ) -> Confirmation | None:
        """The pending confirmation, locked, in the caller's transaction."""
        return _confirmation(
            await conn.fetchrow(
                """SELECT purpose, token_hash, new_email, requested_at, expires_at
                   FROM store_confirmations WHERE store_id = $1 AND purpose = $2 FOR UPDATE""",
                store_id,
                purpose.value,
            )
        )

    async def consume(self, conn: asyncpg.Connection, store_id: int, purpose: Purpose) -> None:
        await conn.execute(
            "DELETE FROM store_confirmations WHERE store_id = $1 AND purpose = $2",
            store_id,
            purpose.value,
        )

    async def change_currency(self, store_id: int, currency: str, now: datetime) -> None:
        """Re-labels the store and all its variants. The variants are updated first: their row
        locks wait for any reservation holding them, whose checkout is then visible to the
        checks below (READ COMMITTED reads what committed before each statement), so no
        checkout can slip between the check and the change."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute("SELECT 1 FROM stores WHERE id = $1 FOR UPDATE", store_id)
            await conn.execute(
                "UPDATE variants SET currency = $2, updated_at = $3 WHERE store_id = $1",
                store_id,
                currency,
                now,
            )
            orders = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE store_id = $1", store_id
            )
            open_checkouts = await conn.fetchval(
                "SELECT count(*) FROM checkouts WHERE store_id = $1 AND state = ANY($2::text[])",
                store_id,
                _OPEN_CHECKOUT_STATES,
            )
            refusal = currency_refusal(orders, open_checkouts)
            if refusal is not None:
                raise refusal  # rolls the variants back too
            await conn.execute(
                """UPDATE stores SET currency = $2, updated_at = now()
                   WHERE id = $1""",
                store_id,
                currency,
            )
